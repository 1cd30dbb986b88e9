// The public share endpoints (SFTPGo's /api/v2/shares/{id}...), used without an account: a read
// share downloads as a ZIP (or its single file) and can be browsed and downloaded from file by file;
// a write share takes uploads, multipart or raw. share-access.ts has checked the share and opened
// its owner's session; here every path is kept inside the shared paths (no "..", encoded or not,
// and no link below a shared path is followed) and every use is counted as SFTPGo counts it: one
// per download and one per uploaded file, reserved first and given back when the transfer fails.
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import { cleanSharePath, spendShareUses, type ShareRecord } from '../store/shares.ts';
import type { ApiContext } from './app.ts';
import { downloadResponse, listRegular, statusOf, uploadBody, zipResponse } from './share-files.ts';
import { dirEntry, mkdirParents } from './user-files.ts';
import { errorResponse } from './respond.ts';
import { boundaryOf, MultipartError, multipartParts, type Part } from '../lib/multipart.ts';
import type { FileInfo } from '../vfs/fs.ts';
import type { QueryParam, Route } from './routes.ts';

const READ = [1, 3] as const;
const WRITE = [2, 3] as const;

/** The records the share pages show (web/ reaches the store and the vfs only through the API). */
export type { ShareRecord, ShareScope } from '../store/shares.ts';
export type { FileInfo } from '../vfs/fs.ts';

/** What a share handler reads: the request, the server, and the share with its owner's connection (share-access.ts). */
export type ShareRequest = Pick<ApiContext, 'c' | 'runtime' | 'ip' | 'share' | 'conn'>;

function shareOf(ctx: ShareRequest): { share: ShareRecord; conn: NonNullable<ApiContext['conn']> } {
  return { share: ctx.share!, conn: ctx.conn! };
}

/**
 * The answer for a refused or failed file operation, in SFTPGo's shape for it (`message` what
 * failed, `error` why) with its status; logged.
 */
function failed(ctx: ShareRequest, err: unknown, what: string): Response {
  const status = statusOf(err);
  ctx.runtime.log(status >= 500 ? 'warn' : 'info', 'share_request_failed', { share: ctx.share?.id, ip: ctx.ip, status, what, error: (err as Error).message });
  return ctx.c.json({ message: what, error: (err as Error).message }, status as 400);
}

/** Reserves `uses` of the share; the function returned gives back `count` of them (never more than reserved). */
async function spend(ctx: ShareRequest, uses: number): Promise<(count?: number) => void> {
  const { share } = shareOf(ctx);
  await spendShareUses(ctx.runtime.store, share.id, uses, Date.now());
  let left = uses;
  return (count = left) => {
    const n = Math.min(count, left);
    if (n <= 0) return;
    left -= n;
    void spendShareUses(ctx.runtime.store, share.id, -n, Date.now()).catch((err: Error) => ctx.runtime.log('warn', 'share_use_refund', { share: share.id, error: err.message }));
  };
}

/**
 * Refuses a link (symlink) anywhere below `base` on the way to `vpath`, `vpath` included: what a
 * share reaches must really be under its shared path, not merely named under it.
 */
async function requireNoLinks(conn: NonNullable<ShareRequest['conn']>, base: string, vpath: string): Promise<void> {
  const rel = posix.relative(base, vpath);
  if (!rel) return;
  let p = base;
  for (const part of rel.split('/')) {
    p = posix.join(p, part);
    const st = await conn.fs.probeLink(p);
    if (!st) return;
    if (st.type === 'symlink') throw new AppError('permission_denied', `${p} is a link: it cannot be used through a share`);
  }
}

/** `?path=` inside the share's one directory (SFTPGo's getBrowsableSharedPath), or why not. */
function browsedPath(ctx: ShareRequest, base: string, asked = ctx.c.req.query('path') ?? ''): string | Response {
  const vpath = cleanSharePath(posix.join(base, asked));
  if (base !== '/' && vpath !== base && !vpath.startsWith(`${base}/`)) return errorResponse(ctx.c, 400, `Invalid path ${JSON.stringify(asked)}`);
  return vpath;
}

/** A browsable share: one shared path, a directory. */
async function browsableBase(ctx: ShareRequest): Promise<string | Response> {
  const { share, conn } = shareOf(ctx);
  if (share.paths.length !== 1) return errorResponse(ctx.c, 400, 'a share with multiple paths is not browsable');
  const base = share.paths[0]!;
  const st = await conn.fs.stat(base).catch((err: Error) => err);
  if (st instanceof Error) return errorResponse(ctx.c, 400, `unable to check the share directory: ${st.message}`);
  if (st.type !== 'dir') return errorResponse(ctx.c, 400, 'the shared object is not a directory and so it is not browsable');
  return base;
}

export async function download(ctx: ShareRequest): Promise<Response> {
  const { share, conn } = shareOf(ctx);
  let single;
  try {
    single = share.paths.length === 1 ? await conn.fs.stat(share.paths[0]!) : undefined;
  } catch (err) {
    return failed(ctx, err, 'unable to stat the shared path');
  }
  const refund = await spend(ctx, 1);
  if (single?.type === 'file' && ctx.c.req.query('compress') === 'false') {
    try {
      return await downloadResponse({ conn, vpath: share.paths[0]!, info: single, range: ctx.c.req.header('range'), onFailed: () => refund() });
    } catch (err) {
      refund();
      return failed(ctx, err, 'unable to read the shared file');
    }
  }
  // A shared directory's contents are the archive's root; several paths keep their names. Each
  // path is checked before the first byte, so a refusal is an answer, not a cut archive.
  const baseDir = single?.type === 'dir' ? share.paths[0]! : '/';
  const paths = single?.type === 'dir' ? [share.paths[0]!] : share.paths;
  try {
    for (const p of paths) await conn.fs.stat(p);
  } catch (err) {
    refund();
    return failed(ctx, err, 'Unable to compress the shared paths');
  }
  return zipResponse({ conn, paths, baseDir, onFailed: () => refund() }, `share-${share.name}.zip`);
}

/**
 * The regular entries of the directory `?path=` names inside a browsable share (one shared
 * directory), with that path relative to the share; a Response when it is refused.
 */
export async function listShareDir(ctx: ShareRequest): Promise<{ path: string; entries: FileInfo[] } | Response> {
  const { conn } = shareOf(ctx);
  const base = await browsableBase(ctx);
  if (base instanceof Response) return base;
  const vpath = browsedPath(ctx, base);
  if (vpath instanceof Response) return vpath;
  try {
    await requireNoLinks(conn, base, vpath);
    const entries = await listRegular(await conn.fs.openDir(vpath));
    return { path: `/${posix.relative(base, vpath)}`, entries };
  } catch (err) {
    return failed(ctx, err, 'Unable to get directory lister');
  }
}

async function listDir(ctx: ShareRequest): Promise<Response> {
  const listed = await listShareDir(ctx);
  if (listed instanceof Response) return listed;
  return ctx.c.json(listed.entries.map(dirEntry));
}

export async function downloadFile(ctx: ShareRequest): Promise<Response> {
  const { conn } = shareOf(ctx);
  const base = await browsableBase(ctx);
  if (base instanceof Response) return base;
  const vpath = browsedPath(ctx, base);
  if (vpath instanceof Response) return vpath;
  let info;
  try {
    await requireNoLinks(conn, base, vpath);
    info = await conn.fs.stat(vpath);
  } catch (err) {
    return failed(ctx, err, 'Unable to stat the requested file');
  }
  if (info.type === 'dir') return errorResponse(ctx.c, 400, `Please set the path to a valid file, ${JSON.stringify(vpath)} is a directory`);
  const refund = await spend(ctx, 1);
  try {
    return await downloadResponse({ conn, vpath, info, range: ctx.c.req.header('range'), onFailed: () => refund() });
  } catch (err) {
    refund();
    return failed(ctx, err, 'Unable to read the requested file');
  }
}

/** The file's place under the share's directory, or a refusal: nothing may land outside it. */
function uploadTarget(ctx: ShareRequest, name: string): string | Response {
  const base = shareOf(ctx).share.paths[0]!;
  const vpath = cleanSharePath(posix.join(base, name));
  const prefix = base.endsWith('/') ? base : `${base}/`;
  if (!vpath.startsWith(prefix)) return errorResponse(ctx.c, 403, 'Uploading outside the share is not allowed');
  return vpath;
}

async function uploadOne(ctx: ShareRequest): Promise<Response> {
  const { share, conn } = shareOf(ctx);
  const vpath = uploadTarget(ctx, ctx.c.req.param('fileName') ?? '');
  if (vpath instanceof Response) return vpath;
  const refund = await spend(ctx, 1);
  try {
    // Checked before any directory is made: mkdir_parents must not create through a link either.
    await requireNoLinks(conn, share.paths[0]!, vpath);
    if (ctx.c.req.query('mkdir_parents') === 'true') await mkdirParents(conn, posix.dirname(vpath));
    await uploadBody(conn, vpath, ctx.c.req.raw.body);
  } catch (err) {
    refund();
    return failed(ctx, err, `Unable to write file ${JSON.stringify(vpath)}`);
  }
  return ctx.c.json({ message: 'Upload completed' }, 201);
}

/**
 * The multipart form's `filenames` parts, each streamed into the shared directory as it arrives.
 * Each file reserves its use before it is written; when the share runs out (max_tokens) the files
 * already stored stay and the rest is refused ("Allowed usage exceeded").
 */
async function uploadMany(ctx: ShareRequest): Promise<Response> {
  const boundary = boundaryOf(ctx.c.req.header('content-type'));
  const body = ctx.c.req.raw.body;
  if (!boundary || !body) return errorResponse(ctx.c, 400, 'Unable to parse multipart form: the body must be multipart/form-data');
  const stored = await storeUploads(ctx, multipartParts(body, boundary));
  return typeof stored === 'number' ? ctx.c.json({ message: 'Upload completed' }, 201) : stored;
}

/**
 * Stores the `filenames` file parts of `parts` in the share's directory (the public API's upload
 * and the share page's form): how many, or the refusal. Other parts are skipped.
 */
export async function storeUploads(ctx: ShareRequest, parts: AsyncIterable<Part>): Promise<number | Response> {
  const { share, conn } = shareOf(ctx);
  const base = share.paths[0]!;
  let uploaded = 0;
  try {
    for await (const part of parts) {
      if (part.name !== 'filenames' || part.filename === undefined) continue;
      // An empty file input posts one part without a name: nothing was chosen.
      if (part.filename === '') continue;
      // Only the name's last element counts: a multipart file name cannot pick another directory.
      const vpath = posix.join(base, posix.basename(cleanSharePath(part.filename.replace(/\\/g, '/'))));
      if (vpath === base) return errorResponse(ctx.c, 400, 'an uploaded file has no name');
      let refund: () => void;
      try {
        refund = await spend(ctx, 1);
      } catch (err) {
        if (err instanceof AppError && err.code === 'not_found') return errorResponse(ctx.c, 400, `Allowed usage exceeded: ${uploaded} file(s) stored`);
        throw err;
      }
      try {
        await requireNoLinks(conn, base, vpath);
        await uploadBody(conn, vpath, part.body);
      } catch (err) {
        refund();
        return failed(ctx, err, `Error saving file ${JSON.stringify(part.filename)}`);
      }
      uploaded++;
    }
  } catch (err) {
    if (err instanceof MultipartError) return errorResponse(ctx.c, 400, `Unable to parse multipart form: ${err.message}`);
    throw err;
  }
  if (uploaded === 0) return errorResponse(ctx.c, 400, 'No files uploaded!');
  return uploaded;
}

const PATH_QUERY: QueryParam = { name: 'path', description: 'A path relative to the shared directory', schema: { type: 'string' } };

export const SHARE_ROUTES: Route[] = [
  { method: 'get', path: '/api/v2/shares/{id}', summary: "Download a read share: a ZIP of its paths, or with compress=false its single file (HTTP Basic with the share's password, when it has one)", tag: 'public shares', auth: 'share', shareScopes: READ,
    query: [{ name: 'compress', description: 'false: a share of one file sends the file itself', schema: { type: 'boolean', default: true } }], handler: download },
  { method: 'post', path: '/api/v2/shares/{id}', summary: 'Upload files to a write share (multipart, field "filenames"); each file is one use', tag: 'public shares', auth: 'share', shareScopes: WRITE, status: 201,
    handler: uploadMany },
  { method: 'get', path: '/api/v2/shares/{id}/dirs', summary: "List a directory of a read share of one directory (SFTPGo's DirEntry list)", tag: 'public shares', auth: 'share', shareScopes: READ,
    query: [PATH_QUERY], returns: 'DirEntry[]', handler: listDir },
  { method: 'get', path: '/api/v2/shares/{id}/files', summary: 'Download one file of a read share of one directory (a Range header is honoured)', tag: 'public shares', auth: 'share', shareScopes: READ,
    query: [PATH_QUERY], handler: downloadFile },
  { method: 'post', path: '/api/v2/shares/{id}/{fileName}', summary: 'Upload one file, the raw request body, to a write share', tag: 'public shares', auth: 'share', shareScopes: WRITE, status: 201,
    query: [{ name: 'mkdir_parents', description: 'true: create the missing directories of a fileName with slashes', schema: { type: 'boolean', default: false } }], handler: uploadOne },
];
