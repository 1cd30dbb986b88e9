// The account checks an event rule can run over users, with SFTPGo's semantics: password
// expiration (type 11: an email to each user whose password expires within the threshold), user
// expiration (type 12: fails naming the expired users) and inactivity (type 14: disables, then
// deletes, users whose last login is older than the thresholds). Each takes the users the rule
// matched and reports failures per user: the action's error names them, and each user's own reason
// goes to {{.ErrorString}}. The store writes and the mail go through the callbacks the manager gives.
import type { EventPasswordExpirationConfig, EventUserInactivityConfig } from '../../config/schema-types.ts';
import type { UserRecord } from '../../model.ts';
import type { Mailer } from '../mailer.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export const PASSWORD_EXPIRATION_SUBJECT = 'SFTPGo password expiration notification';

/** An action that failed for some users: each user's reason goes to the run's errors ({{.ErrorString}}). */
export class UsersFailed extends Error {
  constructor(
    message: string,
    readonly userErrors: string[],
  ) {
    super(message);
  }
}

/**
 * Days until the password expires (SFTPGo's PasswordExpiresIn: rounded, at least 1 while it has
 * not expired, negative once it has); undefined when the user's password never expires.
 */
export function passwordExpiresInDays(u: Pick<UserRecord, 'filters' | 'last_password_change' | 'updated_at'>, now: number): number | undefined {
  const days = u.filters?.password_expiration ?? 0;
  if (days <= 0) return undefined;
  const expiresAt = (u.last_password_change ?? u.updated_at ?? 0) + days * DAY_MS;
  const left = Math.round((expiresAt - now) / DAY_MS);
  return left === 0 && expiresAt > now ? 1 : left;
}

/** Whole days since the last login, or since creation for a user who never logged in (SFTPGo's InactivityDays). */
export function inactivityDays(lastLogin: number, createdAt: number, now: number): number {
  const last = lastLogin || createdAt;
  if (!last) return 0;
  return Math.trunc((now - last) / DAY_MS);
}

function isExpired(u: Pick<UserRecord, 'expiration_date'>, now: number): boolean {
  return (u.expiration_date ?? 0) > 0 && u.expiration_date! < now;
}

/** The built-in body of SFTPGo's password-expiration.html. */
export function passwordExpirationBody(username: string, days: number, template?: string): string {
  const name = username.replace(/[&'<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  if (template !== undefined) return template.replaceAll('{{.Username}}', name).replaceAll('{{.Days}}', String(days));
  const when = days <= 0 ? 'has expired' : `expires in ${days} ${days === 1 ? 'day' : 'days'}`;
  return `Hi ${name},\n<br>\n<p>your SFTPGo password ${when}.</p>\n<p>Please login to the WebClient and set a new password.</p>\n`;
}

export interface PasswordCheckOptions {
  mailer: Mailer;
  /** The custom template's text (smtp.templates_path), when there is one. */
  template?: string;
  now: number;
}

export async function runPasswordExpirationCheck(c: EventPasswordExpirationConfig, users: readonly UserRecord[], opts: PasswordCheckOptions): Promise<void> {
  const failed: string[] = [];
  const errors: string[] = [];
  for (const u of users) {
    if (isExpired(u, opts.now)) continue;
    const days = passwordExpiresInDays(u, opts.now);
    if (days === undefined || days > c.threshold) continue;
    try {
      await opts.mailer.send({ to: u.email ? [u.email] : [], subject: PASSWORD_EXPIRATION_SUBJECT, body: passwordExpirationBody(u.username, days, opts.template), html: true });
    } catch (err) {
      failed.push(u.username);
      errors.push(`${u.username}: ${(err as Error).message}`);
    }
  }
  if (failed.length) throw new UsersFailed(`password expiration check failed for users: ${failed.join(', ')}`, errors);
}

export function runUserExpirationCheck(users: readonly UserRecord[], now: number): void {
  if (users.length === 0) throw new Error('no user expiration check executed: no user matched the rule');
  const expired = users.filter((u) => isExpired(u, now)).map((u) => u.username);
  if (expired.length) throw new Error(`expired users: ${expired.join(', ')}`);
}

export interface InactivityCheckOptions {
  lastLogin: (username: string) => Promise<number>;
  disable: (username: string) => Promise<void>;
  remove: (username: string) => Promise<void>;
  now: number;
}

/**
 * As SFTPGo: a user past the delete threshold is deleted when it is already disabled (or no disable
 * threshold is set), one past the disable threshold is disabled; each user acted on (or whose
 * change failed) is a failure of the action, so a failure action can report it.
 */
export async function runInactivityCheck(c: EventUserInactivityConfig, users: readonly UserRecord[], opts: InactivityCheckOptions): Promise<void> {
  const acted: string[] = [];
  const errors: string[] = [];
  const disableAfter = c.disable_threshold ?? 0;
  const deleteAfter = c.delete_threshold ?? 0;
  for (const u of users) {
    const days = inactivityDays(await opts.lastLogin(u.username), u.created_at ?? 0, opts.now);
    try {
      if (deleteAfter > 0 && (u.status === 0 || disableAfter === 0) && days > deleteAfter) {
        await opts.remove(u.username);
        acted.push(u.username);
        errors.push(`inactive user "${u.username}" deleted. Number of days of inactivity: ${days}`);
      } else if (disableAfter > 0 && u.status !== 0 && days > disableAfter) {
        await opts.disable(u.username);
        acted.push(u.username);
        errors.push(`inactive user "${u.username}" disabled. Number of days of inactivity: ${days}`);
      }
    } catch (err) {
      acted.push(u.username);
      errors.push(`unable to act on inactive user "${u.username}": ${(err as Error).message}`);
    }
  }
  if (acted.length) throw new UsersFailed(`executed inactivity check actions for users: ${acted.join(', ')}`, errors);
}
