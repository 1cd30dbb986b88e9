// Who may use a share link, checked as SFTPGo checks it before every public request: the share
// exists and has a scope the route serves, it has uses left, has not expired and admits the
// client's address, the password (HTTP Basic, any username) is right when it has one, and its
// owner still exists and may log in. Then the request works in a quiet session of the owner with
// protocol HTTPShare: the owner's permissions, patterns, quotas and limits apply, read afresh on
// every request, so a share stops working as soon as its owner loses what it needs.
import { verifyPassword } from '../auth/passwords.ts';
import type { Connection } from '../core/connection.ts';
import type { Session } from '../core/session.ts';
import { userWithGroups } from '../store/groups.ts';
import { getShare, shareRefusal, type ShareRecord, type ShareScope } from '../store/shares.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';

/** SFTPGo's realm for a share's password. */
const SHARE_REALM = 'Basic realm="SFTPGo Web"';

export type ShareAccess = { ok: true; share: ShareRecord; session: Session; conn: Connection } | { ok: false; response: Response };

/** The password of an `Authorization: Basic` header; the username is not looked at (SFTPGo's). */
function basicPassword(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function unauthorized(ctx: ApiContext): ShareAccess {
  const response = ctx.c.json({ message: 'Unauthorized', error: 'invalid credentials' }, 401);
  response.headers.set('WWW-Authenticate', SHARE_REALM);
  return { ok: false, response };
}

/** Why a share cannot be used now, as the API and the share pages both answer it. */
export interface ShareRefusal {
  status: 403 | 404 | 429;
  message: string;
}

/**
 * The share `id` if it exists, serves one of `scopes`, has uses left, has not expired and admits
 * `ip`: SFTPGo's checks before the password. The public API and the share pages both start here.
 */
export async function usableShare(runtime: ApiContext['runtime'], o: { id: string; ip: string; scopes: readonly ShareScope[] }): Promise<{ ok: true; share: ShareRecord } | ({ ok: false } & ShareRefusal)> {
  const share = await getShare(runtime.store, o.id);
  if (!share) return { ok: false, status: 404, message: 'share does not exist' };
  if (!o.scopes.includes(share.scope)) return { ok: false, status: 403, message: 'invalid share scope' };
  const refused = shareRefusal(share, o.ip, Date.now());
  if (refused) return { ok: false, ...refused };
  return { ok: true, share };
}

/** Whether `password` opens `share`; a wrong one is a failed login the defender scores, as in SFTPGo. */
export async function sharePasswordMatches(runtime: ApiContext['runtime'], o: { share: ShareRecord; ip: string; password: string }): Promise<boolean> {
  const { share, ip, password } = o;
  if (!share.password) return true;
  if (password && (await verifyPassword(password, share.password))) return true;
  runtime.gate.refuse({ protocol: 'HTTP', ip, username: share.username, method: 'share' }, 'share_invalid_password', { hooks: false });
  return false;
}

/**
 * A quiet session of the share's owner with protocol HTTPShare and its one connection: the owner's
 * permissions, patterns, quotas and limits, read afresh. `cut` is called when that connection is
 * closed from outside (admin API, shutdown). The caller closes the session once it has answered.
 */
export async function openShareSession(
  runtime: ApiContext['runtime'],
  o: { share: ShareRecord; ip: string; tls: boolean; cut: () => void },
): Promise<{ ok: true; session: Session; conn: Connection } | ({ ok: false } & ShareRefusal)> {
  const { share, ip } = o;
  const owner = await userWithGroups(runtime.store, share.username);
  if (!owner) return { ok: false, status: 404, message: 'this share does not exist' };
  const opened = await runtime.gate.open(owner, { protocol: 'HTTP', sessionProtocol: 'HTTPShare', ip, method: 'share', single: true, tls: o.tls, announce: false });
  if (!opened.ok) {
    runtime.log('info', 'share_refused', { ip, share: share.id, username: share.username, reason: opened.reason });
    return opened.reason === 'max_sessions' ? { ok: false, status: 429, message: 'Unable to add connection' } : { ok: false, status: 403, message: `the share's owner cannot use it: ${opened.reason}` };
  }
  const conn = opened.session.connect({ protocol: 'HTTPShare', disconnect: o.cut });
  return { ok: true, session: opened.session, conn };
}

/**
 * The share named by the `{id}` path parameter, checked for this request (its password from HTTP
 * Basic), with a session of its owner whose one connection the handler works through.
 */
export async function openShare(ctx: ApiContext, scopes: readonly ShareScope[], cut: () => void): Promise<ShareAccess> {
  const { runtime, ip, c } = ctx;
  const usable = await usableShare(runtime, { id: c.req.param('id') ?? '', ip, scopes });
  if (!usable.ok) return { ok: false, response: errorResponse(c, usable.status, usable.message) };
  const { share } = usable;
  if (share.password) {
    const password = basicPassword(c.req.header('authorization'));
    if (password === undefined) return unauthorized(ctx);
    if (!(await sharePasswordMatches(runtime, { share, ip, password }))) return unauthorized(ctx);
  }
  const opened = await openShareSession(runtime, { share, ip, tls: new URL(c.req.url).protocol === 'https:', cut });
  if (!opened.ok) return { ok: false, response: errorResponse(c, opened.status, opened.message) };
  return { ok: true, share, session: opened.session, conn: opened.conn };
}
