// Client address checks against CIDRs or single addresses, IPv4 and IPv6 (IPv4-mapped IPv6
// addresses match IPv4 ranges): admin allow lists, users' allowed_ip/denied_ip, the defender's
// safe and block lists, certificates' source-address; and networks in the normalised form the IP
// lists store.
import { isIPv4, isIPv6 } from 'node:net';

function v4(addr: string): bigint | undefined {
  if (!isIPv4(addr)) return undefined;
  return addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6(addr: string): bigint | undefined {
  if (!isIPv6(addr)) return undefined;
  let a = addr.split('%')[0]!;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (tail) {
    const n = v4(tail[1]!)!;
    a = a.slice(0, -tail[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, rest] = a.includes('::') ? a.split('::') : [a, undefined];
  const hs = head ? head.split(':') : [];
  const ts = rest ? rest.split(':') : [];
  const groups = rest === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** An address as a number of its family's width; IPv4-mapped IPv6 addresses are IPv4. */
export function parseAddress(addr: string): { bits: 32 | 128; value: bigint } | undefined {
  const a4 = v4(addr);
  if (a4 !== undefined) return { bits: 32, value: a4 };
  const a6 = v6(addr);
  if (a6 === undefined) return undefined;
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (a6 >> 32n === 0xffffn) return { bits: 32, value: a6 & 0xffffffffn };
  return { bits: 128, value: a6 };
}

/** True when `ip` is inside `cidr` ("10.0.0.0/8", "::1/128", or a bare address). */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, len] = cidr.trim().split('/') as [string, string | undefined];
  const n = parseAddress(net);
  const a = parseAddress(ip);
  if (!n || !a || n.bits !== a.bits) return false;
  const prefix = len === undefined ? n.bits : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > n.bits) return false;
  const shift = BigInt(n.bits - prefix);
  return n.value >> shift === a.value >> shift;
}

/** An empty list allows everyone, as in SFTPGo. */
export function allowedBy(list: readonly string[] | undefined, ip: string): boolean {
  return !list?.length || list.some((c) => inCidr(ip, c));
}

/** True for a single address or a CIDR network, IPv4 or IPv6. */
export function isAddressOrCidr(entry: string): boolean {
  const [net, len] = entry.trim().split('/') as [string, string | undefined];
  const n = parseAddress(net);
  if (!n) return false;
  if (len === undefined) return true;
  const prefix = Number(len);
  return /^\d+$/.test(len) && prefix >= 0 && prefix <= n.bits;
}

/**
 * A matcher for a list parsed once (the defender's safelist and blocklist can hold thousands of
 * entries and are asked on every connection): single addresses are a set lookup, networks a scan.
 * Entries that are neither an address nor a CIDR are ignored.
 */
export function cidrMatcher(list: readonly string[]): (ip: string) => boolean {
  const single = new Set<string>();
  const nets: { bits: 32 | 128; shift: bigint; value: bigint }[] = [];
  for (const entry of list) {
    const [net, len] = entry.trim().split('/') as [string, string | undefined];
    const n = parseAddress(net);
    if (!n) continue;
    const prefix = len === undefined ? n.bits : Number(len);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > n.bits) continue;
    if (prefix === n.bits) single.add(`${n.bits}:${n.value}`);
    else nets.push({ bits: n.bits, shift: BigInt(n.bits - prefix), value: n.value >> BigInt(n.bits - prefix) });
  }
  if (single.size === 0 && nets.length === 0) return () => false;
  return (ip) => {
    const a = parseAddress(ip);
    if (!a) return false;
    if (single.has(`${a.bits}:${a.value}`)) return true;
    return nets.some((n) => n.bits === a.bits && a.value >> n.shift === n.value);
  };
}

/**
 * The network an address or CIDR names, as SFTPGo stores it: a bare address gets /32 or /128, host
 * bits are cleared, an IPv4-mapped IPv6 network becomes IPv4. Undefined when it is neither.
 */
export function normaliseIpOrNet(text: string): string | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addr = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const lenText = slash < 0 ? undefined : trimmed.slice(slash + 1);
  const a = parseAddress(addr);
  if (!a) return undefined;
  let prefix: number = a.bits;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    prefix = Number(lenText);
    // ::ffff:10.0.0.0/104 is 10.0.0.0/8.
    if (a.bits === 32 && addr.includes(':')) prefix -= 96;
    if (prefix < 0 || prefix > a.bits) return undefined;
  }
  const shift = BigInt(a.bits - prefix);
  const net = (a.value >> shift) << shift;
  return `${formatAddress(net, a.bits)}/${prefix}`;
}

function formatAddress(value: bigint, bits: 32 | 128): string {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return compressGroups(groups);
}

/** The longest run of two or more zero groups of an IPv6 address written "::" (RFC 5952). */
export function compressGroups(groups: readonly string[]): string {
  const zeroRun = longestZeroRun(groups);
  if (!zeroRun) return groups.join(':');
  return `${groups.slice(0, zeroRun.start).join(':')}::${groups.slice(zeroRun.start + zeroRun.length).join(':')}`;
}

/** Where the longest run of two or more "0" groups starts, and its length; undefined if none. */
export function longestZeroRun(groups: readonly string[]): { start: number; length: number } | undefined {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  return best < 0 ? undefined : { start: best, length: bestLen };
}
