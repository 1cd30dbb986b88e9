// Admin authentication for the REST API, as SFTPGo does it: HTTP Basic only on GET /api/v2/token,
// which hands out a short-lived HS256 JWT; `Authorization: Bearer <jwt>` or `X-SFTPGO-API-KEY: <key>`
// on every other call. The admin is re-read on each request (a disabled or deleted admin loses access
// at once), its `filters.allow_list` is enforced, and every refusal names its reason so that the
// login gate writes it as a `login_failed` line (protocol HTTP) counted in the metrics.
import { verifyCached, type CredentialsCache } from '../auth/credentials-cache.ts';
import { createHash, pbkdf2Sync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isPasswordHash, verifyPassword } from '../auth/passwords.ts';
import type { AdminRecord } from '../model.ts';
import type { Admin } from '../config/schema-types.ts';
import { effectiveAdmin } from '../store/records.ts';
import type { ApiKeyRecord, ReadTx, Store } from '../store/store.ts';
import { allowedBy } from '../lib/cidr.ts';
import { isSealed, type SecretBox } from '../config/sealed.ts';
import { signJwt, verifyJwt } from './jwt.ts';
import type { LoginGate } from '../core/gate.ts';

/** Meta key of the random HMAC key tokens are signed with; kept in the store so tokens survive restarts. */
export const JWT_KEY_META = 'api_jwt_key';
const AUDIENCE = 'API';
export const DEFAULT_TOKEN_VALIDITY = 1200;

/** SFTPGo 2.7's admin permissions that have an effect here (the schema's `Admin.permissions` enum). */
export type Permission = NonNullable<Admin['permissions']>[number];

export function hasPermission(admin: AdminRecord, p: Permission): boolean {
  return admin.permissions.includes('*') || admin.permissions.includes(p);
}

/** Creates the signing key on first start. */
export async function ensureJwtKey(store: Store): Promise<Buffer> {
  let key = (await store.get('meta', JWT_KEY_META)) as string | undefined;
  if (!key) {
    key = randomBytes(32).toString('base64');
    const k = key;
    await store.write(async (tx) => {
      if (!(await tx.get('meta', JWT_KEY_META))) await tx.put('meta', JWT_KEY_META, k);
    });
    key = (await store.get('meta', JWT_KEY_META)) as string;
  }
  return Buffer.from(key, 'base64');
}

export type AuthVia = 'password' | 'token' | 'api_key';

/** A failure with `refused` is a login attempt that failed (the caller has it logged); without, a missing credential. */
export type AuthResult =
  | { ok: true; admin: AdminRecord; via: AuthVia; /** The `/api/v2/apikeys` key used. */ apiKeyId?: string }
  | { ok: false; status: 401 | 403; error: string; refused?: { username: string; method: AuthVia; reason: string } };

/** Hands a failed attempt to the gate, which writes the one `login_failed` line. */
export function reportRefusal(gate: LoginGate, ip: string, r: AuthResult): void {
  if (r.ok || !r.refused) return;
  gate.refuse({ protocol: 'HTTP', ip, username: r.refused.username, method: r.refused.method }, r.refused.reason, { hooks: false });
}

function refuse(method: AuthVia, username: string, reason: string, status: 401 | 403 = 401): AuthResult {
  return { ok: false, status, error: status === 401 ? 'authentication failed' : 'access denied from this address', refused: { username, method, reason } };
}

function usable(admin: AdminRecord | undefined, ip: string, username: string, method: AuthVia): AuthResult | undefined {
  if (!admin) return refuse(method, username, 'user_not_found');
  if (admin.status !== 1) return refuse(method, username, 'disabled');
  if (!allowedBy(admin.filters?.allow_list, ip)) return refuse(method, username, 'ip_not_allowed', 403);
  return undefined;
}

/** Spends a wrong password's time on an attempt with no account to check it against (LoginGate.steps.decoy). */
export type PasswordDecoy = (password: string) => Promise<void>;

/** `Authorization: Basic` for the token endpoint. */
export async function basicLogin(store: ReadTx, header: string | undefined, ip: string, decoy: PasswordDecoy, verified?: CredentialsCache): Promise<AuthResult> {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return { ok: false, status: 401, error: 'basic authentication required' };
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  return passwordLogin(store, { username, password, ip }, decoy, verified);
}

/**
 * An admin's username and password, from the token endpoint or the web admin's login form.
 * `verified`: the cache of verified passwords (LoginGate.passwords), if any.
 */
export async function passwordLogin(store: ReadTx, attempt: { username: string; password: string; ip: string }, decoy: PasswordDecoy, verified?: CredentialsCache): Promise<AuthResult> {
  const { username, password, ip } = attempt;
  const admin = await effectiveAdmin(store, username);
  const bad = usable(admin, ip, username, 'password');
  // An unknown admin is refused after a wrong password's time (auth/decoy.ts).
  if (!admin?.password) await decoy(password);
  if (bad) return bad;
  if (!admin!.password || !(await verifyCached(verified, `admin:${username}`, password, admin!.password))) return refuse('password', username, 'invalid_credentials');
  return { ok: true, admin: admin!, via: 'password' };
}

export function issueToken(admin: AdminRecord, key: Buffer, validitySec: number): { access_token: string; expires_at: string } {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + validitySec;
  const access_token = signJwt({ sub: admin.username, iat: now, nbf: now, exp, jti: randomUUID(), aud: [AUDIENCE], permissions: admin.permissions, ...(admin.role ? { role: admin.role } : {}) }, key);
  return { access_token, expires_at: new Date(exp * 1000).toISOString() };
}

export interface AdminRequest {
  store: ReadTx;
  headers: Headers;
  /** The key tokens are signed with. */
  jwtKey: Buffer;
  ip: string;
  /** Hashed API keys this server has verified (createVerifiedKeys). */
  verifiedKeys: VerifiedKeys;
  /** Opens admins' API keys from the YAML, which the store keeps sealed. */
  secrets: SecretBox;
}

/** Bearer token or API key; anything else is 401. */
export async function authenticate(r: AdminRequest): Promise<AuthResult> {
  const { store, headers, jwtKey: key, ip } = r;
  const apiKey = headers.get('x-sftpgo-api-key');
  if (apiKey) return apiKeyLogin(r, apiKey);
  const m = /^Bearer\s+(.+)$/i.exec(headers.get('authorization') ?? '');
  if (!m) return { ok: false, status: 401, error: 'authentication required: Bearer token or X-SFTPGO-API-KEY' };
  const claims = verifyJwt(m[1]!.trim(), key, AUDIENCE);
  if (!claims) return refuse('token', '', 'invalid_token');
  const admin = await effectiveAdmin(store, claims.sub);
  return usable(admin, ip, claims.sub, 'token') ?? { ok: true, admin: admin!, via: 'token' };
}

/**
 * The admin a web session belongs to, re-read on each request as for a token: a disabled or deleted
 * admin, or one whose allow list no longer admits the address, loses the session at once.
 */
export async function sessionAdmin(store: ReadTx, username: string, ip: string): Promise<AuthResult> {
  const admin = await effectiveAdmin(store, username);
  return usable(admin, ip, username, 'token') ?? { ok: true, admin: admin!, via: 'token' };
}

// ---- API keys -------------------------------------------------------------------------------

/** `<id>.<key>[.<admin>]`: split at the first two dots (an admin name may hold more). */
export function splitKey(presented: string): string[] {
  const a = presented.indexOf('.');
  if (a < 0) return [presented];
  const b = presented.indexOf('.', a + 1);
  return b < 0 ? [presented.slice(0, a), presented.slice(a + 1)] : [presented.slice(0, a), presented.slice(a + 1, b), presented.slice(b + 1)];
}
//
// An admin's `api_keys[].key` is a Secret: in the YAML a literal, `{env}` or `{file}` reference; keys
// written through the API are stored only as a PBKDF2-SHA256 hash (the `$pbkdf2-sha256$` format
// verifyPassword reads), never in clear. API keys are long random strings, so a moderate iteration
// count is enough and keeps a lookup across all admins' keys cheap. A client may also send SFTPGo's
// `<key>.<key_id>` form: the part before the last dot is tried too.

const API_KEY_ITERATIONS = 10_000;

export function hashApiKey(clear: string): string {
  const salt = randomBytes(12).toString('base64url');
  const key = pbkdf2Sync(clear, salt, API_KEY_ITERATIONS, 32, 'sha256').toString('base64');
  return `$pbkdf2-sha256$${API_KEY_ITERATIONS}$${salt}$${key}`;
}

/** Successful verifications, so a hashed key costs one PBKDF2 per server rather than per request. */
export type VerifiedKeys = Map<string, string>;

function keyClear(secret: unknown): string | undefined {
  if (typeof secret === 'string') return secret;
  if (secret && typeof secret === 'object') {
    const s = secret as { env?: string; payload?: string; status?: string };
    if (s.env) return process.env[s.env];
    if (s.status === 'Plain') return s.payload;
    // `{file}` references resolve against the working directory here: use absolute paths.
    if ('file' in s) {
      try {
        return readFileSync((s as { file: string }).file, 'utf8').replace(/\r?\n$/, '');
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export async function keyMatches(presented: string, stored: unknown, verified: VerifiedKeys): Promise<boolean> {
  const value = keyClear(stored);
  if (!value) return false;
  if (isPasswordHash(value)) {
    const cacheKey = createHash('sha256').update(presented).update('\0').update(value).digest('base64');
    if (verified.get(cacheKey) === value) return true;
    const ok = await verifyPassword(presented, value);
    if (ok) verified.set(cacheKey, value);
    return ok;
  }
  const a = Buffer.from(presented);
  const b = Buffer.from(value);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A key of the `/api/v2/apikeys` resource, sent as SFTPGo sends it: `<id>.<key>`, or
 * `<id>.<key>.<admin>` for a key bound to no admin (it then impersonates the named one). As in
 * SFTPGo, a user-scope key is 403 here, and the admin must allow API key authentication.
 */
async function resourceKeyLogin(store: ReadTx, rec: ApiKeyRecord, parts: string[], ip: string, verified: VerifiedKeys): Promise<AuthResult> {
  if (rec.scope !== 1)
    return { ok: false, status: 403, error: 'the provided api key is invalid for this request', refused: { username: rec.admin ?? '', method: 'api_key', reason: 'invalid_api_key_scope' } };
  if (rec.expires_at && rec.expires_at > 0 && rec.expires_at < Date.now()) return refuse('api_key', rec.admin ?? '', 'api_key_expired');
  if (!(await keyMatches(parts[1]!, rec.key, verified))) return refuse('api_key', rec.admin ?? '', 'invalid_api_key');
  const username = rec.admin || parts[2] || '';
  if (!username) return refuse('api_key', '', 'no_admin_for_api_key');
  const admin = await effectiveAdmin(store, username);
  if (admin && admin.filters?.allow_api_key_auth !== true) return refuse('api_key', username, 'api_key_auth_disabled');
  return usable(admin, ip, username, 'api_key') ?? { ok: true, admin: admin!, via: 'api_key', apiKeyId: rec.id };
}

/** An admin's own API key as the store keeps it: a YAML literal sealed, opened here (never shown). */
function adminKey(stored: unknown, secrets: SecretBox): unknown {
  if (!isSealed(stored)) return stored;
  try {
    return secrets.unseal(stored.sealed);
  } catch {
    return undefined;
  }
}

async function apiKeyLogin(r: AdminRequest, presented: string): Promise<AuthResult> {
  const { store, ip, verifiedKeys: verified } = r;
  const parts = splitKey(presented);
  if (parts.length >= 2) {
    const rec = await store.get('api_keys', parts[0]!);
    if (rec) return resourceKeyLogin(store, rec, parts, ip, verified);
  }
  const candidates = [presented];
  const dot = presented.lastIndexOf('.');
  if (dot > 0) candidates.push(presented.slice(0, dot));
  const now = Date.now();
  // Names first: the checks below await, and a store iterator must not stay open across awaits.
  const names: string[] = [];
  for await (const [n] of store.entries('admins')) names.push(n);
  for (const name of names) {
    const admin = await effectiveAdmin(store, name);
    if (!admin?.api_keys?.length || admin.filters?.allow_api_key_auth === false) continue;
    for (const k of admin.api_keys) {
      if (k.expires_at && k.expires_at > 0 && k.expires_at < now) continue;
      for (const c of candidates)
        if (await keyMatches(c, adminKey(k.key, r.secrets), verified)) return usable(admin, ip, admin.username, 'api_key') ?? { ok: true, admin, via: 'api_key' };
    }
  }
  return refuse('api_key', '', 'invalid_api_key');
}
