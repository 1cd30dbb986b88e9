// The one login pipeline every protocol goes through, so SFTP/SCP, FTP/S, WebDAV (and later the
// web client) apply the same rules in the same order:
//
//   0. admitConnection  right after accept, before any protocol byte: the defender's bans and the
//                    post-connect hook (a refusal closes the socket)
//   1. resolveUser   find the user the attempt names (the store; external auth and the pre-login
//                    hook plug in here and may create or replace a runtime-owned user)
//   2. userFilters   the user's own rules for this attempt: client IP (allowed_ip / denied_ip),
//                    protocol (denied_protocols), method (denied_login_methods)
//   3. credentials   password (stored hash, check_password_hook) or public key, done by the caller
//                    for methods only one protocol has (SSH keys, keyboard-interactive)
//   4. account       status, expiration, max_sessions (core/login.ts loginRefusal)
//   5. report        loginSucceeded / loginRejected: the log line, the metric, post-login hooks
//
// A protocol front-end maps the result to its own wire answer and never decides policy itself.
import type { Config } from '../config/load.ts';
import { inCidr } from '../api/cidr.ts';
import { defender } from '../core/defender.ts';
import { connectionRefused, loginFailed } from '../core/events.ts';
import type { UserRecord } from '../model.ts';
import { effectiveUser } from '../reconcile/effective.ts';
import type { ReadTx } from '../store/store.ts';
import { verifyPassword } from './passwords.ts';

export type LoginProtocol = 'SSH' | 'FTP' | 'DAV' | 'HTTP';
export type LoginMethod = 'password' | 'publickey' | 'keyboard-interactive' | 'TLSCertificate';

/** What every attempt carries, whatever the method. */
export interface LoginAttempt {
  protocol: LoginProtocol;
  ip: string;
  username: string;
  method: LoginMethod;
}

/** What the pipeline needs from the running server; read again on every login, so reloads apply. */
export interface AuthEnv {
  store: ReadTx;
  config: Config;
}

export type Verdict = { ok: true; user: UserRecord } | { ok: false; reason: string };

/** Step 0: whether a new connection from `ip` may proceed; a reason when refused. */
export async function admitConnection(_env: AuthEnv, ip: string, _protocol: LoginProtocol): Promise<string | undefined> {
  const banned = defender.admit(ip);
  if (banned) return banned;
  // The post_connect_hook plugs in here.
  return undefined;
}

const admissions = new WeakMap<object, Promise<string | undefined>>();

/**
 * Step 0 for a socket, decided once per socket: HTTP protocols ask on every request and get the
 * first answer back. A refusal is logged as one `connection_refused` line; the caller closes.
 */
export function admitSocket(env: AuthEnv, socket: object, ip: string, protocol: LoginProtocol): Promise<string | undefined> {
  let p = admissions.get(socket);
  // A ban that starts while the socket is open (failed logins over one keep-alive connection or one
  // SSH session) closes it at the next attempt.
  if (p && defender.isBanned(ip)) {
    const banned = p.then((reason) => {
      if (!reason) connectionRefused({ ip, protocol, reason: 'banned' });
      return reason ?? 'banned';
    });
    admissions.set(socket, banned);
    return banned;
  }
  if (!p) {
    p = admitConnection(env, ip, protocol)
      .catch(() => 'admission_error')
      .then((reason) => {
        if (reason) connectionRefused({ ip, protocol, reason });
        return reason;
      });
    admissions.set(socket, p);
  }
  return p;
}

/** Step 1: the user an attempt names, or undefined (reason user_not_found). */
export async function resolveUser(env: AuthEnv, attempt: LoginAttempt): Promise<UserRecord | undefined> {
  return effectiveUser(env.store, attempt.username);
}

/** The SSH method names denied_login_methods uses for a method tried over `protocol`. */
function deniedMethodNames(attempt: LoginAttempt): string[] {
  if (attempt.method === 'password' && attempt.protocol === 'SSH') return ['password', 'password-over-SSH'];
  return [attempt.method];
}

/** Step 2: the user's own rules for this attempt; a reason when refused. */
export function userFilters(user: UserRecord, attempt: LoginAttempt): string | undefined {
  const f = user.filters;
  if (!f) return undefined;
  if (f.denied_protocols?.includes(attempt.protocol)) return 'protocol_denied';
  const denied = (f.denied_login_methods ?? []) as string[];
  if (deniedMethodNames(attempt).some((m) => denied.includes(m))) return 'method_denied';
  if (!ipAllowed(attempt.ip, f.allowed_ip, f.denied_ip)) return 'ip_denied';
  return undefined;
}

/**
 * SFTPGo's rule: a denied_ip match refuses; otherwise, when allowed_ip is set, the address must
 * match one of its entries. Both take CIDRs or single addresses, IPv4 and IPv6.
 */
export function ipAllowed(ip: string, allowed: readonly string[] | undefined, denied: readonly string[] | undefined): boolean {
  if (denied?.some((c) => inCidr(ip, c))) return false;
  if (allowed && allowed.length > 0) return allowed.some((c) => inCidr(ip, c));
  return true;
}

/** A cache of verified passwords (WebDAV sends the password with every request). */
export interface PasswordCache {
  has(username: string, password: string, storedHash: string): boolean;
  add(username: string, password: string, storedHash: string): void;
}

/** Step 3 for passwords: the stored hash (and, where configured, the check-password hook). */
export async function checkPassword(_env: AuthEnv, user: UserRecord, _attempt: LoginAttempt, password: string, cache?: PasswordCache): Promise<Verdict> {
  if (!user.password) return { ok: false, reason: 'no_password' };
  if (cache?.has(user.username, password, user.password)) return { ok: true, user };
  const good = await verifyPassword(password, user.password).catch(() => false);
  // A wrong password leaves a cached right one alone: failed guesses must not slow the real user down.
  if (!good) return { ok: false, reason: 'invalid_credentials' };
  cache?.add(user.username, password, user.password);
  return { ok: true, user };
}

/** Steps 1 to 3 for a login by password, the only method FTP and WebDAV have. */
export async function passwordLogin(env: AuthEnv, attempt: LoginAttempt, password: string, cache?: PasswordCache): Promise<Verdict> {
  const user = await resolveUser(env, attempt);
  if (!user) return { ok: false, reason: 'user_not_found' };
  const refused = userFilters(user, attempt);
  if (refused) return { ok: false, reason: refused };
  return checkPassword(env, user, attempt, password, cache);
}

/** Step 5, refused: one stable `login_failed` line (fail2ban reads it) and the metric. */
export function loginRejected(_env: AuthEnv | undefined, attempt: LoginAttempt, reason: string): void {
  loginFailed({ ip: attempt.ip, protocol: attempt.protocol, username: attempt.username, method: attempt.method, reason });
}

/** Step 5, accepted: the protocol has logged the user in. */
export function loginSucceeded(_env: AuthEnv, _attempt: LoginAttempt, _user: UserRecord): void {
  // post_login_hook plugs in here.
}
