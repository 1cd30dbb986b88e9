// Web sessions: which admin, user or share visitor a browser is, behind a random cookie. Each
// session holds its CSRF token, which every form posts back, and at most one message to show on
// the next page (post/redirect/get). A session ends at logout, or when idle past its validity.
//
// One server keeps its sessions in memory (a restart ends them). Servers sharing a store
// (PostgreSQL, behind a load balancer) keep them in it, one meta key per session, and read the
// session at each request: a browser whose next request reaches another replica is still logged
// in, a logout through one replica ends the session on all, and a message set by one shows on the
// page another serves. The idle deadline is written back at most once a minute (see EXTEND_WRITE_MS).
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Flash {
  kind: 'info' | 'error';
  text: string;
}

export interface WebSession {
  readonly id: string;
  readonly username: string;
  /** Posted back by every form of the session (a hidden field). */
  readonly csrf: string;
  /** Epoch milliseconds; pushed forward on each request. */
  expiresAt: number;
  flash?: Flash;
  /** The user's password must be changed before anything else (web client). */
  mustChangePassword?: boolean;
  /** The share password hash the session was opened with (share pages): a changed password ends it. */
  openedWith?: string;
}

/**
 * The part of the server's store shared sessions need (structural, so the web layer does not
 * depend on the store module): meta keys read, written and listed.
 */
export interface SessionStore {
  readonly shared: boolean;
  get(c: 'meta', key: string): Promise<unknown>;
  write<T>(fn: (tx: { put(c: 'meta', key: string, value: unknown): Promise<void>; remove(c: 'meta', key: string): Promise<void> }) => Promise<T>): Promise<T>;
  entries(c: 'meta'): AsyncIterable<[string, unknown]>;
}

/** A random token for cookies and forms: 32 bytes, base64url. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of two tokens (a missing one never matches). */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A shared session's idle deadline is written back once it has moved this much, or a quarter of
 * the validity when that is shorter: a session then ends at most this early, never while in use.
 */
const EXTEND_WRITE_MS = 60_000;
/** How often a shared store is swept of sessions idle past their validity. */
const SWEEP_MS = 10 * 60_000;

export interface WebSessionsOptions {
  idleMs: number;
  now?: () => number;
  /** The server's store: used when it is shared, with `kind` naming this set of sessions in it. */
  store?: SessionStore;
  kind?: string;
}

export class WebSessions {
  readonly #byId = new Map<string, WebSession>();
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #store: SessionStore | undefined;
  readonly #prefix: string;
  #lastSweep: number;

  constructor(opts: WebSessionsOptions) {
    this.#idleMs = opts.idleMs;
    this.#now = opts.now ?? Date.now;
    this.#store = opts.store?.shared ? opts.store : undefined;
    this.#prefix = `web_session:${opts.kind ?? 'web'}:`;
    this.#lastSweep = this.#now();
  }

  async open(username: string, extra: Pick<WebSession, 'mustChangePassword' | 'openedWith'> = {}): Promise<WebSession> {
    const s: WebSession = { id: randomToken(), username, csrf: randomToken(), expiresAt: this.#now() + this.#idleMs, ...extra };
    if (!this.#store) {
      this.#sweepMemory();
      this.#byId.set(s.id, s);
      return s;
    }
    await this.#save(s);
    if (this.#now() - this.#lastSweep >= SWEEP_MS) {
      this.#lastSweep = this.#now();
      await this.#sweepStore();
    }
    return s;
  }

  /** The live session with this id, its idle deadline pushed forward; undefined when unknown or expired. */
  async find(id: string | undefined): Promise<WebSession | undefined> {
    if (!id) return undefined;
    const now = this.#now();
    if (!this.#store) {
      const s = this.#byId.get(id);
      if (!s) return undefined;
      if (s.expiresAt <= now) {
        this.#byId.delete(id);
        return undefined;
      }
      s.expiresAt = now + this.#idleMs;
      return s;
    }
    const stored = asSession(await this.#store.get('meta', this.#prefix + id));
    if (!stored || stored.id !== id) return undefined;
    if (stored.expiresAt <= now) {
      await this.close(id);
      return undefined;
    }
    const pushed = now + this.#idleMs;
    const write = pushed - stored.expiresAt >= Math.min(EXTEND_WRITE_MS, this.#idleMs / 4);
    stored.expiresAt = pushed;
    if (write) await this.#save(stored);
    return stored;
  }

  /** Keeps a change made to the session (its message): a no-op for sessions in memory. */
  async save(s: WebSession): Promise<void> {
    if (this.#store) await this.#save(s);
  }

  async close(id: string): Promise<void> {
    this.#byId.delete(id);
    await this.#store?.write((tx) => tx.remove('meta', this.#prefix + id));
  }

  async #save(s: WebSession): Promise<void> {
    await this.#store!.write((tx) => tx.put('meta', this.#prefix + s.id, { ...s }));
  }

  #sweepMemory(): void {
    const now = this.#now();
    for (const [id, s] of this.#byId) if (s.expiresAt <= now) this.#byId.delete(id);
  }

  async #sweepStore(): Promise<void> {
    const store = this.#store!;
    const now = this.#now();
    // Keys first: the store's iterator must not stay open across the write.
    const expired: string[] = [];
    for await (const [key, value] of store.entries('meta')) if (key.startsWith(this.#prefix) && (asSession(value)?.expiresAt ?? 0) <= now) expired.push(key);
    if (expired.length === 0) return;
    await store.write(async (tx) => {
      for (const key of expired) await tx.remove('meta', key);
    });
  }
}

function asSession(v: unknown): WebSession | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const s = v as Partial<WebSession>;
  return typeof s.id === 'string' && typeof s.username === 'string' && typeof s.csrf === 'string' && typeof s.expiresAt === 'number' ? (s as WebSession) : undefined;
}
