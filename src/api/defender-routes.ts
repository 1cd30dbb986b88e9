// The defender's endpoints, as SFTPGo has them: list the scored and banned hosts, look one up, and
// unban one (which also forgets its score). A host's id is the hex of its address text. With a
// shared defender these are the cluster's hosts, whichever replica answers.
import { ipFromHostId } from '../core/defender.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

function hostParam(ctx: ApiContext): string | undefined {
  return ipFromHostId(ctx.c.req.param('id') ?? '');
}

function notFound(ctx: ApiContext): Response {
  return errorResponse(ctx.c, 404, ctx.runtime.defender.enabled ? 'Not found' : 'the defender is disabled');
}

export const DEFENDER_ROUTES: Route[] = [
  { method: 'get', path: '/api/v2/defender/hosts', summary: 'Hosts the defender has banned or is scoring', tag: 'defender', auth: 'admin', roleAdmins: 'open', permission: 'view_defender', returns: 'DefenderHost[]',
    handler: async (ctx) => ctx.c.json(ctx.runtime.defender.enabled ? await ctx.runtime.defender.listHosts() : []) },
  { method: 'get', path: '/api/v2/defender/hosts/{id}', summary: 'One banned or scored host (id: hex of the address)', tag: 'defender', auth: 'admin', roleAdmins: 'open', permission: 'view_defender', returns: 'DefenderHost',
    handler: async (ctx) => {
      const ip = hostParam(ctx);
      const defender = ctx.runtime.defender;
      const host = ip && defender.enabled ? await defender.findHost(ip) : undefined;
      return host ? ctx.c.json(host) : notFound(ctx);
    } },
  { method: 'delete', path: '/api/v2/defender/hosts/{id}', summary: 'Unban a host and reset its score', tag: 'defender', auth: 'admin', roleAdmins: 'open', permission: 'manage_defender',
    handler: async (ctx) => {
      const ip = hostParam(ctx);
      const defender = ctx.runtime.defender;
      if (!ip || !defender.enabled || !(await defender.unban(ip))) return notFound(ctx);
      ctx.runtime.log('info', 'api_change', { action: 'unban', kind: 'defender_host', name: ip, by: ctx.admin?.username ?? 'api' });
      return ctx.c.json({ message: 'OK' });
    } },
];
