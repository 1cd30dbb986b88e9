// The multipart/form-data body of an HTTP action with `parts` (SFTPGo's HTTPPart): text parts with
// the event's placeholders, file parts read from the event user's files through the core. The body
// is produced while the request sends it, so a file part of any size costs one chunk of memory.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { EventHttpPart } from '../../config/schema-types.ts';
import { contentTypeOf } from '../../lib/mime.ts';
import type { Connection } from '../connection.ts';
import { cleanVirtualPath } from '../paths.ts';
import { fileChunks } from './files.ts';
import { fillPlaceholders } from './params.ts';

export interface MultipartBody {
  contentType: string;
  stream: ReadableStream<Uint8Array>;
}

/** A quoted-string parameter value, as Go's multipart writer escapes it. */
function quoted(v: string): string {
  return v.replace(/[\\"]/g, (ch) => `\\${ch}`).replace(/[\r\n]/g, ' ');
}

/** Header values with no line breaks: a placeholder cannot inject a header. */
function headerValue(v: string): string {
  return v.replace(/[\r\n]+/g, ' ');
}

export interface MultipartOptions {
  parts: readonly EventHttpPart[];
  values: ReadonlyMap<string, string>;
  /** The event user's tree; required when a part has a filepath. */
  conn?: Connection;
}

async function* partsOf(boundary: string, opts: MultipartOptions): AsyncGenerator<Uint8Array> {
  for (const part of opts.parts) {
    const headers = new Map<string, [string, string]>();
    const set = (k: string, v: string) => {
      const key = k.replace(/[\r\n:]/g, '');
      headers.set(key.toLowerCase(), [key, headerValue(v)]);
    };
    const file = part.filepath ? cleanVirtualPath(fillPlaceholders(part.filepath, opts.values)) : undefined;
    if (file === undefined) set('Content-Disposition', `form-data; name="${quoted(part.name)}"`);
    else {
      set('Content-Disposition', `form-data; name="${quoted(part.name)}"; filename="${quoted(posix.basename(file))}"`);
      set('Content-Type', contentTypeOf(file));
    }
    for (const h of part.headers ?? []) set(h.key, fillPlaceholders(h.value ?? '', opts.values));
    const head = [...headers.values()].map(([k, v]) => `${k}: ${v}\r\n`).join('');
    yield Buffer.from(`--${boundary}\r\n${head}\r\n`);
    if (file === undefined) {
      const json = headers.get('content-type')?.[1].toLowerCase().includes('application/json') ?? false;
      yield Buffer.from(fillPlaceholders(part.body ?? '', opts.values, json ? 'json' : 'none'));
    } else {
      if (!opts.conn) throw new Error('file parts are files of the event\'s user: this run has no user');
      yield* fileChunks(opts.conn, file);
    }
    yield Buffer.from('\r\n');
  }
  yield Buffer.from(`--${boundary}--\r\n`);
}

export function multipartBody(opts: MultipartOptions): MultipartBody {
  const boundary = randomBytes(30).toString('hex');
  const chunks = partsOf(boundary, opts);
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await chunks.return(undefined).catch(() => undefined);
    },
  });
  return { contentType: `multipart/form-data; boundary=${boundary}`, stream };
}
