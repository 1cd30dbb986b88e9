// The route table: one entry per endpoint, with what it needs (auth, SFTPGo permission, body
// definition) and its handler. app.ts mounts it and openapi.ts documents it, so the two never drift.
import { AppError } from '../errors.ts';
import { listOverrides } from '../reconcile/overrides.ts';
import { dumpStore, loadDump } from '../store/dump.ts';
import type { ApiContext } from './app.ts';
import { ADMIN_ROUTES, touchAdminLogin } from './admin-routes.ts';
import { ADMIN_TOTP_ROUTES, adminOtpRefusal, OTP_HEADER } from './admin-totp.ts';
import { TWO_FACTOR_ROUTES } from './two-factor.ts';
import { API_KEY_ROUTES } from './api-keys.ts';
import { DEFENDER_ROUTES } from './defender-routes.ts';
import { IP_LIST_ROUTES } from './ip-list-routes.ts';
import { basicLogin, DEFAULT_TOKEN_VALIDITY, issueToken, reportRefusal, type Permission } from './auth.ts';
import { errorResponse } from './respond.ts';
import { importIntoStore, loadOptions, masterKeyFromEnv, serverImportHooks } from './import.ts';
import { openApiDocument } from './openapi.ts';
import { QUOTA_ROUTES } from './quota-routes.ts';
import { ROLE_ROUTES } from './roles.ts';
import { EVENT_ROUTES } from './event-routes.ts';
import { USER_ROUTES } from './user-routes.ts';
import { SHARE_ROUTES } from './share-routes.ts';
import { USER_SHARE_ROUTES } from './user-shares.ts';
import type { ShareScope } from '../store/shares.ts';
import { servicesStatus } from './status.ts';
import { closeConnection, listConnections } from './connections.ts';
import { create, KINDS, list, remove, removeOverride, render, update, type KindInfo } from './resources.ts';
import type { Definition } from '../config/validate.ts';
import type { RoleAccess } from './scope.ts';

export interface QueryParam {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

export interface Route {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI form: `/api/v2/users/{username}`. */
  path: string;
  summary: string;
  tag: string;
  /**
   * `none`: open (health, the OpenAPI document); `basic`: a token endpoint; `admin`: an admin's
   * JWT or API key; `user`: a user's JWT (`ctx.user`, user-auth.ts); `share`: a public share link,
   * with its password when it has one (`ctx.share`, `ctx.conn` in its owner's session: share-access.ts).
   */
  auth: 'none' | 'basic' | 'admin' | 'user' | 'share';
  /** With `auth: 'share'`: the share scopes the route serves (others are refused 403). */
  shareScopes?: readonly ShareScope[];
  /** With `auth: 'user'`: the request gets its own session over the user's files (`ctx.conn`). */
  session?: true;
  /** With `auth: 'user'`: open to a token whose user must change its password first. */
  passwordChange?: true;
  permission?: Permission;
  /** Body checked against this schema definition (`any`: JSON, checked by the handler). */
  body?: Definition | 'any';
  /** For the OpenAPI document: the component a `body: 'any'` route reads. */
  bodySchema?: string;
  /** Whether an admin limited to a role may use the route (scope.ts); absent: it may not. */
  roleAdmins?: RoleAccess;
  /**
   * With `roleAdmins: 'users'`, the user the request acts on when it is not the `{username}` path
   * parameter, and what to answer when that user is out of the admin's role.
   */
  actsOn?(ctx: ApiContext): { username: string; notFound: string } | undefined;
  /** With `auth: 'admin'`: also answers another replica's call (an `X-SFTPGO-Node` token, node-calls.ts). */
  nodeCalls?: true;
  /** Refused (403) to an admin or user authenticated by an API key, as SFTPGo refuses it key management (and users their account routes). */
  noApiKey?: true;
  /** Applied to an object body before validation (SFTPGo fields this server accepts only empty). */
  accept?(body: Record<string, unknown>): Record<string, unknown>;
  query?: QueryParam[];
  /** Component the response carries, for the OpenAPI document (`[]` suffix: a list). */
  returns?: string;
  /** Success status when not the default (200, 201 for a POST that returns a resource). */
  status?: 201 | 202;
  handler(ctx: ApiContext): Promise<Response> | Response;
}

const PAGING: QueryParam[] = [
  { name: 'offset', description: 'Skip this many records', schema: { type: 'integer', minimum: 0, default: 0 } },
  { name: 'limit', description: 'At most this many records (1-500)', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
];

function paging(ctx: ApiContext): { offset: number; limit: number } {
  const offset = Math.max(0, Number(ctx.c.req.query('offset') ?? 0) || 0);
  const limit = Math.min(500, Math.max(1, Number(ctx.c.req.query('limit') ?? 100) || 100));
  return { offset, limit };
}

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

function resourceRoutes(plural: 'users' | 'folders' | 'groups', param: string, perms: { view: Permission; add: Permission; edit: Permission; del: Permission }): Route[] {
  const k: KindInfo = KINDS[plural];
  const def = k.definition;
  const one = `/api/v2/${plural}/{${param}}`;
  const name = (ctx: ApiContext) => ctx.c.req.param(param)!;
  // Folders are not a user's: a role admin manages them with manage_folders, as in SFTPGo.
  const access = plural === 'users' ? 'users' : 'open';
  const get = async (ctx: ApiContext) => {
    const r = await render(ctx.runtime, k, name(ctx));
    return r ? ctx.c.json(r) : errorResponse(ctx.c, 404, `${k.kind} "${name(ctx)}" not found`);
  };
  return [
    { method: 'get', path: `/api/v2/${plural}`, summary: `List ${plural}`, tag: plural, auth: 'admin', roleAdmins: access, permission: perms.view, query: PAGING, returns: `${def}[]`,
      handler: async (ctx) => ctx.c.json(await list(ctx.runtime, k, { ...paging(ctx), ...(k.kind === 'user' ? { admits: ctx.scope.admits } : {}) })) },
    { method: 'post', path: `/api/v2/${plural}`, summary: `Add a ${k.kind} (runtime-owned)`, tag: plural, auth: 'admin', roleAdmins: access, permission: perms.add, body: def, returns: def,
      handler: async (ctx) => {
        const body = ctx.body as Record<string, unknown>;
        await create(ctx.runtime, k, body);
        ctx.runtime.log('info', 'api_change', { action: 'create', kind: k.kind, name: body[k.nameField], by: who(ctx) });
        // SFTPGo names the new user, folder or group in Location.
        if (k.kind !== 'admin') ctx.c.header('Location', `/api/v2/${plural}/${encodeURIComponent(String(body[k.nameField]))}`);
        return ctx.c.json(await render(ctx.runtime, k, String(body[k.nameField])), 201);
      } },
    { method: 'get', path: one, summary: `Get a ${k.kind} (effective: config plus override)`, tag: plural, auth: 'admin', roleAdmins: access, permission: perms.view, returns: def, handler: get },
    { method: 'put', path: one, summary: `Update a ${k.kind}: the top-level fields in the body; a config-declared ${k.kind} gets an override`, tag: plural, auth: 'admin', roleAdmins: access, permission: perms.edit, body: def,
      handler: async (ctx) => {
        const outcome = await update(ctx.runtime, k, name(ctx), ctx.body as Record<string, unknown>, { by: who(ctx), onlyRole: ctx.scope.role });
        ctx.runtime.log('info', 'api_change', { action: outcome, kind: k.kind, name: name(ctx), by: who(ctx) });
        return ctx.c.json({ message: outcome === 'updated' ? `${k.kind} updated` : outcome === 'override_set' ? `${k.kind} override saved` : `${k.kind} matches the config: override dropped` });
      } },
    { method: 'delete', path: one, summary: `Delete a runtime-owned ${k.kind}`, tag: plural, auth: 'admin', roleAdmins: access, permission: perms.del,
      handler: async (ctx) => {
        if (k.kind === 'admin' && name(ctx) === ctx.admin?.username) throw new AppError('invalid', 'you cannot delete yourself');
        await remove(ctx.runtime, k, name(ctx), ctx.scope.role);
        ctx.runtime.log('info', 'api_change', { action: 'delete', kind: k.kind, name: name(ctx), by: who(ctx) });
        return ctx.c.json({ message: `${k.kind} deleted` });
      } },
    { method: 'delete', path: `/api/v2/overrides/${plural}/{${param}}`, summary: `Drop a ${k.kind}'s override: back to the config's value`, tag: 'overrides', auth: 'admin', roleAdmins: access, permission: perms.edit,
      handler: async (ctx) => {
        await removeOverride(ctx.runtime, k, name(ctx), ctx.scope.role);
        ctx.runtime.log('info', 'api_change', { action: 'override_dropped', kind: k.kind, name: name(ctx), by: who(ctx) });
        return ctx.c.json({ message: 'override dropped' });
      } },
  ];
}

async function usageOf(ctx: ApiContext, username: string): Promise<Record<string, unknown>> {
  const u = await ctx.runtime.store.get('usage', `user:${username}`);
  const book = ctx.runtime.usage;
  const live = book.get(`user:${username}`);
  const moved = book.transferred(`user:${username}`);
  return {
    username,
    used_quota_size: live.size,
    used_quota_files: live.files,
    last_quota_update: u?.last_quota_update ?? 0,
    used_upload_data_transfer: moved.upload,
    used_download_data_transfer: moved.download,
  };
}

export const ROUTES: Route[] = [
  // As SFTPGo: /healthz on the API listener too, without authentication; /metrics is on the telemetry listener only.
  { method: 'get', path: '/healthz', summary: 'Liveness: answers while the server runs', tag: 'maintenance', auth: 'none', handler: (ctx) => ctx.c.text('ok') },
  { method: 'get', path: '/api/v2/openapi.json', summary: 'This document', tag: 'maintenance', auth: 'none', handler: (ctx) => ctx.c.json(openApiDocument()) },
  { method: 'get', path: '/api/v2/token', summary: 'Get a JWT access token (HTTP Basic with admin credentials; X-SFTPGO-OTP with the TOTP or a recovery code for an admin with TOTP)', tag: 'token', auth: 'basic', returns: 'Token',
    handler: async (ctx) => {
      const auth = await basicLogin(ctx.runtime.store, ctx.c.req.header('authorization'), ctx.ip, ctx.runtime.gate.steps.decoy, ctx.runtime.gate.passwords);
      if (!auth.ok) {
        reportRefusal(ctx.runtime.gate, ctx.ip, auth);
        return errorResponse(ctx.c, auth.status, auth.error);
      }
      // An admin with TOTP gives its code (or a recovery code) too, as SFTPGo asks it.
      const otp = await adminOtpRefusal(ctx.runtime, auth.admin, ctx.c.req.header(OTP_HEADER));
      if (otp && !otp.ok) {
        reportRefusal(ctx.runtime.gate, ctx.ip, otp);
        return errorResponse(ctx.c, otp.status, otp.error);
      }
      const validity = ctx.runtime.config.httpd?.token_validity ?? DEFAULT_TOKEN_VALIDITY;
      const issued = issueToken(auth.admin, ctx.jwtKey, validity);
      await touchAdminLogin(ctx.runtime.store, auth.admin.username);
      return ctx.c.json(issued);
    } },
  ...resourceRoutes('users', 'username', { view: 'view_users', add: 'add_users', edit: 'edit_users', del: 'del_users' }),
  ...resourceRoutes('folders', 'name', { view: 'manage_folders', add: 'manage_folders', edit: 'manage_folders', del: 'manage_folders' }),
  ...resourceRoutes('groups', 'name', { view: 'manage_groups', add: 'manage_groups', edit: 'manage_groups', del: 'manage_groups' }),
  ...ADMIN_ROUTES,
  ...ADMIN_TOTP_ROUTES,
  ...TWO_FACTOR_ROUTES,
  ...API_KEY_ROUTES,
  ...ROLE_ROUTES,
  ...EVENT_ROUTES,
  { method: 'get', path: '/api/v2/overrides', summary: 'List runtime overrides on config-declared resources', tag: 'overrides', auth: 'admin', permission: 'view_users', returns: 'Override[]',
    handler: async (ctx) => ctx.c.json(await listOverrides(ctx.runtime.store)) },
  { method: 'get', path: '/api/v2/connections', summary: 'Live connections (of the users of the admin\'s role, for a role admin); with a shared store, those of every active node, each with its node', tag: 'connections', auth: 'admin', roleAdmins: 'users', permission: 'view_conns', returns: 'ConnectionStatus[]', nodeCalls: true,
    handler: async (ctx) => ctx.c.json(await listConnections({ runtime: ctx.runtime, admin: ctx.admin!, scope: ctx.scope, fromNode: ctx.fromNode !== undefined })) },
  { method: 'delete', path: '/api/v2/connections/{connectionID}', summary: 'Close a connection, on the node holding it', tag: 'connections', auth: 'admin', permission: 'close_conns', roleAdmins: 'users', nodeCalls: true,
    query: [{ name: 'node', description: 'The node holding the connection (its node field); absent: this node, then every other active node', schema: { type: 'string' } }],
    actsOn: (ctx) => {
      const id = ctx.c.req.param('connectionID')!;
      const c = ctx.runtime.connections.get(id);
      return c && { username: c.username, notFound: `connection ${id} not found` };
    },
    handler: async (ctx) => {
      const id = ctx.c.req.param('connectionID')!;
      const out = await closeConnection({ runtime: ctx.runtime, admin: ctx.admin!, scope: ctx.scope, id, node: ctx.c.req.query('node'), fromNode: ctx.fromNode !== undefined });
      if (!out.closed) return errorResponse(ctx.c, out.status, out.message);
      const node = ctx.runtime.nodes.identity.shared ? { holder: out.node } : {};
      ctx.runtime.log('info', 'connection_closed_by_api', { connection_id: id, by: who(ctx), ...node, ...(ctx.fromNode !== undefined ? { from_node: ctx.fromNode } : {}) });
      return ctx.c.json({ message: 'Connection closed' });
    } },
  { method: 'get', path: '/api/v2/quotas/users/{username}/usage', summary: "A user's quota and transfer usage (ours: SFTPGo has this in the user)", tag: 'quota', auth: 'admin', roleAdmins: 'users', permission: 'view_users', returns: 'UserUsage',
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      if (!(await ctx.runtime.store.get('users', name))) return errorResponse(ctx.c, 404, `user "${name}" not found`);
      return ctx.c.json(await usageOf(ctx, name));
    } },
  ...QUOTA_ROUTES,
  { method: 'get', path: '/api/v2/status', summary: 'Services and store status', tag: 'maintenance', auth: 'admin', roleAdmins: 'open', permission: 'view_status', returns: 'ServicesStatus',
    handler: async (ctx) => ctx.c.json(await servicesStatus(ctx.runtime)) },
  { method: 'get', path: '/api/v2/dumpdata', summary: 'The whole store as a dump (loaddata reads it back)', tag: 'maintenance', auth: 'admin', permission: '*',
    handler: async (ctx) => ctx.c.json(await dumpStore(ctx.runtime.store)) },
  { method: 'post', path: '/api/v2/loaddata', summary: 'Load a dump; with from=sftpgo, import an SFTPGo backup (records become runtime-owned)', tag: 'maintenance', auth: 'admin', permission: '*', body: 'any',
    query: [
      { name: 'from', description: 'sftpgo: the body is an SFTPGo dumpdata backup', schema: { type: 'string', enum: ['sftpgo'] } },
      { name: 'mode', description: 'with from=sftpgo: 0 add new records and update existing ones, 1 add new ones only, 2 as 0 and disconnect the updated users', schema: { type: 'integer', enum: [0, 1, 2], default: 0 } },
      { name: 'scan-quota', description: 'with from=sftpgo: 0 keep the backup usage, 1 scan every imported user and folder, 2 scan users with quota limits and every folder', schema: { type: 'integer', enum: [0, 1, 2], default: 0 } },
    ],
    handler: async (ctx) => {
      const q = (name: string) => ctx.c.req.query(name);
      if (q('from') === 'sftpgo') {
        const opts = loadOptions(q);
        if ('path' in opts) return errorResponse(ctx.c, 400, 'invalid loaddata options', [opts]);
        const masterKey = await masterKeyFromEnv(process.env);
        const result = await importIntoStore(ctx.runtime, ctx.body, { ...opts, masterKey, by: who(ctx), ...serverImportHooks(ctx.runtime) });
        return ctx.c.json({ message: 'SFTPGo data imported', ...result });
      }
      // This project's own dump is always loaded whole (records with the same name replaced).
      if (q('mode') !== undefined || q('scan-quota') !== undefined) return errorResponse(ctx.c, 400, 'mode and scan-quota apply to an SFTPGo backup (from=sftpgo)');
      const counts = await loadDump(ctx.runtime.store, ctx.body);
      ctx.runtime.log('info', 'api_loaddata', { ...counts, by: who(ctx) });
      return ctx.c.json({ message: 'data loaded', ...counts });
    } },
  { method: 'post', path: '/api/v2/reload', summary: 'Re-read the config file and reconcile it (as SIGHUP)', tag: 'maintenance', auth: 'admin', permission: '*',
    handler: async (ctx) => {
      const r = await ctx.runtime.reload();
      if (r.ok) return ctx.c.json({ message: 'config reloaded' });
      return errorResponse(ctx.c, 400, 'the config was rejected; the running state is unchanged', (r.errors ?? []).map(splitIssue));
    } },
  ...DEFENDER_ROUTES,
  ...IP_LIST_ROUTES,
  ...USER_ROUTES,
  ...USER_SHARE_ROUTES,
  ...SHARE_ROUTES,
];

/** `file:line:col: path: message` (formatIssue) → `{path, message}`. */
function splitIssue(text: string): { path: string; message: string } {
  const m = /^(.*?:\d+:\d+): (?:([A-Za-z0-9_.[\]]+): )?(.*)$/.exec(text);
  if (!m) return { path: '', message: text };
  return { path: m[2] ?? '', message: `${m[3]} (${m[1]})` };
}
