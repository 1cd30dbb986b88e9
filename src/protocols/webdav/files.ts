// GET/HEAD (with a single byte range read straight from the backend at its offset), PUT (streamed
// into a core Upload, so the upload mode, quotas and permissions are the core's), MKCOL and DELETE.
import { posix } from 'node:path';
import type { ServerResponse } from 'node:http';
import { isAppError } from '../../errors.ts';
import type { Download } from '../../core/transfers.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import { contentTypeOf, etagOf } from './properties.ts';
import { markBodyRead, type DavRequest } from './request.ts';
import { requestBody } from '../../lib/request-body.ts';
import { HttpError } from './status.ts';
import { escapeXml } from './xml.ts';
import { parseByteRange, waitDrain, type ByteRange } from '../../lib/http-range.ts';
import { canSendFile, sendFile, SocketClosed } from '../../core/send-file.ts';

/** Bodies from this size on go by sendfile where they can; a smaller one costs fewer calls read and written. */
const SENDFILE_MIN = 64 * 1024;

/** A single `bytes=` range resolved against `size` (lists and malformed ranges are ignored). */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  return parseByteRange(header, size);
}

export async function getOrHead(r: DavRequest, head: boolean): Promise<void> {
  const st = await r.fs.stat(r.vpath);
  if (st.type === 'dir') return listing(r, st, head);
  const etag = etagOf(st);
  const lastModified = new Date(st.mtimeMs).toUTCString();
  r.checkMatch(st);
  const inm = r.header('if-none-match');
  if (inm !== undefined && inm.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === etag)) {
    r.res.writeHead(304, { ETag: etag, 'Last-Modified': lastModified });
    r.res.end();
    return;
  }
  let range = parseRange(r.header('range'), st.size);
  const ifRange = r.header('if-range');
  if (range && ifRange !== undefined && ifRange !== etag && ifRange !== lastModified) range = null;
  if (range === 'unsatisfiable') throw new HttpError(416, 'range not satisfiable', undefined, { 'Content-Range': `bytes */${st.size}` });
  // Opening checks the download permission, also for HEAD.
  const dl = await r.fs.openDownload(r.conn, r.vpath);
  try {
    const start = range ? range.start : 0;
    const end = range ? range.end : st.size - 1;
    const headers: Record<string, string | number> = {
      'Content-Type': contentTypeOf(posix.basename(r.vpath)),
      'Content-Length': end - start + 1,
      ETag: etag,
      'Last-Modified': lastModified,
      'Accept-Ranges': 'bytes',
    };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    r.res.writeHead(range ? 206 : 200, headers);
    if (!head) await sendRange(r.res, dl, start, end);
    r.res.end();
    await dl.close();
  } catch (err) {
    await dl.abort();
    throw err;
  }
}

async function sendRange(res: ServerResponse, dl: Download, start: number, end: number): Promise<void> {
  // Plain HTTP from local storage: the head goes through the response, the body from the page
  // cache to the socket in the kernel (core/send-file.ts). A content length is set, so ending the
  // response adds nothing after it.
  const sock = res.socket;
  if (sock && end - start + 1 >= SENDFILE_MIN && canSendFile(sock, dl)) {
    res.flushHeaders();
    let sent: number;
    try {
      sent = await sendFile(sock, dl, start, end);
    } catch (err) {
      if (err instanceof SocketClosed) throw new HttpError(499, 'client gone');
      throw err;
    }
    if (sent < end - start + 1) {
      // The head promised more: the connection cannot carry another response.
      sock.destroy();
      throw new HttpError(500, 'file shrank while being read');
    }
    return;
  }
  let sent = 0;
  for await (const chunk of dl.chunks(start, end)) {
    if (res.destroyed) throw new HttpError(499, 'client gone');
    sent += chunk.length;
    if (!res.write(chunk)) await waitDrain(res);
  }
  if (sent < end - start + 1) throw new HttpError(500, 'file shrank while being read');
}

/** A collection asked for with GET: a minimal HTML index, streamed. */
async function listing(r: DavRequest, st: FileInfo, head: boolean): Promise<void> {
  const entries = await r.fs.openDir(r.vpath);
  r.res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Last-Modified': new Date(st.mtimeMs).toUTCString() });
  if (head) return void r.res.end();
  r.res.write(`<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeXml(r.vpath)}</title></head><body><ul>\n`);
  for await (const e of entries) {
    const href = r.href(posix.join(r.vpath, e.name), e.type === 'dir');
    if (!r.res.write(`<li><a href="${escapeXml(href)}">${escapeXml(e.name)}${e.type === 'dir' ? '/' : ''}</a></li>\n`)) await waitDrain(r.res);
  }
  r.res.end('</ul></body></html>\n');
}

export async function put(r: DavRequest): Promise<void> {
  if (r.header('content-range') !== undefined) throw new HttpError(400, 'partial PUT (Content-Range) is not supported');
  const existing = await r.probe();
  if (existing?.type === 'dir') throw new HttpError(405, `${r.vpath} is a collection`);
  await r.requireParent(r.vpath);
  await r.preconditions([{ vpath: r.vpath, membership: !existing }], existing);
  const up = await r.fs.openUpload(r.conn, r.vpath, { truncate: true });
  // requestBody holds the client back while the storage is slower (iterating the request itself
  // does not under Bun: a 200 MB PUT grew RSS by ~190 MB); a body left unread after an error stays
  // paused at its high-water mark and the answer closes the connection (bodyUnread).
  const body = requestBody(r.req).getReader();
  try {
    for (;;) {
      const { done, value } = await body.read();
      if (done) break;
      await up.write(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
    if (!r.req.complete) throw new HttpError(400, 'request body ended early');
    markBodyRead(r.req);
    await up.close();
  } catch (err) {
    await up.abort().catch(() => undefined);
    throw err;
  }
  const now = await r.probe().catch(() => undefined);
  r.res.writeHead(existing ? 204 : 201, now ? { ETag: etagOf(now) } : {});
  r.res.end();
}

export async function mkcol(r: DavRequest): Promise<void> {
  if (r.hasBody()) throw new HttpError(415, 'MKCOL with a body is not supported');
  if (await r.probe()) throw new HttpError(405, `${r.vpath} exists`, undefined, { Allow: 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, COPY, MOVE, LOCK, UNLOCK' });
  await r.requireParent(r.vpath);
  await r.preconditions([{ vpath: r.vpath, membership: true }]);
  await r.fs.mkdir(r.vpath);
  r.res.writeHead(201, { 'Content-Length': 0 });
  r.res.end();
}

export async function del(r: DavRequest): Promise<void> {
  if (r.vpath === '/') throw new HttpError(403, 'the root collection cannot be deleted');
  const st = await r.probe();
  if (!st) throw new HttpError(404, `${r.vpath} not found`);
  await r.preconditions([{ vpath: r.vpath, membership: true, subtree: true }], st);
  await removeTree(r, r.vpath, st);
  r.props.removeTree(r.username, r.vpath);
  r.locks.removeTree(r.username, r.vpath);
  r.res.writeHead(204);
  r.res.end();
}

/** Removes a file, or a collection depth-first (each step permission-checked by the core). */
export async function removeTree(r: DavRequest, vpath: string, st: FileInfo): Promise<void> {
  if (st.type !== 'dir') return r.fs.remove(vpath);
  const children: FileInfo[] = [];
  for await (const e of await r.fs.openDir(vpath)) children.push(e);
  for (const c of children) await removeTree(r, posix.join(vpath, c.name), c);
  try {
    await r.fs.rmdir(vpath);
  } catch (err) {
    if (!isAppError(err, 'not_found')) throw err;
  }
}
