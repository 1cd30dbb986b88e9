/** @jsxImportSource hono/jsx */
// The public share pages under /web/client/pubshares/{id}, as SFTPGo's web client has them: a
// password form for a protected share, the listing of a shared directory, the download page of
// shared files (a file itself, or a ZIP of everything), and an upload form for a write share.
// Every request goes through the public share API's own steps (api/share-access.ts: expiry,
// max_tokens, allow_from, the password scored by the defender, then a session of the owner with
// protocol HTTPShare, so the owner's permissions apply afresh) and its handlers
// (api/share-routes.ts). The password opens a session in an HttpOnly cookie scoped to that one
// share; every form carries a CSRF token checked against a cookie of the share's own.
import { posix } from 'node:path';
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import { getCookie } from 'hono/cookie';
import type { ServerContext } from '../../core/context.ts';
import { plainIp } from '../../core/ip.ts';
import { closeAfter, type Env } from '../../api/app.ts';
import { DEFAULT_TOKEN_VALIDITY } from '../../api/auth.ts';
import { openShareSession, sharePasswordMatches, usableShare } from '../../api/share-access.ts';
import { download, downloadFile, listShareDir, storeUploads, type ShareRecord, type ShareRequest, type ShareScope } from '../../api/share-routes.ts';
import { boundaryOf, MultipartError, multipartParts } from '../../lib/multipart.ts';
import { Frame, sendPage } from '../layout.tsx';
import { clearSessionCookie, setPageHeaders, setSessionCookie } from '../security.ts';
import { randomToken, sameToken, WebSessions } from '../sessions.ts';
import { STYLESHEET } from '../style.ts';
import { BrowsePage, DownloadPage, ShareLoginPage, ShareMessage, SHARES_BASE, shareHref, UploadPage } from './views.tsx';

const SESSION_COOKIE = 'sftpgo_share_session';
const CSRF_COOKIE = 'sftpgo_share_csrf';
const STYLESHEET_PATH = `${SHARES_BASE}/static/share.css`;
const READ: readonly ShareScope[] = [1, 3];
const WRITE: readonly ShareScope[] = [2, 3];
const ANY: readonly ShareScope[] = [1, 2, 3];

type Status = 200 | 400 | 401 | 403 | 404 | 409 | 429;

/** A checked visit of a share: the share, its owner's connection, the forms' token. */
interface ShareVisit {
  req: ShareRequest & { share: ShareRecord; conn: NonNullable<ShareRequest['conn']> };
  csrf: string;
  /** The visitor opened the share with its password (and may leave it). */
  loggedIn: boolean;
}

export function createSharePages(runtime: ServerContext): Hono<Env> {
  const idleSec = runtime.config.httpd?.token_validity ?? DEFAULT_TOKEN_VALIDITY;
  const sessions = new WebSessions({ idleMs: idleSec * 1000, store: runtime.store, kind: 'share' });
  const web = new Hono<Env>();
  const ipOf = (c: Context<Env>) => plainIp(c.env?.remoteAddress);
  const cookiePath = (id: string) => shareHref(id);

  web.use('*', async (c, next) => {
    await next();
    runtime.metrics.countHttpRequest(c.res.status);
  });

  web.get('/static/share.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  const send = (c: Context<Env>, title: string, body: Child, status: Status = 200) =>
    sendPage(
      c,
      <Frame title={title} brand="SFTPGo shared files" stylesheet={STYLESHEET_PATH}>
        {body}
      </Frame>,
      status,
    );

  const message = (c: Context<Env>, o: { status: Status; text: string; title?: string; back?: { href: string; label: string } }) =>
    send(c, o.title ?? 'Share', <ShareMessage title={o.title ?? 'Unable to use this share'} text={o.text} back={o.back} />, o.status);

  /** The share's form token: the one its cookie already holds, or a new one set now. */
  const csrfOf = (c: Context<Env>, id: string): string => {
    const held = getCookie(c, CSRF_COOKIE);
    if (held) return held;
    const token = randomToken();
    setSessionCookie(c, { name: CSRF_COOKIE, value: token, path: cookiePath(id) });
    return token;
  };

  /** Whether the visitor's cookie holds a live session of this share, opened with its current password. */
  const loggedInto = async (c: Context<Env>, share: ShareRecord): Promise<boolean> => {
    const s = await sessions.find(getCookie(c, SESSION_COOKIE));
    return s !== undefined && s.username === share.id && s.openedWith === share.password;
  };

  /**
   * The share of the request, checked as the public API checks it, with its owner's session; or
   * the page that answers instead (a refusal, or the password form). `answer` runs in the session,
   * which is closed once its response has been sent.
   */
  const withShare = async (c: Context<Env>, scopes: readonly ShareScope[], answer: (v: ShareVisit) => Promise<Response>): Promise<Response> => {
    const ip = ipOf(c);
    const id = c.req.param('id') ?? '';
    const usable = await usableShare(runtime, { id, ip, scopes });
    if (!usable.ok) return message(c, { status: usable.status, text: usable.message });
    const { share } = usable;
    const loggedIn = share.password !== undefined && (await loggedInto(c, share));
    if (share.password && !loggedIn) {
      const next = `${c.req.path}${new URL(c.req.url).search}`;
      return c.redirect(shareHref(id, '/login', { next }), 302);
    }
    const opened = await openShareSession(runtime, { share, ip, tls: new URL(c.req.url).protocol === 'https:', cut: () => undefined });
    if (!opened.ok) return message(c, { status: opened.status, text: opened.message });
    let res: Response | undefined;
    try {
      res = await answer({ req: { c, runtime, ip, share, conn: opened.conn }, csrf: csrfOf(c, id), loggedIn });
    } finally {
      if (!res) void opened.session.close();
    }
    return closeAfter(res, () => void opened.session.close());
  };

  /** An API handler's refusal (JSON) as a page, for the routes that render pages. */
  const asPage = async (c: Context<Env>, res: Response): Promise<Response> => {
    const body = (await res.json().catch(() => ({}))) as { message?: string; error?: string };
    return message(c, { status: res.status as Status, text: [body.message, body.error].filter(Boolean).join(': ') || 'request refused' });
  };

  // ---- the password ----

  const loginPage = (c: Context<Env>, o: { error?: string; status?: Status }) => {
    const id = c.req.param('id') ?? '';
    const next = c.req.query('next') ?? '';
    return send(c, 'Shared files', <ShareLoginPage id={id} csrf={csrfOf(c, id)} next={next} error={o.error} />, o.status);
  };

  web.get('/:id/login', async (c) => {
    const usable = await usableShare(runtime, { id: c.req.param('id'), ip: ipOf(c), scopes: ANY });
    if (!usable.ok) return message(c, { status: usable.status, text: usable.message });
    if (!usable.share.password) return c.redirect(safeNext(usable.share, c.req.query('next')), 302);
    return loginPage(c, {});
  });

  web.post('/:id/login', async (c) => {
    const ip = ipOf(c);
    const id = c.req.param('id');
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    if (!sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, getCookie(c, CSRF_COOKIE)))
      return loginPage(c, { error: 'The form expired: please try again.', status: 403 });
    const usable = await usableShare(runtime, { id, ip, scopes: ANY });
    if (!usable.ok) return message(c, { status: usable.status, text: usable.message });
    const { share } = usable;
    const password = typeof form.share_password === 'string' ? form.share_password.trim() : '';
    if (!share.password) return c.redirect(safeNext(share, c.req.query('next')), 303);
    if (!(await sharePasswordMatches(runtime, { share, ip, password }))) return loginPage(c, { error: 'Invalid credentials.', status: 401 });
    const session = await sessions.open(share.id, { openedWith: share.password });
    setSessionCookie(c, { name: SESSION_COOKIE, value: session.id, path: cookiePath(id) });
    runtime.log('info', 'share_web_login', { share: share.id, ip });
    return c.redirect(safeNext(share, c.req.query('next')), 303);
  });

  web.post('/:id/logout', async (c) => {
    const id = c.req.param('id');
    const form = (await c.req.parseBody()) as Record<string, string | File>;
    const session = await sessions.find(getCookie(c, SESSION_COOKIE));
    if (session && sameToken(typeof form._csrf === 'string' ? form._csrf : undefined, getCookie(c, CSRF_COOKIE))) await sessions.close(session.id);
    clearSessionCookie(c, { name: SESSION_COOKIE, path: cookiePath(id) });
    return c.redirect(shareHref(id, '/login'), 303);
  });

  // ---- reading ----

  // SFTPGo's link: the shared file itself (compress=false) or a ZIP of every shared path.
  web.get('/:id', async (c) => {
    // A write-only share's link leads to its upload form rather than to a refusal.
    const found = await usableShare(runtime, { id: c.req.param('id'), ip: ipOf(c), scopes: ANY });
    if (found.ok && found.share.scope === 2) return c.redirect(shareHref(found.share.id, '/upload'), 302);
    return withShare(c, READ, (v) => download(v.req));
  });

  web.get('/:id/download', (c) =>
    withShare(c, READ, async (v) => {
      const { share, conn } = v.req;
      const one = share.paths.length === 1 ? await conn.fs.stat(share.paths[0]!).catch(() => undefined) : undefined;
      // A shared directory is browsed; files (one or several) are downloaded from here.
      if (one?.type === 'dir') return c.redirect(shareHref(share.id, '/browse'), 302);
      const single = one?.type === 'file';
      return send(c, share.name, <DownloadPage share={share} single={single} csrf={v.csrf} loggedIn={v.loggedIn} />);
    }),
  );

  // A directory's listing; a file's path downloads the file, as SFTPGo's browse page does.
  web.get('/:id/browse', (c) =>
    withShare(c, READ, async (v) => {
      if (await isFileOfShare(v)) return downloadFile(v.req);
      const listed = await listShareDir(v.req);
      if (listed instanceof Response) return asPage(c, listed);
      return send(c, v.req.share.name, <BrowsePage share={v.req.share} path={listed.path} entries={listed.entries} csrf={v.csrf} loggedIn={v.loggedIn} />);
    }),
  );

  // ---- writing ----

  web.get('/:id/upload', (c) => withShare(c, WRITE, async (v) => send(c, v.req.share.name, <UploadPage share={v.req.share} csrf={v.csrf} loggedIn={v.loggedIn} />)));

  web.post('/:id/upload', (c) =>
    withShare(c, WRITE, async (v) => {
      const boundary = boundaryOf(c.req.header('content-type'));
      const body = c.req.raw.body;
      const again = { href: shareHref(v.req.share.id, '/upload'), label: 'Upload more files' };
      if (!boundary || !body) return message(c, { status: 400, text: 'the form must be sent as multipart/form-data', back: again });
      const parts = multipartParts(body, boundary);
      try {
        // The token comes first in the form: no file is read before it is checked.
        const first = await parts.next();
        const token = first.done || first.value.name !== '_csrf' ? undefined : Buffer.concat(await collect(first.value.body)).toString('utf8');
        if (!sameToken(token, getCookie(c, CSRF_COOKIE))) {
          await parts.return(undefined);
          runtime.log('warn', 'web_csrf_refused', { path: c.req.path, ip: v.req.ip, share: v.req.share.id });
          return message(c, { status: 403, text: 'invalid or missing CSRF token: reload the page and try again', back: again });
        }
      } catch (err) {
        if (err instanceof MultipartError) return message(c, { status: 400, text: `Unable to parse multipart form: ${err.message}`, back: again });
        throw err;
      }
      const stored = await storeUploads(v.req, parts);
      if (stored instanceof Response) return asPage(c, stored);
      runtime.log('info', 'share_web_upload', { share: v.req.share.id, ip: v.req.ip, files: stored });
      return message(c, { status: 200, title: 'Upload completed', text: `${stored} file(s) uploaded.`, back: again });
    }),
  );

  web.notFound((c) => {
    setPageHeaders(c);
    return c.text('not found', 404);
  });
  return web;
}

/**
 * Whether `?path=` names a file inside the shared directory (browse then downloads it, through the
 * API's checks); anything else is listed, or refused, as a directory.
 */
async function isFileOfShare(v: ShareVisit): Promise<boolean> {
  const base = v.req.share.paths[0]!;
  const asked = v.req.c.req.query('path') ?? '';
  if (v.req.share.paths.length !== 1 || !asked) return false;
  const vpath = posix.join(base, posix.join('/', asked));
  if (!vpath.startsWith(base === '/' ? '/' : `${base}/`)) return false;
  const st = await v.req.conn.fs.stat(vpath).catch(() => undefined);
  return st?.type === 'file';
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > 1024) throw new MultipartError('the CSRF field is too long');
    out.push(chunk);
  }
  return out;
}

/** Where a login leads: a page of the same share (SFTPGo's checkShareRedirectURL), else its landing page. */
function safeNext(share: ShareRecord, next: string | undefined): string {
  const base = shareHref(share.id);
  if (next && (next === base || next.startsWith(`${base}/`) || next.startsWith(`${base}?`)) && !next.includes('//') && !next.includes('/../')) return next;
  return shareHref(share.id, share.scope === 2 ? '/upload' : '/download');
}
