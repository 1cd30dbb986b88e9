// External authentication (data_provider.external_auth_hook), SFTPGo's contract: for a login whose
// method is in external_auth_scope, the hook gets the credentials and answers
//   - a user definition (JSON): accepted; the user is stored runtime-owned (auth/hook-users.ts),
//   - nothing (exit 0 / 2xx, empty output): the known user is kept and its stored credentials decide,
//   - an empty username, a non-zero exit, a non-2xx status, a timeout or garbage: denied.
// For a password the hook's yes is the credential check; for a public key it vouches for the key and
// the protocol still verifies the signature; for keyboard-interactive it only names the user.
//
// With data_provider.external_auth_cache_time > 0, an accepted user is trusted for that long without
// asking the hook again: a password is compared with the stored keyed digest (the clear password is
// never stored), a key with the keys the hook accepted.
import type { Config } from '../config/load.ts';
import { runHook, hookSucceeded } from '../core/hooks.ts';
import type { UserRecord } from '../model.ts';
import { META, type Store } from '../store/store.ts';
import { storeHookUser, type HookUserRecord } from './hook-users.ts';
import { findAuthorizedKey, parsePublicKey } from './keys.ts';
import { hookUser, hooksTimeoutMs, parseHookJson } from './login-hooks.ts';
import type { AuthEnv, LoginAttempt, LoginMethod } from './login.ts';
import { passwordDigest } from './passwords.ts';

const METHOD_BIT: Record<LoginMethod, number> = { password: 1, publickey: 2, 'keyboard-interactive': 4, TLSCertificate: 8 };

/** Whether the external auth hook is asked for this method (before per-user filters). */
export function externalAuthApplies(config: Config, method: LoginMethod): boolean {
  const dp = config.data_provider;
  if (!dp?.external_auth_hook) return false;
  const scope = dp.external_auth_scope ?? 0;
  return scope === 0 || (scope & METHOD_BIT[method]) !== 0;
}

export type ExternalAuthResult =
  /** `verified`: the hook (or its cache) checked the password or certificate; nothing left to check. */
  | { ok: true; user: UserRecord; verified: boolean }
  | { ok: false; reason: string };

export async function externalAuth(env: AuthEnv & { store: Store }, attempt: LoginAttempt, current: UserRecord | undefined): Promise<ExternalAuthResult> {
  const cached = await fromCache(env, attempt, current);
  if (cached) return cached;
  const json = hookUser(current);
  const r = await runHook(env.config.data_provider!.external_auth_hook!, {
    name: 'external_auth_hook',
    env: {
      SFTPGO_AUTHD_USERNAME: attempt.username,
      SFTPGO_AUTHD_USER: json ? JSON.stringify(json) : '',
      SFTPGO_AUTHD_IP: attempt.ip,
      SFTPGO_AUTHD_PROTOCOL: attempt.protocol,
      SFTPGO_AUTHD_PASSWORD: attempt.password ?? '',
      SFTPGO_AUTHD_PUBLIC_KEY: attempt.publicKey ?? '',
      SFTPGO_AUTHD_KEYBOARD_INTERACTIVE: attempt.method === 'keyboard-interactive' ? '1' : '',
      SFTPGO_AUTHD_TLS_CERT: attempt.tlsCert ?? '',
    },
    payload: {
      username: attempt.username,
      ip: attempt.ip,
      user: json ?? null,
      protocol: attempt.protocol,
      password: attempt.password ?? '',
      public_key: attempt.publicKey ?? '',
      keyboard_interactive: attempt.method === 'keyboard-interactive' ? '1' : '',
      tls_cert: attempt.tlsCert ?? '',
    },
    timeoutMs: hooksTimeoutMs(env.config),
    log: env.log,
  });
  const deny = (reason: string, detail?: string): ExternalAuthResult => {
    env.log('warn', 'external_auth_denied', { ip: attempt.ip, protocol: attempt.protocol, username: attempt.username, method: attempt.method, reason, ...(detail ? { detail } : {}) });
    return { ok: false, reason };
  };
  if (!hookSucceeded(r) || !r.ok) return deny('external_auth_failed');
  const answer = parseHookJson(r.output);
  if (answer === 'garbage') return deny('external_auth_invalid', 'output is not a JSON object');
  if (answer === undefined) {
    // "Accepted, nothing to update": only meaningful for a user we know; its stored credentials decide.
    return current ? { ok: true, user: current, verified: false } : deny('external_auth_denied', 'empty answer for an unknown user');
  }
  if (!answer.username) return deny('external_auth_denied');
  if (answer.username !== attempt.username) return deny('external_auth_invalid', `answered user "${String(answer.username)}"`);

  const cacheS = env.config.data_provider?.external_auth_cache_time ?? 0;
  const stored = await storeHookUser(env, answer, {
    by: 'external_auth_hook',
    ip: attempt.ip,
    ...(attempt.method === 'password' && attempt.password !== undefined ? { loginPassword: attempt.password } : {}),
    ...(attempt.method === 'publickey' && attempt.publicKey ? { acceptedKey: attempt.publicKey } : {}),
    ...(cacheS > 0 && (attempt.method === 'password' || attempt.method === 'publickey') ? { cachedUntil: Date.now() + cacheS * 1000 } : {}),
  });
  if (!stored.ok) return deny(stored.reason);
  return { ok: true, user: stored.user, verified: attempt.method === 'password' || attempt.method === 'TLSCertificate' };
}

/** The user from the external auth cache when the same credentials were accepted recently. */
async function fromCache(env: AuthEnv & { store: Store }, attempt: LoginAttempt, current: UserRecord | undefined): Promise<ExternalAuthResult | undefined> {
  const rec = current as HookUserRecord | undefined;
  if (!rec || rec.source !== 'runtime' || !rec.external_auth_cached_until || rec.external_auth_cached_until <= Date.now()) return undefined;
  if (attempt.method === 'password' && attempt.password !== undefined && rec.password_digest) {
    const key = Buffer.from(String((await env.store.get('meta', META.secretKey)) ?? ''), 'base64');
    if (passwordDigest(attempt.password, key) === rec.password_digest) return { ok: true, user: rec, verified: true };
  }
  if (attempt.method === 'publickey' && attempt.publicKey) {
    const p = parsePublicKey(attempt.publicKey);
    if (p.ok && findAuthorizedKey(rec.public_keys ?? [], p.key.blob)) return { ok: true, user: rec, verified: false };
  }
  return undefined;
}
