// IP lists on SFTPGo's paths and in its shape (`/api/v2/iplists/{type}`, `/{type}/{ipornet}`),
// for super admins as in SFTPGo. Entries added here are the API's: reconcile keeps them unless
// `reconcile.prune` is set. Entries the config declares are changed in the config, not here.
import { AppError } from '../errors.ts';
import type { FieldError } from '../config/validate.ts';
import { ipListEntryProblem, ipListSpec, IP_LIST_TYPES, type IpListRecord, type IpListType } from '../core/ip-lists.ts';
import { normaliseIpOrNet } from '../lib/cidr.ts';
import { ipListKey, type ReadTx } from '../store/store.ts';
import type { ServerContext } from '../core/context.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

const BASE = '/api/v2/iplists';
const READ_ONLY = ['created_at', 'updated_at'];
const WRITABLE = ['ipornet', 'type', 'mode', 'protocols', 'description'];

/** The entry as SFTPGo's API shows it (who declared it stays inside). */
function shown(rec: IpListRecord): Omit<IpListRecord, 'source'> {
  const { source: _source, ...rest } = rec;
  void _source;
  return rest;
}

function listType(ctx: ApiContext): IpListType {
  const t = Number(ctx.c.req.param('type'));
  if (!IP_LIST_TYPES.includes(t as IpListType)) throw new AppError('invalid', `invalid list type ${ctx.c.req.param('type')}: 1 allow list, 2 defender, 3 rate limiters' safe list`);
  return t as IpListType;
}

/** The store key the path names; a bare address means its /32 or /128. */
function pathKey(ctx: ApiContext): { type: IpListType; key: string; ipornet: string } {
  const type = listType(ctx);
  const raw = ctx.c.req.param('ipornet') ?? '';
  const ipornet = normaliseIpOrNet(raw);
  if (!ipornet) throw new AppError('invalid', `invalid IP or network "${raw}"`);
  return { type, key: ipListKey(type, ipornet), ipornet };
}

/** The body as an entry of list `type` (`ipornet` fixed by the path for an update). */
export function ipListEntryOf(b: unknown, type: IpListType, ipornet?: string): ReturnType<typeof ipListSpec> {
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new AppError('invalid', 'the body must be a JSON object');
  const body = b as Record<string, unknown>;
  const details: FieldError[] = [];
  for (const f of Object.keys(body)) if (!READ_ONLY.includes(f) && !WRITABLE.includes(f)) details.push({ path: f, message: 'unknown field' });
  if (body.type !== undefined && body.type !== type) details.push({ path: 'type', message: `must be ${type}, the list the path names` });
  if (body.description !== undefined && typeof body.description !== 'string') details.push({ path: 'description', message: 'must be string' });
  const entry = { ipornet: ipornet ?? body.ipornet, type, mode: body.mode ?? 1, protocols: body.protocols ?? 0 };
  const problem = ipListEntryProblem(entry);
  if (problem) details.push({ path: problem.field, message: problem.message });
  if (details.length) throw Object.assign(new AppError('invalid', 'invalid IP list entry'), { details });
  const description = typeof body.description === 'string' ? body.description : undefined;
  return ipListSpec({ ipornet: entry.ipornet as string, type, mode: entry.mode as number, protocols: entry.protocols as number, ...(description ? { description } : {}) }, 'api');
}

/** The entries of list `type`, by ipornet. */
export async function listIpList(store: ReadTx, type: IpListType): Promise<IpListRecord[]> {
  const all: IpListRecord[] = [];
  for await (const [, e] of store.entries('ip_lists')) if (e.type === type) all.push(e);
  return all.sort((a, b) => (a.ipornet < b.ipornet ? -1 : a.ipornet > b.ipornet ? 1 : 0));
}

type Writer = Pick<ServerContext, 'records' | 'log'>;

/** Adds an entry (the API's: reconcile keeps it unless prune is set); its store key. */
export async function addIpListEntry(runtime: Writer, spec: ReturnType<typeof ipListSpec>, by: string): Promise<string> {
  const key = ipListKey(spec.type, spec.ipornet);
  await runtime.records.write(async (tx) => {
    if (await tx.ipListEntry(key)) throw new AppError('exists', `${spec.ipornet} is already in list ${spec.type}`);
    await tx.putIpListEntry(spec, undefined);
  });
  runtime.log('info', 'api_change', { action: 'create', kind: 'iplist', name: key, by });
  return key;
}

/** Deletes an entry added at run time (the config's are removed from the config). */
export async function deleteIpListEntry(runtime: Writer, o: { type: IpListType; ipornet: string }, by: string): Promise<void> {
  const key = ipListKey(o.type, o.ipornet);
  await runtime.records.write(async (tx) => {
    await editable(tx.ipListEntry(key), o.ipornet, o.type);
    await tx.deleteIpListEntry(key);
  });
  runtime.log('info', 'api_change', { action: 'delete', kind: 'iplist', name: key, by });
}

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

const common = { tag: 'iplists', auth: 'admin', permission: '*' } as const;

export const IP_LIST_ROUTES: Route[] = [
  { ...common, method: 'get', path: `${BASE}/{type}`, summary: 'List the entries of an IP list, by ipornet', returns: 'IPListEntry[]',
    query: [
      { name: 'filter', description: 'Only entries whose ipornet starts with this', schema: { type: 'string' } },
      { name: 'from', description: 'Start after this ipornet', schema: { type: 'string' } },
      { name: 'limit', description: 'At most this many entries (1-500)', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
      { name: 'order', description: 'By ipornet', schema: { type: 'string', enum: ['ASC', 'DESC'], default: 'ASC' } },
    ],
    handler: async (ctx) => {
      const type = listType(ctx);
      const limit = Math.min(500, Math.max(1, Number(ctx.c.req.query('limit') ?? 100) || 100));
      const order = ctx.c.req.query('order') ?? 'ASC';
      if (order !== 'ASC' && order !== 'DESC') return errorResponse(ctx.c, 400, 'order: must be ASC or DESC');
      const filter = ctx.c.req.query('filter') ?? '';
      const from = ctx.c.req.query('from') ?? '';
      const all = (await listIpList(ctx.runtime.store, type)).filter((e) => e.ipornet.startsWith(filter));
      if (order === 'DESC') all.reverse();
      const after = from ? all.filter((e) => (order === 'ASC' ? e.ipornet > from : e.ipornet < from)) : all;
      return ctx.c.json(after.slice(0, limit).map(shown));
    } },
  { ...common, method: 'post', path: `${BASE}/{type}`, summary: 'Add an entry to an IP list', body: 'any', bodySchema: 'IPListEntry',
    handler: async (ctx) => {
      const type = listType(ctx);
      const spec = ipListEntryOf(ctx.body, type);
      await addIpListEntry(ctx.runtime, spec, who(ctx));
      ctx.c.header('Location', `${BASE}/${type}/${encodeURIComponent(spec.ipornet)}`);
      return ctx.c.json({ message: 'Entry added' }, 201);
    } },
  { ...common, method: 'get', path: `${BASE}/{type}/{ipornet}`, summary: 'One IP list entry', returns: 'IPListEntry',
    handler: async (ctx) => {
      const { key, ipornet, type } = pathKey(ctx);
      const rec = await ctx.runtime.store.get('ip_lists', key);
      return rec ? ctx.c.json(shown(rec)) : errorResponse(ctx.c, 404, `${ipornet} is not in list ${type}`);
    } },
  { ...common, method: 'put', path: `${BASE}/{type}/{ipornet}`, summary: "Replace an entry's mode, protocols and description", body: 'any', bodySchema: 'IPListEntry',
    handler: async (ctx) => {
      const { key, ipornet, type } = pathKey(ctx);
      const spec = ipListEntryOf(ctx.body, type, ipornet);
      await ctx.runtime.records.write(async (tx) => {
        const cur = await editable(tx.ipListEntry(key), ipornet, type);
        await tx.putIpListEntry(spec, cur);
      });
      ctx.runtime.log('info', 'api_change', { action: 'updated', kind: 'iplist', name: key, by: who(ctx) });
      return ctx.c.json({ message: 'Entry updated' });
    } },
  { ...common, method: 'delete', path: `${BASE}/{type}/{ipornet}`, summary: 'Delete an IP list entry',
    handler: async (ctx) => {
      const { ipornet, type } = pathKey(ctx);
      await deleteIpListEntry(ctx.runtime, { type, ipornet }, who(ctx));
      return ctx.c.json({ message: 'Entry deleted' });
    } },
];

/** The stored entry, when it exists and the API may change it (the config's are changed in the config). */
async function editable(current: Promise<IpListRecord | undefined>, ipornet: string, type: IpListType): Promise<IpListRecord> {
  const cur = await current;
  if (!cur) throw new AppError('not_found', `${ipornet} is not in list ${type}`);
  if (cur.source === 'config') throw new AppError('exists', `${ipornet} in list ${type} is declared in the config file: change it there`);
  return cur;
}
