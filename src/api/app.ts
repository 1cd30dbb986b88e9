// The Hono app: the route table (routes.ts) mounted with one authentication, permission and role
// step (scope.ts), body validation against the schema, and one error shape (respond.ts): SFTPGo's
// `{message, error}`.
import { Hono, type Context } from 'hono';
import { isAppError, type ErrorCode } from '../errors.ts';
import type { AdminRecord, UserRecord } from '../model.ts';
import type { Connection } from '../core/connection.ts';
import type { Session } from '../core/session.ts';
import type { Claims } from './jwt.ts';
import { authenticateUser, openRequestSession } from './user-auth.ts';
import { openShare } from './share-access.ts';
import type { ShareRecord } from '../store/shares.ts';
import type { ServerContext } from '../core/context.ts';
import { authenticate, ensureJwtKey, hasPermission, reportRefusal, type AuthVia, type VerifiedKeys } from './auth.ts';
import { plainIp } from '../core/ip.ts';
import { SYSTEM_ACTOR } from '../core/event-rules/provider.ts';
import { stripReadOnly } from './resources.ts';
import { roleScope, scopedUserRole, type RoleScope } from './scope.ts';
import { acceptBody } from './shapes.ts';
import { touchApiKey } from './api-keys.ts';
import { NODE_TOKEN_HEADER, nodeLogin } from './node-calls.ts';
import { touchAdminLogin } from './admin-routes.ts';
import { ROUTES, type Route } from './routes.ts';
import { retryHeaders } from '../core/rate-limiters.ts';
import { errorResponse } from './respond.ts';
import { validateBody, type Definition, type FieldError } from '../config/validate.ts';

export interface Env {
  Bindings: { remoteAddress: string };
}

export interface ApiContext {
  c: Context<Env>;
  runtime: ServerContext;
  ip: string;
  jwtKey: Buffer;
  /** API keys this server has verified. */
  verifiedKeys: VerifiedKeys;
  /** The authenticated admin (routes with `auth: 'admin'`). */
  admin?: AdminRecord;
  /** How the admin authenticated. */
  via?: AuthVia;
  /** Set when another replica makes the call (a node token): its name. */
  fromNode?: string;
  /** The users this request may see: every one, unless the admin is limited to a role. */
  scope: RoleScope;
  /** The parsed (and, with `route.body`, validated) JSON body. */
  body?: unknown;
  /**
   * Parameters a caller hands over other than in the query string (the web client's forms post
   * them in the body); the file handlers read them before the query.
   */
  params?: Readonly<Record<string, string>>;
  /** The authenticated user (routes with `auth: 'user'`), re-read with its groups for this request. */
  user?: UserRecord;
  /** The claims of the user's token. */
  userClaims?: Claims;
  /**
   * Routes with `session: true`: this request's session and its HTTP connection (its `fs` is the
   * user's view: permissions, patterns, quotas, virtual folders). Closed by app.ts once the
   * response, streamed body included, has been sent.
   */
  session?: Session;
  conn?: Connection;
  /** The share link a public share route (`auth: 'share'`) serves, checked for this request. */
  share?: ShareRecord;
}

const STATUS_OF: Partial<Record<ErrorCode, 400 | 403 | 404 | 409 | 503>> = {
  not_found: 404,
  exists: 409,
  invalid: 400,
  config: 400,
  unsupported: 400,
  permission_denied: 403,
  store: 409,
};

export { errorResponse };

/** `/api/v2/users/{username}` → `/api/v2/users/:username`. */
export function honoPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

export interface AppOptions {
  /** Apps served beside the API under a path prefix (the web admin), behind the same admission step. */
  mounts?: { path: string; app: Hono<Env> }[];
}

export async function createApp(runtime: ServerContext, opts: AppOptions = {}): Promise<Hono<Env>> {
  const app = new Hono<Env>();
  const jwtKey = await ensureJwtKey(runtime.store);
  const verifiedKeys: VerifiedKeys = new Map();
  // Banned and blocklisted addresses get nothing, not even the open endpoints (as in SFTPGo).
  app.use('*', async (c, next) => {
    const ip = plainIp(c.env?.remoteAddress);
    if (runtime.gate.admitRequest(ip, 'HTTP')) return errorResponse(c, 403, 'access denied from this address');
    const retryAfterMs = await runtime.gate.limitRequest(ip, 'HTTP');
    if (retryAfterMs === undefined) return next();
    const res = errorResponse(c, 429, 'rate limit exceeded');
    for (const [name, value] of Object.entries(retryHeaders(retryAfterMs))) res.headers.set(name, value);
    return res;
  });
  // The store changes a request makes are provider events by whoever it authenticates as (set below), from its address.
  app.use('*', (c, next) => runtime.changeOrigin.run({ name: SYSTEM_ACTOR, ip: plainIp(c.env?.remoteAddress), role: '' }, next));
  for (const m of opts.mounts ?? []) app.route(m.path, m.app);
  for (const route of ROUTES) app.on(route.method.toUpperCase(), honoPath(route.path), (c) => handle(route, c, runtime, { jwtKey, verifiedKeys }));
  app.notFound((c) => errorResponse(c, 404, 'not found'));
  app.onError((err, c) => {
    runtime.log('error', 'api_error', { path: c.req.path, error: err.message });
    return errorResponse(c, 500, 'internal error');
  });
  return app;
}

/** Names who the current request's store changes are by (provider events' {{.Name}} and {{.Role}}). */
export function setChangeOrigin(runtime: ServerContext, name: string, role: string): void {
  const origin = runtime.changeOrigin.getStore();
  if (origin) Object.assign(origin, { name, role });
}

async function handle(route: Route, c: Context<Env>, runtime: ServerContext, keys: Pick<ApiContext, 'jwtKey' | 'verifiedKeys'>): Promise<Response> {
  const ip = c.env?.remoteAddress ?? '';
  const ctx: ApiContext = { c, runtime, ip, ...keys, scope: roleScope(runtime.store, undefined) };
  const res = await run(route, ctx);
  runtime.metrics.countHttpRequest(res.status);
  return res;
}

async function run(route: Route, ctx: ApiContext): Promise<Response> {
  const { c, runtime } = ctx;
  if (route.auth === 'admin') {
    const nodeHeader = route.nodeCalls ? c.req.header(NODE_TOKEN_HEADER) : undefined;
    const node = nodeHeader === undefined ? undefined : await nodeLogin({ runtime, header: nodeHeader, method: c.req.method, path: new URL(c.req.url).pathname });
    if (node?.ok) ctx.fromNode = node.from;
    const auth = node ? (node.ok ? node.result : node) : await authenticate({ store: runtime.store, headers: c.req.raw.headers, jwtKey: ctx.jwtKey, ip: ctx.ip, verifiedKeys: ctx.verifiedKeys, secrets: runtime.store.secrets });
    if (!auth.ok) {
      reportRefusal(runtime.gate, ctx.ip, auth);
      return errorResponse(c, auth.status, auth.error);
    }
    if (route.permission && !hasPermission(auth.admin, route.permission))
      return errorResponse(c, 403, `permission denied: ${route.permission} required`);
    if (route.noApiKey && auth.via === 'api_key') return errorResponse(c, 403, 'API key authentication is not allowed');
    ctx.admin = auth.admin;
    ctx.via = auth.via;
    setChangeOrigin(runtime, auth.admin.username, auth.admin.role ?? '');
    ctx.scope = roleScope(runtime.store, auth.admin);
    const outOfScope = await refuseOutOfScope(route, ctx);
    if (outOfScope) return outOfScope;
    if (auth.apiKeyId) void touchApiKey(runtime.store, auth.apiKeyId).catch((err: Error) => runtime.log('warn', 'api_key_last_use', { id: auth.apiKeyId, error: err.message }));
    if (auth.via === 'api_key') void touchAdminLogin(runtime.store, auth.admin.username).catch((err: Error) => runtime.log('warn', 'admin_last_login', { username: auth.admin.username, error: err.message }));
  }
  if (route.auth === 'user') {
    const auth = await authenticateUser(ctx, { passwordChange: route.passwordChange === true });
    if (!auth.ok) return auth.response;
    // As SFTPGo: a user API key reaches files, not the account (logout, password, profile, TOTP).
    if (route.noApiKey && auth.apiKeyId) return errorResponse(c, 403, 'API key authentication is not allowed');
    ctx.user = auth.user;
    // SFTPGo's executor for a user changing their own account.
    setChangeOrigin(runtime, '__self__', auth.user.role ?? '');
    if (auth.claims) ctx.userClaims = auth.claims;
    if (route.session) {
      // Closing the connection from outside (admin API, shutdown) aborts its transfers and its
      // signal, which ends whatever the handler is streaming.
      const opened = await openRequestSession(ctx, auth.user, () => undefined);
      if (!opened.ok) return opened.response;
      return answerInSession(route, ctx, opened);
    }
  }
  if (route.auth === 'share') {
    // A share link's visitor: the share's checks, then a session of its owner (share-access.ts).
    const opened = await openShare(ctx, route.shareScopes ?? [], () => undefined);
    if (!opened.ok) return opened.response;
    ctx.share = opened.share;
    return answerInSession(route, ctx, opened);
  }
  return answer(route, ctx);
}

/** Answers with the request's session in ctx, closing it once the response has been sent. */
async function answerInSession(route: Route, ctx: ApiContext, opened: { session: Session; conn: Connection }): Promise<Response> {
  ctx.session = opened.session;
  ctx.conn = opened.conn;
  let res: Response | undefined;
  try {
    res = await answer(route, ctx);
  } finally {
    if (!res) void opened.session.close();
  }
  // HEAD: Hono answers GET's headers and drops the body unread; release it and the session now.
  if (ctx.c.req.method === 'HEAD') {
    await res.body?.cancel().catch(() => undefined);
    void opened.session.close();
    return res;
  }
  return closeAfter(res, () => void opened.session.close());
}

async function answer(route: Route, ctx: ApiContext): Promise<Response> {
  const { c } = ctx;
  try {
    const refused = await readBody(route, ctx);
    if (refused) return refused;
    return await route.handler(ctx);
  } catch (err) {
    if (isAppError(err)) {
      const details = (err as { details?: FieldError[] }).details ?? [];
      return errorResponse(c, STATUS_OF[err.code] ?? 500, err.message, details);
    }
    if (err instanceof RangeError) return errorResponse(c, 400, err.message);
    throw err;
  }
}

/**
 * `res` with `done` called once its body has been sent, failed or been abandoned by the client
 * (at once for a response without a body).
 */
export function closeAfter(res: Response, done: () => void): Response {
  if (!res.body) {
    done();
    return res;
  }
  const reader = res.body.getReader();
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    done();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          controller.close();
          finish();
        } else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
        finish();
      }
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason).catch(() => undefined);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/**
 * A role admin reaches only the routes that serve role admins, and only users of its role: a user
 * of another role is answered 404, as if it did not exist (SFTPGo looks users up by role).
 */
async function refuseOutOfScope(route: Route, ctx: ApiContext): Promise<Response | undefined> {
  const { role } = ctx.scope;
  if (role === undefined) return undefined;
  if (!route.roleAdmins) return errorResponse(ctx.c, 403, `permission denied: not available to an admin limited to role "${role}"`);
  if (route.roleAdmins !== 'users') return undefined;
  const target = route.actsOn ? route.actsOn(ctx) : userParam(ctx);
  if (target && !(await ctx.scope.admits(target.username))) return errorResponse(ctx.c, 404, target.notFound);
  return undefined;
}

function userParam(ctx: ApiContext): { username: string; notFound: string } | undefined {
  const username = ctx.c.req.param('username');
  return username === undefined ? undefined : { username, notFound: `user "${username}" not found` };
}

/** SFTPGo's maxRequestSize for the JSON bodies of user routes. */
const MAX_USER_JSON_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

/** The request body as text, refused past `max` bytes without reading further. */
async function readCapped(req: Request, max: number): Promise<string> {
  if (!req.body) return '';
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(`the body is larger than ${max} bytes`);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Parses and validates the body into ctx.body; a Response when it is refused. */
async function readBody(route: Route, ctx: ApiContext): Promise<Response | undefined> {
  const { c } = ctx;
  if (route.body) {
    let body: unknown;
    try {
      // User routes' bodies arrive as streams (http.ts): a JSON one is read up to SFTPGo's 1 MiB.
      body = route.auth === 'user' ? JSON.parse(await readCapped(c.req.raw, MAX_USER_JSON_BYTES)) : await c.req.json();
    } catch (err) {
      if (err instanceof BodyTooLarge) return errorResponse(c, 413, err.message);
      return errorResponse(c, 400, 'the body is not valid JSON');
    }
    if (route.body !== 'any') {
      if (!body || typeof body !== 'object' || Array.isArray(body)) return errorResponse(c, 400, 'the body must be a JSON object');
      const nameField = route.body === 'User' || route.body === 'Admin' ? 'username' : 'name';
      const checked = acceptObjectBody({
        definition: route.body,
        body: body as Record<string, unknown>,
        creating: route.method === 'post',
        scope: ctx.scope,
        name: c.req.param(nameField),
        accept: route.accept,
      });
      if (!checked.ok) return errorResponse(c, checked.status, checked.message, checked.details);
      body = checked.body;
    }
    ctx.body = body;
  }
  return undefined;
}

export interface ObjectBody {
  definition: Definition;
  body: Record<string, unknown>;
  /** A POST (new record) rather than a PUT. */
  creating: boolean;
  /** Who writes: a role admin's users are of its role. */
  scope: RoleScope;
  /** The record's name from the path, when the body leaves it out. */
  name?: string;
  /** The route's own acceptance step (SFTPGo fields accepted only empty). */
  accept?(body: Record<string, unknown>): Record<string, unknown>;
}

export type BodyCheck = { ok: true; body: Record<string, unknown> } | { ok: false; status: 400 | 403; message: string; details?: FieldError[] };

/**
 * An object body as every writer accepts it (the API and the web admin): SFTPGo's shapes for users,
 * folders and groups, read-only fields dropped, the writer's role scope, then the schema.
 */
export function acceptObjectBody(o: ObjectBody): BodyCheck {
  const def = o.definition;
  let body = o.body;
  if (def === 'User' || def === 'Folder' || def === 'Group') {
    // Users, folders and groups speak SFTPGo's shapes (shapes.ts): provider numbers, secret
    // objects, read-only fields a GET returned.
    const kind = def === 'User' ? 'user' : def === 'Folder' ? 'folder' : 'group';
    const accepted = acceptBody(kind, body, { creating: o.creating });
    if (accepted.errors.length > 0) return { ok: false, status: 400, message: `invalid ${def.toLowerCase()}`, details: accepted.errors };
    body = accepted.body as Record<string, unknown>;
    if (kind === 'user') {
      const role = scopedUserRole(o.scope, body.role);
      if ('refused' in role) return { ok: false, status: 403, message: role.refused };
      if (role.role === undefined) delete body.role;
      else body.role = role.role;
    }
  } else {
    body = stripReadOnly(body);
  }
  if (o.accept) body = o.accept(body);
  // PUT may leave out the name: it is in the path.
  const nameField = def === 'User' || def === 'Admin' ? 'username' : 'name';
  if (o.name && body[nameField] === undefined) body[nameField] = o.name;
  const errors = validateBody(def, body);
  if (errors.length > 0) return { ok: false, status: 400, message: `invalid ${def.toLowerCase()}`, details: errors };
  return { ok: true, body };
}
