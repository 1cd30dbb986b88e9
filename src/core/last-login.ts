// Users' last login (SFTPGo's `last_login`, epoch milliseconds): the gate records it after every
// successful login, whatever the protocol. It lives in the store's meta beside the user's record, so
// reconcile never sees it as a change to the definition, and it is written the way SFTPGo writes it:
// only when the stored time is not recent, or the user changed since, so a busy user costs a read
// per login and a write every few minutes. The write runs in the background: a login never waits
// for it, and a failure is logged, never refused.
import type { Log } from '../log.ts';
import type { UserRecord } from '../model.ts';
import { META, type Store } from '../store/store.ts';

/** As SFTPGo's lastLoginMinDelay: a stored last login younger than this is left as it is. */
export const LAST_LOGIN_MIN_DELAY_MS = 10 * 60_000;

/** A stored time this far in the future (a clock stepped back) is not recent: it is rewritten. */
const FUTURE_TOLERANCE_MS = 10_000;

export interface LastLoginCheck {
  /** The stored last login, 0 when none. */
  last: number;
  /** The user record's updated_at. */
  updatedAt: number;
  now: number;
  delayMs: number;
}

/** SFTPGo's rule: write when the user changed since its last login or that login is not recent. */
export function lastLoginDue({ last, updatedAt, now, delayMs }: LastLoginCheck): boolean {
  if (last <= updatedAt) return true;
  const age = now - last;
  return age < -FUTURE_TOLERANCE_MS || age >= delayMs;
}

export interface LastLoginsOptions {
  store: Store;
  log: Log;
  /** The delay for users the external auth cache vouches for (SFTPGo: its cache time), read at each login so reloads apply. */
  externalAuthCacheMs?: () => number;
  /** Replaces LAST_LOGIN_MIN_DELAY_MS (tests). */
  minDelayMs?: number;
  now?: () => number;
}

export class LastLogins {
  readonly #store: Store;
  readonly #log: Log;
  readonly #externalAuthCacheMs: () => number;
  readonly #minDelayMs: number;
  readonly #now: () => number;
  /** Users whose write is under way: a burst of logins (WebDAV's one per request) writes once. */
  readonly #pending = new Set<string>();

  constructor(opts: LastLoginsOptions) {
    this.#store = opts.store;
    this.#log = opts.log;
    this.#externalAuthCacheMs = opts.externalAuthCacheMs ?? (() => 0);
    this.#minDelayMs = opts.minDelayMs ?? LAST_LOGIN_MIN_DELAY_MS;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Records a successful login of `user` in the background. The promise (for tests) settles when
   * the write is done or found unneeded; it never rejects.
   */
  record(user: UserRecord): Promise<void> {
    const name = user.username;
    if (this.#pending.has(name)) return Promise.resolve();
    this.#pending.add(name);
    return this.#write(user)
      .catch((err: Error) => this.#log('warn', 'user_last_login_failed', { username: name, error: err.message }))
      .finally(() => this.#pending.delete(name));
  }

  async #write(user: UserRecord): Promise<void> {
    const key = META.userLastLogin(user.username);
    const cacheMs = this.#externalAuthCacheMs();
    // As SFTPGo: a user the external auth cache vouches for is rewritten at the cache's pace.
    const delayMs = cacheMs > 0 && hasExternalAuthCache(user) ? cacheMs : this.#minDelayMs;
    const check = { updatedAt: user.updated_at ?? 0, delayMs };
    if (!lastLoginDue({ ...check, last: await this.#stored(key), now: this.#now() })) return;
    await this.#store.write(async (tx) => {
      // Only for a user still there (a login finishing after a delete leaves nothing behind), and
      // checked again inside the write in case another server process wrote it meanwhile.
      if (!(await tx.get('users', user.username))) return;
      const now = this.#now();
      if (lastLoginDue({ ...check, last: ((await tx.get('meta', key)) as number | undefined) ?? 0, now })) await tx.put('meta', key, now);
    });
  }

  async #stored(key: string): Promise<number> {
    return ((await this.#store.get('meta', key)) as number | undefined) ?? 0;
  }
}

function hasExternalAuthCache(user: UserRecord): boolean {
  return 'external_auth_cached_until' in user && typeof user.external_auth_cached_until === 'number' && user.external_auth_cached_until > 0;
}
