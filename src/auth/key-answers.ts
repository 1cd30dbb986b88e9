// An SSH key login asks twice: may I use this key (a query without signature), then the same key
// with its signature. When a login hook (external auth, pre-login) decided the first, its answer is
// kept for the second, once and for a few seconds, so one login is one hook run even without a
// cache time (SFTPGo's SSH library keeps the answer per connection the same way).
import type { UserRecord } from '../model.ts';
import type { LoginAttempt } from './login.ts';

const KEEP_MS = 10_000;
const MAX_KEPT = 10_000;
const kept = new Map<string, { user: UserRecord; until: number }>();

/** The identity of a key attempt: address, user and key; undefined for other methods. */
export function keyAttemptId(attempt: LoginAttempt): string | undefined {
  return attempt.method === 'publickey' && attempt.publicKey ? `${attempt.ip}\0${attempt.username}\0${attempt.publicKey}` : undefined;
}

/** The user a hook resolved for the same key attempt moments ago; taken at most once. */
export function takeKeyAnswer(id: string): UserRecord | undefined {
  const a = kept.get(id);
  kept.delete(id);
  return a && a.until > Date.now() ? a.user : undefined;
}

export function keepKeyAnswer(id: string, user: UserRecord): void {
  const now = Date.now();
  if (kept.size >= 1000) for (const [k, a] of kept) if (a.until <= now) kept.delete(k);
  if (kept.size < MAX_KEPT) kept.set(id, { user, until: now + KEEP_MS });
}
