// The user API's file routes (SFTPGo's `/api/v2/user/dirs`, `/files`, `/files/upload`,
// `/files/metadata`, `/file-actions/*`; `/streamzip` is user-zip.ts): each works through the request's session
// (`ctx.conn`, app.ts), so permissions, file patterns, quotas, bandwidth, the upload mode and
// custom actions are the core's, as for every other protocol. Bodies stream both ways.
import { posix } from 'node:path';
import { AppError, isAppError, type ErrorCode } from '../errors.ts';
import { copyPath } from '../core/copy.ts';
import { isWithin } from '../core/paths.ts';
import type { Connection } from '../core/connection.ts';
import type { Download, Upload } from '../core/transfers.ts';
import { contentTypeOf } from '../lib/mime.ts';
import { boundaryOf, multipartParts, MultipartError } from '../lib/multipart.ts';
import type { FileInfo } from '../vfs/fs.ts';
import type { ApiContext } from './app.ts';
import { parseByteRange, type ByteRange } from '../lib/http-range.ts';

/** SFTPGo's status for each core error of a file operation (its getMappedStatusCode). */
export const STATUS: Record<ErrorCode, number> = {
  not_found: 404,
  permission_denied: 403,
  read_quota_exceeded: 403,
  quota_exceeded: 413,
  invalid: 400,
  unsupported: 400,
  exists: 409,
  is_dir: 400,
  not_dir: 400,
  not_empty: 400,
  io: 500,
  config: 500,
  store: 500,
};

/** SFTPGo's error texts where clients may match them; the core's own message otherwise. */
const TEXT: Partial<Record<ErrorCode, string>> = {
  permission_denied: 'permission denied',
  quota_exceeded: 'denying write due to space limit',
  read_quota_exceeded: 'denying read due to quota limits',
};

/** SFTPGo's shape for a file operation: `message` says what failed, `error` why. */
export function reply(ctx: ApiContext, status: number, message: string, error = ''): Response {
  return ctx.c.json({ message, error }, status as 200);
}

function failure(ctx: ApiContext, err: unknown, message: string): Response {
  if (isAppError(err)) return reply(ctx, STATUS[err.code], message, TEXT[err.code] ?? err.message);
  if (err instanceof MultipartError) return reply(ctx, 400, message, err.message);
  throw err;
}

/** Runs a file operation, answering its failure in SFTPGo's shape. */
export async function attempt(ctx: ApiContext, failMessage: string, op: () => Promise<Response>): Promise<Response> {
  try {
    return await op();
  } catch (err) {
    return failure(ctx, err, failMessage);
  }
}

export function conn(ctx: ApiContext): Connection {
  return ctx.conn!;
}

/** A request parameter: from the caller's own (`ctx.params`), else the query string. */
function param(ctx: ApiContext, name: string): string | undefined {
  return ctx.params?.[name] ?? ctx.c.req.query(name);
}

/** A query path, cleaned from the root as SFTPGo's GetCleanedPath does ("" is "/"). */
function pathParam(ctx: ApiContext, name = 'path'): string {
  return conn(ctx).fs.path(param(ctx, name) ?? '', '/');
}

function boolParam(ctx: ApiContext, name: string): boolean {
  const v = param(ctx, name);
  return v === 'true' || v === '1';
}

/** Go's os.FileMode bits, as SFTPGo's DirEntry `mode` carries them. */
function goMode(e: FileInfo): number {
  const perm = e.mode & 0o777;
  if (e.type === 'dir') return 2 ** 31 + perm;
  if (e.type === 'symlink') return 2 ** 27 + perm;
  return perm;
}

export function dirEntry(e: FileInfo): Record<string, unknown> {
  return {
    name: e.name,
    ...(e.type === 'file' ? { size: e.size } : {}),
    mode: goMode(e),
    last_modified: new Date(e.mtimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** Creates each missing directory above `dir` and `dir` itself (mkdir_parents), each one checked. */
export async function mkdirParents(c: Connection, dir: string): Promise<void> {
  let at = '/';
  for (const part of dir.split('/').filter(Boolean)) {
    at = posix.join(at, part);
    const st = await c.fs.probe(at);
    if (st?.type === 'dir') continue;
    if (st) throw new AppError('not_dir', `${at} is not a directory`);
    await c.fs.mkdir(at);
  }
}

// ---- directories ---------------------------------------------------------------------------

export async function listDir(ctx: ApiContext): Promise<Response> {
  const dir = pathParam(ctx);
  return attempt(ctx, 'Unable to get directory lister', async () => {
    const entries = await conn(ctx).fs.openDir(dir);
    const it = entries[Symbol.asyncIterator]();
    // Streamed as it is read: a directory of a million entries is never one string.
    let first = true;
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const batch: string[] = [];
          while (batch.length < 500) {
            const { done, value } = await it.next();
            if (done) break;
            batch.push(JSON.stringify(dirEntry(value)));
          }
          const head = first ? '[' : batch.length ? ',' : '';
          first = false;
          if (batch.length < 500) {
            controller.enqueue(enc.encode(`${head}${batch.join(',')}]`));
            controller.close();
          } else controller.enqueue(enc.encode(head + batch.join(',')));
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await it.return?.();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  });
}

export async function createDir(ctx: ApiContext): Promise<Response> {
  const dir = pathParam(ctx);
  return attempt(ctx, `Unable to create directory "${dir}"`, async () => {
    if (boolParam(ctx, 'mkdir_parents')) await mkdirParents(conn(ctx), posix.dirname(dir));
    await conn(ctx).fs.mkdir(dir);
    return reply(ctx, 201, `Directory "${dir}" created`);
  });
}

/** Removes `vpath` and everything below it, each step checked by the core. */
async function removeAll(c: Connection, vpath: string, st: FileInfo): Promise<void> {
  if (st.type !== 'dir') return c.fs.remove(vpath);
  const children: FileInfo[] = [];
  for await (const e of await c.fs.openDir(vpath)) children.push(e);
  for (const child of children) await removeAll(c, posix.join(vpath, child.name), child);
  await c.fs.rmdir(vpath);
}

export async function deleteDir(ctx: ApiContext): Promise<Response> {
  const dir = pathParam(ctx);
  return attempt(ctx, `Unable to delete directory "${dir}"`, async () => {
    if (dir === '/') throw new AppError('permission_denied', 'the root directory cannot be deleted');
    // As SFTPGo, refused before anything is removed: a virtual folder, or a tree holding one.
    const mounts = (ctx.user!.virtual_folders ?? []).map((vf) => conn(ctx).fs.path(vf.virtual_path, '/'));
    if (mounts.some((m) => isWithin(m, dir))) throw new AppError('permission_denied', `${dir} is or contains a virtual folder`);
    const st = await conn(ctx).fs.stat(dir, false);
    if (st.type !== 'dir') throw new AppError('not_dir', `${dir} is not a directory`);
    await removeAll(conn(ctx), dir, st);
    return reply(ctx, 200, `Directory "${dir}" deleted`);
  });
}

/** PATCH dirs and files, POST file-actions/move: the core's rename (cross-folder per rename_mode). */
export async function renameEntry(ctx: ApiContext): Promise<Response> {
  const from = pathParam(ctx);
  const to = pathParam(ctx, 'target');
  return attempt(ctx, `Unable to rename "${from}" => "${to}"`, async () => {
    await conn(ctx).fs.rename(from, to, true);
    return reply(ctx, 200, `"${from}" renamed to "${to}"`);
  });
}

export async function copyEntry(ctx: ApiContext): Promise<Response> {
  const rawFrom = param(ctx, 'path') ?? '';
  const rawTo = param(ctx, 'target') ?? '';
  // A trailing "/" keeps its meaning (a directory's contents, or into a directory), as in SFTPGo.
  const keepSlash = (raw: string, clean: string) => (raw.endsWith('/') && clean !== '/' ? `${clean}/` : clean);
  const from = keepSlash(rawFrom, conn(ctx).fs.path(rawFrom, '/'));
  const to = keepSlash(rawTo, conn(ctx).fs.path(rawTo, '/'));
  return attempt(ctx, `Unable to copy "${from}" => "${to}"`, async () => {
    await copyPath({ conn: conn(ctx), from, to });
    return reply(ctx, 200, `"${from}" copied to "${to}"`);
  });
}

// ---- files ---------------------------------------------------------------------------------

/** A single `bytes=` range against `size`: null for the whole file, 'unsatisfiable' for 416 (SFTPGo serves one range and refuses a list). */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  return parseByteRange(header, size, { strict: true });
}

/** A Download's bytes as a response body: the transfer closes at the end, aborts if the client leaves. */
function downloadBody(dl: Download, start: number, end: number): ReadableStream<Uint8Array> {
  const chunks = dl.chunks(start, end);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await chunks.next();
        if (done) {
          await dl.close();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        await dl.abort().catch(() => undefined);
        controller.error(err);
      }
    },
    async cancel() {
      await chunks.return(undefined).catch(() => undefined);
      await dl.abort().catch(() => undefined);
    },
  });
}

export function contentDisposition(kind: 'attachment' | 'inline', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function getFile(ctx: ApiContext): Promise<Response> {
  const name = pathParam(ctx);
  if (name === '/') return reply(ctx, 400, 'Please set the path to a valid file');
  const c = conn(ctx);
  return attempt(ctx, 'Unable to stat the requested file', async () => {
    const st = await c.fs.stat(name);
    if (st.type === 'dir') return reply(ctx, 400, `Please set the path to a valid file, "${name}" is a directory`);
    const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
    let range = parseRange(ctx.c.req.header('range'), st.size);
    const ifRange = ctx.c.req.header('if-range');
    if (range && ifRange !== undefined && Date.parse(ifRange) !== Date.parse(lastModified)) range = null;
    if (range === 'unsatisfiable') {
      const res = reply(ctx, 416, 'Requested Range Not Satisfiable', `unsupported range "${ctx.c.req.header('range')}"`);
      res.headers.set('Content-Range', `bytes */${st.size}`);
      return res;
    }
    const dl = await c.fs.openDownload(c, name);
    const start = range ? range.start : 0;
    const end = range ? range.end : st.size - 1;
    const inline = boolParam(ctx, 'inline');
    const headers: Record<string, string> = {
      'Content-Type': contentTypeOf(name),
      'Content-Length': String(Math.max(0, end - start + 1)),
      'Content-Disposition': contentDisposition(inline ? 'inline' : 'attachment', posix.basename(name)),
      'Last-Modified': lastModified,
      'Accept-Ranges': 'bytes',
      // Served from the user's origin: never let a browser guess HTML into a file.
      'X-Content-Type-Options': 'nosniff',
    };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    if (st.size === 0) {
      await dl.close();
      return new Response(null, { status: 200, headers });
    }
    return new Response(downloadBody(dl, start, end), { status: range ? 206 : 200, headers });
  });
}

export async function deleteFile(ctx: ApiContext): Promise<Response> {
  const name = pathParam(ctx);
  return attempt(ctx, `Unable to delete file "${name}"`, async () => {
    const st = await conn(ctx).fs.stat(name, false);
    if (st.type === 'dir') return reply(ctx, 400, `Unable delete "${name}", it is not a file/symlink`);
    await conn(ctx).fs.remove(name);
    return reply(ctx, 200, `File "${name}" deleted`);
  });
}

/** Streams `body` into a new upload of `vpath`: complete, or aborted (nothing partial in atomic mode). */
export async function receive(c: Connection, vpath: string, body: AsyncIterable<Uint8Array>): Promise<void> {
  const up: Upload = await c.fs.openUpload(c, vpath, { truncate: true });
  try {
    for await (const chunk of body) await up.write(chunk);
    await up.close();
  } catch (err) {
    await up.abort().catch(() => undefined);
    throw err;
  }
}

/** A request body's chunks; stopping early cancels the body (the adapter then drains the rest). */
async function* streamOf(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
  }
}

/** X-SFTPGO-MTIME: milliseconds since the epoch; an unusable value is ignored, as in SFTPGo. */
async function applyMtime(ctx: ApiContext, vpath: string): Promise<void> {
  const raw = ctx.c.req.header('x-sftpgo-mtime');
  if (!raw || !/^\d+$/.test(raw)) return;
  const ms = Number(raw);
  await conn(ctx).fs.setAttrs(vpath, { atimeMs: ms, mtimeMs: ms }).catch((err: Error) => ctx.runtime.log('debug', 'user_api_mtime_ignored', { path: vpath, error: err.message }));
}

export async function uploadRaw(ctx: ApiContext): Promise<Response> {
  if (param(ctx, 'path') === undefined) return reply(ctx, 400, '', 'please set a file path');
  const name = pathParam(ctx);
  const c = conn(ctx);
  return attempt(ctx, `Unable to write file "${name}"`, async () => {
    if (boolParam(ctx, 'mkdir_parents')) await mkdirParents(c, posix.dirname(name));
    await receive(c, name, streamOf(ctx.c.req.raw.body));
    await applyMtime(ctx, name);
    return reply(ctx, 201, 'Upload completed');
  });
}

/** POST /files: the multipart form's `filenames` parts, each a file into `path`, in order. */
export async function uploadFiles(ctx: ApiContext): Promise<Response> {
  const boundary = boundaryOf(ctx.c.req.header('content-type'));
  if (!boundary || !ctx.c.req.raw.body) return reply(ctx, 400, 'Unable to parse multipart form', 'the body must be multipart/form-data');
  const dir = pathParam(ctx);
  const c = conn(ctx);
  return attempt(ctx, 'Unable to save the uploaded files', async () => {
    if (boolParam(ctx, 'mkdir_parents')) await mkdirParents(c, dir);
    let uploaded = 0;
    for await (const part of multipartParts(ctx.c.req.raw.body!, boundary)) {
      if (part.name !== 'filenames' || part.filename === undefined) continue;
      // Only the base name counts: a client's "../x" or "/etc/x" lands in `dir` as "x".
      const base = posix.basename(posix.normalize(`/${part.filename.replace(/\\/g, '/')}`));
      if (!base || base === '/') throw new AppError('invalid', 'an uploaded file has no name');
      const target = posix.join(dir, base);
      try {
        await receive(c, target, part.body);
      } catch (err) {
        return failure(ctx, err, `Error saving file "${part.filename}"`);
      }
      uploaded++;
    }
    if (uploaded === 0) return reply(ctx, 400, 'No files uploaded!');
    return reply(ctx, 201, 'Upload completed');
  });
}

/** PATCH /files/metadata: `{modification_time}` in milliseconds, set as SFTPGo sets it. */
export async function setMetadata(ctx: ApiContext): Promise<Response> {
  const body = ctx.body as { modification_time?: unknown } | undefined;
  const ms = body?.modification_time;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || param(ctx, 'path') === undefined)
    return reply(ctx, 400, '', 'please set a modification_time and a path');
  const name = pathParam(ctx);
  return attempt(ctx, `Unable to set metadata for path "${name}"`, async () => {
    await conn(ctx).fs.setAttrs(name, { atimeMs: ms, mtimeMs: ms });
    return reply(ctx, 200, 'OK');
  });
}
