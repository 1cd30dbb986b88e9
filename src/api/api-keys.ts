// API keys as a resource, on SFTPGo's paths and in its shape (`/api/v2/apikeys`): only a super admin
// authenticated by password or token (not by an API key) lists, creates, edits or deletes them. The
// clear key is generated here and shown once, in the creation answer, as `<id>.<key>`; the store
// keeps its hash. A key bound to an admin impersonates that admin; an unbound one the admin named
// after it (`<id>.<key>.<admin>`), and in both cases only an admin with `filters.allow_api_key_auth`.
// A user-scope key (scope 2) works the same way on the user API, for a user with that filter.
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { FieldError } from '../config/validate.ts';
import type { ApiKeyRecord, ReadTx, Store } from '../store/store.ts';
import type { ServerContext } from '../core/context.ts';
import type { ApiContext } from './app.ts';
import { hashApiKey } from './auth.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

const BASE = '/api/v2/apikeys';
/** A key's last use is written at most this often: one store write per request would be a lot. */
const LAST_USE_RESOLUTION_MS = 60_000;
/** Fields a client may send back from a GET: set by the server, ignored on input (as SFTPGo). */
const READ_ONLY = ['id', 'key', 'created_at', 'updated_at', 'last_use_at'];
const WRITABLE = ['name', 'scope', 'expires_at', 'description', 'admin', 'user'];

type Definition = Pick<ApiKeyRecord, 'name' | 'scope' | 'expires_at' | 'description' | 'admin' | 'user'>;

/** A URL-safe random token without dots (the key's separator). */
function token(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** The body as a key definition, with SFTPGo's rules; field errors when it is not one. */
export async function apiKeyDefinition(store: ReadTx, b: unknown): Promise<Definition> {
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new AppError('invalid', 'the body must be a JSON object');
  const body = b as Record<string, unknown>;
  const details: FieldError[] = [];
  for (const f of Object.keys(body)) if (!READ_ONLY.includes(f) && !WRITABLE.includes(f)) details.push({ path: f, message: 'unknown field' });
  const str = (f: string) => {
    const v = body[f];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') return void details.push({ path: f, message: 'must be string' });
    return v || undefined;
  };
  const name = str('name');
  if (!name) details.push({ path: 'name', message: 'required' });
  else if (name.includes('/') || name === '.' || name === '..') details.push({ path: 'name', message: 'must not contain / nor be . or ..' });
  const scope = body.scope;
  if (scope !== 1 && scope !== 2) details.push({ path: 'scope', message: 'must be 1 (admin) or 2 (user)' });
  const expires = body.expires_at;
  if (expires !== undefined && expires !== null && (!Number.isInteger(expires) || (expires as number) < 0))
    details.push({ path: 'expires_at', message: 'must be epoch milliseconds (0: never)' });
  const admin = str('admin');
  const user = str('user');
  const description = str('description');
  if (admin && user) details.push({ path: 'user', message: 'an API key belongs to a user or an admin, not both' });
  if (details.length) throw Object.assign(new AppError('invalid', 'invalid API key'), { details });
  const base = { name: name!, ...(expires ? { expires_at: expires as number } : {}), ...(description ? { description } : {}) };
  // As SFTPGo, a key keeps only the owner its scope has: an admin-scope key drops a user, a user-scope key an admin.
  if (scope === 2) {
    if (user && !(await store.get('users', user))) throw new AppError('invalid', `user: "${user}" does not exist`);
    return { ...base, scope: 2, ...(user ? { user } : {}) };
  }
  if (admin && !(await store.get('admins', admin))) throw new AppError('invalid', `admin: "${admin}" does not exist`);
  return { ...base, scope: 1, ...(admin ? { admin } : {}) };
}

/** A key as the API shows it: never the hash. */
export function shownApiKey(rec: ApiKeyRecord): Omit<ApiKeyRecord, 'key'> {
  const { key: _key, ...rest } = rec;
  void _key;
  return rest;
}

/** Writes a key's last use when it is older than the resolution; failures only cost the timestamp. */
export async function touchApiKey(store: Store, id: string): Promise<void> {
  const now = Date.now();
  const rec = await store.get('api_keys', id);
  if (!rec || (rec.last_use_at ?? 0) > now - LAST_USE_RESOLUTION_MS) return;
  await store.write(async (tx) => {
    const cur = await tx.get('api_keys', id);
    if (cur) await tx.put('api_keys', id, { ...cur, last_use_at: now });
  });
}

/** Every key, in id order. */
export async function listApiKeys(store: ReadTx): Promise<ApiKeyRecord[]> {
  const all: ApiKeyRecord[] = [];
  for await (const [, k] of store.entries('api_keys')) all.push(k);
  return all;
}

/** Stores a new key; its id and the clear key `<id>.<key>`, the only time it exists outside a hash. */
export async function createApiKey(runtime: Pick<ServerContext, 'store' | 'log'>, def: Definition, by: string): Promise<{ id: string; key: string }> {
  const id = token(15);
  const key = token(24);
  const now = Date.now();
  await runtime.store.write(async (tx) => {
    if (def.admin && !(await tx.get('admins', def.admin))) throw new AppError('invalid', `admin: "${def.admin}" does not exist`);
    if (def.user && !(await tx.get('users', def.user))) throw new AppError('invalid', `user: "${def.user}" does not exist`);
    await tx.put('api_keys', id, { id, ...def, key: hashApiKey(key), created_at: now, updated_at: now });
  });
  runtime.log('info', 'api_change', { action: 'create', kind: 'api_key', name: id, admin: def.admin, by });
  return { id, key: `${id}.${key}` };
}

export async function deleteApiKey(runtime: Pick<ServerContext, 'store' | 'log'>, id: string, by: string): Promise<void> {
  await runtime.store.write(async (tx) => {
    if (!(await tx.get('api_keys', id))) throw new AppError('not_found', `API key "${id}" not found`);
    await tx.remove('api_keys', id);
  });
  runtime.log('info', 'api_change', { action: 'delete', kind: 'api_key', name: id, by });
}

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

const common = { tag: 'apikeys', auth: 'admin', permission: '*', noApiKey: true } as const;

export const API_KEY_ROUTES: Route[] = [
  { ...common, method: 'get', path: BASE, summary: 'List API keys (without the keys)', returns: 'APIKey[]',
    query: [
      { name: 'offset', description: 'Skip this many keys', schema: { type: 'integer', minimum: 0, default: 0 } },
      { name: 'limit', description: 'At most this many keys (1-500)', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
      { name: 'order', description: 'By id', schema: { type: 'string', enum: ['ASC', 'DESC'], default: 'ASC' } },
    ],
    handler: async (ctx) => {
      const offset = Math.max(0, Number(ctx.c.req.query('offset') ?? 0) || 0);
      const limit = Math.min(500, Math.max(1, Number(ctx.c.req.query('limit') ?? 100) || 100));
      const order = ctx.c.req.query('order') ?? 'ASC';
      if (order !== 'ASC' && order !== 'DESC') return errorResponse(ctx.c, 400, 'order: must be ASC or DESC');
      const all = await listApiKeys(ctx.runtime.store);
      if (order === 'DESC') all.reverse();
      return ctx.c.json(all.slice(offset, offset + limit).map(shownApiKey));
    } },
  { ...common, method: 'post', path: BASE, summary: 'Create an API key: the answer carries the key, the only time it is shown', body: 'any', bodySchema: 'APIKey', returns: 'APIKeyCreated',
    handler: async (ctx) => {
      const { id, key } = await createApiKey(ctx.runtime, await apiKeyDefinition(ctx.runtime.store, ctx.body), who(ctx));
      ctx.c.header('Location', `${BASE}/${encodeURIComponent(id)}`);
      ctx.c.header('X-Object-ID', id);
      return ctx.c.json({ message: 'API key created. This is the only time the API key is visible, please save it.', key }, 201);
    } },
  { ...common, method: 'get', path: `${BASE}/{id}`, summary: 'One API key (without the key)', returns: 'APIKey',
    handler: async (ctx) => {
      const id = ctx.c.req.param('id')!;
      const rec = await ctx.runtime.store.get('api_keys', id);
      return rec ? ctx.c.json(shownApiKey(rec)) : errorResponse(ctx.c, 404, `API key "${id}" not found`);
    } },
  { ...common, method: 'put', path: `${BASE}/{id}`, summary: "Replace an API key's definition; the key itself stays", body: 'any', bodySchema: 'APIKey',
    handler: async (ctx) => {
      const id = ctx.c.req.param('id')!;
      const def = await apiKeyDefinition(ctx.runtime.store, ctx.body);
      await ctx.runtime.store.write(async (tx) => {
        const cur = await tx.get('api_keys', id);
        if (!cur) throw new AppError('not_found', `API key "${id}" not found`);
        await tx.put('api_keys', id, { id, key: cur.key, created_at: cur.created_at, ...(cur.last_use_at ? { last_use_at: cur.last_use_at } : {}), ...def, updated_at: Date.now() });
      });
      ctx.runtime.log('info', 'api_change', { action: 'updated', kind: 'api_key', name: id, by: who(ctx) });
      return ctx.c.json({ message: 'API key updated' });
    } },
  { ...common, method: 'delete', path: `${BASE}/{id}`, summary: 'Delete an API key',
    handler: async (ctx) => {
      await deleteApiKey(ctx.runtime, ctx.c.req.param('id')!, who(ctx));
      return ctx.c.json({ message: 'API key deleted' });
    } },
];
