// One streaming GCS upload, as a resumable upload session sent chunk by chunk from buffers we own
// (Google's documented protocol: a POST opens the session, each PUT carries `Content-Range`, 308
// answers with the persisted `Range`, the PUT that names the total size finalizes). Bytes are
// copied into a chunk buffer; a full chunk goes up once the next byte arrives (the last one, on
// complete(), also names the total), while the next chunk fills. One chunk is in flight at a time
// (GCS takes a session's chunks in order), so memory stays within two chunk buffers, reused.
//
// Why not the SDK's write stream: it passes every block through four streams and keeps each chunk
// until acknowledged, and under Bun its requests go through node:http's client (object/
// fetch-http.ts): a 1 GiB upload through the backend alone peaked +173 MiB with it.
//
// A chunk whose request fails with a network error, 408, 429 or 5xx is sent again (from what the
// session says it holds, after a status query), up to MAX_ATTEMPTS; each attempt has the chunk
// deadline (upload_part_max_time). abort() cancels the request in flight and the session (DELETE
// on its URI, as Google documents), so nothing lingers and no object appears. complete() checks
// the CRC32C GCS reports against the one computed over the bytes sent.
import { AppError } from '../../errors.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';
import { objectStoresUseFetch } from '../../runtime.ts';
import { abortedError, onAbort } from '../abort.ts';
import { bodyOf, bunInit } from '../object/fetch-http.ts';
import type { ObjectUpload } from '../object/client.ts';
import { crc32cGenerator } from './crc32c.ts';
import { gcsError } from './errors.ts';

/** The first buffer starts small and doubles, so small files do not each cost a full chunk. */
const FIRST_BUFFER_BYTES = 64 * 1024;
const MAX_ATTEMPTS = 4;
const RETRY_BASE_MS = 500;
/** How long cancelling the session may take. */
const CANCEL_MS = 5000;

export interface GcsUploadTarget {
  /** e.g. https://storage.googleapis.com, or an emulator's endpoint. */
  apiEndpoint: string;
  bucket: string;
  key: string;
  chunkBytes: number;
  chunkMaxMs: number;
  /** Object resource fields: contentType, storageClass, metadata. */
  resource: Record<string, unknown>;
  predefinedAcl?: string | undefined;
  /** Authorization headers for a request to `url` (none for an emulator). */
  authHeaders: (url: string) => Promise<Record<string, string>>;
  signal?: AbortSignal | undefined;
}

/** An HTTP answer that is an error, shaped as gcsError() classifies it (`code` = status). */
class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof HttpError) return err.code === 408 || err.code === 429 || err.code >= 500;
  return !(err instanceof AppError) && (err as Error | undefined)?.name !== 'AbortError';
}

export class GcsResumableUpload implements ObjectUpload {
  #state: 'open' | 'completing' | 'done' | 'aborted' = 'open';
  #buf: Buffer | undefined;
  #filled = 0;
  /** A full-size buffer whose chunk has been sent, for the next chunk. */
  #spare: Buffer | undefined;
  /** Bytes handed to earlier chunks (the offset of the current buffer's first byte). */
  #offset = 0;
  #inFlight: Promise<void> | undefined;
  #failure: unknown;
  #session: Promise<string> | undefined;
  #sessionUri: string | undefined;
  readonly #crc = crc32cGenerator();
  /** Cancels the requests in flight on abort. */
  readonly #controller = new AbortController();
  readonly #unlink: () => void;
  readonly #init = objectStoresUseFetch() ? bunInit(false) : {};

  constructor(private readonly t: GcsUploadTarget) {
    // A commit under way is not interrupted: half a completion is worse than finishing it.
    this.#unlink = onAbort(t.signal, () => {
      if (this.#state === 'open') void this.abort();
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#checkOpen();
    let off = 0;
    while (off < chunk.byteLength) {
      // A full chunk goes up only now that more bytes follow it: the last one names the total.
      if (this.#filled === this.t.chunkBytes) await this.#sendFilled(false);
      const buf = this.#buffer(chunk.byteLength - off);
      const n = Math.min(chunk.byteLength - off, buf.length - this.#filled);
      buf.set(chunk.subarray(off, off + n), this.#filled);
      this.#filled += n;
      off += n;
    }
  }

  async complete(): Promise<void> {
    if (this.#state !== 'open') throw new AppError('invalid', `gcs upload "${this.t.key}": complete after ${this.#state}`);
    this.#checkOpen();
    this.#state = 'completing';
    try {
      await this.#sendFilled(true);
      await this.#inFlight;
      if (this.#failure !== undefined) throw this.#failure;
      this.#state = 'done';
      this.#unlink();
      this.#release();
    } catch (err) {
      this.#failure ??= err;
      this.#state = 'aborted';
      await this.#cancel();
      throw gcsError(this.#failure, 'upload', this.t.key);
    }
  }

  async abort(): Promise<void> {
    if (this.#state === 'done' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    await this.#cancel();
  }

  async #cancel(): Promise<void> {
    this.#unlink();
    this.#controller.abort();
    await this.#inFlight?.catch(() => undefined);
    const uri = this.#sessionUri ?? (await this.#session?.catch(() => undefined));
    if (uri) {
      // Best effort, and brief (a peer that hangs must not hold the failure): an uncancelled
      // session expires on its own after a week.
      await fetch(uri, { method: 'DELETE', signal: AbortSignal.timeout(CANCEL_MS), ...this.#init } as RequestInit).then(
        (res) => res.body?.cancel(),
        () => undefined,
      );
    }
    this.#release();
  }

  #checkOpen(): void {
    if (this.#failure !== undefined) throw gcsError(this.#failure, 'upload', this.t.key);
    if (this.#state !== 'open') throw new AppError('invalid', `gcs upload "${this.t.key}": write after ${this.#state}`);
  }

  /** The chunk buffer, grown (first chunk only) to fit `want` more bytes, up to the chunk size. */
  #buffer(want: number): Buffer {
    const size = this.t.chunkBytes;
    if (!this.#buf) {
      this.#buf = this.#spare ?? Buffer.allocUnsafe(this.#offset > 0 ? size : Math.min(size, Math.max(FIRST_BUFFER_BYTES, want)));
      this.#spare = undefined;
    } else if (this.#filled === this.#buf.length && this.#buf.length < size) {
      let next = this.#buf.length * 2;
      while (next < this.#filled + want && next < size) next *= 2;
      const grown = Buffer.allocUnsafe(Math.min(size, next));
      grown.set(this.#buf.subarray(0, this.#filled));
      freeBuffer(this.#buf);
      this.#buf = grown;
    }
    return this.#buf;
  }

  /** Sends the filled buffer as the next chunk (the final one: with the total), once the previous one is through. */
  async #sendFilled(final: boolean): Promise<void> {
    await this.#inFlight;
    if (this.#failure !== undefined) throw gcsError(this.#failure, 'upload', this.t.key);
    if (this.#controller.signal.aborted) throw abortedError('gcs upload', this.t.key);
    const buf = this.#buf;
    const len = this.#filled;
    const start = this.#offset;
    this.#buf = undefined;
    this.#filled = 0;
    this.#offset += len;
    if (buf && len > 0) this.#crc.update(buf.subarray(0, len));
    this.#session ??= this.#open();
    this.#session.catch(() => undefined); // reported through the chunk that awaits it
    this.#inFlight = this.#sendChunk(buf?.subarray(0, len), start, final ? this.#offset : undefined).then(
      () => {
        // Its request has finished: the buffer serves the next chunk.
        if (buf && buf.length === this.t.chunkBytes && this.#state !== 'aborted') this.#spare = buf;
        else if (buf && this.#state !== 'aborted') freeBuffer(buf);
      },
      (err: unknown) => {
        this.#failure ??= this.#controller.signal.aborted ? abortedError('gcs upload', this.t.key) : err;
      },
    );
    // The chunk goes up while the next one fills; complete() waits for the last.
  }

  /** Opens the session; resolves its URI. */
  async #open(): Promise<string> {
    const t = this.t;
    const q = new URLSearchParams({ uploadType: 'resumable', name: t.key });
    if (t.predefinedAcl) q.set('predefinedAcl', t.predefinedAcl);
    const url = `${t.apiEndpoint}/upload/storage/v1/b/${encodeURIComponent(t.bucket)}/o?${q}`;
    const headers: Record<string, string> = { ...(await t.authHeaders(url)), 'content-type': 'application/json; charset=UTF-8' };
    if (typeof t.resource.contentType === 'string') headers['x-upload-content-type'] = t.resource.contentType;
    // The session is the first request of the first chunk: it has the chunk's deadline.
    const res = await this.#retrying('the session', this.t.chunkMaxMs, (signal) =>
      fetch(url, { method: 'POST', headers, body: JSON.stringify(t.resource), signal, ...this.#init } as RequestInit).then(async (r) => {
        if (!r.ok) throw await httpError(r, 'session');
        await r.body?.cancel();
        return r;
      }),
    );
    const uri = res.headers.get('location');
    if (!uri) throw new AppError('io', `gcs upload "${t.key}": no session URI in the answer`);
    this.#sessionUri = uri;
    return uri;
  }

  /** Sends bytes [start, start + data.length) of the object; `total` on the final chunk. */
  async #sendChunk(data: Uint8Array | undefined, start: number, total: number | undefined): Promise<void> {
    const uri = await this.#session!;
    const len = data?.byteLength ?? 0;
    let from = start;
    await this.#retrying('a chunk', this.t.chunkMaxMs, async (signal, attempt) => {
      // After a failed attempt, the session says what it holds: send on from there.
      if (attempt > 0) from = Math.max(start, await this.#persisted(uri, signal));
      const piece = data?.subarray(from - start);
      const n = piece?.byteLength ?? 0;
      const range = n > 0 ? `bytes ${from}-${from + n - 1}/${total ?? '*'}` : `bytes */${total ?? '*'}`;
      const body = n > 0 ? (objectStoresUseFetch() ? bodyOf(piece!) : piece) : undefined;
      const res = await fetch(uri, {
        method: 'PUT',
        headers: { 'content-range': range, 'content-length': String(n), 'accept-encoding': 'identity' },
        ...(body ? { body, duplex: 'half' } : {}),
        signal,
        ...this.#init,
      } as RequestInit);
      if (res.status === 308) {
        await res.body?.cancel();
        const held = persistedOf(res.headers.get('range'));
        // A server that kept less than was sent: the rest again (GCS may persist part of a request).
        if (held < start + len) {
          from = held;
          throw new HttpError(503, `gcs upload "${this.t.key}": the session kept ${held} of ${start + len} bytes`);
        }
        if (total !== undefined) throw new AppError('io', `gcs upload "${this.t.key}": the final chunk was not accepted`);
        return;
      }
      if (!res.ok) throw await httpError(res, 'chunk');
      if (total === undefined) throw new AppError('io', `gcs upload "${this.t.key}": the object was committed before its last chunk`);
      const object = (await res.json().catch(() => ({}))) as { crc32c?: string };
      if (object.crc32c && !this.#crc.validate(object.crc32c))
        throw new AppError('io', `gcs upload "${this.t.key}": CRC32C mismatch (sent ${this.#crc.toString()}, stored ${object.crc32c})`);
    });
  }

  /** The number of bytes the session holds (a status query). */
  async #persisted(uri: string, signal: AbortSignal): Promise<number> {
    const res = await fetch(uri, { method: 'PUT', headers: { 'content-range': 'bytes */*', 'content-length': '0' }, signal, ...this.#init } as RequestInit);
    await res.body?.cancel();
    if (res.status !== 308) throw await httpError(res, 'status');
    return persistedOf(res.headers.get('range'));
  }

  /** Runs one request with its deadline, again after a retryable failure (backing off). */
  async #retrying<T>(what: string, ms: number, send: (signal: AbortSignal, attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const deadline = AbortSignal.timeout(ms);
      try {
        return await send(AbortSignal.any([this.#controller.signal, deadline]), attempt);
      } catch (err) {
        if (this.#controller.signal.aborted) throw abortedError('gcs upload', this.t.key);
        if (deadline.aborted) throw new AppError('io', `gcs upload "${this.t.key}": ${what} took longer than ${ms / 1000} s (upload_part_max_time)`);
        if (attempt + 1 >= MAX_ATTEMPTS || !retryable(err)) throw err;
        await new Promise((r) => setTimeout(r, RETRY_BASE_MS * 2 ** attempt));
      }
    }
  }

  #release(): void {
    if (this.#spare) freeBuffer(this.#spare);
    this.#spare = undefined;
    // After a failure the current buffer may be the body of a cancelled request: left to the collector.
    if (this.#state === 'done' && this.#buf) freeBuffer(this.#buf);
    this.#buf = undefined;
    this.#filled = 0;
  }
}

/** "bytes=0-N" -> N + 1; none: 0. */
function persistedOf(range: string | null): number {
  const m = range && /bytes=0-(\d+)/.exec(range);
  return m ? Number(m[1]) + 1 : 0;
}

async function httpError(res: Response, what: string): Promise<HttpError> {
  const text = await res.text().catch(() => '');
  return new HttpError(res.status, `gcs ${what}: HTTP ${res.status} ${text.slice(0, 200)}`);
}

