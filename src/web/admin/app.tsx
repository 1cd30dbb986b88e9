/** @jsxImportSource hono/jsx */
// The web admin under /web/admin: server-rendered pages over the same resource functions as the
// REST API (api/resources.ts, api/app.ts acceptObjectBody), so role scope, validation and
// overrides follow one set of rules. A browser holds an in-memory session behind an HttpOnly,
// SameSite=Strict cookie; every form posts the session's CSRF token; a login refusal goes to the
// login gate like an API one (login_failed line, defender score, metrics).
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import { getCookie } from 'hono/cookie';
import type { ServerContext } from '../../core/context.ts';
import { plainIp } from '../../core/ip.ts';
import { isAppError } from '../../errors.ts';
import type { AdminRecord } from '../../model.ts';
import { acceptObjectBody, type Env } from '../../api/app.ts';
import { DEFAULT_TOKEN_VALIDITY, hasPermission, passwordLogin, reportRefusal, sessionAdmin, type AuthResult, type Permission } from '../../api/auth.ts';
import { touchAdminLogin } from '../../api/admin-routes.ts';
import { setChangeOrigin } from '../../api/app.ts';
import { adminOtpRefusal } from '../../api/admin-totp.ts';
import { adminTotpRequired } from '../../api/two-factor.ts';
import { create, KINDS, remove, removeOverride, render, update } from '../../api/resources.ts';
import { roleScope, type RoleScope } from '../../api/scope.ts';
import { servicesStatus } from '../../api/status.ts';
import { listOverrides } from '../../reconcile/overrides.ts';
import { Frame, sendPage, type NavLink } from '../layout.tsx';
import { clearSessionCookie, setPageHeaders, setSessionCookie } from '../security.ts';
import { randomToken, sameToken, WebSessions, type Flash, type WebSession } from '../sessions.ts';
import { STYLESHEET } from '../style.ts';
import { userBody, valuesOf, formValues, type UserFormValues } from './user-form.ts';
import { mountOperations } from './operations.tsx';
import { mountRecordLists } from './record-lists.tsx';
import { mountProfile } from './profile.tsx';
import { mountAccessPages } from './access-pages.tsx';
import { mountEventPages } from './event-pages.tsx';
import { BASE, DriftPage, LoginPage, MessagePage, StatusPage, TwoFactorPage, UserFormPage, UserPage, UsersPage, userHref } from './views.tsx';

const SESSION_COOKIE = 'sftpgo_admin_session';
const LOGIN_CSRF_COOKIE = 'sftpgo_admin_login_csrf';
const SECOND_STEP_COOKIE = 'sftpgo_admin_2fa';
/** How long the code may take after the password. */
const SECOND_STEP_MS = 5 * 60_000;
const PAGE_SIZE = 50;
const STYLESHEET_PATH = `${BASE}/static/admin.css`;

/** One request's admin, session and scope, checked before a page handler runs. */
export interface Visit {
  c: Context<Env>;
  session: WebSession;
  admin: AdminRecord;
  scope: RoleScope;
  ip: string;
}

export type Posted = Record<string, string | File | (string | File)[]>;

/** What the page modules use to check a request and answer it. */
export interface Kit {
  runtime: ServerContext;
  /** The logged-in visit, or the response that replaces the page (login redirect, 403). */
  visit(c: Context<Env>, need?: Permission): Promise<Visit | Response>;
  /** A posted form of a visit, or the refusal when its CSRF token is missing or wrong. */
  posted(c: Context<Env>, need?: Permission): Promise<{ v: Visit; form: Posted } | Response>;
  /** The page `body` inside the frame, with the session's pending message. */
  send(v: Visit, title: string, body: Child, status?: 200 | 400 | 403 | 404 | 409): Promise<Response>;
  /** Post/redirect/get: `flash` shows on the page `href` leads to. */
  flashTo(v: Visit, href: string, flash: Flash): Promise<Response>;
}

export function createWebAdmin(runtime: ServerContext): Hono<Env> {
  const idleSec = runtime.config.httpd?.token_validity ?? DEFAULT_TOKEN_VALIDITY;
  const sessions = new WebSessions({ idleMs: idleSec * 1000, store: runtime.store, kind: 'admin' });
  // Admins whose password was right and whose TOTP code is awaited.
  const secondSteps = new WebSessions({ idleMs: SECOND_STEP_MS, store: runtime.store, kind: 'admin_2fa' });
  const web = new Hono<Env>();
  const ipOf = (c: Context<Env>) => plainIp(c.env?.remoteAddress);

  web.use('*', async (c, next) => {
    await next();
    runtime.metrics.countHttpRequest(c.res.status);
  });

  web.get('/static/admin.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  // ---- session plumbing ----

  const page = (v: Pick<Visit, 'session' | 'admin'>, title: string, body: Child, status?: Parameters<typeof sendPage>[2]) => {
    const flash = v.session.flash;
    v.session.flash = undefined;
    return async (c: Context<Env>) => {
      // Shown once: a shared session forgets it in the store too, before the page goes out.
      if (flash) await sessions.save(v.session);
      return sendPage(
        c,
        <Frame title={title} brand="SFTPGo admin" stylesheet={STYLESHEET_PATH} nav={navFor(v.admin)} flash={flash} who={{ name: v.admin.username, logoutAction: `${BASE}/logout`, csrf: v.session.csrf }}>
          {body}
        </Frame>,
        status,
      );
    };
  };

  /** The logged-in visit, or the response that replaces the page (login redirect, 403). */
  const visit = async (c: Context<Env>, need?: Permission): Promise<Visit | Response> => {
    const ip = ipOf(c);
    const session = await sessions.find(getCookie(c, SESSION_COOKIE));
    if (!session) return c.redirect(`${BASE}/login`, 302);
    const auth = await sessionAdmin(runtime.store, session.username, ip);
    if (!auth.ok) {
      await sessions.close(session.id);
      clearSessionCookie(c, { name: SESSION_COOKIE, path: BASE });
      return c.redirect(`${BASE}/login`, 302);
    }
    const v: Visit = { c, session, admin: auth.admin, scope: roleScope(runtime.store, auth.admin), ip };
    setChangeOrigin(runtime, auth.admin.username, auth.admin.role ?? '');
    if (need && !hasPermission(auth.admin, need)) return page(v, 'Forbidden', <MessagePage title="Forbidden" text={`permission denied: ${need} required`} />, 403)(c);
    return v;
  };

  /** A posted form of a visit, or the refusal when its CSRF token is missing or wrong. */
  const posted = async (c: Context<Env>, need?: Permission): Promise<{ v: Visit; form: Posted } | Response> => {
    const v = await visit(c, need);
    if (v instanceof Response) return v;
    const form = (await c.req.parseBody({ all: true })) as Posted;
    if (!sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, v.session.csrf)) {
      runtime.log('warn', 'web_csrf_refused', { path: c.req.path, ip: v.ip, username: v.admin.username });
      return page(v, 'Forbidden', <MessagePage title="Forbidden" text="invalid or missing CSRF token: reload the page and try again" />, 403)(c);
    }
    return { v, form };
  };

  const flashTo = async (v: Visit, href: string, flash: Flash) => {
    v.session.flash = flash;
    await sessions.save(v.session);
    return v.c.redirect(href, 303);
  };

  /** The user a visit may see (role scope), rendered as the API renders it; undefined otherwise. */
  const visibleUser = async (v: Visit, name: string): Promise<Record<string, unknown> | undefined> => {
    if (!(await v.scope.admits(name))) return undefined;
    return render(runtime, KINDS.users, name);
  };

  const notFound = (v: Visit, name: string) => page(v, 'Not found', <MessagePage title="Not found" text={`user "${name}" not found`} />, 404)(v.c);

  // ---- login and logout ----

  web.get('/', async (c) => c.redirect((await sessions.find(getCookie(c, SESSION_COOKIE))) ? `${BASE}/users` : `${BASE}/login`, 302));

  const loginPage = (c: Context<Env>, o: { error?: string; username?: string; status?: 200 | 400 | 401 | 403 }) => {
    // Before a session exists the form's token is checked against a cookie of its own (double submit).
    const token = randomToken();
    setSessionCookie(c, { name: LOGIN_CSRF_COOKIE, value: token, path: `${BASE}/login` });
    return sendPage(
      c,
      <Frame title="Login" brand="SFTPGo admin" stylesheet={STYLESHEET_PATH}>
        <LoginPage csrf={token} username={o.username} error={o.error} />
      </Frame>,
      o.status,
    );
  };

  web.get('/login', (c) => loginPage(c, {}));

  web.post('/login', async (c) => {
    const ip = ipOf(c);
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    const username = typeof form.username === 'string' ? form.username.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    if (!sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, getCookie(c, LOGIN_CSRF_COOKIE)))
      return loginPage(c, { username, error: 'The form expired: please log in again.', status: 403 });
    const auth = await passwordLogin(runtime.store, { username, password, ip }, runtime.gate.steps.decoy, runtime.gate.passwords);
    if (!auth.ok) {
      reportRefusal(runtime.gate, ip, auth);
      return loginPage(c, { username, error: auth.status === 403 ? 'Access denied from this address.' : 'Invalid credentials.', status: auth.status });
    }
    clearSessionCookie(c, { name: LOGIN_CSRF_COOKIE, path: `${BASE}/login` });
    if (adminTotpRequired(auth.admin)) {
      // The password was right: the second step, with a short-lived cookie of its own.
      const step = await secondSteps.open(auth.admin.username);
      setSessionCookie(c, { name: SECOND_STEP_COOKIE, value: step.id, path: `${BASE}/login` });
      return c.redirect(`${BASE}/login/2fa`, 303);
    }
    return loggedIn(c, auth.admin.username, ip);
  });

  /** Opens the admin's session and lands it on its first page. */
  const loggedIn = async (c: Context<Env>, username: string, ip: string) => {
    const session = await sessions.open(username);
    await touchAdminLogin(runtime.store, username);
    runtime.log('info', 'web_login', { username, ip });
    setSessionCookie(c, { name: SESSION_COOKIE, value: session.id, path: BASE });
    return c.redirect(`${BASE}/${firstPage(await sessionAdmin(runtime.store, username, ip))}`, 303);
  };

  const secondStepPage = (c: Context<Env>, step: WebSession, o: { error?: string; status?: 200 | 401 | 403 } = {}) =>
    sendPage(
      c,
      <Frame title="Two-factor authentication" brand="SFTPGo admin" stylesheet={STYLESHEET_PATH}>
        <TwoFactorPage csrf={step.csrf} username={step.username} error={o.error} />
      </Frame>,
      o.status,
    );

  web.get('/login/2fa', async (c) => {
    const step = await secondSteps.find(getCookie(c, SECOND_STEP_COOKIE));
    return step ? secondStepPage(c, step) : c.redirect(`${BASE}/login`, 302);
  });

  web.post('/login/2fa', async (c) => {
    const ip = ipOf(c);
    const step = await secondSteps.find(getCookie(c, SECOND_STEP_COOKIE));
    if (!step) return c.redirect(`${BASE}/login`, 303);
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    if (!sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, step.csrf)) return secondStepPage(c, step, { error: 'The form expired: please try again.', status: 403 });
    // The admin is read again: disabled, deleted or fenced off since the password, it goes no further.
    const auth = await sessionAdmin(runtime.store, step.username, ip);
    if (!auth.ok) {
      await secondSteps.close(step.id);
      return c.redirect(`${BASE}/login`, 303);
    }
    const code = typeof form.passcode === 'string' ? form.passcode.trim() : '';
    const refused = await adminOtpRefusal(runtime, auth.admin, code);
    if (refused && !refused.ok) {
      reportRefusal(runtime.gate, ip, refused);
      return secondStepPage(c, step, { error: 'Invalid code.', status: 401 });
    }
    await secondSteps.close(step.id);
    clearSessionCookie(c, { name: SECOND_STEP_COOKIE, path: `${BASE}/login` });
    return loggedIn(c, auth.admin.username, ip);
  });

  web.post('/logout', async (c) => {
    const session = await sessions.find(getCookie(c, SESSION_COOKIE));
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    if (session && sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, session.csrf)) await sessions.close(session.id);
    clearSessionCookie(c, { name: SESSION_COOKIE, path: BASE });
    return c.redirect(`${BASE}/login`, 303);
  });

  // ---- users ----

  web.get('/users', async (c) => {
    const v = await visit(c, 'view_users');
    if (v instanceof Response) return v;
    const q = (c.req.query('q') ?? '').trim();
    const pageNo = Math.max(1, Number(c.req.query('page') ?? 1) || 1);
    // Names first: the scope reads the store, and a store iterator must not stay open across awaits.
    const names: string[] = [];
    for await (const [name] of runtime.store.entries('users')) if (!q || name.toLowerCase().includes(q.toLowerCase())) names.push(name);
    const visible = await v.scope.filter(names, (n) => n);
    const slice = visible.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
    const users: Record<string, unknown>[] = [];
    for (const name of slice) {
      const u = await render(runtime, KINDS.users, name);
      if (u) users.push(u);
    }
    const more = visible.length > pageNo * PAGE_SIZE;
    return page(v, 'Users', <UsersPage users={users} q={q} page={pageNo} more={more} canAdd={hasPermission(v.admin, 'add_users')} />)(c);
  });

  const formPage = (v: Visit, o: { mode: 'create' | 'edit'; values: UserFormValues; errors: string[]; fromConfig?: boolean; status?: 200 | 400 | 403 | 409 }) =>
    page(v, o.mode === 'create' ? 'Add user' : `Edit ${o.values.username}`, <UserFormPage mode={o.mode} values={o.values} csrf={v.session.csrf} errors={o.errors} fromConfig={o.fromConfig} />, o.status)(v.c);

  web.get('/users/new', async (c) => {
    const v = await visit(c, 'add_users');
    if (v instanceof Response) return v;
    return formPage(v, { mode: 'create', values: { username: '', home_dir: '', permissions: ['*'], enabled: true, quota_size: '0', quota_files: '0', public_keys: '' }, errors: [] });
  });

  web.post('/users', async (c) => {
    const p = await posted(c, 'add_users');
    if (p instanceof Response) return p;
    const { v, form } = p;
    const { body, errors } = userBody(form);
    const values = formValues(form);
    if (errors.length > 0) return formPage(v, { mode: 'create', values, errors, status: 400 });
    const checked = acceptObjectBody({ definition: 'User', body, creating: true, scope: v.scope });
    if (!checked.ok) return formPage(v, { mode: 'create', values, errors: problems(checked), status: checked.status });
    try {
      await create(runtime, KINDS.users, checked.body);
    } catch (err) {
      if (!isAppError(err)) throw err;
      return formPage(v, { mode: 'create', values, errors: [err.message], status: 400 });
    }
    runtime.log('info', 'web_change', { action: 'create', kind: 'user', name: values.username, by: v.admin.username });
    return flashTo(v, userHref(values.username), { kind: 'info', text: `User ${values.username} created.` });
  });

  web.get('/users/:username', async (c) => {
    const v = await visit(c, 'view_users');
    if (v instanceof Response) return v;
    const name = c.req.param('username');
    const user = await visibleUser(v, name);
    if (!user) return notFound(v, name);
    return page(v, `User ${name}`, <UserPage user={user} csrf={v.session.csrf} can={{ edit: hasPermission(v.admin, 'edit_users'), del: hasPermission(v.admin, 'del_users') }} />)(c);
  });

  web.get('/users/:username/edit', async (c) => {
    const v = await visit(c, 'edit_users');
    if (v instanceof Response) return v;
    const name = c.req.param('username');
    const user = await visibleUser(v, name);
    if (!user) return notFound(v, name);
    return formPage(v, { mode: 'edit', values: valuesOf(user), errors: [], fromConfig: user.source === 'config' });
  });

  /** Writes `body` over user `name` as PUT /api/v2/users/{name} does; the page to show after. */
  const save = async (v: Visit, name: string, body: Record<string, unknown>): Promise<{ ok: true; outcome: string } | { ok: false; errors: string[]; status: 400 | 403 | 409 }> => {
    const checked = acceptObjectBody({ definition: 'User', body, creating: false, scope: v.scope, name });
    if (!checked.ok) return { ok: false, errors: problems(checked), status: checked.status };
    try {
      const outcome = await update(runtime, KINDS.users, name, checked.body, { by: v.admin.username, onlyRole: v.scope.role });
      runtime.log('info', 'web_change', { action: outcome, kind: 'user', name, by: v.admin.username });
      return { ok: true, outcome };
    } catch (err) {
      if (!isAppError(err)) throw err;
      return { ok: false, errors: [err.message], status: err.code === 'store' ? 409 : 400 };
    }
  };

  const savedText = (name: string, outcome: string) =>
    outcome === 'override_set' ? `User ${name} saved as an override on top of the config.` : outcome === 'override_dropped' ? `User ${name} matches the config again: override dropped.` : `User ${name} saved.`;

  web.post('/users/:username', async (c) => {
    const p = await posted(c, 'edit_users');
    if (p instanceof Response) return p;
    const { v, form } = p;
    const name = c.req.param('username');
    const current = await visibleUser(v, name);
    if (!current) return notFound(v, name);
    const { body, errors } = userBody(form, current);
    const values = { ...formValues(form), username: name };
    if (errors.length > 0) return formPage(v, { mode: 'edit', values, errors, fromConfig: current.source === 'config', status: 400 });
    const r = await save(v, name, body);
    if (!r.ok) return formPage(v, { mode: 'edit', values, errors: r.errors, fromConfig: current.source === 'config', status: r.status });
    return flashTo(v, userHref(name), { kind: 'info', text: savedText(name, r.outcome) });
  });

  web.post('/users/:username/status', async (c) => {
    const p = await posted(c, 'edit_users');
    if (p instanceof Response) return p;
    const { v } = p;
    const name = c.req.param('username');
    const current = await visibleUser(v, name);
    if (!current) return notFound(v, name);
    const enable = current.status !== 1;
    const r = await save(v, name, { ...current, status: enable ? 1 : 0 });
    if (!r.ok) return flashTo(v, userHref(name), { kind: 'error', text: r.errors.join('; ') });
    return flashTo(v, userHref(name), { kind: 'info', text: `User ${name} ${enable ? 'enabled' : 'disabled'}. ${savedText(name, r.outcome)}` });
  });

  web.post('/users/:username/override/delete', async (c) => {
    const p = await posted(c, 'edit_users');
    if (p instanceof Response) return p;
    const { v } = p;
    const name = c.req.param('username');
    if (!(await v.scope.admits(name))) return notFound(v, name);
    try {
      await removeOverride(runtime, KINDS.users, name, v.scope.role);
    } catch (err) {
      if (!isAppError(err)) throw err;
      return flashTo(v, userHref(name), { kind: 'error', text: err.message });
    }
    runtime.log('info', 'web_change', { action: 'override_dropped', kind: 'user', name, by: v.admin.username });
    return flashTo(v, userHref(name), { kind: 'info', text: `Override dropped: user ${name} is back to the config's values.` });
  });

  web.post('/users/:username/delete', async (c) => {
    const p = await posted(c, 'del_users');
    if (p instanceof Response) return p;
    const { v } = p;
    const name = c.req.param('username');
    if (!(await v.scope.admits(name))) return notFound(v, name);
    try {
      await remove(runtime, KINDS.users, name, v.scope.role);
    } catch (err) {
      if (!isAppError(err)) throw err;
      return flashTo(v, userHref(name), { kind: 'error', text: `Not deleted: ${err.message}` });
    }
    runtime.log('info', 'web_change', { action: 'delete', kind: 'user', name, by: v.admin.username });
    return flashTo(v, `${BASE}/users`, { kind: 'info', text: `User ${name} deleted.` });
  });

  // ---- status and drift ----

  web.get('/status', async (c) => {
    const v = await visit(c, 'view_status');
    if (v instanceof Response) return v;
    return page(v, 'Status', <StatusPage status={await servicesStatus(runtime)} />)(c);
  });

  web.get('/drift', async (c) => {
    const v = await visit(c, 'view_users');
    if (v instanceof Response) return v;
    // A role admin sees the drift of its own users only.
    const all = await listOverrides(runtime.store);
    const overrides = v.scope.role === undefined ? all : await v.scope.filter(all.filter((o) => o.kind === 'user'), (o) => o.name);
    return page(v, 'Drift', <DriftPage overrides={overrides} />)(c);
  });

  const kit: Kit = { runtime, visit, posted, flashTo, send: (v, title, body, status) => page(v, title, body, status)(v.c) };
  mountOperations(web, kit);
  mountRecordLists(web, kit);
  mountProfile(web, kit);
  mountAccessPages(web, kit);
  mountEventPages(web, kit);

  web.notFound(async (c) => {
    setPageHeaders(c);
    return c.text('not found', 404);
  });
  return web;
}

/** Where a new session lands: the users list, or the profile for an admin who may not see users. */
function firstPage(auth: AuthResult): string {
  return auth.ok && !hasPermission(auth.admin, 'view_users') ? 'profile' : 'users';
}

function navFor(admin: AdminRecord): NavLink[] {
  const links: NavLink[] = [];
  const add = (need: Permission, href: string, label: string) => hasPermission(admin, need) && links.push({ href: `${BASE}${href}`, label });
  add('view_users', '/users', 'Users');
  add('manage_folders', '/folders', 'Folders');
  if (!admin.role) add('*', '/admins', 'Admins');
  add('manage_groups', '/groups', 'Groups');
  if (!admin.role) {
    add('*', '/roles', 'Roles');
    add('*', '/apikeys', 'API keys');
    add('*', '/iplists', 'IP lists');
    add('*', '/eventrules', 'Events');
  }
  add('quota_scans', '/quota', 'Quota');
  add('view_conns', '/connections', 'Connections');
  add('view_defender', '/defender', 'Defender');
  add('view_users', '/drift', 'Drift');
  add('view_status', '/status', 'Status');
  links.push({ href: `${BASE}/profile`, label: 'Profile' });
  return links;
}

function problems(r: { message: string; details?: { path: string; message: string }[] }): string[] {
  return r.details?.length ? r.details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)) : [r.message];
}
