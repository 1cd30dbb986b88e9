// This replica's identity among the servers sharing a store (data_provider.node) and the registry
// of them all in the store's `nodes` collection: each replica writes its record (name, API URL, a
// sealed key other replicas sign its node tokens with) at its start and every minute, and removes
// it at a clean stop. A record not refreshed for two minutes is inactive, as SFTPGo counts it.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/load.ts';
import type { Log } from '../log.ts';
import type { NodeRecord, Store } from '../store/store.ts';

/** How often a replica refreshes its record. */
export const NODE_HEARTBEAT_MS = 60_000;
/** A record older than this is a replica gone (crashed, cut off): SFTPGo's two minutes. */
export const NODE_INACTIVE_MS = 120_000;

export interface NodeIdentity {
  /** The replica's name: log lines, metrics, status, connection listings. */
  name: string;
  /** Where the other replicas call this one's REST API; '' when data_provider.node.host is unset. */
  url: string;
  /** Whether the store is shared (PostgreSQL): only then is there a cluster to name a node in. */
  shared: boolean;
}

/** What the identity is read from: the config's data_provider and API bindings. */
export type NodeConfig = Pick<Config, 'data_provider' | 'httpd'>;

/**
 * The identity the config names. Without data_provider.node.name the name is the host name and the
 * port of the first REST API binding (the process id without one): stable across restarts, and
 * different for two replicas on one machine, whose changes the store tells apart by it.
 */
export function nodeIdentity(config: NodeConfig, machine: { host: string; pid: number } = { host: hostname(), pid: process.pid }): NodeIdentity {
  const provider = config.data_provider;
  const node = provider?.node;
  const shared = provider?.driver === 'postgresql';
  let url = '';
  if (node?.host) {
    const host = node.host.includes(':') && !node.host.startsWith('[') ? `[${node.host}]` : node.host;
    url = `${node.proto ?? 'http'}://${host}${node.port ? `:${node.port}` : ''}`;
  }
  const apiPort = config.httpd?.bindings?.find((b) => (b.port ?? 0) > 0 && b.enable_rest_api !== false)?.port;
  return { name: node?.name ?? `${machine.host}:${apiPort ?? machine.pid}`, url, shared };
}

/** Another replica, reachable: what a call to it needs. */
export interface Peer {
  name: string;
  url: string;
  /** Its clear key: the node tokens it accepts are signed with it. */
  key: Buffer;
}

export function isActive(record: NodeRecord, now = Date.now()): boolean {
  return now - record.updated_at < NODE_INACTIVE_MS;
}

export interface NodeRegistryOptions {
  store: Store;
  identity: NodeIdentity;
  log: Log;
}

export class NodeRegistry {
  readonly identity: NodeIdentity;
  /** This run's key: node tokens addressed to this replica are signed with it. */
  readonly key = randomBytes(32);
  readonly #instance = randomBytes(8).toString('hex');
  readonly #store: Store;
  readonly #log: Log;
  #timer: ReturnType<typeof setInterval> | undefined;
  #createdAt = 0;

  constructor(opts: NodeRegistryOptions) {
    this.identity = opts.identity;
    this.#store = opts.store;
    this.#log = opts.log;
  }

  /** Registers this replica and keeps its record fresh; nothing for a store no one shares. */
  async start(): Promise<void> {
    if (!this.identity.shared) return;
    if (!this.identity.url) this.#log('warn', 'node_unreachable_by_peers', { reason: 'data_provider.node.host is not set: other replicas do not list this one\'s connections' });
    this.#createdAt = Date.now();
    await this.#refresh(true);
    this.#timer = setInterval(() => {
      this.#refresh(false).catch((err: Error) => this.#log('error', 'node_heartbeat_failed', { error: err.message }));
    }, NODE_HEARTBEAT_MS);
    this.#timer.unref?.();
  }

  /** Removes this replica's record, unless another start under the same name has taken it over since. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.identity.shared || this.#createdAt === 0) return;
    const name = this.identity.name;
    await this.#store.write(async (tx) => {
      const r = await tx.get('nodes', name);
      if (r?.instance === this.#instance) await tx.remove('nodes', name);
    });
  }

  /**
   * Writes this replica's record. Another live instance's record under the same name is a conflict;
   * at the start, only when its URL differs too (the same URL is this replica restarted after a crash).
   */
  async #refresh(first: boolean): Promise<void> {
    const { name, url } = this.identity;
    const now = Date.now();
    const sealedKey = this.#store.secrets.seal(this.key.toString('base64'));
    const taken = await this.#store.write(async (tx) => {
      const r = await tx.get('nodes', name);
      await tx.put('nodes', name, { name, url, key: sealedKey, instance: this.#instance, created_at: this.#createdAt, updated_at: now });
      return r && r.instance !== this.#instance && isActive(r, now) && (!first || r.url !== url) ? r : undefined;
    });
    // Two live replicas under one name take the record from each other each minute, and the store
    // takes each one's changes for the other's own: say so loudly.
    if (taken) this.#log('error', 'node_name_conflict', { name, other_url: taken.url, url, hint: 'give each replica its own data_provider.node.name' });
  }

  /** Every registered record, this replica's included (the status API lists them). */
  async records(): Promise<NodeRecord[]> {
    const out: NodeRecord[] = [];
    if (!this.identity.shared) return out;
    for await (const [, r] of this.#store.entries('nodes')) out.push(r);
    return out;
  }

  /** The other active replicas that can be called. */
  async peers(now = Date.now()): Promise<Peer[]> {
    const out: Peer[] = [];
    for (const r of await this.records()) {
      if (r.name === this.identity.name || !r.url || !isActive(r, now)) continue;
      const peer = this.#open(r);
      if (peer) out.push(peer);
    }
    return out;
  }

  /**
   * The active replica called `name`, or why it cannot be called: `unknown` (no such record, or
   * not refreshed for two minutes) or `unreachable` (it registered no URL).
   */
  async peer(name: string, now = Date.now()): Promise<Peer | 'unknown' | 'unreachable'> {
    if (!this.identity.shared) return 'unknown';
    const r = await this.#store.get('nodes', name);
    if (!r || !isActive(r, now)) return 'unknown';
    if (!r.url) return 'unreachable';
    return this.#open(r) ?? 'unreachable';
  }

  #open(r: NodeRecord): Peer | undefined {
    try {
      const clear = typeof r.key === 'string' ? r.key : this.#store.secrets.unseal(r.key.sealed);
      return { name: r.name, url: r.url, key: Buffer.from(clear, 'base64') };
    } catch (err) {
      this.#log('warn', 'node_key_unreadable', { peer: r.name, error: (err as Error).message });
      return undefined;
    }
  }
}
