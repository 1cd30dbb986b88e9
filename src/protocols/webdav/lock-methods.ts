// LOCK (new exclusive/shared write locks, refresh with an empty body and the token in `If:`, and
// locks on unmapped URLs, which create an empty file as RFC 4918 §7.3 says) and UNLOCK.
import { parseTimeout, type Lock } from './locks.ts';
import { lockDiscoveryXml } from './properties.ts';
import type { DavRequest } from './request.ts';
import { HttpError } from './status.ts';
import { child, DAV_NS, elements, serializeXml } from './xml.ts';

function answer(r: DavRequest, code: number, lock: Lock, isDir: boolean): void {
  const xml =
    `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:">` +
    `${lockDiscoveryXml([lock], (p) => r.href(p, p === r.vpath ? isDir : true))}</D:prop>\n`;
  r.res.writeHead(code, {
    'Content-Type': 'application/xml; charset=utf-8',
    'Content-Length': Buffer.byteLength(xml),
    'Lock-Token': `<${lock.token}>`,
  });
  r.res.end(xml);
}

export async function lock(r: DavRequest): Promise<void> {
  const body = await r.readXml();
  const timeout = parseTimeout(r.header('timeout'));
  const st = await r.probe();
  if (!body) {
    // Refresh: the lock named in the If header, covering this resource.
    const tokens = r.submitted();
    if (tokens.size === 0) throw new HttpError(400, 'LOCK without a body must name the lock to refresh in an If header');
    const covering = r.locks.covering(r.username, r.vpath).filter((l) => tokens.has(l.token));
    if (!covering.length) throw new HttpError(412, 'no such lock on this resource', 'lock-token-matches-request-uri');
    await r.preconditions([], st);
    for (const l of covering) r.locks.refresh(l, timeout);
    return answer(r, 200, covering[0]!, st?.type === 'dir');
  }
  if (body.ns !== DAV_NS || body.local !== 'lockinfo') throw new HttpError(400, 'expected DAV:lockinfo');
  const scopeEl = child(body, DAV_NS, 'lockscope');
  const scopeKid = scopeEl && elements(scopeEl)[0];
  const scope = scopeKid?.ns === DAV_NS && (scopeKid.local === 'exclusive' || scopeKid.local === 'shared') ? scopeKid.local : undefined;
  if (!scope) throw new HttpError(400, 'lockscope must be DAV:exclusive or DAV:shared');
  const typeEl = child(body, DAV_NS, 'locktype');
  const typeKid = typeEl && elements(typeEl)[0];
  if (!typeKid || typeKid.ns !== DAV_NS || typeKid.local !== 'write') throw new HttpError(400, 'locktype must be DAV:write');
  const ownerEl = child(body, DAV_NS, 'owner');
  const depthHeader = (r.header('depth') ?? 'infinity').trim().toLowerCase();
  if (depthHeader !== '0' && depthHeader !== 'infinity') throw new HttpError(400, 'Depth must be 0 or infinity for LOCK');

  if (!st) {
    await r.requireParent(r.vpath);
    await r.preconditions([{ vpath: r.vpath, membership: true }]);
  } else await r.preconditions([], st);
  const created = r.locks.create({
    username: r.username,
    root: r.vpath,
    depth: depthHeader === '0' ? 0 : 'infinity',
    scope,
    owner: ownerEl ? serializeXml(ownerEl, new Map([['D', DAV_NS]])) : undefined,
    timeoutSeconds: timeout,
  });
  if ('conflict' in created) throw new HttpError(423, `${r.vpath} is locked`, 'no-conflicting-lock');
  if (!st) {
    // An unmapped URL: lock it by creating an empty resource.
    try {
      const up = await r.fs.openUpload(r.conn, r.vpath, { truncate: true, exclusive: true });
      await up.close();
    } catch (err) {
      r.locks.remove(created.lock.token);
      throw err;
    }
  }
  answer(r, st ? 200 : 201, created.lock, st?.type === 'dir');
}

export async function unlock(r: DavRequest): Promise<void> {
  const h = r.header('lock-token')?.trim();
  const m = h ? /^<([^<>\s]+)>$/.exec(h) : null;
  if (!m) throw new HttpError(400, 'Lock-Token header missing or malformed');
  const l = r.locks.get(m[1]!);
  if (!l || l.username !== r.username || !r.locks.covering(r.username, r.vpath).includes(l))
    throw new HttpError(409, 'the lock token does not match this resource', 'lock-token-matches-request-uri');
  r.locks.remove(l.token);
  r.res.writeHead(204);
  r.res.end();
}
