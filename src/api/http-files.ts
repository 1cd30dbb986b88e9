// Files over HTTP through the session core: a download as a streamed Response (one byte range
// honoured), a request body streamed into a core Upload (committed only when every byte arrived, so
// the upload mode decides what a cut leaves behind), a directory as SFTPGo's DirEntry list, a tree as
// a streamed ZIP, and the one table from core error codes to HTTP statuses (SFTPGo's).
import { posix } from 'node:path';
import type { Connection } from '../core/connection.ts';
import { AppError, isAppError, type ErrorCode } from '../errors.ts';
import { zipStream, type ZipEntry } from '../lib/zip.ts';
import type { FileInfo } from '../vfs/fs.ts';

/** SFTPGo's mapping of filesystem errors to HTTP statuses (getMappedStatusCode). */
export const HTTP_STATUS_OF: Record<ErrorCode, number> = {
  not_found: 404,
  exists: 409,
  is_dir: 400,
  not_dir: 400,
  not_empty: 400,
  permission_denied: 403,
  invalid: 400,
  unsupported: 400,
  quota_exceeded: 413,
  read_quota_exceeded: 403,
  io: 500,
  config: 500,
  store: 500,
};

export function statusOf(err: unknown): number {
  return isAppError(err) ? HTTP_STATUS_OF[err.code] : 500;
}

/** SFTPGo's DirEntry: Go's FileMode (the directory bit is 1 << 31), size for files only, RFC 3339 time. */
export function dirEntry(e: FileInfo): Record<string, unknown> {
  const dir = e.type === 'dir';
  return {
    name: e.name,
    ...(dir ? {} : { size: e.size }),
    mode: dir ? 0x80000000 + (e.mode & 0o777) : e.mode & 0o777,
    last_modified: new Date(e.mtimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** The regular files and directories of a listing (SFTPGo leaves links and devices out of a share's). */
export async function listRegular(entries: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const e of entries) if (e.type === 'file' || e.type === 'dir') out.push(e);
  return out;
}

/** One `bytes=` range against `size`; null: the whole file; 'unsatisfiable': 416. */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export interface DownloadOptions {
  conn: Connection;
  vpath: string;
  info: FileInfo;
  /** The request's Range header. */
  range?: string | undefined;
  /** Called once if the download fails after it was opened (a share gives its use back). */
  onFailed?: () => void;
}

/**
 * A file as a streamed response: the core's Download (download permission, patterns, data
 * transfer limits, pre-download action) read chunk by chunk as the client takes it; the transfer
 * completes with the last byte, and is aborted when the client leaves.
 */
export async function downloadResponse(o: DownloadOptions): Promise<Response> {
  const range = byteRange(o.range, o.info.size);
  if (range === 'unsatisfiable') {
    return new Response(JSON.stringify({ message: '', error: `unsupported range ${JSON.stringify(o.range)}` }), {
      status: 416, headers: { 'Content-Type': 'application/json', 'Content-Range': `bytes */${o.info.size}` },
    });
  }
  const dl = await o.conn.fs.openDownload(o.conn, o.vpath);
  const start = range ? range.start : 0;
  const end = range ? range.end : o.info.size - 1;
  const chunks = dl.chunks(start, end);
  let settled = false;
  const fail = async (): Promise<void> => {
    if (settled) return;
    settled = true;
    o.onFailed?.();
    await dl.abort();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (!next.done) return controller.enqueue(next.value);
        settled = true;
        await dl.close();
        controller.close();
      } catch (err) {
        await fail();
        controller.error(err);
      }
    },
    async cancel() {
      await chunks.return(undefined);
      await fail();
    },
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(end - start + 1),
    'Content-Disposition': `attachment; filename=${JSON.stringify(posix.basename(o.vpath))}`,
    'Last-Modified': new Date(o.info.mtimeMs).toUTCString(),
    'Accept-Ranges': 'bytes',
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${o.info.size}`;
  return new Response(o.info.size === 0 ? null : body, { status: range ? 206 : 200, headers });
}

/**
 * Streams `body` into `vpath` through the core's Upload (upload or overwrite permission, patterns,
 * quotas, limits, the upload mode). It is committed only once the body has fully arrived; a body
 * that fails or ends early aborts it, and in an atomic upload mode nothing of it becomes visible.
 */
export async function uploadBody(conn: Connection, vpath: string, body: ReadableStream<Uint8Array> | null): Promise<void> {
  const up = await conn.fs.openUpload(conn, vpath, { truncate: true });
  try {
    if (body) for await (const chunk of body) await up.write(chunk);
    await up.close();
  } catch (err) {
    await up.abort().catch(() => undefined);
    throw err;
  }
}

/** Creates the missing directories above `vpath` (create_dirs permission applies), as `mkdir_parents`. */
export async function mkdirParents(conn: Connection, vpath: string): Promise<void> {
  const parts = posix.dirname(vpath).split('/').filter(Boolean);
  let dir = '';
  for (const part of parts) {
    dir += `/${part}`;
    const st = await conn.fs.probe(dir);
    if (st?.type === 'dir') continue;
    if (st) throw new AppError('not_dir', `${dir} is not a directory`);
    await conn.fs.mkdir(dir);
  }
}

export interface ZipOptions {
  conn: Connection;
  /** Virtual paths to archive, each a file or a tree. */
  paths: string[];
  /** Entry names are relative to it; the base itself has no entry. */
  baseDir: string;
  /** Called once if the archive fails after it started (a share gives its use back). */
  onFailed?: () => void;
}

/**
 * The paths as one streamed ZIP: directories walked through the core (list permission, hidden
 * names left out), files read through core Downloads (download permission, limits, actions). Links
 * and special files are left out, so an archive never follows a link out of what was asked for.
 * An error after the response started cuts the connection (the client sees a truncated archive).
 */
export function zipResponse(o: ZipOptions, filename: string): Response {
  const { conn } = o;
  const name = (vpath: string): string => posix.relative(o.baseDir, vpath);
  async function* fileData(vpath: string): AsyncIterable<Uint8Array> {
    const dl = await conn.fs.openDownload(conn, vpath);
    try {
      yield* dl.chunks(0);
      await dl.close();
    } finally {
      await dl.abort();
    }
  }
  async function* walk(vpath: string, info: FileInfo, depth: number): AsyncGenerator<ZipEntry> {
    if (depth > 100) throw new AppError('invalid', `${vpath}: directories nested too deep`);
    if (info.type === 'file') {
      yield { name: name(vpath), mtimeMs: info.mtimeMs, mode: info.mode, size: info.size, data: () => fileData(vpath) };
      return;
    }
    if (info.type !== 'dir') return;
    if (vpath !== o.baseDir) yield { name: name(vpath), mtimeMs: info.mtimeMs, mode: info.mode };
    for (const e of await listRegular(await conn.fs.openDir(vpath))) yield* walk(posix.join(vpath, e.name), e, depth + 1);
  }
  async function* entries(): AsyncGenerator<ZipEntry> {
    for (const p of o.paths) {
      const info = await conn.fs.stat(p);
      yield* walk(p, info, 0);
    }
  }
  const zip = zipStream(entries());
  let failed = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await zip.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (err) {
        if (!failed) o.onFailed?.();
        failed = true;
        conn.context.log('warn', 'zip_failed', { connection: conn.id, username: conn.username, error: (err as Error).message });
        controller.error(err);
      }
    },
    async cancel() {
      if (!failed) o.onFailed?.();
      failed = true;
      await zip.return(undefined);
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'Content-Type': 'application/zip', 'Accept-Ranges': 'none', 'Content-Disposition': `attachment; filename=${JSON.stringify(filename)}` },
  });
}
