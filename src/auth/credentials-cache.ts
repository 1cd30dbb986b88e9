// A cache of passwords that verified, so a login that comes again skips the slow hash (a bcrypt
// check at cost 10 takes ~60-120 ms of CPU here, an argon2id one more). It never holds a password:
// an entry is keyed by name and keeps a keyed hash (HMAC-SHA256 under a per-process random key) of
// the password that verified, beside the stored hash it verified against, so a changed password
// (another stored hash) misses by construction, on this server and on a replica that did not make
// the change. A wrong password is never answered from the cache: it misses and goes through the
// full check, so it costs the same time whether or not the account is cached.
//
// Two uses: WebDAV's `webdavd.cache.users` (an entry lasts a fixed time after the login) and
// `data_provider.password_caching` for every password login (an entry lasts while it is used).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { verifyPassword } from './passwords.ts';

interface Entry {
  digest: Buffer;
  storedHash: string;
  expiresAt: number;
}

export interface CredentialsCacheOptions {
  ttlMs: number;
  maxSize: number;
  /** Each hit restarts the entry's time and makes it the last to be evicted. */
  sliding?: boolean;
}

export class CredentialsCache {
  readonly #key = randomBytes(32);
  /** In eviction order: the first entry goes first when the cache is full. */
  readonly #entries = new Map<string, Entry>();
  #opts: CredentialsCacheOptions;

  constructor(opts: CredentialsCacheOptions) {
    this.#opts = opts;
  }

  /** New limits; the entries are dropped when they change. */
  configure(opts: CredentialsCacheOptions): void {
    const o = this.#opts;
    if (o.ttlMs === opts.ttlMs && o.maxSize === opts.maxSize && !!o.sliding === !!opts.sliding) return;
    this.#opts = opts;
    this.#entries.clear();
  }

  #digest(password: string): Buffer {
    return createHmac('sha256', this.#key).update(password).digest();
  }

  /** True when `password` verified against `storedHash` for this name, and the entry is current. */
  has(name: string, password: string, storedHash: string): boolean {
    const e = this.#entries.get(name);
    if (!e) return false;
    const now = Date.now();
    if (e.expiresAt <= now || e.storedHash !== storedHash) {
      this.#entries.delete(name);
      return false;
    }
    if (!timingSafeEqual(e.digest, this.#digest(password))) return false;
    if (this.#opts.sliding) {
      e.expiresAt = now + this.#opts.ttlMs;
      this.#entries.delete(name);
      this.#entries.set(name, e);
    }
    return true;
  }

  add(name: string, password: string, storedHash: string): void {
    const { ttlMs, maxSize } = this.#opts;
    if (maxSize <= 0 || ttlMs <= 0) return;
    this.#entries.delete(name);
    while (this.#entries.size >= maxSize) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(name, { digest: this.#digest(password), storedHash, expiresAt: Date.now() + ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * verifyPassword through a cache (none: no cache). `name` names the account in the cache: users
 * and admins share one, so callers prefix it.
 */
export async function verifyCached(cache: CredentialsCache | undefined, name: string, password: string, storedHash: string): Promise<boolean> {
  if (cache?.has(name, password, storedHash)) return true;
  const ok = await verifyPassword(password, storedHash).catch(() => false);
  if (ok) cache?.add(name, password, storedHash);
  return ok;
}
