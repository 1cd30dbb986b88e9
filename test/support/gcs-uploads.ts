// Upload paths of the GCS test server (upload/storage/v1): `uploadType=media`, `multipart` and
// `resumable` (session start, chunked PUTs answered by 308 + Range, status queries, cancel by
// DELETE → 499). Bytes are streamed to files in the store's upload dir and adopted on commit, so
// an unfinished or cancelled upload never shows up as an object. Follows Google's documented
// behaviour of the JSON API; it is not Google.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm, truncate, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { boundaryOf, readMultipartUpload } from './gcs-multipart.ts';
import { GcsError, type GcsStore, type ObjectRecord, type Preconditions, preconditionsOf } from './gcs-store.ts';

interface Session {
  id: string;
  bucket: string;
  name: string;
  resource: Record<string, unknown>;
  pre: Preconditions;
  path: string;
  /** Bytes persisted so far (the file's length). */
  received: number;
  busy: boolean;
  cancelled: boolean;
}

export type UploadResult =
  | { kind: 'object'; object: ObjectRecord }
  | { kind: 'incomplete'; range?: string }
  | { kind: 'session'; location: string };

/**
 * The request body, decoded: the SDK gzips its JSON request bodies (`Content-Encoding: gzip`),
 * which GCS accepts.
 */
export function bodyOf(req: IncomingMessage): Readable {
  if (!/^\s*gzip\s*$/i.test(String(req.headers['content-encoding'] ?? ''))) return req;
  const gunzip = createGunzip();
  req.once('error', (err) => gunzip.destroy(err));
  return req.pipe(gunzip);
}

export async function readJson(req: IncomingMessage, limit = 1 << 20): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of bodyOf(req)) {
    n += (c as Buffer).length;
    if (n > limit) throw new GcsError(400, 'badRequest', 'Request body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new GcsError(400, 'parseError', 'Parse Error');
}

/** Appends the body to `path` with backpressure, skipping its first `skip` bytes. */
async function appendBody(req: IncomingMessage, path: string, skip: number): Promise<number> {
  const out = createWriteStream(path, { flags: 'a' });
  // A body cut mid-write destroys the file stream with writes pending, which then fail on it:
  // the request has failed already, and the process must not.
  out.on('error', () => undefined);
  let written = 0;
  try {
    for await (const c of bodyOf(req)) {
      let b = c as Buffer;
      if (skip > 0) {
        const s = Math.min(skip, b.length);
        skip -= s;
        b = b.subarray(s);
      }
      if (!b.length) continue;
      written += b.length;
      if (!out.write(b)) await once(out, 'drain');
    }
    out.end();
    await finished(out);
    return written;
  } catch (err) {
    out.destroy();
    throw err;
  }
}

export class Uploads {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly store: GcsStore) {}

  /** Sessions neither finished nor cancelled (a cancelled one may still finish a chunk in flight). */
  get openSessions(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (!s.cancelled) n++;
    return n;
  }

  /** POST upload/storage/v1/b/{bucket}/o */
  async insert(req: IncomingMessage, bucket: string, q: URLSearchParams, base: string): Promise<UploadResult> {
    this.store.bucket(bucket);
    const type = q.get('uploadType');
    const pre = preconditionsOf(q);
    if (type === 'media') {
      const name = q.get('name');
      if (!name) throw new GcsError(400, 'required', 'Required: name');
      const path = this.store.newUploadPath();
      try {
        await appendBody(req, path, 0);
        const contentType = req.headers['content-type'];
        const object = await this.store.commit(bucket, name, path, contentType ? { contentType } : {}, pre);
        return { kind: 'object', object };
      } finally {
        await rm(path, { force: true });
      }
    }
    if (type === 'multipart') {
      const path = this.store.newUploadPath();
      try {
        const { resource, mediaType } = await readMultipartUpload(bodyOf(req), boundaryOf(req.headers['content-type']), path);
        const name = q.get('name') ?? (typeof resource.name === 'string' ? resource.name : '');
        const r = { ...resource };
        if (mediaType && typeof r.contentType !== 'string') r.contentType = mediaType;
        return { kind: 'object', object: await this.store.commit(bucket, name, path, r, pre) };
      } finally {
        await rm(path, { force: true });
      }
    }
    if (type === 'resumable') {
      const resource = await readJson(req);
      const name = q.get('name') ?? (typeof resource.name === 'string' ? resource.name : '');
      if (!name) throw new GcsError(400, 'required', 'Required: name');
      const xType = req.headers['x-upload-content-type'];
      if (typeof xType === 'string' && typeof resource.contentType !== 'string') resource.contentType = xType;
      const s: Session = { id: randomUUID(), bucket, name, resource, pre, path: this.store.newUploadPath(), received: 0, busy: false, cancelled: false };
      // Creating the file now makes status queries and appends uniform.
      await writeFile(s.path, '');
      this.sessions.set(s.id, s);
      const location = `${base}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${s.id}`;
      return { kind: 'session', location };
    }
    throw new GcsError(400, 'invalid', `Invalid upload type: ${type}`);
  }

  private session(q: URLSearchParams): Session {
    const s = this.sessions.get(q.get('upload_id') ?? '');
    if (!s || s.cancelled) throw new GcsError(404, 'notFound', 'No such upload session (it completed, was cancelled or never existed)');
    return s;
  }

  /** PUT on a session URI: a chunk, the final chunk, or a status query (`bytes * /*`). */
  async put(req: IncomingMessage, q: URLSearchParams): Promise<UploadResult> {
    const s = this.session(q);
    if (s.busy) throw new GcsError(503, 'backendError', 'Another request on this upload session is in progress');
    const cr = req.headers['content-range'];
    // No Content-Range: the body is the whole object.
    let range: { start?: number; end?: number; openEnded: boolean; total?: number } = { start: 0, openEnded: true };
    if (typeof cr === 'string') {
      const m = /^bytes (?:\*|(\d+)-(-1|\d+|\*))\/(\*|\d+)$/.exec(cr.trim());
      if (!m) throw new GcsError(400, 'invalid', `Invalid Content-Range: ${cr}`);
      const total = m[3] === '*' ? undefined : Number(m[3]);
      if (m[1] === undefined) range = { openEnded: false, total };
      // The SDK announces an empty final chunk as `bytes 0--1/0`.
      else if (m[2] === '-1') range = { openEnded: false, total };
      else if (m[2] === '*') range = { start: Number(m[1]), openEnded: true, total };
      else range = { start: Number(m[1]), end: Number(m[2]), openEnded: false, total };
    }
    s.busy = true;
    try {
      if (range.start !== undefined) {
        if (range.start > s.received) throw new GcsError(400, 'invalid', `Chunk starts at ${range.start}, but only ${s.received} bytes were received`);
        const before = s.received;
        try {
          const n = await appendBody(req, s.path, s.received - range.start);
          const expected = range.end !== undefined ? range.end - range.start + 1 - (before - range.start) : undefined;
          if (expected !== undefined && n !== expected) throw new GcsError(400, 'invalid', `Chunk length ${n} does not match Content-Range ${cr}`);
          s.received += n;
        } catch (err) {
          // An interrupted chunk leaves the session where it was, as GCS persists only whole requests here.
          await truncate(s.path, before).catch(() => {});
          throw err;
        }
      } else {
        for await (const _ of req); // a status query has no body; drain anything sent anyway
      }
      if (s.cancelled) throw new GcsError(404, 'notFound', 'The upload session was cancelled');
      const total = range.openEnded && range.total === undefined && range.start !== undefined ? s.received : range.total;
      if (total !== undefined) {
        if (s.received > total) throw new GcsError(400, 'invalid', `Received ${s.received} bytes, more than the declared ${total}`);
        if (s.received === total) return { kind: 'object', object: await this.finish(s) };
      }
      return { kind: 'incomplete', range: s.received > 0 ? `bytes=0-${s.received - 1}` : undefined };
    } finally {
      s.busy = false;
      if (s.cancelled) await this.drop(s);
    }
  }

  private async finish(s: Session): Promise<ObjectRecord> {
    // The session ends whether or not the commit's preconditions hold, as in GCS.
    this.sessions.delete(s.id);
    try {
      return await this.store.commit(s.bucket, s.name, s.path, s.resource, s.pre);
    } finally {
      await rm(s.path, { force: true });
    }
  }

  /** DELETE on a session URI: cancels it; GCS answers 499. */
  async cancel(q: URLSearchParams): Promise<void> {
    const s = this.session(q);
    s.cancelled = true;
    if (!s.busy) await this.drop(s);
  }

  private async drop(s: Session): Promise<void> {
    this.sessions.delete(s.id);
    await rm(s.path, { force: true });
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) await this.drop(s);
  }
}
