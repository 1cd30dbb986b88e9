// A user's own profile and password through the user API (SFTPGo's `/api/v2/user/profile` and
// `/api/v2/user/changepwd`). Writes go through the same records layer as an admin's: a
// config-declared user gets an override, a runtime one is edited in place.
import { parsePublicKey } from '../auth/keys.ts';
import { AppError } from '../errors.ts';
import { effectiveUser } from '../store/records.ts';
import type { ApiContext } from './app.ts';
import { KINDS, render, update } from './resources.ts';
import { acceptBody } from './shapes.ts';
import { validateBody } from '../config/validate.ts';

/** SFTPGo's profile fields this server has; the others it defines (additional_emails, tls_certs) are accepted only empty. */
interface Profile {
  email: string;
  description: string;
  allow_api_key_auth: boolean;
  public_keys: string[];
}

const UNSUPPORTED = ['additional_emails', 'tls_certs'] as const;

export async function getProfile(ctx: ApiContext): Promise<Response> {
  // The user's own record: group settings are not the user's to see or edit here.
  const user = await effectiveUser(ctx.runtime.store, ctx.user!.username);
  if (!user) return ctx.c.json({ message: 'Unable to retrieve your user', error: 'Not Found' }, 404);
  const profile: Profile = {
    email: user.email ?? '',
    description: user.description ?? '',
    allow_api_key_auth: user.filters?.allow_api_key_auth === true,
    public_keys: user.public_keys ?? [],
  };
  return ctx.c.json(profile);
}

function readProfile(body: Record<string, unknown>): Partial<Profile> {
  const out: Partial<Profile> = {};
  for (const f of UNSUPPORTED) {
    const v = body[f];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) throw new AppError('invalid', `${f}: not supported by this server`);
  }
  if (body.email !== undefined) {
    if (typeof body.email !== 'string' || (body.email !== '' && !/^[^\s@]+@[^\s@]+$/.test(body.email))) throw new AppError('invalid', 'email: not a valid email address');
    out.email = body.email;
  }
  if (body.description !== undefined) {
    if (typeof body.description !== 'string') throw new AppError('invalid', 'description: must be a string');
    out.description = body.description;
  }
  if (body.allow_api_key_auth !== undefined) {
    if (typeof body.allow_api_key_auth !== 'boolean') throw new AppError('invalid', 'allow_api_key_auth: must be a boolean');
    out.allow_api_key_auth = body.allow_api_key_auth;
  }
  if (body.public_keys !== undefined && body.public_keys !== null) {
    if (!Array.isArray(body.public_keys) || body.public_keys.some((k) => typeof k !== 'string')) throw new AppError('invalid', 'public_keys: must be a list of strings');
    for (const [i, k] of (body.public_keys as string[]).entries()) {
      const parsed = parsePublicKey(k);
      if (!parsed.ok) throw new AppError('invalid', `public_keys[${i}]: ${parsed.error}`);
    }
    out.public_keys = body.public_keys as string[];
  } else if (body.public_keys === null) out.public_keys = [];
  return out;
}

/** PUT /api/v2/user/profile: as SFTPGo, the fields sent replace the stored ones; absent ones are kept. */
export async function updateProfile(ctx: ApiContext): Promise<Response> {
  const username = ctx.user!.username;
  const profile = readProfile(ctx.body as Record<string, unknown>);
  const own = await effectiveUser(ctx.runtime.store, username);
  if (!own) return ctx.c.json({ message: 'Unable to retrieve your user', error: 'Not Found' }, 404);
  const change: Record<string, unknown> = {};
  if (profile.email !== undefined) change.email = profile.email;
  if (profile.description !== undefined) change.description = profile.description;
  if (profile.public_keys !== undefined) change.public_keys = profile.public_keys;
  if (profile.allow_api_key_auth !== undefined) {
    const { allow_api_key_auth: _was, ...filters } = (await ownRecord(ctx))?.filters ?? {};
    change.filters = profile.allow_api_key_auth ? { ...filters, allow_api_key_auth: true } : filters;
  }
  if (Object.keys(change).length > 0) {
    await editOwnRecord(ctx, change);
    ctx.runtime.log('info', 'user_profile_updated', { username, ip: ctx.ip, fields: Object.keys(change) });
  }
  return ctx.c.json({ message: 'Profile updated', error: '' });
}

/**
 * Writes `change` over the user's own record. A user PUT replaces the whole record (SFTPGo's
 * rule), so the change is laid over the record as an admin's GET shows it and sent back the way an
 * admin's PUT would be: secrets stay redacted (kept), the password is kept unless changed.
 */
/** The user's own record as an admin's GET shows it (SFTPGo's shape). */
export async function ownRecord(ctx: ApiContext): Promise<(Record<string, unknown> & { filters?: Record<string, unknown> }) | undefined> {
  return render(ctx.runtime, KINDS.users, ctx.user!.username);
}

export async function editOwnRecord(ctx: ApiContext, change: Record<string, unknown>): Promise<void> {
  const username = ctx.user!.username;
  const current = await ownRecord(ctx);
  if (!current) throw new AppError('not_found', `user "${username}" not found`);
  const merged: Record<string, unknown> = { ...current, ...change };
  // The user's own new password answers an admin's request for one (it would otherwise stand, as
  // when an admin sets a temporary password).
  if (change.password !== undefined && merged.filters && typeof merged.filters === 'object') {
    const { require_password_change: _asked, ...filters } = merged.filters as Record<string, unknown>;
    merged.filters = filters;
  }
  const accepted = acceptBody('user', merged, { creating: false });
  const errors = accepted.errors.length > 0 ? accepted.errors : validateBody('User', accepted.body);
  if (errors.length > 0) throw Object.assign(new AppError('invalid', errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ')), { details: errors });
  await update(ctx.runtime, KINDS.users, username, accepted.body, { by: username });
}

/**
 * PUT /api/v2/user/changepwd `{current_password, new_password}`: the current password is checked
 * as a login would check it; the token used is revoked afterwards, as SFTPGo does.
 */
export async function changePassword(ctx: ApiContext): Promise<Response> {
  const body = ctx.body as { current_password?: unknown; new_password?: unknown };
  const current = body.current_password;
  const next = body.new_password;
  if (typeof current !== 'string' || typeof next !== 'string' || current === '' || next === '')
    return ctx.c.json({ message: '', error: 'please provide the current password and the new one two times' }, 400);
  if (current === next) return ctx.c.json({ message: '', error: 'the new password must be different from the current one' }, 400);
  const user = ctx.user!;
  const gate = ctx.runtime.gate;
  const attempt = { protocol: 'HTTP' as const, ip: ctx.ip, username: user.username, method: 'password' as const, password: current };
  const checked = await gate.steps.password(user, attempt, current);
  // A password the user must change is the one case a right password does not log in: here it is what lets the change through.
  if (!checked.ok && checked.reason !== 'password_change_required' && checked.reason !== 'password_expired') {
    gate.refuse(attempt, checked.reason, { hooks: false });
    return ctx.c.json({ message: '', error: 'current password does not match' }, 400);
  }
  await editOwnRecord(ctx, { password: next });
  ctx.runtime.log('info', 'user_password_changed', { username: user.username, ip: ctx.ip });
  // The web client has no token: it ends its own session instead.
  const claims = ctx.userClaims;
  if (claims) await ctx.runtime.revokedTokens.revoke(claims.jti, claims.exp);
  return ctx.c.json({ message: 'Password updated', error: '' });
}
