// Server-side copy of a file or a directory tree inside a user's tree (the `sftpgo-copy` SSH
// command), with SFTPGo's rules: the `copy` permission where each file comes from and where it goes,
// and each file then read and written through the session core, so download, upload or overwrite,
// create_dirs, file patterns, quotas and the upload mode apply as to any transfer.
import { actions } from './actions.ts';
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import type { FileInfo } from '../vfs/fs.ts';
import type { Connection } from './connection.ts';
import { isWithin } from './paths.ts';

const CHUNK = 256 * 1024;
/** Deeper trees are refused rather than walked (SFTPGo's limit). */
const MAX_DEPTH = 1000;

export interface CopyRequest {
  conn: Connection;
  /** The source as the client wrote it: a trailing "/" copies a directory's contents. */
  from: string;
  /** The target as the client wrote it: a trailing "/", or an existing directory, copies into it. */
  to: string;
}

/** Copies `from` to `to` and returns the virtual path written. */
export async function copyPath({ conn, from: rawFrom, to: rawTo }: CopyRequest): Promise<string> {
  const fs = conn.fs;
  const contentsOnly = rawFrom.endsWith('/');
  let into = rawTo.endsWith('/');
  const from = fs.path(rawFrom);
  const to = fs.path(rawTo);
  if (from === to) throw new AppError('unsupported', 'the copy source and target cannot be the same');
  const src = await fs.stat(from, false);
  if (src.type === 'symlink') throw new AppError('unsupported', 'copying symlinks is not supported');
  let existing = await fs.probe(to);
  if (existing && !contentsOnly) into = existing.type === 'dir';
  const target = into ? posix.join(to, posix.basename(from)) : to;
  if (into) existing = await fs.probe(target);
  if (src.type === 'dir') {
    if (existing && existing.type !== 'dir') throw new AppError('unsupported', `cannot overwrite the file ${target} with the directory ${from}`);
    if (isWithin(target, from)) throw new AppError('unsupported', `cannot copy ${from} into itself (${target})`);
  } else if (existing?.type === 'dir') {
    throw new AppError('unsupported', `cannot overwrite the directory ${target} with the file ${from}`);
  }
  fs.requireCopy(from, target);
  await copyTree(conn, from, target, src, !existing, 0);
  // Reported to event rules only (SFTPGo's `copy` event; common.actions has none).
  await actions.notify(conn, 'copy', from, { target, ...(src.type === 'file' ? { fileSize: src.size } : {}) });
  return target;
}

async function copyTree(conn: Connection, from: string, to: string, st: FileInfo, createDir: boolean, depth: number): Promise<void> {
  if (st.type === 'file') return copyFile(conn, from, to);
  // Only regular files and directories are copied, as SFTPGo does.
  if (st.type !== 'dir') return;
  if (depth >= MAX_DEPTH) throw new AppError('unsupported', `${from}: the tree is too deep to copy`);
  if (createDir) await conn.fs.mkdir(to);
  const children: FileInfo[] = [];
  for await (const e of await conn.fs.openDir(from)) children.push(e);
  for (const c of children) {
    const target = posix.join(to, c.name);
    const existing = await conn.fs.probe(target);
    if (existing?.type === 'dir' && c.type === 'dir') {
      await copyTree(conn, posix.join(from, c.name), target, c, false, depth + 1);
      continue;
    }
    if (existing && (existing.type === 'dir') !== (c.type === 'dir')) throw new AppError('unsupported', `cannot copy ${posix.join(from, c.name)} over ${target}`);
    await copyTree(conn, posix.join(from, c.name), target, c, true, depth + 1);
  }
}

async function copyFile(conn: Connection, from: string, to: string): Promise<void> {
  conn.fs.requireCopy(from, to);
  await copyFileContent(conn, from, to);
}

/**
 * Copies one file's bytes through the session core (a download of `from`, an upload to `to`), so
 * every rule of a transfer applies; the caller has checked what its protocol requires. One buffer
 * serves the whole copy: a write that resolved holds no reference to it.
 */
export async function copyFileContent(conn: Connection, from: string, to: string): Promise<void> {
  const dl = await conn.fs.openDownload(conn, from);
  try {
    const up = await conn.fs.openUpload(conn, to, { truncate: true });
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let pos = 0; ; ) {
        const n = await dl.read(buf, pos);
        if (n === 0) break;
        await up.write(buf.subarray(0, n));
        pos += n;
      }
      await up.close();
    } catch (err) {
      await up.abort().catch(() => undefined);
      throw err;
    }
    await dl.close();
  } catch (err) {
    await dl.abort().catch(() => undefined);
    throw err;
  }
}
