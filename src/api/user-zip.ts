// The user API's `/api/v2/user/streamzip`: the files and directories a user names, as one zip
// streamed while it is read (src/lib/zip-stream.ts), each file through the core's Download so
// permissions, patterns and download actions apply as to any download.
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import type { Connection } from '../core/connection.ts';
import { zipStream, type ZipEntry } from '../lib/zip-stream.ts';
import type { FileInfo } from '../vfs/fs.ts';
import type { ApiContext } from './app.ts';
import { attempt, conn, contentDisposition, reply } from './user-files.ts';

/** Deeper trees are not walked (SFTPGo's limit). */
const MAX_ZIP_DEPTH = 1000;

async function* zipEntries(c: Connection, vpath: string, st: FileInfo, depth: number): AsyncGenerator<ZipEntry> {
  if (depth >= MAX_ZIP_DEPTH) throw new AppError('unsupported', `${vpath}: the tree is too deep`);
  const name = vpath.slice(1);
  if (st.type === 'dir') {
    yield { name: `${name}/`, mtimeMs: st.mtimeMs };
    const children: FileInfo[] = [];
    for await (const e of await c.fs.openDir(vpath)) children.push(e);
    for (const child of children) yield* zipEntries(c, posix.join(vpath, child.name), child, depth + 1);
    return;
  }
  // Only regular files, as SFTPGo.
  if (st.type !== 'file') return;
  const dl = await c.fs.openDownload(c, vpath);
  yield {
    name,
    mtimeMs: st.mtimeMs,
    data: async function* () {
      try {
        yield* dl.chunks(0);
        await dl.close();
      } finally {
        await dl.abort().catch(() => undefined);
      }
    },
  };
}

function zipName(username: string, files: string[]): string {
  if (files.length === 1) {
    const base = posix.basename(files[0]!);
    return `${username}-${base.slice(0, base.length - posix.extname(base).length)}.zip`;
  }
  return `${username}-download.zip`;
}

/** POST /streamzip: a JSON list of paths → one zip, streamed as it is read. */
export async function streamZip(ctx: ApiContext): Promise<Response> {
  const list = ctx.body;
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) return reply(ctx, 400, '', 'the body must be a JSON list of paths');
  const c = conn(ctx);
  const files = [...new Set(list.map((p: string) => c.fs.path(p, '/')))];
  if (files.length === 0) return reply(ctx, 400, '', 'no files to compress');
  return attempt(ctx, 'Unable to compress the files', async () => {
    // Every named path is checked before the first byte goes out, so a refusal is a proper error.
    const stats: FileInfo[] = [];
    for (const f of files) {
      if (f === '/') throw new AppError('invalid', 'the root directory cannot be compressed: name what it holds');
      stats.push(await c.fs.stat(f));
    }
    const entries = async function* (): AsyncGenerator<ZipEntry> {
      for (const [i, f] of files.entries()) yield* zipEntries(c, f, stats[i]!, 0);
    };
    const chunks = zipStream(entries());
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await chunks.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          ctx.runtime.log('warn', 'user_api_zip_failed', { username: c.username, error: (err as Error).message });
          controller.error(err);
        }
      },
      async cancel() {
        await chunks.return(undefined).catch(() => undefined);
      },
    });
    return new Response(body, {
      status: 200,
      headers: { 'Content-Type': 'application/zip', 'Accept-Ranges': 'none', 'Content-Disposition': contentDisposition('attachment', zipName(c.username, files)) },
    });
  });
}
