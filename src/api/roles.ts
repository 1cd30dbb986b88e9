// The roles resource as SFTPGo 2.7 serves it (/api/v2/roles): only a super admin ("*") lists,
// creates, edits or deletes roles. A role shows the users and admins that have it. POST answers 201
// with the role and a Location; PUT replaces the description; deleting a role an admin still has is
// refused, while its users lose it (store/records.ts). A role the YAML declares is edited through
// its override and removed from the YAML, like any config-declared record.
import { AppError } from '../errors.ts';
import { sortKeys } from '../store/canonical.ts';
import { effectiveRole, getOverride, layer } from '../store/records.ts';
import type { Override, ReadTx } from '../store/store.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

const BASE = '/api/v2/roles';
const ONE = `${BASE}/{name}`;

const PAGING = [
  { name: 'offset', description: 'Skip this many records', schema: { type: 'integer', minimum: 0, default: 0 } },
  { name: 'limit', description: 'At most this many records (1-500)', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
];

/** Who has each role: the effective users and admins (override on top of the config's record). */
export async function roleMembers(store: ReadTx): Promise<Map<string, { users: string[]; admins: string[] }>> {
  const overrides = new Map<string, Override>();
  for await (const [key, o] of store.entries('overrides')) if (o.kind === 'user' || o.kind === 'admin') overrides.set(key, o);
  const out = new Map<string, { users: string[]; admins: string[] }>();
  const add = (role: string | undefined, list: 'users' | 'admins', name: string) => {
    if (!role) return;
    const m = out.get(role) ?? { users: [], admins: [] };
    m[list].push(name);
    out.set(role, m);
  };
  for await (const [name, u] of store.entries('users')) add(layer(u, overrides.get(`user:${name}`)).role, 'users', name);
  for await (const [name, a] of store.entries('admins')) add(layer(a, overrides.get(`admin:${name}`)).role, 'admins', name);
  return out;
}

async function renderRole(store: ReadTx, name: string, members?: Map<string, { users: string[]; admins: string[] }>): Promise<Record<string, unknown> | undefined> {
  const role = await effectiveRole(store, name);
  if (!role) return undefined;
  const m = (members ?? (await roleMembers(store))).get(name);
  const out: Record<string, unknown> = { ...role };
  // As SFTPGo's JSON: empty lists are left out.
  if (m?.users.length) out.users = m.users;
  if (m?.admins.length) out.admins = m.admins;
  const o = await getOverride(store, 'role', name);
  if (o) out.overrides = { fields: o.fields, updated_at: o.updated_at, updated_by: o.updated_by };
  return out;
}

/** Every role as the API shows it, with its members, in name order. */
export async function listRoles(store: ReadTx, page = { offset: 0, limit: 500 }): Promise<Record<string, unknown>[]> {
  const names: string[] = [];
  for await (const [name] of store.entries('roles')) names.push(name);
  const members = await roleMembers(store);
  const out = [];
  for (const name of names.slice(page.offset, page.offset + page.limit)) {
    const r = await renderRole(store, name, members);
    if (r) out.push(r);
  }
  return out;
}

/** What a GET returned, sent back: the members are the users' and admins' own field, not the role's. */
function acceptRoleBody(body: Record<string, unknown>): Record<string, unknown> {
  const { admins: _a, users: _u, ...rest } = body;
  return rest;
}

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

function spec(body: Record<string, unknown>): Record<string, unknown> {
  return sortKeys({ name: body.name, ...(typeof body.description === 'string' && body.description !== '' ? { description: body.description } : {}) }) as Record<string, unknown>;
}

export const ROLE_ROUTES: Route[] = [
  { method: 'get', path: BASE, summary: 'List roles, each with its users and admins', tag: 'roles', auth: 'admin', permission: '*', query: PAGING, returns: 'Role[]',
    handler: async (ctx) => {
      const offset = Math.max(0, Number(ctx.c.req.query('offset') ?? 0) || 0);
      const limit = Math.min(500, Math.max(1, Number(ctx.c.req.query('limit') ?? 100) || 100));
      return ctx.c.json(await listRoles(ctx.runtime.store, { offset, limit }));
    } },
  { method: 'post', path: BASE, summary: 'Add a role (runtime-owned)', tag: 'roles', auth: 'admin', permission: '*', body: 'Role', accept: acceptRoleBody, returns: 'Role',
    handler: async (ctx) => {
      const body = ctx.body as Record<string, unknown>;
      const name = String(body.name);
      await ctx.runtime.records.write(async (tx) => {
        if (await tx.get('role', name)) throw new AppError('exists', `role "${name}" already exists`);
        await tx.put('role', name, spec(body), { source: 'runtime' });
      });
      ctx.runtime.log('info', 'api_change', { action: 'create', kind: 'role', name, by: who(ctx) });
      ctx.c.header('Location', `${BASE}/${encodeURIComponent(name)}`);
      return ctx.c.json(await renderRole(ctx.runtime.store, name), 201);
    } },
  { method: 'get', path: ONE, summary: 'Get a role with its users and admins', tag: 'roles', auth: 'admin', permission: '*', returns: 'Role',
    handler: async (ctx) => {
      const name = ctx.c.req.param('name')!;
      const r = await renderRole(ctx.runtime.store, name);
      return r ? ctx.c.json(r) : errorResponse(ctx.c, 404, `role "${name}" not found`);
    } },
  { method: 'put', path: ONE, summary: "Replace a role's description; a config-declared role gets an override", tag: 'roles', auth: 'admin', permission: '*', body: 'Role', accept: acceptRoleBody,
    handler: async (ctx) => {
      const name = ctx.c.req.param('name')!;
      const body = ctx.body as Record<string, unknown>;
      if (body.name !== name) throw new AppError('invalid', `name: cannot rename (${name} in the path)`);
      const { description } = spec(body);
      const outcome = await ctx.runtime.records.write((tx) =>
        tx.edit('role', name, { fields: description === undefined ? {} : { description }, cleared: description === undefined ? ['description'] : [], by: who(ctx) }),
      );
      ctx.runtime.log('info', 'api_change', { action: outcome, kind: 'role', name, by: who(ctx) });
      return ctx.c.json({ message: outcome === 'updated' ? 'Role updated' : outcome === 'override_set' ? 'role override saved' : 'role matches the config: override dropped' });
    } },
  { method: 'delete', path: ONE, summary: 'Delete a runtime-owned role: refused while an admin has it; its users lose it', tag: 'roles', auth: 'admin', permission: '*',
    handler: async (ctx) => {
      const name = ctx.c.req.param('name')!;
      await ctx.runtime.records.write(async (tx) => {
        const rec = await tx.get('role', name);
        if (!rec) throw new AppError('not_found', `role "${name}" not found`);
        if (rec.source === 'config') throw new AppError('exists', `role "${name}" is declared in the config file: remove it there (an API change to it is an override)`);
        await tx.delete('role', name);
      });
      ctx.runtime.log('info', 'api_change', { action: 'delete', kind: 'role', name, by: who(ctx) });
      return ctx.c.json({ message: 'Role deleted' });
    } },
];
