// The admins resource as SFTPGo 2.7 serves it: only a super admin ("*") lists, creates, edits or
// deletes admins, so no permission short of "*" leads to "*". POST answers 201 with the admin and a
// Location; PUT replaces the definition (a left-out password is kept); an admin cannot delete itself,
// change its own permissions or disable itself, nor edit itself while authenticated by an API key.
// An admin's last login (a token issued, an API key used) is kept in the store's meta, beside the
// record, so reconcile never sees it as a change to the definition.
import { AppError } from '../errors.ts';
import { META, type Store } from '../store/store.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import { create, KINDS, remove, removeOverride, render, update } from './resources.ts';
import type { Route } from './routes.ts';

const k = KINDS.admins;
const ONE = '/api/v2/admins/{username}';

const PAGING = [
  { name: 'offset', description: 'Skip this many records', schema: { type: 'integer', minimum: 0, default: 0 } },
  { name: 'limit', description: 'At most this many records (1-500)', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
  { name: 'order', description: 'By username', schema: { type: 'string', enum: ['ASC', 'DESC'], default: 'ASC' } },
];

/**
 * SFTPGo's admin JSON carries fields for features not here (groups, two-factor, web admin
 * preferences). A client that sends one back at its empty value (what SFTPGo's own GET shows for an
 * admin without them) gets it dropped; any other value is refused as not supported.
 */
export function acceptSftpgoAdminFields(body: Record<string, unknown>): Record<string, unknown> {
  const out = { ...body };
  delete out.has_password;
  delete out.last_login;
  // SFTPGo shows an admin without a role with an empty one.
  if (out.role === '') delete out.role;
  refuseUnlessEmpty(out, 'groups', 'groups: admin groups are not supported');
  if (out.password === '') delete out.password;
  const filters = out.filters;
  if (filters && typeof filters === 'object' && !Array.isArray(filters)) {
    const f = { ...(filters as Record<string, unknown>) };
    refuseUnlessEmpty(f, 'require_two_factor', 'filters.require_two_factor: two-factor authentication for admins is not supported');
    refuseUnlessEmpty(f, 'require_password_change', 'filters.require_password_change is not supported');
    // As SFTPGo: an admin's two-factor settings are its own (/api/v2/admin/totp/*); a body's are ignored.
    delete f.recovery_codes;
    delete f.totp_config;
    refuseUnlessEmpty(f, 'preferences', 'filters.preferences: web admin preferences are not supported');
    out.filters = f;
  }
  return out;
}

function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).every(isEmptyValue);
  return false;
}

function refuseUnlessEmpty(o: Record<string, unknown>, key: string, message: string): void {
  if (!(key in o)) return;
  if (!isEmptyValue(o[key])) throw new AppError('unsupported', message);
  delete o[key];
}

/** As SFTPGo: a last login is written at most this often. */
const LAST_LOGIN_RESOLUTION_MS = 10 * 60_000;

/** Records an admin's login (epoch milliseconds) unless the stored one is recent enough. */
export async function touchAdminLogin(store: Store, username: string): Promise<void> {
  const key = META.adminLastLogin(username);
  const now = Date.now();
  const last = ((await store.get('meta', key)) as number | undefined) ?? 0;
  if (last > now - LAST_LOGIN_RESOLUTION_MS) return;
  // Only for an admin still there: a login finishing after a delete must not leave a stale entry.
  await store.write(async (tx) => {
    if (await tx.get('admins', username)) await tx.put('meta', key, now);
  });
}

/** What SFTPGo's GET always shows of an admin, so its clients find the fields they read. */
async function renderAdmin(ctx: ApiContext, name: string): Promise<Record<string, unknown> | undefined> {
  const r = await render(ctx.runtime, k, name);
  if (!r) return undefined;
  const lastLogin = ((await ctx.runtime.store.get('meta', META.adminLastLogin(name))) as number | undefined) ?? 0;
  return { ...r, last_login: lastLogin, filters: { allow_list: [], allow_api_key_auth: false, ...(r.filters as Record<string, unknown> | undefined) } };
}

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

function sameSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = [...new Set(a ?? [])].sort();
  const y = [...new Set(b ?? [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export const ADMIN_ROUTES: Route[] = [
  { method: 'get', path: '/api/v2/admins', summary: 'List admins', tag: 'admins', auth: 'admin', permission: '*', query: PAGING, returns: 'Admin[]',
    handler: async (ctx) => {
      const offset = Math.max(0, Number(ctx.c.req.query('offset') ?? 0) || 0);
      const limit = Math.min(500, Math.max(1, Number(ctx.c.req.query('limit') ?? 100) || 100));
      const order = ctx.c.req.query('order') ?? 'ASC';
      if (order !== 'ASC' && order !== 'DESC') return errorResponse(ctx.c, 400, 'order: must be ASC or DESC');
      // Admins are few: the names in store order (by username), reversed for DESC.
      const names: string[] = [];
      for await (const [name] of ctx.runtime.store.entries('admins')) names.push(name);
      if (order === 'DESC') names.reverse();
      const out = [];
      for (const n of names.slice(offset, offset + limit)) {
        const a = await renderAdmin(ctx, n);
        if (a) out.push(a);
      }
      return ctx.c.json(out);
    } },
  { method: 'post', path: '/api/v2/admins', summary: 'Add an admin (runtime-owned)', tag: 'admins', auth: 'admin', permission: '*', body: 'Admin', accept: acceptSftpgoAdminFields, returns: 'Admin',
    handler: async (ctx) => {
      const body = ctx.body as Record<string, unknown>;
      await create(ctx.runtime, k, body);
      const name = String(body.username);
      ctx.runtime.log('info', 'api_change', { action: 'create', kind: 'admin', name, by: who(ctx) });
      ctx.c.header('Location', `/api/v2/admins/${encodeURIComponent(name)}`);
      return ctx.c.json(await renderAdmin(ctx, name), 201);
    } },
  { method: 'get', path: ONE, summary: 'Get an admin (effective: config plus override)', tag: 'admins', auth: 'admin', permission: '*', returns: 'Admin',
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      const a = await renderAdmin(ctx, name);
      return a ? ctx.c.json(a) : errorResponse(ctx.c, 404, `admin "${name}" not found`);
    } },
  { method: 'put', path: ONE, summary: 'Replace an admin\'s definition (a left-out password is kept); a config-declared admin gets an override', tag: 'admins', auth: 'admin', permission: '*', body: 'Admin', accept: acceptSftpgoAdminFields,
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      const body = ctx.body as Record<string, unknown>;
      const me = ctx.admin!;
      if (name === me.username) {
        if (ctx.via === 'api_key') throw new AppError('invalid', 'updating the admin impersonated with an API key is not allowed');
        if (!sameSet(me.permissions, body.permissions as string[] | undefined)) throw new AppError('invalid', 'you cannot change your permissions');
        if (body.status === 0) throw new AppError('invalid', 'you cannot disable yourself');
      }
      const outcome = await update(ctx.runtime, k, name, body, { by: who(ctx), replace: true });
      ctx.runtime.log('info', 'api_change', { action: outcome, kind: 'admin', name, by: who(ctx) });
      return ctx.c.json({ message: outcome === 'updated' ? 'Admin updated' : outcome === 'override_set' ? 'Admin updated: override saved' : 'Admin updated: matches the config, override dropped' });
    } },
  { method: 'delete', path: ONE, summary: 'Delete a runtime-owned admin', tag: 'admins', auth: 'admin', permission: '*',
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      if (name === ctx.admin?.username) throw new AppError('invalid', 'you cannot delete yourself');
      await remove(ctx.runtime, k, name);
      ctx.runtime.log('info', 'api_change', { action: 'delete', kind: 'admin', name, by: who(ctx) });
      return ctx.c.json({ message: 'Admin deleted' });
    } },
  { method: 'delete', path: '/api/v2/overrides/admins/{username}', summary: "Drop an admin's override: back to the config's value", tag: 'overrides', auth: 'admin', permission: '*',
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      await removeOverride(ctx.runtime, k, name);
      ctx.runtime.log('info', 'api_change', { action: 'override_dropped', kind: 'admin', name, by: who(ctx) });
      return ctx.c.json({ message: 'override dropped' });
    } },
];
