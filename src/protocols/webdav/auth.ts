// HTTP Basic authentication for WebDAV against the same users as every protocol, with a small
// cache of verified credentials: WebDAV clients send the password with every request and a bcrypt
// check costs ~60 ms. An entry is keyed by username and holds a keyed hash (HMAC with a per-process
// random key) of the password that verified, plus the stored hash it verified against: a changed
// user record (new password) misses the cache by construction. Entries expire after
// `webdavd.cache.users.expiration_time` minutes and the cache holds at most `max_size` users.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface BasicCredentials {
  username: string;
  password: string;
}

/** undefined when there is no usable Basic Authorization header. */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export const DEFAULT_CACHE_MINUTES = 5;
export const DEFAULT_CACHE_SIZE = 50;

interface Entry {
  digest: Buffer;
  storedHash: string;
  expiresAt: number;
}

export class CredentialsCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, Entry>();

  constructor(
    private ttlMs: number,
    private maxSize: number,
  ) {}

  configure(ttlMs: number, maxSize: number): void {
    this.ttlMs = ttlMs;
    this.maxSize = maxSize;
    this.#entries.clear();
  }

  #digest(password: string): Buffer {
    return createHmac('sha256', this.#key).update(password).digest();
  }

  has(username: string, password: string, storedHash: string): boolean {
    const e = this.#entries.get(username);
    if (!e) return false;
    if (e.expiresAt <= Date.now() || e.storedHash !== storedHash) {
      this.#entries.delete(username);
      return false;
    }
    return timingSafeEqual(e.digest, this.#digest(password));
  }

  add(username: string, password: string, storedHash: string): void {
    if (this.maxSize <= 0 || this.ttlMs <= 0) return;
    this.#entries.delete(username);
    while (this.#entries.size >= this.maxSize) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(username, { digest: this.#digest(password), storedHash, expiresAt: Date.now() + this.ttlMs });
  }

  forget(username: string): void {
    this.#entries.delete(username);
  }

  get size(): number {
    return this.#entries.size;
  }
}
