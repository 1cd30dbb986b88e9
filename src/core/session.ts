// One login: the user as it was authenticated, the storage mounts opened for it, and the
// Connections it holds, one per channel (an SSH login may run SFTP, SCP and commands side by side;
// FTP and WebDAV have exactly one). The mounts belong to the session, so a channel that ends
// leaves its siblings' storage open; the session releases the mounts when it ends.
import { randomBytes } from 'node:crypto';
import type { UserRecord } from '../model.ts';
import { Connection, type Protocol } from './connection.ts';
import type { ServerContext } from './context.ts';
import type { Mount } from './paths.ts';
import type { CoreSettings } from './login.ts';
import type { FilePatterns } from './patterns.ts';
import { UserFs } from './user-fs.ts';

export interface SessionInit {
  user: UserRecord;
  /** The protocol the user logged in over (SSH for every SSH channel). */
  protocol: Protocol;
  remoteAddress: string;
  /** The method label of the login line ("password", "publickey+totp"...). */
  method: string;
  mounts: Mount[];
  patterns: FilePatterns;
  startDirectory: string;
  settings: CoreSettings;
  /** The server this login belongs to: its registry, log, metrics and actions. */
  context: ServerContext;
  /**
   * Front-ends with one channel per login (FTP, WebDAV): the session ends with its connection.
   * SSH sessions end when the client goes, whatever channels came and went.
   */
  single: boolean;
  /** What the client says it is (SSH: its identification line). */
  clientVersion?: string;
  /** Told once, after every connection closed and the mounts were released. */
  onEnded: (s: Session) => void;
}

export interface ChannelInit {
  protocol: Protocol;
  /** Drops the protocol-level connection (called by Connection.close()). */
  disconnect: () => void;
}

export class Session {
  readonly id = randomBytes(8).toString('hex');
  readonly startedAt = Date.now();
  readonly user: UserRecord;
  readonly protocol: Protocol;
  readonly remoteAddress: string;
  readonly method: string;
  readonly clientVersion: string;
  readonly connections = new Set<Connection>();
  #lastActivity = Date.now();
  #ended: Promise<void> | undefined;
  readonly #init: SessionInit;

  constructor(init: SessionInit) {
    this.#init = init;
    this.user = init.user;
    this.protocol = init.protocol;
    this.remoteAddress = init.remoteAddress;
    this.method = init.method;
    this.clientVersion = init.clientVersion ?? '';
  }

  get username(): string {
    return this.user.username;
  }

  get closed(): boolean {
    return this.#ended !== undefined;
  }

  get lastActivity(): number {
    return this.#lastActivity;
  }

  touch(): void {
    this.#lastActivity = Date.now();
  }

  /** Open transfers across the session's connections. */
  get openTransfers(): number {
    let n = 0;
    for (const c of this.connections) n += c.transfers.size;
    return n;
  }

  /** A new connection for one channel, registered live, over the session's mounts. */
  connect(channel: ChannelInit): Connection {
    if (this.closed) throw new Error('session closed');
    const s = this.#init.settings;
    const fs = new UserFs({
      mounts: this.#init.mounts,
      permissions: this.user.permissions,
      uploadMode: s.uploadMode,
      setstatMode: s.setstatMode,
      crossMountRename: s.crossMountRename,
      patterns: this.#init.patterns,
    });
    fs.startDirectory = this.#init.startDirectory;
    const conn = new Connection({
      user: this.user,
      fs,
      protocol: channel.protocol,
      remoteAddress: this.remoteAddress,
      disconnect: channel.disconnect,
      session: this,
      context: this.#init.context,
      ...(s.limits ? { limits: s.limits } : {}),
      onClosed: (c) => {
        this.connections.delete(c);
        this.#init.context.connections.remove(c);
        if (this.#init.single) void this.close();
      },
    });
    this.connections.add(conn);
    this.#init.context.connections.add(conn);
    this.touch();
    return conn;
  }

  /** Closes every connection, then releases the mounts. Idempotent; resolves once ended. */
  close(): Promise<void> {
    this.#ended ??= this.#end();
    return this.#ended;
  }

  async #end(): Promise<void> {
    this.#init.context.connections.removeSession(this);
    await Promise.allSettled([...this.connections].map((c) => c.close()));
    try {
      await Promise.allSettled(this.#init.mounts.map((m) => m.fs.close?.()));
    } finally {
      this.#init.onEnded(this);
    }
  }
}
