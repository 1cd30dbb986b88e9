// A small Google Cloud Storage JSON API server for tests (storage/v1 and upload/storage/v1),
// written with node:http because no GCS emulator installs from npm or Debian here. It follows
// Google's documented behaviour of the JSON API closely enough that the unmodified
// @google-cloud/storage SDK works against it (`apiEndpoint: server.endpoint`); it is NOT Google,
// has no auth, no ACLs, no versioning, and implements only what our tests exercise:
//   buckets: insert, get, list, delete
//   objects: media / multipart / resumable uploads (gcs-uploads.ts), get (metadata or alt=media
//   with Range), list (prefix, delimiter, maxResults, pageToken, start/endOffset), patch,
//   delete, rewriteTo / copyTo with metadata replacement, if(Meta)generation(Not)Match → 412.
// Object bytes live as files under a temp dir; nothing is held whole in memory.
import { createReadStream, mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  bucketResource,
  checkPreconditions,
  etagOf,
  GcsError,
  GcsStore,
  objectResource,
  type ObjectRecord,
  preconditionsOf,
} from './gcs-store.ts';
import { readJson, Uploads } from './gcs-uploads.ts';

export interface GcsServer {
  /** `http://127.0.0.1:PORT`: pass as the SDK's `apiEndpoint`. */
  readonly endpoint: string;
  readonly store: GcsStore;
  /** Requests served, by route name (e.g. `upload.resumable.put`), for tests that count round trips. */
  readonly counts: Map<string, number>;
  /** Resumable sessions neither finished nor cancelled. */
  openSessions(): number;
  createBucket(name: string): void;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const e = err instanceof GcsError ? err : new GcsError(500, 'backendError', (err as Error)?.message ?? String(err));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body we did not read cannot be left on a keep-alive connection.
  const headers: Record<string, string> = req.readableEnded ? {} : { Connection: 'close' };
  sendJson(res, e.status, { error: { code: e.status, message: e.message, errors: [{ domain: 'global', reason: e.reason, message: e.message }] } }, headers);
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive [start, end], or 'unsatisfiable'. */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // malformed or multi-range: ignored, as RFC 9110 allows
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

async function download(req: IncomingMessage, res: ServerResponse, o: ObjectRecord): Promise<void> {
  const headers: Record<string, string | number> = {
    'Content-Type': o.fields.contentType ?? 'application/octet-stream',
    ETag: etagOf(o),
    'Last-Modified': new Date(o.updated).toUTCString(),
    'Accept-Ranges': 'bytes',
    // The SDK validates a full download against these, and only when the stored encoding is known.
    'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
    'x-goog-generation': o.generation,
    'x-goog-metageneration': String(o.metageneration),
    'x-goog-stored-content-encoding': o.fields.contentEncoding ?? 'identity',
    'x-goog-stored-content-length': String(o.size),
  };
  const range = parseRange(req.headers.range, o.size);
  if (range === 'unsatisfiable') {
    sendJson(res, 416, { error: { code: 416, message: 'The requested range cannot be satisfied.', errors: [{ domain: 'global', reason: 'requestedRangeNotSatisfiable', message: 'The requested range cannot be satisfied.' }] } }, { 'Content-Range': `bytes */${o.size}` });
    return;
  }
  // Open before answering: the file of a replaced generation may be unlinked any moment after.
  const file = createReadStream(o.path, range ? { start: range.start, end: range.end } : {});
  await new Promise<void>((resolve, reject) => file.once('open', () => resolve()).once('error', reject));
  if (range) {
    res.writeHead(206, { ...headers, 'Content-Length': range.end - range.start + 1, 'Content-Range': `bytes ${range.start}-${range.end}/${o.size}` });
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': o.size });
  }
  // A client that goes away mid-download is not a server error.
  await pipeline(file, res).catch(() => file.destroy());
}

const PREFIX = /^\/(?:(upload|download)\/)?(?:storage\/v1\/)?/;

export async function startGcsServer(opts: { root?: string; port?: number } = {}): Promise<GcsServer> {
  const store = new GcsStore(opts.root ?? mkdtempSync(join(tmpdir(), 'gcs-server-')));
  const uploads = new Uploads(store);
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const q = url.searchParams;
    const pm = PREFIX.exec(url.pathname)!;
    const kind = pm[1] ?? 'api'; // 'upload' | 'download' | 'api'
    // Object names arrive percent-encoded in one path segment; STORAGE_EMULATOR_HOST clients omit /storage/v1.
    const segs = url.pathname.slice(pm[0].length).split('/').map((s) => decodeURIComponent(s));
    const method = req.method ?? 'GET';
    const count = (name: string): void => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    };
    if (segs[0] !== 'b') throw new GcsError(404, 'notFound', `Not Found: ${url.pathname}`);
    const [, bucket, o, name, op, , dstBucket, , dstName] = segs;

    if (kind === 'upload') {
      if (!bucket || o !== 'o' || name !== undefined) throw new GcsError(404, 'notFound', 'Not Found');
      if (method === 'POST') {
        count(`upload.${q.get('uploadType')}`);
        const r = await uploads.insert(req, bucket, q, base);
        if (r.kind === 'session') return void res.writeHead(200, { Location: r.location, 'Content-Length': 0 }).end();
        if (r.kind === 'object') return sendJson(res, 200, objectResource(r.object, base));
      }
      if (method === 'PUT') {
        count('upload.resumable.put');
        const r = await uploads.put(req, q);
        if (r.kind === 'object') return sendJson(res, 200, objectResource(r.object, base));
        if (r.kind === 'incomplete') return void res.writeHead(308, r.range ? { Range: r.range, 'Content-Length': 0 } : { 'Content-Length': 0 }).end();
      }
      if (method === 'DELETE') {
        count('upload.resumable.cancel');
        await uploads.cancel(q);
        return void res.writeHead(499, 'Client Closed Request', { 'Content-Length': 0 }).end();
      }
      throw new GcsError(405, 'methodNotAllowed', `${method} not allowed here`);
    }

    if (bucket === undefined) {
      if (method === 'POST') {
        count('buckets.insert');
        const body = await readJson(req);
        const b = store.createBucket(String(body.name ?? ''), typeof body.storageClass === 'string' ? body.storageClass : undefined);
        return sendJson(res, 200, bucketResource(b, base));
      }
      if (method === 'GET') {
        count('buckets.list');
        return sendJson(res, 200, { kind: 'storage#buckets', items: [...store.buckets.values()].map((b) => bucketResource(b, base)) });
      }
    } else if (o === undefined) {
      if (method === 'GET') {
        count('buckets.get');
        return sendJson(res, 200, bucketResource(store.bucket(bucket), base));
      }
      if (method === 'DELETE') {
        count('buckets.delete');
        store.deleteBucket(bucket);
        return void res.writeHead(204).end();
      }
    } else if (o === 'o' && name === undefined) {
      if (method === 'GET') {
        count('objects.list');
        const maxResults = Math.min(Number(q.get('maxResults') ?? 1000) || 1000, 1000);
        const page = store.list(bucket, {
          prefix: q.get('prefix') ?? '',
          delimiter: q.get('delimiter') || undefined,
          maxResults,
          pageToken: q.get('pageToken') ?? undefined,
          startOffset: q.get('startOffset') ?? undefined,
          endOffset: q.get('endOffset') ?? undefined,
          includeTrailingDelimiter: q.get('includeTrailingDelimiter') === 'true',
        });
        return sendJson(res, 200, {
          kind: 'storage#objects',
          ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
          ...(page.prefixes.length ? { prefixes: page.prefixes } : {}),
          ...(page.items.length ? { items: page.items.map((i) => objectResource(i, base)) } : {}),
        });
      }
    } else if (o === 'o' && name !== undefined && op === undefined) {
      if (method === 'GET') {
        const obj = store.object(bucket, name);
        if (q.get('generation') && q.get('generation') !== obj.generation) throw new GcsError(404, 'notFound', `No such object: ${bucket}/${name}#${q.get('generation')}`);
        const pre = preconditionsOf(q);
        // On reads, a failed "NotMatch" is "not modified", as in HTTP.
        if ((pre.ifGenerationNotMatch !== undefined && pre.ifGenerationNotMatch === obj.generation) || (pre.ifMetagenerationNotMatch !== undefined && pre.ifMetagenerationNotMatch === String(obj.metageneration))) {
          return void res.writeHead(304).end();
        }
        checkPreconditions(obj, pre);
        if (q.get('alt') === 'media' || kind === 'download') {
          count('objects.download');
          return download(req, res, obj);
        }
        count('objects.get');
        return sendJson(res, 200, objectResource(obj, base));
      }
      if (method === 'PATCH') {
        count('objects.patch');
        const body = await readJson(req);
        const obj = store.object(bucket, name);
        checkPreconditions(obj, preconditionsOf(q));
        return sendJson(res, 200, objectResource(store.patch(obj, body), base));
      }
      if (method === 'DELETE') {
        count('objects.delete');
        const obj = store.object(bucket, name);
        checkPreconditions(obj, preconditionsOf(q));
        store.delete(obj);
        return void res.writeHead(204).end();
      }
    } else if (o === 'o' && name !== undefined && (op === 'rewriteTo' || op === 'copyTo') && method === 'POST' && dstBucket && dstName) {
      count(`objects.${op}`);
      const body = await readJson(req);
      const src = store.object(bucket, name);
      if (q.get('sourceGeneration') && q.get('sourceGeneration') !== src.generation) throw new GcsError(404, 'notFound', `No such object: ${bucket}/${name}`);
      checkPreconditions(src, preconditionsOf(q, 'ifSource'));
      const rec = await store.copy(src, dstBucket, dstName, body, preconditionsOf(q));
      const resource = objectResource(rec, base);
      if (op === 'copyTo') return sendJson(res, 200, resource);
      // One call always finishes here, so no rewriteToken is ever handed out.
      return sendJson(res, 200, { kind: 'storage#rewriteResponse', totalBytesRewritten: String(rec.size), objectSize: String(rec.size), done: true, resource });
    }
    throw new GcsError(404, 'notFound', `Not Found: ${method} ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err) => sendError(req, res, err));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    store,
    counts,
    openSessions: () => uploads.openSessions,
    createBucket: (name) => void store.createBucket(name),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await uploads.close();
      store.close();
    },
  };
}
