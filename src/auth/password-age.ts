// When a user's password may no longer be used to log in: filters.require_password_change (an admin
// asked for a new one) and filters.password_expiration (days since last_password_change). SFTPGo's
// rule: either one refuses every password login over SSH, FTP and WebDAV, while public keys and
// certificates still work; the password is changed through the API.
import type { UserRecord } from '../model.ts';

export type PasswordChangeDue = 'password_change_required' | 'password_expired';

const DAY_MS = 86_400_000;

/**
 * Why the user's password cannot log in at `now`, or undefined when it can. A password never set
 * through this server counts from the record's last update (see store/records.ts passwordChangedAt).
 */
export function passwordChangeDue(user: UserRecord, now: number): PasswordChangeDue | undefined {
  const f = user.filters;
  if (f?.require_password_change) return 'password_change_required';
  const days = f?.password_expiration ?? 0;
  if (days <= 0) return undefined;
  const changed = user.last_password_change ?? user.updated_at ?? 0;
  return changed + days * DAY_MS < now ? 'password_expired' : undefined;
}

const MESSAGES: Record<PasswordChangeDue, string> = {
  password_change_required: 'Login not allowed, password change required',
  password_expired: 'Login not allowed, password expired',
};

/**
 * What a front-end tells the client for a login refused with `reason`, when the reason is a
 * password that must be changed (only ever the verdict on a right password).
 */
export function passwordChangeMessage(reason: string | undefined): string | undefined {
  return reason !== undefined && Object.hasOwn(MESSAGES, reason) ? MESSAGES[reason as PasswordChangeDue] : undefined;
}
