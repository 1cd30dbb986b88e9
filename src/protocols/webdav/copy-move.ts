// COPY and MOVE (RFC 4918 §9.8–9.9): Destination below the same binding, Overwrite T/F (412 when
// F and the target exists), Depth 0/infinity for COPY of a collection. MOVE is the core's rename
// (same permissions and cross-folder rules as SFTP); COPY streams each file through a Download and
// an Upload, so the upload mode and quotas apply. Dead properties follow; locks stay behind.
import { posix } from 'node:path';
import { copyFileContent } from '../../core/copy.ts';
import { isWithin, parentOf } from '../../core/paths.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import { removeTree } from './files.ts';
import { pathBelowPrefix, type DavRequest } from './request.ts';
import { HttpError } from './status.ts';

/**
 * The virtual path a Destination names: 502 when it is outside this binding (RFC 4918: another
 * server), 400 when it is malformed (a NUL, an encoded slash, a `..` segment, bad encoding).
 */
function destinationPath(urlPath: string, prefix: string): string {
  try {
    return pathBelowPrefix(urlPath, prefix);
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) throw new HttpError(502, 'Destination is not on this server');
    throw err;
  }
}

export async function copyOrMove(r: DavRequest, move: boolean): Promise<void> {
  const destHeader = r.header('destination');
  if (!destHeader) throw new HttpError(400, 'Destination header missing');
  let destUrl: URL;
  try {
    destUrl = new URL(destHeader, 'http://x');
  } catch {
    throw new HttpError(400, 'bad Destination header');
  }
  const dest = destinationPath(destUrl.pathname, r.prefix);
  const ow = (r.header('overwrite') ?? 'T').trim().toUpperCase();
  if (ow !== 'T' && ow !== 'F') throw new HttpError(400, 'Overwrite must be T or F');
  const depthHeader = (r.header('depth') ?? 'infinity').trim().toLowerCase();
  if (depthHeader !== 'infinity' && (move || depthHeader !== '0')) throw new HttpError(400, `Depth ${depthHeader} is not allowed for ${move ? 'MOVE' : 'COPY'}`);
  const src = await r.fs.stat(r.vpath);
  if (r.vpath === '/' || dest === '/') throw new HttpError(403, 'the root collection cannot be copied or moved');
  if (dest === r.vpath || (src.type === 'dir' && isWithin(dest, r.vpath))) throw new HttpError(403, 'source and destination overlap');
  await r.requireParent(dest);
  const existing = await r.probe(dest);
  if (existing && ow === 'F') throw new HttpError(412, `${dest} exists and Overwrite is F`);
  const targets = [{ vpath: dest, membership: true, subtree: true }];
  if (move) targets.push({ vpath: r.vpath, membership: true, subtree: true });
  await r.preconditions(targets, src);
  if (existing) {
    await removeTree(r, dest, existing);
    r.props.removeTree(r.username, dest);
  }
  if (move) {
    await r.fs.rename(r.vpath, dest, false);
    r.props.copyTree(r.username, r.vpath, dest, true);
    r.locks.removeTree(r.username, r.vpath);
  } else {
    await copyTree(r, r.vpath, dest, src, depthHeader === '0' ? 0 : Infinity);
    r.props.copyTree(r.username, r.vpath, dest, false);
  }
  r.res.writeHead(existing ? 204 : 201, { 'Content-Length': 0 });
  r.res.end();
}

async function copyTree(r: DavRequest, from: string, to: string, st: FileInfo, depth: number): Promise<void> {
  if (st.type !== 'dir') return copyFile(r, from, to);
  await r.fs.mkdir(to);
  if (depth <= 0) return;
  const children: FileInfo[] = [];
  for await (const e of await r.fs.openDir(from)) children.push(e);
  for (const c of children) await copyTree(r, posix.join(from, c.name), posix.join(to, c.name), c, depth - 1);
}

async function copyFile(r: DavRequest, from: string, to: string): Promise<void> {
  if (parentOf(to) === to) throw new HttpError(403, 'bad destination');
  await copyFileContent(r.conn, from, to);
}
