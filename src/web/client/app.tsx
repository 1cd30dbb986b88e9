/** @jsxImportSource hono/jsx */
// The web client under /web/client: a user's pages over the user API's own functions. Login goes
// through the same steps as GET /api/v2/user/token (api/user-auth.ts), with a second page for the
// TOTP code; a browser then holds an in-memory session behind an HttpOnly, SameSite=Strict cookie.
// Each request re-reads the user and re-applies its filters; each request that touches files opens
// its own session through the gate, as a user API request does. Every state change carries the
// session's CSRF token (a form field, or a header for the upload script).
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import { getCookie } from 'hono/cookie';
import type { ServerContext } from '../../core/context.ts';
import { plainIp } from '../../core/ip.ts';
import { isAppError } from '../../errors.ts';
import type { UserRecord } from '../../model.ts';
import { closeAfter, errorResponse, type ApiContext, type Env } from '../../api/app.ts';
import { DEFAULT_TOKEN_VALIDITY, type VerifiedKeys } from '../../api/auth.ts';
import { roleScope } from '../../api/scope.ts';
import { checkUserPassword, checkUserTotp, clientVersion, completeUserLogin, isTls, openRequestSession, sessionUser, type UserLoginRequest } from '../../api/user-auth.ts';
import { STATUS } from '../../api/user-files.ts';
import { Csrf, Frame, sendPage } from '../layout.tsx';
import { clearSessionCookie, setPageHeaders, setSessionCookie } from '../security.ts';
import { randomToken, sameToken, WebSessions, type Flash, type WebSession } from '../sessions.ts';
import { STYLESHEET } from '../style.ts';
import { CLIENT_SCRIPT, CLIENT_STYLES } from './assets.ts';
import { mountFiles } from './files.tsx';
import { mountShares } from './shares.tsx';
import { mountProfile } from './profile.tsx';

export const BASE = '/web/client';
const SESSION_COOKIE = 'sftpgo_client_session';
const LOGIN_CSRF_COOKIE = 'sftpgo_client_login_csrf';
const PENDING_COOKIE = 'sftpgo_client_2fa';
/** A password accepted, waiting for its TOTP code: this long at most. */
const PENDING_MS = 5 * 60 * 1000;
const STYLESHEET_PATH = `${BASE}/static/client.css`;
const SCRIPT_PATH = `${BASE}/static/client.js`;
/** The admin's policy plus the one script file, and previews (images, PDF) from this origin only. */
export const CLIENT_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The header the upload script sends the session's CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

/** One request's user and session, checked before a page handler runs. */
export interface Visit {
  c: Context<Env>;
  session: WebSession;
  user: UserRecord;
  ip: string;
}

export type Posted = Record<string, string | File | (string | File)[]>;

/** What the page modules use to check a request, call the user API's functions and answer. */
export interface Kit {
  runtime: ServerContext;
  /** The logged-in visit, or the response that replaces the page (login redirect; 401 with `json`). */
  visit(c: Context<Env>, o?: { json?: boolean }): Promise<Visit | Response>;
  /** A posted form of a visit, or the refusal when its CSRF token is missing or wrong. */
  posted(c: Context<Env>): Promise<{ v: Visit; form: Posted } | Response>;
  /** A request of the upload script: the CSRF token in a header; refusals are JSON. */
  scripted(c: Context<Env>): Promise<Visit | Response>;
  /** `handler` run as the user API runs it, in a session of its own (closed once the response is sent). */
  inSession(v: Visit, o: ApiCall, handler: (ctx: ApiContext) => Promise<Response> | Response): Promise<Response>;
  /** `handler` run as the user API runs it, without a file session (profile, TOTP). */
  call(v: Visit, o: ApiCall, handler: (ctx: ApiContext) => Promise<Response> | Response): Promise<Response>;
  /** The page `body` inside the frame, with the session's pending message. */
  send(v: Visit, title: string, body: Child, status?: 200 | 400 | 403 | 404 | 409): Promise<Response>;
  /** Post/redirect/get: `flash` shows on the page `href` leads to. */
  flashTo(v: Visit, href: string, flash: Flash): Promise<Response>;
  /** Ends the visit's session (after a password change). */
  endSession(v: Visit): Promise<void>;
}

export interface ApiCall {
  params?: Record<string, string>;
  body?: unknown;
}

export function formText(form: Posted, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

export function formList(form: Posted, name: string): string[] {
  const v = form[name];
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.filter((x): x is string => typeof x === 'string');
}

/** A user API answer (`{message, error}`) as the message a page shows. */
export async function flashOf(res: Response): Promise<Flash> {
  const text = await res.text();
  let body: { message?: unknown; error?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not JSON: the status says enough.
  }
  const message = typeof body.message === 'string' ? body.message : '';
  const error = typeof body.error === 'string' ? body.error : '';
  if (res.status < 300) return { kind: 'info', text: message || 'Done.' };
  return { kind: 'error', text: [message, error].filter(Boolean).join(': ') || `refused (${res.status})` };
}

export function filesHref(dir: string, page?: number): string {
  return `${BASE}/files?${new URLSearchParams({ path: dir, ...(page && page > 1 ? { page: String(page) } : {}) })}`;
}

export function createWebClient(runtime: ServerContext, keys: { jwtKey: Buffer }): Hono<Env> {
  const idleSec = runtime.config.httpd?.token_validity ?? DEFAULT_TOKEN_VALIDITY;
  const sessions = new WebSessions({ idleMs: idleSec * 1000, store: runtime.store, kind: 'client' });
  // Logins whose password was right and whose TOTP code is awaited.
  const pending = new WebSessions({ idleMs: PENDING_MS, store: runtime.store, kind: 'client_2fa' });
  const verifiedKeys: VerifiedKeys = new Map();
  const web = new Hono<Env>();
  const ipOf = (c: Context<Env>) => plainIp(c.env?.remoteAddress);

  web.use('*', async (c, next) => {
    await next();
    // The public share pages below /web/client are a mount of their own that counts its requests.
    if (!c.req.path.startsWith(`${BASE}/pubshares/`)) runtime.metrics.countHttpRequest(c.res.status);
  });

  web.get('/static/client.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(STYLESHEET + CLIENT_STYLES, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });
  web.get('/static/client.js', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(CLIENT_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });

  const send = async (c: Context<Env>, page: { toString(): string | Promise<string> }, status?: Parameters<typeof sendPage>[2]): Promise<Response> => {
    const res = await sendPage(c, page, status);
    res.headers.set('Content-Security-Policy', CLIENT_CSP);
    return res;
  };

  const framed = (v: Pick<Visit, 'session' | 'user'>, title: string, body: Child): { toString(): string | Promise<string> } => {
    const flash = v.session.flash;
    v.session.flash = undefined;
    // Shown once: a shared session forgets it in the store too (in the background: the page needs no answer).
    if (flash) void sessions.save(v.session).catch((err: Error) => runtime.log('warn', 'web_session_save_failed', { error: err.message }));
    const nav = v.session.mustChangePassword
      ? [{ href: `${BASE}/profile`, label: 'Profile' }]
      : [
          { href: `${BASE}/files`, label: 'Files' },
          { href: `${BASE}/shares`, label: 'Shares' },
          { href: `${BASE}/profile`, label: 'Profile' },
        ];
    return (
      <Frame title={title} brand="SFTPGo" stylesheet={STYLESHEET_PATH} nav={nav} flash={flash} who={{ name: v.user.username, logoutAction: `${BASE}/logout`, csrf: v.session.csrf }}>
        {body}
        <script src={SCRIPT_PATH} defer></script>
      </Frame>
    );
  };

  const toLogin = (c: Context<Env>, json: boolean | undefined) => (json ? errorResponse(c, 401, 'not logged in: your session ended') : c.redirect(`${BASE}/login`, 302));

  const visit = async (c: Context<Env>, o: { json?: boolean } = {}): Promise<Visit | Response> => {
    const ip = ipOf(c);
    const session = await sessions.find(getCookie(c, SESSION_COOKIE));
    if (!session) return toLogin(c, o.json);
    const found = await sessionUser(runtime, ip, session.username);
    if (!found.ok) {
      runtime.log('info', 'web_client_session_ended', { username: session.username, ip, reason: found.reason });
      await sessions.close(session.id);
      clearSessionCookie(c, { name: SESSION_COOKIE, path: BASE });
      return toLogin(c, o.json);
    }
    const v: Visit = { c, session, user: found.user, ip };
    // A password that must be changed first opens only the profile page and its password form.
    const path = c.req.path;
    if (session.mustChangePassword && !path.endsWith('/profile') && !path.endsWith('/changepwd')) {
      if (o.json) return errorResponse(c, 403, 'Password change required. Please set a new password to continue to use your account');
      return flashTo(v, `${BASE}/profile`, { kind: 'error', text: 'Please set a new password to continue to use your account.' });
    }
    return v;
  };

  const refusedCsrf = (v: Visit, json: boolean) => {
    runtime.log('warn', 'web_csrf_refused', { path: v.c.req.path, ip: v.ip, username: v.user.username });
    if (json) return errorResponse(v.c, 403, 'invalid or missing CSRF token');
    return send(v.c, framed(v, 'Forbidden', <><h1>Forbidden</h1><p>Invalid or missing CSRF token: reload the page and try again.</p></>), 403);
  };

  const posted = async (c: Context<Env>): Promise<{ v: Visit; form: Posted } | Response> => {
    const v = await visit(c);
    if (v instanceof Response) return v;
    const form = (await c.req.parseBody({ all: true })) as Posted;
    if (!sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, v.session.csrf)) return refusedCsrf(v, false);
    return { v, form };
  };

  const scripted = async (c: Context<Env>): Promise<Visit | Response> => {
    const v = await visit(c, { json: true });
    const refused = v instanceof Response ? v : sameToken(c.req.header(CSRF_HEADER), v.session.csrf) ? undefined : await refusedCsrf(v, true);
    if (!refused) return v as Visit;
    // The body is not read: let the adapter drain it, so the answer reaches a client still sending.
    await c.req.raw.body?.cancel().catch(() => undefined);
    return refused;
  };

  const apiContext = (v: Visit, o: ApiCall): ApiContext => ({
    c: v.c,
    runtime,
    ip: v.ip,
    jwtKey: keys.jwtKey,
    verifiedKeys,
    scope: roleScope(runtime.store, undefined),
    user: v.user,
    ...(o.params ? { params: o.params } : {}),
    ...(o.body !== undefined ? { body: o.body } : {}),
  });

  /** A core error thrown by a handler, answered as the user API answers it. */
  const answered = async (ctx: ApiContext, handler: (ctx: ApiContext) => Promise<Response> | Response): Promise<Response> => {
    try {
      return await handler(ctx);
    } catch (err) {
      if (!isAppError(err)) throw err;
      return ctx.c.json({ message: err.message, error: '' }, STATUS[err.code] as 400);
    }
  };

  const call: Kit['call'] = (v, o, handler) => answered(apiContext(v, o), handler);

  const inSession: Kit['inSession'] = async (v, o, handler) => {
    const ctx = apiContext(v, o);
    const opened = await openRequestSession(ctx, v.user, () => undefined);
    if (!opened.ok) return opened.response;
    ctx.session = opened.session;
    ctx.conn = opened.conn;
    let res: Response | undefined;
    try {
      res = await answered(ctx, handler);
    } finally {
      if (!res) void opened.session.close();
    }
    // HEAD: Hono answers GET's headers and drops the body unread; release it and the session now.
    if (v.c.req.method === 'HEAD') {
      await res.body?.cancel().catch(() => undefined);
      void opened.session.close();
      return res;
    }
    return closeAfter(res, () => void opened.session.close());
  };

  const flashTo = async (v: Visit, href: string, flash: Flash) => {
    v.session.flash = flash;
    await sessions.save(v.session);
    return v.c.redirect(href, 303);
  };

  // ---- login, the TOTP step and logout ----

  web.get('/', async (c) => c.redirect((await sessions.find(getCookie(c, SESSION_COOKIE))) ? `${BASE}/files` : `${BASE}/login`, 302));

  const loginPage = (c: Context<Env>, o: { error?: string; info?: string; username?: string; status?: 200 | 400 | 401 | 403 }) => {
    // Before a session exists the form's token is checked against a cookie of its own (double submit).
    const token = randomToken();
    setSessionCookie(c, { name: LOGIN_CSRF_COOKIE, value: token, path: `${BASE}/login` });
    return send(
      c,
      <Frame title="Login" brand="SFTPGo" stylesheet={STYLESHEET_PATH}>
        <div class="login">
          <h1>Log in to your files</h1>
          {o.error && <div class="flash error" role="alert">{o.error}</div>}
          {o.info && <div class="flash info" role="status">{o.info}</div>}
          <form class="stack" method="post" action={`${BASE}/login`}>
            <Csrf token={token} />
            <label>Username<input type="text" name="username" value={o.username ?? ''} autocomplete="username" required autofocus /></label>
            <label>Password<input type="password" name="password" autocomplete="current-password" required /></label>
            <button type="submit">Log in</button>
          </form>
        </div>
      </Frame>,
      o.status,
    );
  };

  web.get('/login', (c) => loginPage(c, c.req.query('changed') ? { info: 'Password changed: log in with the new one.' } : {}));

  const loginRequest = (c: Context<Env>, username: string): UserLoginRequest => ({ runtime, ip: ipOf(c), username, tls: isTls({ c }), ...clientVersion({ c }) });

  const refusalText = (status: number) => (status === 403 ? 'Login not allowed.' : 'Invalid credentials.');

  /** The account checks and the `login` line, then the session. */
  const finishLogin = async (c: Context<Env>, user: UserRecord, needsChange: boolean): Promise<Response> => {
    const refused = await completeUserLogin(loginRequest(c, user.username), user);
    if (refused) return loginPage(c, { username: user.username, error: refused.reason === 'max_sessions' ? 'Too many open sessions.' : refusalText(refused.status), status: refused.status });
    const session = await sessions.open(user.username, needsChange ? { mustChangePassword: true } : {});
    runtime.log('info', 'web_client_login', { username: user.username, ip: ipOf(c) });
    setSessionCookie(c, { name: SESSION_COOKIE, value: session.id, path: BASE });
    return c.redirect(needsChange ? `${BASE}/profile` : `${BASE}/files`, 303);
  };

  web.post('/login', async (c) => {
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    const username = typeof form.username === 'string' ? form.username.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    if (!sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, getCookie(c, LOGIN_CSRF_COOKIE)))
      return loginPage(c, { username, error: 'The form expired: please log in again.', status: 403 });
    clearSessionCookie(c, { name: LOGIN_CSRF_COOKIE, path: `${BASE}/login` });
    if (username === '' || password.trim() === '') return loginPage(c, { username, error: 'Username and password are required.', status: 400 });
    const checked = await checkUserPassword({ ...loginRequest(c, username), password });
    if (!checked.ok) return loginPage(c, { username, error: refusalText(checked.status), status: checked.status });
    if (!checked.totp) return finishLogin(c, checked.user, checked.mustChangePassword);
    const p = await pending.open(checked.user.username, checked.mustChangePassword ? { mustChangePassword: true } : {});
    setSessionCookie(c, { name: PENDING_COOKIE, value: p.id, path: `${BASE}/twofactor` });
    return c.redirect(`${BASE}/twofactor`, 303);
  });

  web.get('/twofactor', async (c) => {
    const p = await pending.find(getCookie(c, PENDING_COOKIE));
    if (!p) return c.redirect(`${BASE}/login`, 302);
    return send(
      c,
      <Frame title="Two-factor authentication" brand="SFTPGo" stylesheet={STYLESHEET_PATH}>
        <div class="login">
          <h1>Two-factor authentication</h1>
          <form class="stack" method="post" action={`${BASE}/twofactor`}>
            <Csrf token={p.csrf} />
            <label>Authentication code for {p.username}<input type="text" name="passcode" inputmode="numeric" autocomplete="one-time-code" required autofocus /></label>
            <button type="submit">Verify</button>
          </form>
        </div>
      </Frame>,
    );
  });

  web.post('/twofactor', async (c) => {
    const p = await pending.find(getCookie(c, PENDING_COOKIE));
    if (!p) return c.redirect(`${BASE}/login`, 303);
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    if (!sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, p.csrf)) return loginPage(c, { error: 'The form expired: please log in again.', status: 403 });
    // One code per accepted password: a wrong one starts the login again (and is scored).
    await pending.close(p.id);
    clearSessionCookie(c, { name: PENDING_COOKIE, path: `${BASE}/twofactor` });
    const found = await sessionUser(runtime, ipOf(c), p.username);
    if (!found.ok) return loginPage(c, { error: 'Login not allowed.', status: 403 });
    const bad = await checkUserTotp(loginRequest(c, p.username), found.user, typeof form.passcode === 'string' ? form.passcode.trim() : undefined);
    if (bad) return loginPage(c, { username: p.username, error: 'Invalid authentication code.', status: 401 });
    return finishLogin(c, found.user, p.mustChangePassword === true);
  });

  const endSession = async (v: Visit) => {
    await sessions.close(v.session.id);
    clearSessionCookie(v.c, { name: SESSION_COOKIE, path: BASE });
  };

  web.post('/logout', async (c) => {
    const session = await sessions.find(getCookie(c, SESSION_COOKIE));
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    if (session && sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, session.csrf)) {
      await sessions.close(session.id);
      runtime.log('info', 'web_client_logout', { username: session.username, ip: ipOf(c) });
    }
    clearSessionCookie(c, { name: SESSION_COOKIE, path: BASE });
    return c.redirect(`${BASE}/login`, 303);
  });

  const kit: Kit = {
    runtime,
    visit,
    posted,
    scripted,
    inSession,
    call,
    flashTo,
    endSession,
    send: (v, title, body, status) => send(v.c, framed(v, title, body), status),
  };
  mountFiles(web, kit);
  mountShares(web, kit);
  mountProfile(web, kit);

  web.notFound(async (c) => {
    setPageHeaders(c);
    return c.text('not found', 404);
  });
  return web;
}
