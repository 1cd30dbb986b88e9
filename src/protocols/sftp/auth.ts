// SSH user authentication against the store: passwords (stored hashes) and public keys (several per
// user), with max_auth_tries and the account checks of the core. Every refusal is logged as a
// stable `login_failed` event carrying the client IP, for fail2ban.
import { loginFailed } from '../../core/events.ts';
import { verifyPassword } from '../../auth/passwords.ts';
import { findAuthorizedKey } from '../../auth/keys.ts';
import type { UserRecord } from '../../model.ts';
import { effectiveUser } from '../../reconcile/effective.ts';
import type { ReadTx } from '../../store/store.ts';
import type { AuthContext } from '../ssh/ssh2.ts';
import { utils } from '../ssh/ssh2.ts';

export type AuthOutcome =
  | { ok: true; user: UserRecord; method: string }
  | { ok: false; reason: string; username: string; method: string }
  /** A public-key query without signature: the key would be accepted, nothing is decided yet. */
  | { ok: 'query' }
  /** Methods we ignore (none, keyboard-interactive): refused without counting as a failure. */
  | { ok: 'skip' };

export interface AuthSettings {
  passwordAuthentication: boolean;
}

export async function authenticate(store: ReadTx, ctx: AuthContext, settings: AuthSettings): Promise<AuthOutcome> {
  const username = ctx.username;
  const method = ctx.method;
  if (method !== 'password' && method !== 'publickey') return { ok: 'skip' };
  if (method === 'password' && !settings.passwordAuthentication) return { ok: 'skip' };
  const user = effectiveUser(store, username);
  if (!user) return { ok: false, reason: 'user_not_found', username, method };
  const denied = user.filters?.denied_login_methods ?? [];
  if ((denied as string[]).includes(method)) return { ok: false, reason: 'method_denied', username, method };
  if (user.filters?.denied_protocols?.includes('SSH')) return { ok: false, reason: 'protocol_denied', username, method };

  if (ctx.method === 'password') {
    if (!user.password) return { ok: false, reason: 'no_password', username, method };
    const good = await verifyPassword(ctx.password, user.password).catch(() => false);
    return good ? { ok: true, user, method } : { ok: false, reason: 'invalid_credentials', username, method };
  }
  const ctxKey = ctx as AuthContext & { key: { algo: string; data: Buffer }; signature?: Buffer; blob?: Buffer; hashAlgo?: string };
  const found = findAuthorizedKey(user.public_keys ?? [], ctxKey.key.data);
  if (!found) return { ok: false, reason: 'invalid_credentials', username, method };
  if (!ctxKey.signature) return { ok: 'query' };
  const parsed = utils.parseKey(`${found.type} ${found.blob.toString('base64')}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const verified = !(key instanceof Error) && key !== undefined && ctxKey.blob !== undefined
    && key.verify(ctxKey.blob, ctxKey.signature, ctxKey.hashAlgo as never) === true;
  return verified ? { ok: true, user, method } : { ok: false, reason: 'invalid_signature', username, method };
}

export function logLoginFailed(ip: string, username: string, method: string, reason: string): void {
  loginFailed({ ip, protocol: 'SSH', username, method, reason });
}
