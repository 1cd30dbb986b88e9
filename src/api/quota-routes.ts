// Quota maintenance endpoints, on SFTPGo's paths: start a quota scan of a user or a folder (202,
// runs in the background; 409 while one is running; 403 with quota tracking off), list running
// scans, and set or add to a user's data transfer usage.
import { scanFolderUsage, scanUserUsage, type QuotaScans } from '../core/quota-scan.ts';
import { effectiveFolder, effectiveUser } from '../store/records.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

function transferUsageOf(ctx: ApiContext, username: string): Record<string, unknown> {
  const t = ctx.runtime.usage.transferred(`user:${username}`);
  return { username, used_upload_data_transfer: t.upload, used_download_data_transfer: t.download };
}

/** The two routes of one kind of quota scan: list the running ones, start one (202; 409 if running). */
function scanRoutes(kind: 'user' | 'folder'): Route[] {
  const [plural, param, nameField] = kind === 'user' ? ['users', 'username', 'username'] : ['folders', 'name', 'name'];
  return [
    { method: 'get', path: `/api/v2/quotas/${plural}/scans`, summary: `Running ${kind} quota scans`, tag: 'quota', auth: 'admin', permission: 'quota_scans', returns: 'QuotaScan[]',
      handler: (ctx) => ctx.c.json(ctx.runtime.quotaScans.list(kind).map((s) => ({ [nameField]: s.name, start_time: s.start_time }))) },
    { method: 'post', path: `/api/v2/quotas/${plural}/{${param}}/scan`, summary: `Start a scan recomputing a ${kind}'s quota usage from storage (runs in the background)`, tag: 'quota', auth: 'admin', permission: 'quota_scans', status: 202,
      handler: async (ctx) => {
        const name = ctx.c.req.param(param)!;
        const store = ctx.runtime.store;
        // As SFTPGo: with tracking off there are no counters for a scan to set.
        if (ctx.runtime.config.data_provider?.track_quota === 0) return errorResponse(ctx.c, 403, 'quota tracking is disabled (data_provider.track_quota is 0)');
        let scan: Parameters<QuotaScans['start']>[3] | undefined;
        if (kind === 'user') {
          const user = await effectiveUser(store, name);
          if (user) scan = () => scanUserUsage(user, ctx.runtime.backends);
        } else {
          const folder = await effectiveFolder(store, name);
          if (folder) scan = () => scanFolderUsage(folder, ctx.runtime.backends);
        }
        if (!scan) return errorResponse(ctx.c, 404, `${kind} "${name}" not found`);
        const { started } = ctx.runtime.quotaScans.start(kind, name, ctx.runtime.usage, scan);
        if (!started) return errorResponse(ctx.c, 409, `a quota scan of ${kind} "${name}" is already running`);
        ctx.runtime.log('info', 'quota_scan_started', { kind, name, by: who(ctx) });
        return ctx.c.json({ message: 'Scan started' }, 202);
      } },
  ];
}

export const QUOTA_ROUTES: Route[] = [
  ...scanRoutes('user'),
  ...scanRoutes('folder'),
  { method: 'put', path: '/api/v2/quotas/users/{username}/transfer-usage', summary: "Set (mode=reset, default) or add to (mode=add) a user's data transfer usage", tag: 'quota', auth: 'admin', permission: 'edit_users', body: 'any', returns: 'TransferUsage',
    query: [{ name: 'mode', description: 'reset: set the values; add: add them (may be negative)', schema: { type: 'string', enum: ['reset', 'add'], default: 'reset' } }],
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      if (!(await ctx.runtime.store.get('users', name))) return errorResponse(ctx.c, 404, `user "${name}" not found`);
      const mode = ctx.c.req.query('mode') ?? 'reset';
      const b = (ctx.body ?? {}) as Record<string, unknown>;
      const details = [];
      if (mode !== 'reset' && mode !== 'add') details.push({ path: 'mode', message: 'must be reset or add' });
      for (const f of ['used_upload_data_transfer', 'used_download_data_transfer'])
        if (b[f] !== undefined && !Number.isInteger(b[f])) details.push({ path: f, message: 'must be an integer' });
        else if (mode === 'reset' && typeof b[f] === 'number' && (b[f] as number) < 0) details.push({ path: f, message: 'must be >= 0' });
      if (details.length) return errorResponse(ctx.c, 400, 'invalid transfer usage', details);
      const book = ctx.runtime.usage;
      const key = `user:${name}`;
      const up = (b.used_upload_data_transfer as number | undefined) ?? 0;
      const down = (b.used_download_data_transfer as number | undefined) ?? 0;
      const cur = book.transferred(key);
      await book.setTransferred(key, mode === 'add' ? { upload: Math.max(0, cur.upload + up), download: Math.max(0, cur.download + down) } : { upload: up, download: down });
      ctx.runtime.log('info', 'api_change', { action: 'transfer_usage', kind: 'user', name, mode, by: who(ctx) });
      return ctx.c.json(transferUsageOf(ctx, name));
    } },
];
