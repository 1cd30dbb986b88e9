// Quota maintenance endpoints, on SFTPGo's paths and with its answers: start a quota scan of a user
// or a folder (202, runs in the background; 409 while one is running; 403 with quota tracking off),
// list running scans, set or add to a user's or folder's quota usage and a user's data transfer
// usage (`?mode=reset|add`, negative values refused, `{message: "Quota updated"}`).
import { scanFolderUsage, scanUserUsage, type QuotaScans } from '../core/quota-scan.ts';
import { effectiveFolder } from '../store/records.ts';
import { userWithGroups } from '../store/groups.ts';
import type { ServerContext } from '../core/context.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

/**
 * Starts a scan recomputing a user's or folder's usage from storage, in the background (the API
 * and the web admin); `running` when one of the same record already runs.
 */
export async function startQuotaScan(runtime: ServerContext, kind: 'user' | 'folder', name: string, by: string): Promise<'started' | 'running' | 'not_found' | 'disabled'> {
  const store = runtime.store;
  // As SFTPGo: with tracking off there are no counters for a scan to set.
  if (runtime.config.data_provider?.track_quota === 0) return 'disabled';
  let scan: Parameters<QuotaScans['start']>[3] | undefined;
  if (kind === 'user') {
    // The home a scan walks is the one logins use: a primary group's home_dir replaces the user's.
    const user = await userWithGroups(store, name);
    if (user) scan = () => scanUserUsage(user, runtime.backends);
  } else {
    const folder = await effectiveFolder(store, name);
    if (folder) scan = () => scanFolderUsage(folder, runtime.backends);
  }
  if (!scan) return 'not_found';
  const { started } = runtime.quotaScans.start(kind, name, runtime.usage, scan);
  if (!started) return 'running';
  runtime.log('info', 'quota_scan_started', { kind, name, by });
  return 'started';
}

/** The two routes of one kind of quota scan: list the running ones, start one (202; 409 if running). */
function scanRoutes(kind: 'user' | 'folder'): Route[] {
  const [plural, param, nameField] = kind === 'user' ? ['users', 'username', 'username'] : ['folders', 'name', 'name'];
  const access = kind === 'user' ? 'users' : 'open';
  return [
    { method: 'get', path: `/api/v2/quotas/${plural}/scans`, summary: `Running ${kind} quota scans`, tag: 'quota', auth: 'admin', roleAdmins: access, permission: 'quota_scans', returns: 'QuotaScan[]',
      handler: async (ctx) => {
        const running = ctx.runtime.quotaScans.list(kind);
        const shown = kind === 'user' ? await ctx.scope.filter(running, (s) => s.name) : running;
        return ctx.c.json(shown.map((s) => ({ [nameField]: s.name, start_time: s.start_time })));
      } },
    { method: 'post', path: `/api/v2/quotas/${plural}/{${param}}/scan`, summary: `Start a scan recomputing a ${kind}'s quota usage from storage (runs in the background)`, tag: 'quota', auth: 'admin', roleAdmins: access, permission: 'quota_scans', status: 202,
      handler: async (ctx) => {
        const name = ctx.c.req.param(param)!;
        const outcome = await startQuotaScan(ctx.runtime, kind, name, who(ctx));
        if (outcome === 'disabled') return errorResponse(ctx.c, 403, 'quota tracking is disabled (data_provider.track_quota is 0)');
        if (outcome === 'not_found') return errorResponse(ctx.c, 404, `${kind} "${name}" not found`);
        if (outcome === 'running') return errorResponse(ctx.c, 409, `a quota scan of ${kind} "${name}" is already running`);
        return ctx.c.json({ message: 'Scan started' }, 202);
      } },
  ];
}

const MODE = [{ name: 'mode', description: 'reset (default): set the values; add: add them to the current ones', schema: { type: 'string', enum: ['reset', 'add'], default: 'reset' } }];

/** `?mode=`, and the body's integer fields (absent: 0), each >= 0; field errors otherwise. */
function usageInput(ctx: ApiContext, fields: readonly string[]): { mode: 'reset' | 'add'; values: number[] } | { details: { path: string; message: string }[] } {
  const mode = ctx.c.req.query('mode') ?? 'reset';
  const b = (ctx.body ?? {}) as Record<string, unknown>;
  const details = [];
  if (mode !== 'reset' && mode !== 'add') details.push({ path: 'mode', message: 'must be reset or add' });
  if (typeof b !== 'object' || Array.isArray(b)) details.push({ path: '', message: 'the body must be a JSON object' });
  for (const f of fields)
    if (b[f] !== undefined && !Number.isInteger(b[f])) details.push({ path: f, message: 'must be an integer' });
    else if (typeof b[f] === 'number' && (b[f] as number) < 0) details.push({ path: f, message: 'negative values are not allowed' });
  if (details.length) return { details };
  return { mode: mode as 'reset' | 'add', values: fields.map((f) => (b[f] as number | undefined) ?? 0) };
}

/** PUT `/quotas/{users|folders}/{name}/usage`: refused while a scan of the same one runs (409), as SFTPGo. */
function usageRoute(kind: 'user' | 'folder'): Route {
  const [plural, param, permission] = kind === 'user' ? (['users', 'username', 'edit_users'] as const) : (['folders', 'name', 'manage_folders'] as const);
  return {
    method: 'put', path: `/api/v2/quotas/${plural}/{${param}}/usage`, summary: `Set (mode=reset) or add to (mode=add) a ${kind}'s quota usage`, tag: 'quota', auth: 'admin', roleAdmins: kind === 'user' ? 'users' : 'open', permission, body: 'any', bodySchema: 'QuotaUsage', query: MODE, returns: 'ApiResponse',
    handler: async (ctx) => {
      const name = ctx.c.req.param(param)!;
      const input = usageInput(ctx, ['used_quota_size', 'used_quota_files']);
      if ('details' in input) return errorResponse(ctx.c, 400, 'invalid quota usage', input.details);
      const rec = kind === 'user' ? await ctx.runtime.store.get('users', name) : await ctx.runtime.store.get('folders', name);
      if (!rec) return errorResponse(ctx.c, 404, `${kind} "${name}" not found`);
      // As SFTPGo: with tracking only for restricted users (track_quota 2), adding to an unrestricted user's usage means nothing.
      if (kind === 'user' && input.mode === 'add' && ctx.runtime.config.data_provider?.track_quota === 2) {
        const u = rec as { quota_size?: number; quota_files?: number };
        if (!(u.quota_size ?? 0) && !(u.quota_files ?? 0)) return errorResponse(ctx.c, 400, 'this user has no quota restrictions, only reset mode is supported');
      }
      if (ctx.runtime.quotaScans.list(kind).some((s) => s.name === name)) return errorResponse(ctx.c, 409, `a quota scan is in progress for this ${kind}`);
      const [size, files] = input.values as [number, number];
      const key = `${kind}:${name}`;
      const book = ctx.runtime.usage;
      const cur = book.get(key);
      await book.set(key, input.mode === 'add' ? { size: cur.size + size, files: cur.files + files } : { size, files });
      ctx.runtime.log('info', 'api_change', { action: 'quota_usage', kind, name, mode: input.mode, by: who(ctx) });
      return ctx.c.json({ message: 'Quota updated' });
    },
  };
}

export const QUOTA_ROUTES: Route[] = [
  ...scanRoutes('user'),
  ...scanRoutes('folder'),
  usageRoute('user'),
  usageRoute('folder'),
  { method: 'put', path: '/api/v2/quotas/users/{username}/transfer-usage', summary: "Set (mode=reset) or add to (mode=add) a user's data transfer usage", tag: 'quota', auth: 'admin', roleAdmins: 'users', permission: 'edit_users', body: 'any', bodySchema: 'TransferQuotaUsage', query: MODE, returns: 'ApiResponse',
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      const input = usageInput(ctx, ['used_upload_data_transfer', 'used_download_data_transfer']);
      if ('details' in input) return errorResponse(ctx.c, 400, 'invalid transfer usage', input.details);
      if (!(await ctx.runtime.store.get('users', name))) return errorResponse(ctx.c, 404, `user "${name}" not found`);
      const [up, down] = input.values as [number, number];
      const book = ctx.runtime.usage;
      const key = `user:${name}`;
      const cur = book.transferred(key);
      await book.setTransferred(key, input.mode === 'add' ? { upload: cur.upload + up, download: cur.download + down } : { upload: up, download: down });
      ctx.runtime.log('info', 'api_change', { action: 'transfer_usage', kind: 'user', name, mode: input.mode, by: who(ctx) });
      return ctx.c.json({ message: 'Quota updated' });
    } },
];
