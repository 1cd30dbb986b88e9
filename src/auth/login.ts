// The steps of a login. The gate (core/gate.ts) runs them for every protocol and the admin API, so
// SFTP/SCP, FTP/S, WebDAV (and later the web client) apply the same rules in the same order; this
// module holds steps 1 to 3:
//
//   0. admission     right after accept, before any protocol byte (core/gate.ts)
//   1. resolveUser   find the user the attempt names (the store; external auth and the pre-login
//                    hook plug in here and may create or replace a runtime-owned user)
//   2. userFilters   the user's own rules for this attempt: client IP (allowed_ip / denied_ip),
//                    protocol (denied_protocols), method (denied_login_methods)
//   3. credentials   password (stored hash, check_password_hook) or public key, done by the caller
//                    for methods only one protocol has (SSH keys, keyboard-interactive); a right
//                    password that must be changed first is refused (auth/password-age.ts)
//   4. account       status, expiration, max_sessions (core/login.ts loginRefusal)
//   5. report        the log line, the metric, post-login hooks (core/gate.ts)
//
// A protocol front-end maps the result to its own wire answer and never decides policy itself.
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { Config } from '../config/load.ts';
import { allowedBy, inCidr } from '../lib/cidr.ts';
import type { Log } from '../log.ts';
import type { UserRecord } from '../model.ts';
import { effectiveUser } from '../store/records.ts';
import { userWithGroups, withStoredGroups } from '../store/groups.ts';
import type { Store } from '../store/store.ts';
import { externalAuth, externalAuthApplies } from './external.ts';
import { keyAttemptId, type KeyAnswers } from './key-answers.ts';
import { storeHookUser } from './hook-users.ts';
import { checkPasswordApplies, preLoginApplies, runCheckPassword, runPreLogin } from './login-hooks.ts';
import { passwordChangeDue } from './password-age.ts';
import { hashingOptions } from '../store/records.ts';
import type { DecoyPassword } from './decoy.ts';
import { verifyCached, type CredentialsCache } from './credentials-cache.ts';
import { splitPasswordAndCode, type TotpCodes } from './totp.ts';

export type LoginProtocol = 'SSH' | 'FTP' | 'DAV' | 'HTTP';

export function isLoginProtocol(s: string): s is LoginProtocol {
  return s === 'SSH' || s === 'FTP' || s === 'DAV' || s === 'HTTP';
}
export type LoginMethod = 'password' | 'publickey' | 'keyboard-interactive' | 'TLSCertificate';

/** What every attempt carries, whatever the method. */
export interface LoginAttempt {
  protocol: LoginProtocol;
  ip: string;
  username: string;
  method: LoginMethod;
  /**
   * The credential, for the hooks that see it (external auth, check password). Never logged.
   * `publicKey` is an authorized_keys line; `tlsCert` a PEM certificate.
   */
  password?: string;
  publicKey?: string;
  tlsCert?: string;
}

/** What the pipeline needs from the running server; read again on every login, so reloads apply. */
export interface AuthEnv {
  /** Read at every step; written when a login hook creates or updates a runtime-owned user. */
  store: Store;
  config: Config;
  log: Log;
  /** Accepted TOTP codes (replay memory). */
  totp: TotpCodes;
  /** Hook answers kept between an SSH key query and its signed attempt. */
  keyAnswers: KeyAnswers;
  /**
   * Users whose credentials the external auth hook (or its cache) has just verified for this
   * attempt: checkPassword accepts them without the stored hash. Keyed by the record resolveUser
   * returned.
   */
  verifiedByHook: WeakSet<UserRecord>;
  /** Who the store changes of the current async context are by (provider event rules read it). */
  changeOrigin?: AsyncLocalStorage<{ name: string; ip: string; role: string }>;
  /** The hash an attempt with no account to check is verified against (auth/decoy.ts). */
  decoy: DecoyPassword;
  /** Passwords that verified (data_provider.password_caching); undefined when caching is off. */
  verified?: CredentialsCache;
}

/**
 * A password attempt with no stored hash to check (no such user, or one without a password) spends
 * the time of one verification at the configured cost, so its refusal cannot be told by timing.
 */
export function spendDecoy(env: Pick<AuthEnv, 'decoy' | 'config'>, password: string): Promise<void> {
  return env.decoy.verify(password, hashingOptions(env.config.data_provider?.password_hashing));
}

export type Verdict = { ok: true; user: UserRecord } | { ok: false; reason: string };


/**
 * Step 1: the user an attempt names, or why there is none: user_not_found, or the hook's own
 * refusal (external_auth_*, pre_login_hook_*, config_user_conflict...), which `login_failed` then
 * carries. With external auth in scope (and not disabled for a known user), the hook decides and
 * may store a runtime-owned user; otherwise the pre-login hook may create or update one. Hook
 * refusals also log their own line, with the detail.
 */
export async function resolveUser(env: AuthEnv, attempt: LoginAttempt): Promise<Verdict> {
  const keyId = keyAttemptId(attempt);
  const answered = keyId && env.keyAnswers.take(keyId);
  if (answered) return { ok: true, user: answered };
  // Hooks are shown, and answer, the user's own record (as SFTPGo's are); the login gets it with
  // its groups applied.
  const current = await effectiveUser(env.store, attempt.username);
  if (externalAuthApplies(env.config, attempt.method) && !current?.filters?.hooks?.external_auth_disabled) {
    const r = await externalAuth(env, attempt, current);
    if (!r.ok) return r;
    const user = await withStoredGroups(env.store, r.user);
    if (r.verified) env.verifiedByHook.add(user);
    if (keyId) env.keyAnswers.keep(keyId, user);
    return { ok: true, user };
  }
  if (!preLoginApplies(env.config, current)) return current ? { ok: true, user: await withStoredGroups(env.store, current) } : { ok: false, reason: 'user_not_found' };
  const v = await preLogin(env, attempt, current);
  if (!v.ok) return v;
  const user = await withStoredGroups(env.store, v.user);
  if (keyId) env.keyAnswers.keep(keyId, user);
  return { ok: true, user };
}

/** The pre-login hook's part of step 1: keep, create or update the user, or deny. */
async function preLogin(env: AuthEnv, attempt: LoginAttempt, current: UserRecord | undefined): Promise<Verdict> {
  const answer = await runPreLogin(env.config, current, attempt, env.log);
  if (answer.kind === 'denied') {
    env.log('warn', 'pre_login_denied', { ip: attempt.ip, protocol: attempt.protocol, username: attempt.username, method: attempt.method, reason: answer.reason });
    return { ok: false, reason: answer.reason };
  }
  if (answer.kind === 'unchanged') return current ? { ok: true, user: current } : { ok: false, reason: 'user_not_found' };
  return storeHookUser(env, answer.user, { by: 'pre_login_hook', ip: attempt.ip });
}

/** The user an attempt names, if the store has one (for the post-login hook of a refusal). */
export async function knownUser(env: Pick<AuthEnv, 'store'>, username: string): Promise<UserRecord | undefined> {
  return (await env.store.get('users', username)) ? effectiveUser(env.store, username) : undefined;
}

/** The SSH method names denied_login_methods uses for a method tried over `protocol`. */
function deniedMethodNames(attempt: Pick<LoginAttempt, 'protocol' | 'method'>): string[] {
  if (attempt.method === 'password' && attempt.protocol === 'SSH') return ['password', 'password-over-SSH'];
  return [attempt.method];
}

/** Which of the user's filters refused an attempt, and the entry that matched (none for allowed_ip). */
export interface FilterRefusal {
  reason: 'protocol_denied' | 'method_denied' | 'ip_denied';
  field: 'denied_protocols' | 'denied_login_methods' | 'denied_ip' | 'allowed_ip';
  entry?: string;
}

/** Step 2: the user's own rules for this attempt; a reason when refused. */
export function userFilters(user: UserRecord, attempt: LoginAttempt): string | undefined {
  return filterRefusal(user, attempt)?.reason;
}

/**
 * Step 2 with the rule that decided. Without a method (what `explain` asks: any method) the
 * denied_login_methods list is not consulted.
 */
export function filterRefusal(user: UserRecord, attempt: Pick<LoginAttempt, 'protocol' | 'ip'> & { method?: LoginMethod }): FilterRefusal | undefined {
  const f = user.filters;
  if (!f) return undefined;
  if (f.denied_protocols?.includes(attempt.protocol)) return { reason: 'protocol_denied', field: 'denied_protocols', entry: attempt.protocol };
  const denied = (f.denied_login_methods ?? []) as string[];
  const method = attempt.method && deniedMethodNames({ protocol: attempt.protocol, method: attempt.method }).find((m) => denied.includes(m));
  if (method) return { reason: 'method_denied', field: 'denied_login_methods', entry: method };
  const deniedIp = f.denied_ip?.find((c) => inCidr(attempt.ip, c));
  if (deniedIp !== undefined) return { reason: 'ip_denied', field: 'denied_ip', entry: deniedIp };
  if (!allowedBy(f.allowed_ip, attempt.ip)) return { reason: 'ip_denied', field: 'allowed_ip' };
  return undefined;
}

/**
 * SFTPGo's rule: a denied_ip match refuses; otherwise, when allowed_ip is set, the address must
 * match one of its entries. Both take CIDRs or single addresses, IPv4 and IPv6.
 */
export function ipAllowed(ip: string, allowed: readonly string[] | undefined, denied: readonly string[] | undefined): boolean {
  return !denied?.some((c) => inCidr(ip, c)) && allowedBy(allowed, ip);
}

/** A cache of verified passwords (WebDAV sends the password with every request). */
export interface PasswordCache {
  has(username: string, password: string, storedHash: string): boolean;
  add(username: string, password: string, storedHash: string): void;
}

/**
 * Step 3 for passwords: external auth's verdict when it checked this one; else the
 * check_password_hook where configured (0 denies, 1 accepts, 2 checks its `to_verify` part against
 * the stored hash); else the stored hash.
 */
export async function checkPassword(env: AuthEnv, user: UserRecord, attempt: LoginAttempt, password: string, cache?: PasswordCache): Promise<Verdict> {
  if (env.verifiedByHook.has(user)) {
    if (user.password) cache?.add(user.username, password, user.password);
    return { ok: true, user };
  }
  if (cache && user.password && cache.has(user.username, password, user.password)) return passwordStillUsable(user);
  let toVerify = password;
  if (checkPasswordApplies(env.config, user, attempt.protocol)) {
    const answer = await runCheckPassword(env.config, attempt, password, env.log);
    if (answer.status === 0) return { ok: false, reason: answer.reason };
    if (answer.status === 1) {
      if (user.password) cache?.add(user.username, password, user.password);
      return passwordStillUsable(user);
    }
    toVerify = answer.toVerify;
  }
  if (!user.password) {
    await spendDecoy(env, toVerify);
    return { ok: false, reason: 'no_password' };
  }
  const good = await verifyCached(env.verified, `user:${user.username}`, toVerify, user.password);
  // A wrong password leaves a cached right one alone: failed guesses must not slow the real user down.
  if (!good) return { ok: false, reason: 'invalid_credentials' };
  cache?.add(user.username, password, user.password);
  return passwordStillUsable(user);
}

/**
 * A verified password that must be changed first (filters.require_password_change, or older than
 * filters.password_expiration) does not log in. SFTPGo refuses before looking at the password; it
 * is checked after here, so the reason in `login_failed` (and the text a front-end shows) is only
 * ever given to someone who knows the password. External auth owns its users' passwords and is
 * not asked.
 */
function passwordStillUsable(user: UserRecord): Verdict {
  const due = passwordChangeDue(user, Date.now());
  return due ? { ok: false, reason: due } : { ok: true, user };
}

/**
 * Steps 1 to 3 for a login by password, the only method FTP and WebDAV have. A user with TOTP for
 * the protocol sends the password with the current code appended (SFTPGo's convention for a single
 * password field); the hooks see what the client sent.
 */
export async function passwordLogin(env: AuthEnv, attempt: LoginAttempt, given: string, cache?: PasswordCache): Promise<Verdict> {
  // WebDAV sends the password with every request: credentials verified moments ago (by hash or by
  // a hook) are not sent to the hooks again; the cache is keyed by the stored hash, so a changed
  // password or user falls out of it.
  if (cache) {
    const known = await userWithGroups(env.store, attempt.username);
    if (known?.password && cache.has(known.username, given, known.password)) {
      const refused = userFilters(known, attempt);
      return refused ? { ok: false, reason: refused } : passwordStillUsable(known);
    }
  }
  const resolved = await resolveUser(env, { ...attempt, password: given });
  if (!resolved.ok) {
    if (resolved.reason === 'user_not_found') await spendDecoy(env, given);
    return resolved;
  }
  const user = resolved.user;
  const refused = userFilters(user, attempt);
  if (refused) return { ok: false, reason: refused };
  const { password, code } = splitPasswordAndCode(user, attempt.protocol, given);
  const v = await checkPassword(env, user, { ...attempt, password }, password, cache);
  if (!v.ok || code === undefined) return v;
  const bad = await env.totp.use(v.user, code, env.store.secrets);
  return bad ? { ok: false, reason: bad } : v;
}
