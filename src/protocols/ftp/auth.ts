// FTP login (USER/PASS) against the store, with the same account checks as every protocol and the
// same `login_failed` log event (protocol "FTP") fail2ban reads for SFTP.
import { loginFailed } from '../../core/events.ts';
import { verifyPassword } from '../../auth/passwords.ts';
import type { UserRecord } from '../../model.ts';
import { effectiveUser } from '../../reconcile/effective.ts';
import type { ReadTx } from '../../store/store.ts';

export type PasswordOutcome = { ok: true; user: UserRecord } | { ok: false; reason: string };

export async function checkPassword(store: ReadTx, username: string, password: string): Promise<PasswordOutcome> {
  const user = effectiveUser(store, username);
  if (!user) return { ok: false, reason: 'user_not_found' };
  if (user.filters?.denied_protocols?.includes('FTP')) return { ok: false, reason: 'protocol_denied' };
  if ((user.filters?.denied_login_methods as string[] | undefined)?.includes('password')) return { ok: false, reason: 'method_denied' };
  if (!user.password) return { ok: false, reason: 'no_password' };
  const good = await verifyPassword(password, user.password).catch(() => false);
  return good ? { ok: true, user } : { ok: false, reason: 'invalid_credentials' };
}

export function logLoginFailed(ip: string, username: string, reason: string): void {
  loginFailed({ ip, protocol: 'FTP', username, method: 'password', reason });
}
