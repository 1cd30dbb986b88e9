// How stateless WebDAV requests map to the core's Connections: one Connection per user and client
// IP, opened by the first authenticated request and reused by the next ones, so the live registry
// (and max_sessions) sees one WebDAV session per user per address, as for SFTP. It ends when it has
// been idle for common.idle_timeout (the registry's idle check), when the admin API closes it (its
// in-flight requests are cut), on shutdown, or when the user record changes (the next request opens
// a fresh one with the new permissions and mounts; the old one closes when its requests finish).
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Connection } from '../../core/connection.ts';
import type { LoginGate } from '../../core/gate.ts';
import { loginRefusal, type CoreSettings } from '../../core/login.ts';
import type { Session as Login } from '../../core/session.ts';
import type { UserRecord } from '../../model.ts';

interface Session {
  login: Login;
  conn: Connection;
  fingerprint: string;
  inflight: Set<ServerResponse>;
  /** Replaced by a newer session for a changed user record: close when the last request ends. */
  retired: boolean;
}

/** `fresh` when this request opened the session. A refusal is already logged by the gate. */
export type Acquired = { session: Session; release: () => void; fresh: boolean } | { refused: string };

/** Who is asking, and over what. */
export interface DavClient {
  ip: string;
  /** HTTPS listener. */
  tls: boolean;
  /** The client's User-Agent at login: the connections list shows it as its version. */
  userAgent?: string | undefined;
}

/** What a session was opened with: when any of it changes, the next request opens a new one. */
function fingerprintOf(user: UserRecord, settings: CoreSettings): string {
  const core = [settings.uploadMode, settings.setstatMode, settings.crossMountRename, settings.usage !== undefined];
  return createHash('sha256').update(JSON.stringify([user, core])).digest('base64');
}

export class DavSessions {
  readonly #byKey = new Map<string, Session>();
  readonly #all = new Set<Session>();
  /** Logins under way, so that concurrent first requests of one client share one login. */
  readonly #opening = new Map<string, Promise<Session | { refused: string }>>();

  constructor(private readonly gate: LoginGate) {}

  async acquire(user: UserRecord, client: DavClient, settings: CoreSettings, res: ServerResponse): Promise<Acquired> {
    const key = `${user.username}\0${client.ip}`;
    const fp = fingerprintOf(user, settings);
    // Disabled or expired since the session opened: refused even though the record is unchanged.
    const gone = loginRefusal(user, Date.now(), 0);
    if (gone) {
      this.gate.refuse({ protocol: 'DAV', ip: client.ip, username: user.username, method: 'password' }, gone);
      return { refused: gone };
    }
    let s = this.#byKey.get(key);
    let fresh = false;
    if (s && (s.conn.closed || s.fingerprint !== fp)) {
      this.#byKey.delete(key);
      this.#retire(s);
      s = undefined;
    }
    if (!s) {
      let opening = this.#opening.get(key);
      if (!opening) {
        fresh = true;
        opening = this.#open(key, user, client, fp).finally(() => this.#opening.delete(key));
        this.#opening.set(key, opening);
      }
      const opened = await opening;
      if ('refused' in opened) return opened;
      s = opened;
    }
    const session = s;
    session.inflight.add(res);
    session.conn.touch();
    return {
      session,
      fresh,
      release: () => {
        session.inflight.delete(res);
        session.conn.touch();
        if (session.retired && session.inflight.size === 0) void session.conn.close();
      },
    };
  }

  async #open(key: string, user: UserRecord, client: DavClient, fingerprint: string): Promise<Session | { refused: string }> {
    const opened = await this.gate.open(user, { protocol: 'DAV', ip: client.ip, method: 'password', single: true, tls: client.tls, ...(client.userAgent ? { clientVersion: client.userAgent } : {}) });
    if (!opened.ok) return { refused: opened.reason };
    const inflight = new Set<ServerResponse>();
    let s: Session | undefined;
    const conn = opened.session.connect({
      protocol: 'DAV',
      // Called by Connection.close(), whoever closes it (admin API, idle check, shutdown):
      // forget the session and cut the requests still running on it.
      disconnect: () => {
        if (s) this.#forget(key, s);
        for (const r of inflight) r.destroy();
      },
    });
    s = { login: opened.session, conn, fingerprint, inflight, retired: false };
    this.#byKey.set(key, s);
    this.#all.add(s);
    return s;
  }
  #forget(key: string, s: Session): void {
    if (this.#byKey.get(key) === s) this.#byKey.delete(key);
    this.#all.delete(s);
  }

  #retire(s: Session): void {
    s.retired = true;
    if (s.inflight.size === 0) void s.conn.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.#all];
    this.#byKey.clear();
    await Promise.allSettled(all.map((s) => s.login.close()));
  }
}
