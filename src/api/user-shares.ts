// A user's own share links (SFTPGo's /api/v2/user/shares): list, add, get, replace, delete, with
// SFTPGo's validation (store/shares.ts) and, here, the paths checked against the user's tree at the
// time: each must exist and be readable for a read scope; a write scope's one path must be a
// directory the user may upload into. The user's filters.default_shares_expiration and
// max_shares_expiration apply as in SFTPGo. SFTPGo has no admin view of shares; an admin sees them in a
// dump.
import { hashPassword, isPasswordHash } from '../auth/passwords.ts';
import { hasPermission } from '../core/permissions.ts';
import { parentOf } from '../core/paths.ts';
import { AppError } from '../errors.ts';
import {
  addShare, checkShareSpec, deleteShare, getShare, listShares, newShareId, REDACTED_PASSWORD, renderShare, shareNotFound, updateShare, type ShareSpec, type ShareWrite,
} from '../store/shares.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

const BASE = '/api/v2/user/shares';

function writer(ctx: ApiContext): ShareWrite {
  return { store: ctx.runtime.store, now: Date.now(), hash: (clear) => hashPassword(clear, ctx.runtime.records.hashing), isHash: isPasswordHash };
}

/** Each shared path exists in the user's tree and the scope's permissions are granted there. */
async function checkPaths(ctx: ApiContext, spec: ShareSpec): Promise<void> {
  const conn = ctx.conn!;
  const perms = conn.user.permissions;
  for (const p of spec.paths) {
    const st = await conn.fs.stat(p).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'not_found') throw new AppError('invalid', `the shared path ${JSON.stringify(p)} does not exist`);
      throw err;
    });
    const dir = st.type === 'dir' ? p : parentOf(p);
    if (spec.scope !== 2 && !hasPermission(perms, dir, 'download')) throw new AppError('permission_denied', `you are not allowed to download from ${JSON.stringify(p)}`);
    if (spec.scope >= 2) {
      if (st.type !== 'dir') throw new AppError('invalid', `the write share scope requires a directory: ${JSON.stringify(p)} is not one`);
      if (!hasPermission(perms, p, 'upload')) throw new AppError('permission_denied', `you are not allowed to upload into ${JSON.stringify(p)}`);
    }
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * filters.max_shares_expiration, as SFTPGo checks it: the share must expire, before midnight (the
 * server's time) at the end of the day that many days from now.
 */
function checkMaxExpiration(ctx: ApiContext, spec: ShareSpec): void {
  const days = ctx.user!.filters?.max_shares_expiration ?? 0;
  if (days <= 0) return;
  const limit = new Date(Date.now() + (days + 1) * DAY_MS);
  limit.setHours(0, 0, 0, 0);
  if (!spec.expires_at || spec.expires_at > limit.getTime()) {
    const day = `${limit.getFullYear()}-${String(limit.getMonth() + 1).padStart(2, '0')}-${String(limit.getDate()).padStart(2, '0')}`;
    throw new AppError('invalid', `the share must expire before ${day}`);
  }
}

function bodyOf(ctx: ApiContext): Record<string, unknown> {
  const b = ctx.body;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new AppError('invalid', 'the body must be a JSON object');
  return b as Record<string, unknown>;
}

function page(ctx: ApiContext): { offset: number; limit: number; desc: boolean } | Response {
  const q = (n: string) => ctx.c.req.query(n);
  const order = q('order') ?? 'ASC';
  if (order !== 'ASC' && order !== 'DESC') return errorResponse(ctx.c, 400, `invalid order ${JSON.stringify(order)}`);
  const limit = q('limit') === undefined ? 100 : Number(q('limit'));
  const offset = q('offset') === undefined ? 0 : Number(q('offset'));
  if (!Number.isInteger(limit) || limit < 1) return errorResponse(ctx.c, 400, 'invalid limit');
  if (!Number.isInteger(offset) || offset < 0) return errorResponse(ctx.c, 400, 'invalid offset');
  return { offset, limit: Math.min(limit, 500), desc: order === 'DESC' };
}

/** POST /user/shares (and the web client's share form): a new share of the user's paths. */
export async function addUserShare(ctx: ApiContext): Promise<Response> {
  const id = newShareId();
  const body = { ...bodyOf(ctx) };
  // filters.default_shares_expiration: a share created without an expiration gets one.
  const defaultDays = ctx.user!.filters?.default_shares_expiration ?? 0;
  if (defaultDays > 0 && !body.expires_at) body.expires_at = Date.now() + defaultDays * DAY_MS;
  const spec = checkShareSpec(body, { now: Date.now(), defaultName: id });
  checkMaxExpiration(ctx, spec);
  await checkPaths(ctx, spec);
  await addShare(writer(ctx), ctx.user!.username, id, spec);
  ctx.runtime.log('info', 'api_change', { action: 'create', kind: 'share', name: id, scope: spec.scope, by: ctx.user!.username });
  ctx.c.header('Location', `${BASE}/${encodeURIComponent(id)}`);
  ctx.c.header('X-Object-ID', id);
  return ctx.c.json({ message: 'Share created' }, 201);
}

/** PUT /user/shares/{id}: the share's new definition. */
export async function updateUserShare(ctx: ApiContext): Promise<Response> {
  const id = ctx.c.req.param('id')!;
  const body = { ...bodyOf(ctx) };
  const keep = body.password === REDACTED_PASSWORD;
  if (keep) delete body.password;
  const spec = checkShareSpec(body, { now: Date.now(), defaultName: id });
  if (!(await getShare(ctx.runtime.store, id, ctx.user!.username))) throw shareNotFound(id);
  checkMaxExpiration(ctx, spec);
  await checkPaths(ctx, spec);
  await updateShare(writer(ctx), ctx.user!.username, id, spec, keep);
  ctx.runtime.log('info', 'api_change', { action: 'updated', kind: 'share', name: id, by: ctx.user!.username });
  return ctx.c.json({ message: 'Share updated' });
}

/** DELETE /user/shares/{id}. */
export async function deleteUserShare(ctx: ApiContext): Promise<Response> {
  const id = ctx.c.req.param('id')!;
  await deleteShare(ctx.runtime.store, ctx.user!.username, id);
  ctx.runtime.log('info', 'api_change', { action: 'delete', kind: 'share', name: id, by: ctx.user!.username });
  return ctx.c.json({ message: 'Share deleted' });
}

/** A user's shares as the API lists them (password redacted), at most `limit`. */
export async function userShares(ctx: Pick<ApiContext, 'runtime'>, username: string, limit = 500): Promise<Record<string, unknown>[]> {
  return (await listShares(ctx.runtime.store, username, { offset: 0, limit })).map(renderShare);
}

/** One of the user's shares as the API shows it, or undefined. */
export async function userShare(ctx: Pick<ApiContext, 'runtime'>, username: string, id: string): Promise<Record<string, unknown> | undefined> {
  const share = await getShare(ctx.runtime.store, id, username);
  return share ? renderShare(share) : undefined;
}

const common = { tag: 'user shares', auth: 'user' } as const;

export const USER_SHARE_ROUTES: Route[] = [
  { ...common, method: 'get', path: BASE, summary: "The user's shares, in id order (password redacted)", returns: 'Share[]',
    query: [
      { name: 'offset', description: 'Skip this many shares', schema: { type: 'integer', minimum: 0, default: 0 } },
      { name: 'limit', description: 'At most this many (1-500)', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
      { name: 'order', description: 'By id', schema: { type: 'string', enum: ['ASC', 'DESC'], default: 'ASC' } },
    ],
    handler: async (ctx) => {
      const p = page(ctx);
      if (p instanceof Response) return p;
      return ctx.c.json((await listShares(ctx.runtime.store, ctx.user!.username, p)).map(renderShare));
    } },
  { ...common, method: 'post', path: BASE, summary: 'Add a share; the answer names it in X-Object-ID and Location', body: 'any', bodySchema: 'Share', session: true, status: 201,
    handler: addUserShare },
  { ...common, method: 'get', path: `${BASE}/{id}`, summary: 'One of the user\'s shares (password redacted)', returns: 'Share',
    handler: async (ctx) => {
      const id = ctx.c.req.param('id')!;
      const share = await getShare(ctx.runtime.store, id, ctx.user!.username);
      if (!share) throw shareNotFound(id);
      return ctx.c.json(renderShare(share));
    } },
  { ...common, method: 'put', path: `${BASE}/{id}`, summary: `Replace a share's definition; a password of "${REDACTED_PASSWORD}" keeps the current one`, body: 'any', bodySchema: 'Share', session: true,
    handler: updateUserShare },
  { ...common, method: 'delete', path: `${BASE}/{id}`, summary: 'Delete a share',
    handler: deleteUserShare },
];
