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

/**
 * The share named by the `{id}` path parameter, checked for this request, with a session of its
 * owner whose one connection the handler works through. `cut` is called when that connection is
 * closed from outside (admin API, shutdown). The caller closes the session once it has answered.
 */
export async function openShare(ctx: ApiContext, scopes: readonly ShareScope[], cut: () => void): Promise<ShareAccess> {
  const { runtime, ip, c } = ctx;
  const id = c.req.param('id') ?? '';
  const share = await getShare(runtime.store, id);
  if (!share) return { ok: false, response: errorResponse(c, 404, 'share does not exist') };
  if (!scopes.includes(share.scope)) return { ok: false, response: errorResponse(c, 403, 'invalid share scope') };
  const refused = shareRefusal(share, ip, Date.now());
  if (refused) return { ok: false, response: errorResponse(c, refused.status, refused.message) };
  if (share.password) {
    const password = basicPassword(c.req.header('authorization'));
    if (password === undefined) return unauthorized(ctx);
    if (!password || !(await verifyPassword(password, share.password))) {
      // A wrong password is a failed login to the defender, as in SFTPGo.
      runtime.gate.refuse({ protocol: 'HTTP', ip, username: share.username, method: 'share' }, 'share_invalid_password', { hooks: false });
      return unauthorized(ctx);
    }
  }
  const owner = await userWithGroups(runtime.store, share.username);
  if (!owner) return { ok: false, response: errorResponse(c, 404, 'this share does not exist') };
  const opened = await runtime.gate.open(owner, {
    protocol: 'HTTP', sessionProtocol: 'HTTPShare', ip, method: 'share', single: true, tls: new URL(c.req.url).protocol === 'https:', announce: false,
  });
  if (!opened.ok) {
    runtime.log('info', 'share_refused', { ip, share: share.id, username: share.username, reason: opened.reason });
    return { ok: false, response: opened.reason === 'max_sessions' ? errorResponse(c, 429, 'Unable to add connection') : errorResponse(c, 403, `the share's owner cannot use it: ${opened.reason}`) };
  }
  const conn = opened.session.connect({ protocol: 'HTTPShare', disconnect: cut });
  return { ok: true, share, session: opened.session, conn };
}
