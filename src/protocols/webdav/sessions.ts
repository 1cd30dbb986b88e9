// How stateless WebDAV requests map to the core's Connections: one Connection per user and client
// IP, opened by the first authenticated request and reused by the next ones, so the live registry
// (and max_sessions) sees one WebDAV session per user per address, as for SFTP. It ends when it has
// been idle for common.idle_timeout (the registry's idle check), when the admin API closes it (its
// in-flight requests are cut), on shutdown, or when the user record changes (the next request opens
// a fresh one with the new permissions and mounts; the old one closes when its requests finish).
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { connections, type Connection } from '../../core/connection.ts';
import { loginRefusal, openConnection, type CoreSettings } from '../../core/login.ts';
import { log } from '../../log.ts';
import type { UserRecord } from '../../model.ts';

interface Session {
  conn: Connection;
  fingerprint: string;
  inflight: Set<ServerResponse>;
  /** Replaced by a newer session for a changed user record: close when the last request ends. */
  retired: boolean;
}

/** `fresh` when this request opened the session (a login, for hooks and events). */
export type Acquired = { session: Session; release: () => void; fresh: boolean } | { refused: string };

/** What a session was opened with: when any of it changes, the next request opens a new one. */
function fingerprintOf(user: UserRecord, settings: CoreSettings): string {
  const core = [settings.uploadMode, settings.setstatMode, settings.crossMountRename, settings.usage !== undefined];
  return createHash('sha256').update(JSON.stringify([user, core])).digest('base64');
}

export class DavSessions {
  readonly #byKey = new Map<string, Session>();
  readonly #all = new Set<Session>();

  async acquire(user: UserRecord, ip: string, settings: CoreSettings, res: ServerResponse): Promise<Acquired> {
    const key = `${user.username}\0${ip}`;
    const fp = fingerprintOf(user, settings);
    // Disabled or expired since the session opened: refused even though the record is unchanged.
    const gone = loginRefusal(user, Date.now(), 0);
    if (gone) return { refused: gone };
    let s = this.#byKey.get(key);
    let fresh = false;
    if (s && (s.conn.closed || s.fingerprint !== fp)) {
      this.#byKey.delete(key);
      this.#retire(s);
      s = undefined;
    }
    if (!s) {
      const refusal = loginRefusal(user, Date.now(), connections.countFor(user.username));
      if (refusal) return { refused: refusal };
      const inflight = new Set<ServerResponse>();
      let opened: Session | undefined;
      const conn = await openConnection(user, settings, {
        protocol: 'DAV',
        remoteAddress: ip,
        // Called by Connection.close(), whoever closes it (admin API, idle check, shutdown):
        // forget the session and cut the requests still running on it.
        disconnect: () => {
          if (opened) this.#forget(key, opened);
          for (const r of inflight) r.destroy();
          if (opened) log('info', 'logout', { connection: conn.id, username: conn.username, ip, protocol: 'DAV', duration_ms: Date.now() - conn.startedAt });
        },
      });
      s = { conn, fingerprint: fp, inflight, retired: false };
      // Another request for the same key may have raced us here: keep the first.
      const raced = this.#byKey.get(key);
      if (raced && !raced.conn.closed && raced.fingerprint === fp) {
        void conn.close();
        s = raced;
      } else {
        opened = s;
        this.#byKey.set(key, s);
        this.#all.add(s);
        fresh = true;
        log('info', 'login', { connection: conn.id, ip, protocol: 'DAV', username: user.username, method: 'password' });
      }
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
    await Promise.allSettled(all.map((s) => s.conn.close()));
  }
}
