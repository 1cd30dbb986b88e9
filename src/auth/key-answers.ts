// An SSH key login asks twice: may I use this key (a query without signature), then the same key
// with its signature. When a login hook (external auth, pre-login) decided the first, its answer is
// kept for the second, once and for a few seconds, so one login is one hook run even without a
// cache time (SFTPGo's SSH library keeps the answer per connection the same way).
import type { UserRecord } from '../model.ts';
import type { LoginAttempt } from './login.ts';

const KEEP_MS = 10_000;
const MAX_KEPT = 10_000;

/** The identity of a key attempt: address, user and key; undefined for other methods. */
export function keyAttemptId(attempt: LoginAttempt): string | undefined {
  return attempt.method === 'publickey' && attempt.publicKey ? `${attempt.ip}\0${attempt.username}\0${attempt.publicKey}` : undefined;
}

/** One server's kept answers. */
export class KeyAnswers {
  readonly #kept = new Map<string, { user: UserRecord; until: number }>();

  /** The user a hook resolved for the same key attempt moments ago; taken at most once. */
  take(id: string): UserRecord | undefined {
    const a = this.#kept.get(id);
    this.#kept.delete(id);
    return a && a.until > Date.now() ? a.user : undefined;
  }

  keep(id: string, user: UserRecord): void {
    const now = Date.now();
    if (this.#kept.size >= 1000) for (const [k, a] of this.#kept) if (a.until <= now) this.#kept.delete(k);
    if (this.#kept.size < MAX_KEPT) this.#kept.set(id, { user, until: now + KEEP_MS });
  }
}
