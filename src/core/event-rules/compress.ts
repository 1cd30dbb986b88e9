// The compress filesystem action (fs_config type 5, SFTPGo's EventActionFsCompress): the named
// files and directories written into one zip archive, all through the session core as the user, so
// reading each file is a download and writing the archive an upload (permissions, file patterns and
// quota apply). Entries are deflated, as SFTPGo's, and named relative to the paths' common parent
// directory when they share one, from the root otherwise; only regular files and directories go in,
// the archive itself never.
import { posix } from 'node:path';
import type { EventFsConfig } from '../../config/schema-types.ts';
import { zipStream, type ZipEntry } from '../../lib/zip-stream.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import type { Connection } from '../connection.ts';
import { cleanVirtualPath, parentOf } from '../paths.ts';
import { fileChunks } from './files.ts';
import { fillPlaceholders } from './params.ts';

/** Deeper trees are refused (SFTPGo's MaxRecursion). */
const MAX_DEPTH = 1000;

type Compress = NonNullable<EventFsConfig['compress']>;

export interface CompressOptions {
  conn: Connection;
  values: ReadonlyMap<string, string>;
  /** Creates a directory and its missing parents as the user. */
  mkdirAll: (conn: Connection, dir: string) => Promise<void>;
}

/** SFTPGo's getArchiveBaseDir: the one parent all paths share, else the root. */
export function archiveBaseDir(paths: readonly string[]): string {
  const parents = new Set(paths.map((p) => parentOf(p)));
  return parents.size === 1 ? [...parents][0]! : '/';
}

function entryName(vpath: string, baseDir: string): string {
  if (baseDir === '/') return vpath.slice(1);
  if (vpath === baseDir) return '';
  return vpath.slice(baseDir.length + 1);
}

interface Walk {
  conn: Connection;
  archive: string;
  baseDir: string;
  seen: Set<string>;
}

async function* entriesOf(w: Walk, vpath: string, st: FileInfo, depth: number): AsyncGenerator<ZipEntry> {
  if (vpath === w.archive) return;
  if (depth >= MAX_DEPTH) throw new Error(`unable to add zip entry "${vpath}": the tree is too deep`);
  // The base directory itself (the root named as a path) has no entry of its own: its contents do.
  const name = entryName(vpath, w.baseDir);
  if (name && w.seen.has(name)) return;
  if (name) w.seen.add(name);
  if (st.type === 'dir') {
    if (name) yield { name: `${name}/`, mtimeMs: st.mtimeMs };
    const children: FileInfo[] = [];
    for await (const e of await w.conn.fs.openDir(vpath)) children.push(e);
    for (const child of children) yield* entriesOf(w, posix.join(vpath, child.name), child, depth + 1);
    return;
  }
  if (st.type !== 'file' || !name) return;
  yield { name, mtimeMs: st.mtimeMs, data: () => fileChunks(w.conn, vpath) };
}

export async function runCompress(c: Compress, opts: CompressOptions): Promise<void> {
  const { conn, values } = opts;
  const archive = cleanVirtualPath(fillPlaceholders(c.name ?? '', values));
  if (archive === '/') throw new Error('the archive cannot be the root directory');
  const paths = [...new Set((c.paths ?? []).map((p) => cleanVirtualPath(fillPlaceholders(p, values))))];
  if (paths.includes(archive)) throw new Error(`cannot compress the archive to create: "${archive}"`);
  // Every path is checked before the archive is opened, so a missing one leaves nothing behind.
  const stats: FileInfo[] = [];
  for (const p of paths) stats.push(await conn.fs.stat(p, false));
  await opts.mkdirAll(conn, parentOf(archive));
  const walk: Walk = { conn, archive, baseDir: archiveBaseDir(paths), seen: new Set() };
  const entries = async function* (): AsyncGenerator<ZipEntry> {
    for (const [i, p] of paths.entries()) yield* entriesOf(walk, p, stats[i]!, 0);
  };
  const up = await conn.fs.openUpload(conn, archive, { truncate: true });
  try {
    for await (const chunk of zipStream(entries(), { method: 'deflate' })) await up.write(chunk);
    await up.close();
  } catch (err) {
    await up.abort().catch(() => undefined);
    throw err;
  }
}
