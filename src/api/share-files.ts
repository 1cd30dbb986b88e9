// Files over HTTP through the session core for the public share endpoints: a download as a streamed
// Response (one byte range honoured) that reports a failure after it started, a request body
// streamed into a core Upload (committed only when every byte arrived, so the upload mode decides
// what a cut leaves behind), and a tree as a streamed ZIP without links. The user API's pieces
// (user-files.ts: DirEntry, ranges, the status table, the ZIP and multipart streams) are shared.
import { posix } from 'node:path';
import type { Connection } from '../core/connection.ts';
import { AppError, isAppError } from '../errors.ts';
import { zipStream, type ZipEntry } from '../lib/zip-stream.ts';
import type { FileInfo } from '../vfs/fs.ts';
import { parseRange, STATUS } from './user-files.ts';

export function statusOf(err: unknown): number {
  return isAppError(err) ? STATUS[err.code] : 500;
}

/** The regular files and directories of a listing (SFTPGo leaves links and devices out of a share's). */
export async function listRegular(entries: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const e of entries) if (e.type === 'file' || e.type === 'dir') out.push(e);
  return out;
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
  const range = parseRange(o.range, o.info.size);
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
  if (o.info.size === 0) {
    settled = true;
    await chunks.return(undefined);
    await dl.close();
    return new Response(null, { status: 200, headers });
  }
  return new Response(body, { status: range ? 206 : 200, headers });
}

/**
 * Streams `body` into `vpath` through the core's Upload (upload or overwrite permission, patterns,
 * quotas, limits, the upload mode). It is committed only once the body has fully arrived; a body
 * that fails or ends early aborts it, and in an atomic upload mode nothing of it becomes visible.
 */
export async function uploadBody(conn: Connection, vpath: string, body: AsyncIterable<Uint8Array> | null): Promise<void> {
  const up = await conn.fs.openUpload(conn, vpath, { truncate: true });
  try {
    if (body) for await (const chunk of body) await up.write(chunk);
    await up.close();
  } catch (err) {
    await up.abort().catch(() => undefined);
    throw err;
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
      yield { name: name(vpath), mtimeMs: info.mtimeMs, data: () => fileData(vpath) };
      return;
    }
    if (info.type !== 'dir') return;
    if (vpath !== o.baseDir) yield { name: `${name(vpath)}/`, mtimeMs: info.mtimeMs };
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
