// Web sessions: which admin (later: which user) a browser is, kept in memory behind a random
// cookie. Each session holds its CSRF token, which every form posts back, and at most one message
// to show on the next page (post/redirect/get). A session ends at logout, when idle past its
// validity, or when the server restarts.
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

export class WebSessions {
  readonly #byId = new Map<string, WebSession>();
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(opts: { idleMs: number; now?: () => number }) {
    this.#idleMs = opts.idleMs;
    this.#now = opts.now ?? Date.now;
  }

  open(username: string): WebSession {
    this.#sweep();
    const s: WebSession = { id: randomToken(), username, csrf: randomToken(), expiresAt: this.#now() + this.#idleMs };
    this.#byId.set(s.id, s);
    return s;
  }

  /** The live session with this id, its idle deadline pushed forward; undefined when unknown or expired. */
  find(id: string | undefined): WebSession | undefined {
    if (!id) return undefined;
    const s = this.#byId.get(id);
    if (!s) return undefined;
    const now = this.#now();
    if (s.expiresAt <= now) {
      this.#byId.delete(id);
      return undefined;
    }
    s.expiresAt = now + this.#idleMs;
    return s;
  }

  close(id: string): void {
    this.#byId.delete(id);
  }

  get size(): number {
    return this.#byId.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#byId) if (s.expiresAt <= now) this.#byId.delete(id);
  }
}
