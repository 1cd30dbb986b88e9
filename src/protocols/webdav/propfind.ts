// PROPFIND (allprop, propname, prop; Depth 0 or 1 — infinity is refused with 403
// propfind-finite-depth) streamed as a 207 multistatus one resource at a time, and PROPPATCH:
// all-or-nothing updates of dead properties, plus getlastmodified / Win32LastModifiedTime which
// set the file's mtime through the core (chtimes permission), as SFTPGo does for Windows clients.
import { posix } from 'node:path';
import type { FileInfo } from '../../vfs/fs.ts';
import { waitDrain } from '../../lib/http-range.ts';
import { DeadProperties, type DeadChange, davProp, emptyProp, LIVE_PROPS, liveValue, lockDiscoveryXml, MS_NS, propKey } from './properties.ts';
import type { DavRequest } from './request.ts';
import { HttpError } from './status.ts';
import { child, DAV_NS, elements, escapeXml, textOf, type XmlElement } from './xml.ts';

const XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">';

type Wanted = { kind: 'allprop' } | { kind: 'propname' } | { kind: 'prop'; names: { ns: string; local: string }[] };

export function parsePropfind(body: XmlElement | undefined): Wanted {
  if (!body) return { kind: 'allprop' };
  if (body.ns !== DAV_NS || body.local !== 'propfind') throw new HttpError(400, 'expected DAV:propfind');
  const kids = elements(body).filter((e) => e.ns === DAV_NS);
  const first = kids[0];
  if (!first) throw new HttpError(400, 'empty DAV:propfind');
  if (first.local === 'allprop') return { kind: 'allprop' };
  if (first.local === 'propname') return { kind: 'propname' };
  if (first.local === 'prop') return { kind: 'prop', names: elements(first).map((e) => ({ ns: e.ns, local: e.local })) };
  throw new HttpError(400, `unexpected DAV:${first.local} in DAV:propfind`);
}

function status(code: number): string {
  const text: Record<number, string> = { 200: 'OK', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 424: 'Failed Dependency', 507: 'Insufficient Storage' };
  return `HTTP/1.1 ${code} ${text[code] ?? ''}`.trimEnd();
}

function propstat(props: string[], code: number): string {
  return props.length ? `<D:propstat><D:prop>${props.join('')}</D:prop><D:status>${status(code)}</D:status></D:propstat>` : '';
}

function responseXml(r: DavRequest, vpath: string, info: FileInfo, wanted: Wanted): string {
  const name = vpath === '/' ? '' : posix.basename(vpath);
  const locks = (): string => lockDiscoveryXml(r.locks.covering(r.username, vpath), (p) => r.href(p, p === vpath ? info.type === 'dir' : true));
  const dead = r.props.get(r.username, vpath);
  const found: string[] = [];
  const missing: string[] = [];
  if (wanted.kind === 'prop') {
    for (const n of wanted.names) {
      if (n.ns === DAV_NS && (LIVE_PROPS as readonly string[]).includes(n.local)) {
        const v = liveValue(n.local, info, name, locks);
        if (v === undefined) missing.push(emptyProp(n.ns, n.local));
        else found.push(davProp(n.local, v));
        continue;
      }
      const d = dead.get(propKey(n.ns, n.local));
      if (d) found.push(DeadProperties.render(d));
      else missing.push(emptyProp(n.ns, n.local));
    }
  } else {
    for (const p of LIVE_PROPS) {
      const v = liveValue(p, info, name, locks);
      if (v === undefined) continue;
      found.push(wanted.kind === 'propname' ? `<D:${p}/>` : davProp(p, v));
    }
    for (const d of dead.values()) found.push(wanted.kind === 'propname' ? emptyProp(d.ns, d.local) : DeadProperties.render(d));
  }
  return `<D:response><D:href>${escapeXml(r.href(vpath, info.type === 'dir'))}</D:href>${propstat(found, 200)}${propstat(missing, 404)}</D:response>`;
}

export async function propfind(r: DavRequest): Promise<void> {
  const depth = (r.header('depth') ?? 'infinity').trim().toLowerCase();
  if (depth !== '0' && depth !== '1') {
    if (depth === 'infinity') throw new HttpError(403, 'Depth: infinity is not supported', 'propfind-finite-depth');
    throw new HttpError(400, `bad Depth ${depth}`);
  }
  const wanted = parsePropfind(await r.readXml());
  const info = await r.fs.stat(r.vpath);
  const children = depth === '1' && info.type === 'dir' ? await r.fs.openDir(r.vpath) : undefined;
  const res = r.res;
  res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' });
  res.write(XML_HEAD + responseXml(r, r.vpath, info, wanted));
  if (children) {
    for await (const e of children) {
      if (res.destroyed) return;
      if (!res.write(responseXml(r, posix.join(r.vpath, e.name), e, wanted))) await waitDrain(res);
    }
  }
  res.end('</D:multistatus>\n');
}

interface Change {
  op: 'set' | 'remove';
  el: XmlElement;
}

const IGNORED_WIN32: ReadonlySet<string> = new Set(['Win32CreationTime', 'Win32LastAccessTime', 'Win32FileAttributes']);

export async function proppatch(r: DavRequest): Promise<void> {
  const body = await r.readXml();
  if (!body || body.ns !== DAV_NS || body.local !== 'propertyupdate') throw new HttpError(400, 'expected DAV:propertyupdate');
  const changes: Change[] = [];
  for (const op of elements(body)) {
    if (op.ns !== DAV_NS || (op.local !== 'set' && op.local !== 'remove')) throw new HttpError(400, 'expected DAV:set or DAV:remove');
    const prop = child(op, DAV_NS, 'prop');
    if (!prop) throw new HttpError(400, `DAV:${op.local} without DAV:prop`);
    for (const el of elements(prop)) changes.push({ op: op.local, el });
  }
  const st = await r.probe();
  if (!st) throw new HttpError(404, `${r.vpath} not found`);
  await r.preconditions([{ vpath: r.vpath }], st);
  // Changing properties is changing the resource's metadata: the chtimes permission governs it.
  r.fs.checkAttrs(r.vpath, { mtimeMs: 0 }, st.type === 'dir');

  const results: { el: XmlElement; code: number }[] = [];
  let mtimeMs: number | undefined;
  const ops: DeadChange[] = [];
  for (const c of changes) {
    const { el } = c;
    const isMtime = (el.ns === DAV_NS && el.local === 'getlastmodified') || (el.ns === MS_NS && el.local === 'Win32LastModifiedTime');
    if (isMtime && c.op === 'set') {
      const t = Date.parse(textOf(el).trim());
      if (Number.isNaN(t)) results.push({ el, code: 409 });
      else {
        mtimeMs = t;
        results.push({ el, code: 200 });
      }
    } else if (el.ns === MS_NS && IGNORED_WIN32.has(el.local)) {
      results.push({ el, code: 200 });
    } else if (el.ns === DAV_NS && (LIVE_PROPS as readonly string[]).includes(el.local)) {
      results.push({ el, code: 403 });
    } else {
      ops.push(c.op === 'set' ? { set: el } : { remove: propKey(el.ns, el.local) });
      results.push({ el, code: 200 });
    }
  }
  const failed = results.some((x) => x.code !== 200);
  if (!failed) {
    if (!r.props.apply(r.username, r.vpath, ops)) {
      for (const x of results) x.code = 507;
    } else if (mtimeMs !== undefined) await r.fs.setAttrs(r.vpath, { mtimeMs });
  } else for (const x of results) if (x.code === 200) x.code = 424;

  const byCode = new Map<number, string[]>();
  for (const x of results) byCode.set(x.code, [...(byCode.get(x.code) ?? []), emptyProp(x.el.ns, x.el.local)]);
  const stats = [...byCode].map(([code, props]) => propstat(props, code)).join('');
  const xml = `${XML_HEAD}<D:response><D:href>${escapeXml(r.href(r.vpath, st.type === 'dir'))}</D:href>${stats}</D:response></D:multistatus>\n`;
  r.res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(xml) });
  r.res.end(xml);
}
