// One Connection per login, whatever the protocol, with the Transfers (open files) it holds, and
// the live registry of connections the REST API lists and closes. Closing a connection aborts its
// transfers, so every file handle is released however the client goes away.
import { randomBytes } from 'node:crypto';
import type { UserRecord } from '../model.ts';
import { inc } from './metrics.ts';
import type { LimitsSource } from './transfer-limits.ts';
import type { UserFs } from './user-fs.ts';

export type Protocol = 'SSH' | 'SFTP' | 'SCP' | 'FTP' | 'DAV' | 'HTTP';
export type Direction = 'upload' | 'download';

let nextTransferId = 1;

/** One open file of a connection. Subclasses (Upload, Download) own the backend handle. */
export abstract class Transfer {
  readonly id = nextTransferId++;
  readonly startedAt = Date.now();
  bytes = 0;
  #done = false;

  constructor(
    readonly connection: Connection,
    readonly direction: Direction,
    readonly virtualPath: string,
  ) {
    connection.transfers.add(this);
  }

  /** Bytes per second since the transfer started. */
  get speed(): number {
    const secs = (Date.now() - this.startedAt) / 1000;
    return secs > 0 ? Math.round(this.bytes / secs) : 0;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Completes the transfer (commits an upload). Idempotent. */
  async close(): Promise<void> {
    if (!this.#markDone()) return;
    try {
      await this.finish(true);
      this.#count('ok');
    } catch (err) {
      this.#count('failed');
      throw err;
    }
  }

  /** Ends the transfer as failed (client gone, error): partial uploads follow the upload mode. */
  async abort(): Promise<void> {
    if (!this.#markDone()) return;
    this.#count('failed');
    await this.finish(false);
  }

  #count(result: 'ok' | 'failed'): void {
    const labels = { protocol: this.connection.protocol, direction: this.direction };
    inc('sftpgo_transfers_total', { ...labels, result });
    inc('sftpgo_transfer_bytes_total', labels, this.bytes);
  }

  #markDone(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.connection.transfers.delete(this);
    return true;
  }

  protected abstract finish(ok: boolean): Promise<void>;
}

export interface ConnectionInit {
  user: UserRecord;
  protocol: Protocol;
  remoteAddress: string;
  fs: UserFs;
  /** Where transfer limits (bandwidth, data transfer) come from; none: unlimited. */
  limits?: LimitsSource;
  /** Drops the protocol-level connection (called by close()). */
  disconnect: () => void;
  /** Told once the connection is closed and its storage released (post_disconnect_hook). */
  onClosed?: (c: Connection) => void;
}

export class Connection {
  readonly id = randomBytes(8).toString('hex');
  readonly startedAt = Date.now();
  lastActivity = Date.now();
  protocol: Protocol;
  readonly user: UserRecord;
  readonly remoteAddress: string;
  readonly fs: UserFs;
  readonly transfers = new Set<Transfer>();
  readonly limits: LimitsSource | undefined;
  #disconnect: () => void;
  #onClosed: ((c: Connection) => void) | undefined;
  #closed = false;
  readonly #abort = new AbortController();

  constructor(init: ConnectionInit) {
    this.user = init.user;
    this.protocol = init.protocol;
    this.remoteAddress = init.remoteAddress;
    this.fs = init.fs;
    this.fs.connection = this;
    this.limits = init.limits;
    this.#disconnect = init.disconnect;
    this.#onClosed = init.onClosed;
  }

  get username(): string {
    return this.user.username;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Aborted when the connection closes: every backend call made for it carries this signal. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  /** Aborts open transfers, drops the client and releases the user's storage. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // First, so backend work still running for a client that left stops at once.
    this.#abort.abort();
    connections.remove(this);
    try {
      this.#disconnect();
    } catch {
      // Already gone.
    }
    await Promise.allSettled([...this.transfers].map((t) => t.abort()));
    try {
      await this.fs.close();
    } finally {
      this.#onClosed?.(this);
    }
  }
}

/** The live connections of this process. */
export class ConnectionRegistry {
  readonly #byId = new Map<string, Connection>();
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  #idleUsers = 0;

  add(c: Connection): void {
    this.#byId.set(c.id, c);
  }

  remove(c: Connection): void {
    this.#byId.delete(c.id);
  }

  list(): Connection[] {
    return [...this.#byId.values()];
  }

  get(id: string): Connection | undefined {
    return this.#byId.get(id);
  }

  /** Closes one connection; false when there is no such id. */
  async close(id: string): Promise<boolean> {
    const c = this.#byId.get(id);
    if (!c) return false;
    await c.close();
    return true;
  }

  countFor(username: string): number {
    let n = 0;
    for (const c of this.#byId.values()) if (c.username === username) n++;
    return n;
  }

  /** Open transfers across all connections (a shutdown/leak check reads this). */
  openTransfers(): number {
    let n = 0;
    for (const c of this.#byId.values()) n += c.transfers.size;
    return n;
  }

  /**
   * Disconnects connections idle for longer than `minutes` (0 disables). Services that want idle
   * checks call this on start and releaseIdleCheck() on stop; one timer serves them all.
   */
  startIdleCheck(minutes: number): void {
    this.#idleUsers++;
    if (minutes <= 0 || this.#idleTimer) return;
    const limit = minutes * 60_000;
    this.#idleTimer = setInterval(() => {
      const now = Date.now();
      for (const c of this.list()) if (c.transfers.size === 0 && now - c.lastActivity > limit) void c.close();
    }, Math.min(30_000, limit));
    this.#idleTimer.unref?.();
  }

  releaseIdleCheck(): void {
    if (--this.#idleUsers > 0 || !this.#idleTimer) return;
    clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}

export const connections = new ConnectionRegistry();
