// One Connection per channel of a login (core/session.ts), with the Transfers (open files) it
// holds, and the live registry of sessions and connections the REST API lists and closes. Closing a
// connection aborts its transfers, so every file handle is released however the client goes away.
import { randomBytes } from 'node:crypto';
import type { UserRecord } from '../model.ts';
import type { LimitsSource } from './transfer-limits.ts';
import type { UserFs } from './user-fs.ts';
import type { Session } from './session.ts';
import type { ServerContext } from './context.ts';

/** EventAction: the connection an event rule's filesystem action works through (SFTPGo's name).
 * HTTPShare: a visitor using a share link, working as the share's owner (SFTPGo's name). */
export type Protocol = 'SSH' | 'SFTP' | 'SCP' | 'FTP' | 'DAV' | 'HTTP' | 'HTTPShare' | 'EventAction';
export type Direction = 'upload' | 'download';

/** One open file of a connection. Subclasses (Upload, Download) own the backend handle. */
export abstract class Transfer {
  readonly id: number;
  readonly startedAt = Date.now();
  bytes = 0;
  /**
   * Whether the collector pacer (gc-pacer.ts) counts this transfer's bytes. A front-end that frees
   * every buffer the transfer moves as soon as it is done with it (plain FTP data connections)
   * sets it to false: those bytes leave no garbage, and a full collection per 32 MiB of them cost
   * 15-20% of the server's CPU for nothing.
   */
  paced = true;
  #done = false;

  constructor(
    readonly connection: Connection,
    readonly direction: Direction,
    readonly virtualPath: string,
  ) {
    this.id = connection.context.nextTransferId();
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
    const metrics = this.connection.context.metrics;
    metrics.countTransfer(this.direction, result === 'ok', this.bytes);
    metrics.inc('sftpgo_transfers_total', { ...labels, result });
    metrics.inc('sftpgo_transfer_bytes_total', labels, this.bytes);
    if (!this.paced) this.connection.context.connections.countUnpaced(this.bytes);
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
  /** This channel's view of the session's mounts; the session releases the mounts. */
  fs: UserFs;
  /** The login this connection is a channel of. */
  session: Pick<Session, 'id' | 'touch' | 'clientVersion'>;
  /** The server: what the connection's work reports to (log, metrics, actions). */
  context: ServerContext;
  /** Where transfer limits (bandwidth, data transfer) come from; none: unlimited. */
  limits?: LimitsSource;
  /** Drops the protocol-level connection (called by close()). */
  disconnect: () => void;
  /** Told once the connection is closed and its transfers ended. */
  onClosed?: (c: Connection) => void;
}

export class Connection {
  readonly id = randomBytes(8).toString('hex');
  readonly startedAt = Date.now();
  lastActivity = Date.now();
  /** The channel's protocol (SFTP, SCP, SSH for commands, FTP, DAV); fixed for its life. */
  readonly protocol: Protocol;
  readonly user: UserRecord;
  readonly remoteAddress: string;
  readonly fs: UserFs;
  readonly transfers = new Set<Transfer>();
  readonly limits: LimitsSource | undefined;
  readonly context: ServerContext;
  readonly #session: Pick<Session, 'id' | 'touch' | 'clientVersion'>;
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
    this.#session = init.session;
    this.context = init.context;
    this.#disconnect = init.disconnect;
    this.#onClosed = init.onClosed;
  }

  get username(): string {
    return this.user.username;
  }

  /** The id of the login this connection belongs to (custom actions report it as session_id). */
  get sessionId(): string {
    return this.#session.id;
  }

  /** What the client says it is (SSH: its identification line); empty when unknown. */
  get clientVersion(): string {
    return this.#session.clientVersion;
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
    this.#session.touch();
  }

  /** Aborts open transfers and drops the client (admin API, idle check, shutdown). Idempotent. */
  close(): Promise<void> {
    return this.#finish(true);
  }

  /** The client ended this channel itself: aborts what is left open and leaves the client be. */
  end(): Promise<void> {
    return this.#finish(false);
  }

  async #finish(disconnect: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // First, so backend work still running for a client that left stops at once.
    this.#abort.abort();
    try {
      if (disconnect) this.#disconnect();
    } catch {
      // Already gone.
    }
    try {
      await Promise.allSettled([...this.transfers].map((t) => t.abort()));
    } finally {
      this.#onClosed?.(this);
    }
  }
}

/** common.idle_timeout when unset: minutes without activity before a login is dropped. */
export const DEFAULT_IDLE_MINUTES = 15;

/** The live sessions (logins) and connections (their channels) of one server. */
export class ConnectionRegistry {
  readonly #byId = new Map<string, Connection>();
  readonly #sessions = new Set<Session>();
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  #idleUsers = 0;
  #unpacedBytes = 0;

  /** Bytes moved by ended transfers that the collector pacer does not count (Transfer.paced false). */
  get unpacedBytes(): number {
    return this.#unpacedBytes;
  }

  countUnpaced(bytes: number): void {
    this.#unpacedBytes += bytes;
  }

  add(c: Connection): void {
    this.#byId.set(c.id, c);
  }

  remove(c: Connection): void {
    this.#byId.delete(c.id);
  }

  addSession(s: Session): void {
    this.#sessions.add(s);
  }

  removeSession(s: Session): void {
    this.#sessions.delete(s);
  }

  list(): Connection[] {
    return [...this.#byId.values()];
  }

  sessions(): Session[] {
    return [...this.#sessions];
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

  /** The user's live logins, whatever channels each runs: what max_sessions limits. */
  countFor(username: string): number {
    let n = 0;
    for (const s of this.#sessions) if (s.username === username) n++;
    return n;
  }

  /** Open transfers across all connections (a shutdown/leak check reads this). */
  openTransfers(): number {
    let n = 0;
    for (const c of this.#byId.values()) n += c.transfers.size;
    return n;
  }

  /**
   * Ends logins idle for longer than `minutes` (common.idle_timeout, default 15; 0 disables) with
   * no open transfer. Services that log users in call this on start and releaseIdleCheck() on
   * stop; one timer serves them all.
   */
  startIdleCheck(minutes = DEFAULT_IDLE_MINUTES): void {
    this.#idleUsers++;
    if (minutes <= 0 || this.#idleTimer) return;
    const limit = minutes * 60_000;
    this.#idleTimer = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions()) if (s.openTransfers === 0 && now - s.lastActivity > limit) void s.close();
    }, Math.min(30_000, limit));
    this.#idleTimer.unref?.();
  }

  releaseIdleCheck(): void {
    if (--this.#idleUsers > 0 || !this.#idleTimer) return;
    clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}
