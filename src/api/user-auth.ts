// User authentication for `/api/v2/user/*`, as SFTPGo does it: HTTP Basic (plus the TOTP code in
// `X-SFTPGO-OTP` when the user has TOTP for HTTP) only on GET /api/v2/user/token, which runs the
// login gate with protocol HTTP and hands out a short-lived HS256 JWT for the `APIUser` audience;
// `Authorization: Bearer <jwt>` (or a user API key, scope 2, in X-SFTPGO-API-KEY for a user that
// allows it) on every other call. User and admin tokens have different audiences, so neither opens
// the other's routes. A token is bound to the address it was issued to and dies at logout (the
// server context's revoked tokens).
//
// Each request re-reads the user (groups applied) and applies the account checks again; a request
// that touches files opens its own quiet session through the gate (no login line: the token was the
// login), counted against max_sessions while it runs, as SFTPGo adds one connection per request.
import { randomUUID } from 'node:crypto';
import type { LoginAttempt } from '../auth/login.ts';
import { passwordChangeMessage } from '../auth/password-age.ts';
import { totpRequired } from '../auth/totp.ts';
import type { Connection } from '../core/connection.ts';
import { loginRefusal } from '../core/login.ts';
import type { Session } from '../core/session.ts';
import type { UserRecord } from '../model.ts';
import { userWithGroups } from '../store/groups.ts';
import type { ApiContext } from './app.ts';
import type { ServerContext } from '../core/context.ts';
import { DEFAULT_TOKEN_VALIDITY, keyMatches, splitKey } from './auth.ts';
import { touchApiKey } from './api-keys.ts';
import { signJwt, verifyJwt, type Claims } from './jwt.ts';
import { errorResponse } from './respond.ts';
import { parseBasic } from '../lib/basic-auth.ts';
import { userSecondFactor } from './two-factor.ts';

export const USER_AUDIENCE = 'APIUser';
export const OTP_HEADER = 'x-sftpgo-otp';

/** Refusals of the user's own filters: the password was not the problem, so 403 rather than 401. */
const FORBIDDEN_REASONS: ReadonlySet<string> = new Set(['protocol_denied', 'ip_denied', 'method_denied', 'max_sessions']);

function unauthorized(ctx: ApiContext, error = 'invalid credentials'): Response {
  const res = errorResponse(ctx.c, 401, error);
  res.headers.set('WWW-Authenticate', 'Basic realm="SFTPGo user"');
  return res;
}

function tokenValidity(ctx: ApiContext): number {
  return ctx.runtime.config.httpd?.token_validity ?? DEFAULT_TOKEN_VALIDITY;
}

/** A refused step of a user's HTTP login: the status and text to answer, and the logged reason. */
export interface LoginRefusal {
  status: 401 | 403;
  error: string;
  reason: string;
}

/** Who is logging in over HTTP (the user API's token, the web client's login form). */
export interface UserLoginRequest {
  runtime: ServerContext;
  ip: string;
  username: string;
  tls: boolean;
  clientVersion?: string;
}

function refusalOf(reason: string): LoginRefusal {
  if (!FORBIDDEN_REASONS.has(reason)) return { status: 401, error: 'invalid credentials', reason };
  return { status: 403, error: reason === 'max_sessions' ? 'too many open sessions' : 'login not allowed', reason };
}

function attemptOf(o: UserLoginRequest, password?: string): LoginAttempt {
  return { protocol: 'HTTP', ip: o.ip, username: o.username, method: 'password', ...(password !== undefined ? { password } : {}) };
}

/** A refused attempt: the gate's login_failed line and defender score, and the user login metric. */
function refuseLogin(o: UserLoginRequest, reason: string): LoginRefusal {
  o.runtime.gate.refuse(attemptOf(o), reason);
  // The gate leaves HTTP failures out of the login metrics (most are admins'); this is a user's.
  o.runtime.metrics.countLogin('password', false);
  return refusalOf(reason);
}

/**
 * The first step of a user's HTTP login: the post-connect hook, the user (hooks included), its
 * filters and its password. A right password that must be changed first still passes, flagged
 * (SFTPGo's MustChangePassword): the one way left to set a new one without an admin.
 */
export async function checkUserPassword(o: UserLoginRequest & { password: string }): Promise<{ ok: true; user: UserRecord; mustChangePassword: boolean; totp: boolean } | ({ ok: false } & LoginRefusal)> {
  const gate = o.runtime.gate;
  if (await gate.admitLogin(o.ip, 'HTTP')) return { ok: false, status: 403, error: 'access denied by the post-connect hook', reason: 'post_connect_hook' };
  const attempt = attemptOf(o, o.password);
  const resolved = await gate.steps.resolve(attempt);
  if (!resolved.ok) {
    // An unknown user is refused after a wrong password's time (auth/decoy.ts).
    if (resolved.reason === 'user_not_found') await gate.steps.decoy(o.password);
    return { ok: false, ...refuseLogin(o, resolved.reason) };
  }
  const filtered = gate.steps.filters(resolved.user, attempt);
  if (filtered) return { ok: false, ...refuseLogin(o, filtered) };
  const checked = await gate.steps.password(resolved.user, attempt, o.password);
  const mustChangePassword = !checked.ok && passwordChangeMessage(checked.reason) !== undefined;
  if (!checked.ok && !mustChangePassword) return { ok: false, ...refuseLogin(o, checked.reason) };
  const user = checked.ok ? checked.user : resolved.user;
  return { ok: true, user, mustChangePassword, totp: totpRequired(user, 'HTTP') };
}

/**
 * The TOTP step, for a user with TOTP for HTTP: the code, or one of the user's recovery codes (used
 * up by this login); a missing or wrong one is a refused login.
 */
export async function checkUserTotp(o: UserLoginRequest, user: UserRecord, code: string | undefined): Promise<LoginRefusal | undefined> {
  if (!code) return refuseLogin(o, 'totp_missing');
  const bad = await userSecondFactor(o.runtime, user, code);
  return bad ? refuseLogin(o, bad) : undefined;
}

/**
 * The last step: the account checks, max_sessions and the user's storage, with the one `login`
 * line. The session itself ends at once; each later request opens its own.
 */
export async function completeUserLogin(o: UserLoginRequest, user: UserRecord): Promise<LoginRefusal | undefined> {
  const opened = await o.runtime.gate.open(user, { protocol: 'HTTP', ip: o.ip, method: 'password', single: true, tls: o.tls, ...(o.clientVersion ? { clientVersion: o.clientVersion } : {}) });
  if (!opened.ok) {
    // The gate wrote the login_failed line; the metric is the caller's to count.
    o.runtime.metrics.countLogin('password', false);
    return refusalOf(opened.reason);
  }
  await opened.session.close();
  return undefined;
}

function refusedToken(ctx: ApiContext, r: LoginRefusal): Response {
  return r.status === 401 ? unauthorized(ctx) : errorResponse(ctx.c, r.status, r.error);
}

/** GET /api/v2/user/token. */
export async function userToken(ctx: ApiContext): Promise<Response> {
  const { ip } = ctx;
  const creds = parseBasic(ctx.c.req.header('authorization'));
  if (!creds || creds.password.trim() === '') return unauthorized(ctx, 'basic authentication required');
  const login: UserLoginRequest = { runtime: ctx.runtime, ip, username: creds.username, tls: isTls(ctx), ...clientVersion(ctx) };
  const checked = await checkUserPassword({ ...login, password: creds.password });
  if (!checked.ok) return refusedToken(ctx, checked);
  const { user, mustChangePassword } = checked;
  if (checked.totp) {
    const bad = await checkUserTotp(login, user, ctx.c.req.header(OTP_HEADER));
    if (bad) return refusedToken(ctx, bad);
  }
  const refused = await completeUserLogin(login, user);
  if (refused) return refusedToken(ctx, refused);
  return ctx.c.json(issueUserToken(user, { key: ctx.jwtKey, validitySec: tokenValidity(ctx), ip, mustChangePassword }));
}

/** The claim of a token that may only change its user's password. */
export const MUST_CHANGE_PASSWORD = 'chpwd';

export function issueUserToken(user: UserRecord, o: { key: Buffer; validitySec: number; ip: string; mustChangePassword?: boolean }): { access_token: string; expires_at: string } {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + o.validitySec;
  const claims: Claims = { sub: user.username, iat: now, nbf: now, exp, jti: randomUUID(), aud: [USER_AUDIENCE], ip: o.ip, ...(o.mustChangePassword ? { [MUST_CHANGE_PASSWORD]: true } : {}) };
  return { access_token: signJwt(claims, o.key), expires_at: new Date(exp * 1000).toISOString() };
}

export function isTls(ctx: Pick<ApiContext, 'c'>): boolean {
  return new URL(ctx.c.req.url).protocol === 'https:';
}

export function clientVersion(ctx: Pick<ApiContext, 'c'>): { clientVersion?: string } {
  const ua = ctx.c.req.header('user-agent');
  return ua ? { clientVersion: ua } : {};
}

/** `claims` for a token; `apiKeyId` for a user API key (scope 2). */
export type UserAuth = { ok: true; user: UserRecord; claims?: Claims; apiKeyId?: string } | { ok: false; response: Response };

/**
 * The Bearer token of a user route: a valid user token from this address, not logged out, for a
 * user who may still log in over HTTP from here. A bad token is a failed login (scored by the
 * defender, as an admin's is). A token issued for a password that must be changed opens only the
 * routes that serve the change (`passwordChange`).
 */
export async function authenticateUser(ctx: ApiContext, opts: { passwordChange?: boolean } = {}): Promise<UserAuth> {
  const { runtime, ip } = ctx;
  const apiKey = ctx.c.req.header('x-sftpgo-api-key');
  if (apiKey) return apiKeyUser(ctx, apiKey);
  const m = /^Bearer\s+(.+)$/i.exec(ctx.c.req.header('authorization') ?? '');
  if (!m) return { ok: false, response: unauthorized(ctx, 'authentication required: Bearer token or X-SFTPGO-API-KEY') };
  const claims = verifyJwt(m[1]!.trim(), ctx.jwtKey, USER_AUDIENCE);
  const attempt = { protocol: 'HTTP' as const, ip, username: claims?.sub ?? '', method: 'token' };
  if (!claims || claims.ip !== ip) {
    runtime.gate.refuse(attempt, 'invalid_token', { hooks: false });
    return { ok: false, response: errorResponse(ctx.c, 401, 'invalid token') };
  }
  if (await runtime.revokedTokens.has(claims.jti)) return { ok: false, response: errorResponse(ctx.c, 401, 'your token is no longer valid') };
  const user = await userWithGroups(runtime.store, claims.sub);
  if (!user) return { ok: false, response: errorResponse(ctx.c, 404, 'unable to retrieve your user') };
  const refused = stillAllowed(ctx, user);
  if (refused) return { ok: false, response: refused };
  if (claims[MUST_CHANGE_PASSWORD] === true && !opts.passwordChange)
    return { ok: false, response: errorResponse(ctx.c, 403, 'Password change required. Please set a new password to continue to use your account') };
  return { ok: true, user, claims };
}

/** The checks a login made that must still hold on every request: the user's filters, its status and expiry. */
export function userRefusal(runtime: ServerContext, ip: string, user: UserRecord): string | undefined {
  return runtime.gate.steps.filters(user, { protocol: 'HTTP', ip, username: user.username, method: 'password' }) ?? loginRefusal(user, Date.now(), 0);
}

/** The user of a web client session, re-read with its groups, when it may still log in from `ip`. */
export async function sessionUser(runtime: ServerContext, ip: string, username: string): Promise<{ ok: true; user: UserRecord } | { ok: false; reason: string }> {
  const user = await userWithGroups(runtime.store, username);
  if (!user) return { ok: false, reason: 'user_not_found' };
  const refused = userRefusal(runtime, ip, user);
  return refused ? { ok: false, reason: refused } : { ok: true, user };
}

function stillAllowed(ctx: ApiContext, user: UserRecord): Response | undefined {
  const refused = userRefusal(ctx.runtime, ctx.ip, user);
  return refused ? errorResponse(ctx.c, 403, `login not allowed: ${refused}`) : undefined;
}

/**
 * A user API key (`/api/v2/apikeys` scope 2) in X-SFTPGO-API-KEY, as SFTPGo sends it: `<id>.<key>`,
 * or `<id>.<key>.<user>` for a key bound to no user. The user must allow API key authentication
 * (`filters.allow_api_key_auth`); an admin-scope key is 403 here, as a user key is on admin routes.
 */
async function apiKeyUser(ctx: ApiContext, presented: string): Promise<UserAuth> {
  const { runtime, ip } = ctx;
  const parts = splitKey(presented);
  const rec = parts.length >= 2 ? await runtime.store.get('api_keys', parts[0]!) : undefined;
  const username = rec?.user || parts[2] || '';
  const refuse = (reason: string, status: 401 | 403 = 401, error = 'invalid API key'): UserAuth => {
    runtime.gate.refuse({ protocol: 'HTTP', ip, username, method: 'api_key' }, reason, { hooks: false });
    return { ok: false, response: errorResponse(ctx.c, status, error) };
  };
  if (!rec) return refuse('invalid_api_key');
  if (rec.scope !== 2) return refuse('invalid_api_key_scope', 403, 'the provided api key is invalid for this request');
  if (rec.expires_at && rec.expires_at > 0 && rec.expires_at < Date.now()) return refuse('api_key_expired');
  if (!(await keyMatches(parts[1]!, rec.key, ctx.verifiedKeys))) return refuse('invalid_api_key');
  if (!username) return refuse('no_user_for_api_key');
  const user = await userWithGroups(runtime.store, username);
  if (!user) return refuse('user_not_found');
  if (user.filters?.allow_api_key_auth !== true) return refuse('api_key_auth_disabled');
  const refused = stillAllowed(ctx, user);
  if (refused) return { ok: false, response: refused };
  void touchApiKey(runtime.store, rec.id).catch((err: Error) => runtime.log('warn', 'api_key_last_use', { id: rec.id, error: err.message }));
  return { ok: true, user, apiKeyId: rec.id };
}

/** GET /api/v2/user/logout: the token stops working now rather than at its expiry. */
export async function logoutUser(ctx: ApiContext): Promise<Response> {
  const claims = ctx.userClaims!;
  await ctx.runtime.revokedTokens.revoke(claims.jti, claims.exp);
  return ctx.c.json({ message: 'Your token has been invalidated' });
}

export type RequestSession = { ok: true; session: Session; conn: Connection } | { ok: false; response: Response };

/**
 * A quiet session for one request, with its one HTTP connection; the caller closes the session
 * when the response has been sent (app.ts). `cut` is called when the connection is closed from
 * outside (admin API, shutdown), to abort the request's work.
 */
export async function openRequestSession(ctx: ApiContext, user: UserRecord, cut: () => void): Promise<RequestSession> {
  const opened = await ctx.runtime.gate.open(user, { protocol: 'HTTP', ip: ctx.ip, method: 'token', single: true, tls: isTls(ctx), announce: false, ...clientVersion(ctx) });
  if (!opened.ok) {
    // SFTPGo answers a request over max_sessions 429 ("Unable to add connection").
    const response = opened.reason === 'max_sessions' ? errorResponse(ctx.c, 429, 'unable to add connection: too many open sessions') : errorResponse(ctx.c, 403, `login not allowed: ${opened.reason}`);
    return { ok: false, response };
  }
  const conn = opened.session.connect({ protocol: 'HTTP', disconnect: cut });
  return { ok: true, session: opened.session, conn };
}
