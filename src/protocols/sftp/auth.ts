// SSH user authentication through the login pipeline (auth/login.ts): passwords and public keys
// (several per user); max_auth_tries and the account checks are applied by the server. Every refusal is logged as a
// stable `login_failed` event carrying the client IP, for fail2ban.
import { findAuthorizedKey } from '../../auth/keys.ts';
import { checkPassword, loginRejected, resolveUser, userFilters, type AuthEnv, type LoginAttempt, type LoginMethod } from '../../auth/login.ts';
import type { UserRecord } from '../../model.ts';
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

export async function authenticate(env: AuthEnv, ip: string, ctx: AuthContext, settings: AuthSettings): Promise<AuthOutcome> {
  const username = ctx.username;
  const method = ctx.method;
  if (method !== 'password' && method !== 'publickey') return { ok: 'skip' };
  if (method === 'password' && !settings.passwordAuthentication) return { ok: 'skip' };
  // The credential rides along for the hooks that see it (external auth, check password).
  const attempt: LoginAttempt = ctx.method === 'password'
    ? { protocol: 'SSH', ip, username, method, password: ctx.password }
    : { protocol: 'SSH', ip, username, method, publicKey: authorizedKeyLine((ctx as AuthContext & { key: { data: Buffer } }).key.data) };
  const user = await resolveUser(env, attempt);
  if (!user) return { ok: false, reason: 'user_not_found', username, method };
  const refused = userFilters(user, attempt);
  if (refused) return { ok: false, reason: refused, username, method };

  if (ctx.method === 'password') {
    const v = await checkPassword(env, user, attempt, ctx.password);
    return v.ok ? { ok: true, user: v.user, method } : { ok: false, reason: v.reason, username, method };
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

/** The key a client presents, as an authorized_keys line: its type is the first string of the blob. */
function authorizedKeyLine(blob: Buffer): string {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  return `${blob.subarray(4, 4 + len).toString('latin1')} ${blob.toString('base64')}`;
}

export function logLoginFailed(ip: string, username: string, method: string, reason: string, env?: AuthEnv): void {
  loginRejected(env, { ip, protocol: 'SSH', username, method: method as LoginMethod }, reason);
}
