// SFTPGo's IP lists: entries (an address or network, a list type, a mode and a protocol mask) kept
// in the store's `ip_lists` collection, and the in-memory index every new connection is matched
// against. Type 1 is the allow list (common.allowlist_status), type 2 the defender's safe list
// (mode 1) and block list (mode 2), type 3 the rate limiters' safe list.
//
// Matching is SFTPGo's: of the entries containing the address that apply to the protocol, the one
// with the longest prefix decides. The index keeps one hash map per prefix length and address
// family, so a lookup costs one map probe per distinct prefix length in use (at most 33 for IPv4,
// 129 for IPv6), whatever the number of entries (bench/ip-lists.ts).
import type { LoginProtocol } from '../auth/login.ts';
import { normaliseIpOrNet, parseAddress } from '../lib/cidr.ts';
import { ipListKey, type IpListMode, type IpListRecord, type IpListType, type Store } from '../store/store.ts';

export { ipListKey };
export type { IpListMode, IpListRecord, IpListType };

export const IP_LIST_TYPES: readonly IpListType[] = [1, 2, 3];

export const PROTOCOL_BITS: Record<LoginProtocol, number> = { SSH: 1, FTP: 2, DAV: 4, HTTP: 8 };
const ALL_PROTOCOLS = 15;

/** What SFTPGo refuses in an entry, beyond its JSON shape, with the field at fault; undefined when it is good. */
export function ipListEntryProblem(e: { ipornet?: unknown; type?: unknown; mode?: unknown; protocols?: unknown }): { field: 'type' | 'ipornet' | 'mode' | 'protocols'; message: string } | undefined {
  if (!IP_LIST_TYPES.includes(e.type as IpListType)) return { field: 'type', message: `invalid list type ${String(e.type)}` };
  if (typeof e.ipornet !== 'string' || normaliseIpOrNet(e.ipornet) === undefined) return { field: 'ipornet', message: `invalid IP or network "${String(e.ipornet)}"` };
  const mode = e.mode ?? 1;
  if (e.type === 2 ? mode !== 1 && mode !== 2 : mode !== 1) return { field: 'mode', message: `invalid list mode: ${String(mode)}` };
  const p = e.protocols ?? 0;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > ALL_PROTOCOLS) return { field: 'protocols', message: `invalid protocols: ${String(p)}` };
  return undefined;
}

/** An entry's definition: what the config or an API body controls. */
export type IpListSpec = Omit<IpListRecord, 'created_at' | 'updated_at'>;

/** A declared or posted (already checked) entry in its stored form. */
export function ipListSpec(e: { ipornet: string; type: IpListType; mode?: number; protocols?: number; description?: string }, source: 'config' | 'api' = 'config'): IpListSpec {
  const protocols = e.protocols ?? 0;
  return {
    ipornet: normaliseIpOrNet(e.ipornet)!,
    type: e.type,
    mode: (e.mode ?? 1) as IpListMode,
    // Every protocol named is the same as none: SFTPGo stores 0.
    protocols: protocols === ALL_PROTOCOLS ? 0 : protocols,
    ...(e.description ? { description: e.description } : {}),
    source,
  };
}

interface Indexed {
  mode: IpListMode;
  protocols: number;
}

/** IPv4 entries: prefix length → network number → entry, in plain numbers (no bigint on the hot path). */
class V4Index {
  readonly #byPrefix = new Map<number, Map<number, Indexed>>();
  /** [prefix length, its divisor], longest first. */
  #prefixes: [number, number][] = [];

  set(value: number, prefix: number, entry: Indexed | undefined): void {
    const key = Math.floor(value / 2 ** (32 - prefix));
    let nets = this.#byPrefix.get(prefix);
    if (entry) {
      if (!nets) {
        nets = new Map();
        this.#byPrefix.set(prefix, nets);
        this.#prefixes = [...this.#byPrefix.keys()].sort((a, b) => b - a).map((p) => [p, 2 ** (32 - p)]);
      }
      nets.set(key, entry);
    } else if (nets?.delete(key) && nets.size === 0) {
      this.#byPrefix.delete(prefix);
      this.#prefixes = this.#prefixes.filter(([p]) => p !== prefix);
    }
  }

  match(value: number, bit: number): Indexed | undefined {
    for (const [prefix, divisor] of this.#prefixes) {
      const e = this.#byPrefix.get(prefix)!.get(Math.floor(value / divisor));
      if (e && (e.protocols === 0 || (e.protocols & bit) !== 0)) return e;
    }
    return undefined;
  }

  clear(): void {
    this.#byPrefix.clear();
    this.#prefixes = [];
  }

  get size(): number {
    let n = 0;
    for (const nets of this.#byPrefix.values()) n += nets.size;
    return n;
  }
}

/** IPv6 entries: prefix length → network value → entry. */
class V6Index {
  readonly #byPrefix = new Map<number, Map<bigint, Indexed>>();
  /** [prefix length, its shift], longest first. */
  #prefixes: [number, bigint][] = [];

  set(value: bigint, prefix: number, entry: Indexed | undefined): void {
    const key = value >> BigInt(128 - prefix);
    let nets = this.#byPrefix.get(prefix);
    if (entry) {
      if (!nets) {
        nets = new Map();
        this.#byPrefix.set(prefix, nets);
        this.#prefixes = [...this.#byPrefix.keys()].sort((a, b) => b - a).map((p) => [p, BigInt(128 - p)]);
      }
      nets.set(key, entry);
    } else if (nets?.delete(key) && nets.size === 0) {
      this.#byPrefix.delete(prefix);
      this.#prefixes = this.#prefixes.filter(([p]) => p !== prefix);
    }
  }

  match(value: bigint, bit: number): Indexed | undefined {
    for (const [prefix, shift] of this.#prefixes) {
      const e = this.#byPrefix.get(prefix)!.get(value >> shift);
      if (e && (e.protocols === 0 || (e.protocols & bit) !== 0)) return e;
    }
    return undefined;
  }

  clear(): void {
    this.#byPrefix.clear();
    this.#prefixes = [];
  }

  get size(): number {
    let n = 0;
    for (const nets of this.#byPrefix.values()) n += nets.size;
    return n;
  }
}

const V4_TEXT = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A plain dotted IPv4 address as a number, the common case parsed without bigint. */
function v4Number(ip: string): number | undefined {
  const m = V4_TEXT.exec(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  if (!m) return undefined;
  const [a, b, c, d] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  if (a > 255 || b > 255 || c > 255 || d > 255 || /(^|\.)0\d/.test(m[0])) return undefined;
  return ((a * 256 + b) * 256 + c) * 256 + d;
}

/** The entries of one list type, matched by longest prefix. */
export class IpListIndex {
  readonly #v4 = new V4Index();
  readonly #v6 = new V6Index();

  /** Adds or replaces (entry given) or removes (undefined) the entry for a normalised network. */
  set(ipornet: string, entry: Indexed | undefined): void {
    const [addr, len] = ipornet.split('/') as [string, string];
    const a = parseAddress(addr);
    if (!a) return;
    const indexed = entry && { mode: entry.mode, protocols: entry.protocols };
    if (a.bits === 32) this.#v4.set(Number(a.value), Number(len), indexed);
    else this.#v6.set(a.value, Number(len), indexed);
  }

  /** The mode of the longest matching entry for `protocol` (any protocol: undefined), or undefined when none matches. */
  match(ip: string, protocol: LoginProtocol | undefined): IpListMode | undefined {
    const bit = protocol ? PROTOCOL_BITS[protocol] : ALL_PROTOCOLS;
    const n = v4Number(ip);
    if (n !== undefined) return this.#v4.match(n, bit)?.mode;
    const a = parseAddress(ip);
    if (!a) return undefined;
    return a.bits === 32 ? this.#v4.match(Number(a.value), bit)?.mode : this.#v6.match(a.value, bit)?.mode;
  }

  clear(): void {
    this.#v4.clear();
    this.#v6.clear();
  }

  get size(): number {
    return this.#v4.size + this.#v6.size;
  }
}

/** The three lists of one server, loaded from the store and kept in step with its commits. */
export class IpLists {
  readonly #lists = new Map<IpListType, IpListIndex>(IP_LIST_TYPES.map((t) => [t, new IpListIndex()]));
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly store: Store) {}

  /** Reads every entry and follows later commits; call once before listeners accept. */
  async load(): Promise<void> {
    this.#unsubscribe ??= this.store.subscribe('ip_lists', (change) => {
      const [type, ipornet] = splitKey(change.key);
      if (type) this.#lists.get(type)!.set(ipornet, change.value);
    });
    for (const list of this.#lists.values()) list.clear();
    for await (const [, e] of this.store.entries('ip_lists')) this.#lists.get(e.type)?.set(e.ipornet, e);
  }

  /** The mode of the entry of list `type` that decides for `ip` on `protocol`; undefined: not listed. */
  match(type: IpListType, ip: string, protocol: LoginProtocol | undefined): IpListMode | undefined {
    return this.#lists.get(type)!.match(ip, protocol);
  }

  /** Whether the list has any entry (an empty defender list costs nothing to ask). */
  size(type: IpListType): number {
    return this.#lists.get(type)!.size;
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}

function splitKey(key: string): [IpListType | undefined, string] {
  const i = key.indexOf('_');
  const type = Number(key.slice(0, i)) as IpListType;
  return [IP_LIST_TYPES.includes(type) ? type : undefined, key.slice(i + 1)];
}
