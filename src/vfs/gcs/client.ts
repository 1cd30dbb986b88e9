// The GCS ObjectClient: keys in, bytes out, over @google-cloud/storage. Uploads are resumable
// uploads sent one chunk (upload_part_size) at a time, so memory is bounded by the chunk; reads
// are streamed, ranged when asked; listings are single pages (`autoPaginate: false`).
// Errors are classified by HTTP status or error code, never by message or class: the SDK throws
// ApiError (`code` = status) for JSON API calls, gaxios errors (`status`) for resumable-session
// requests, and runtime-specific network errors (`code` = ECONNREFUSED, ...) otherwise.
// Deadlines are SFTPGo's: each upload chunk upload_part_max_time, a server-side copy 5 minutes,
// every other request 30 s; a download whose peer falls silent for 30 s fails too.
import { type Bucket, type File, type FileMetadata, Storage } from '@google-cloud/storage';
import { once } from 'node:events';
import { pipeline, Readable, Transform, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AppError, type ErrorCode } from '../../errors.ts';
import { BlockBuffer } from '../object/blocks.ts';
import { destroyOnAbort, onAbort, raceAbort, REQUEST_DEADLINE_MS, withDeadline } from '../abort.ts';
import type { CallOptions } from '../fs.ts';
import type { GetRange, ListOptions, ListPage, ObjectClient, ObjectInfo, ObjectUpload, PutOptions } from '../object/client.ts';
import type { GcsTarget } from './config.ts';
import { crc32cGenerator } from './crc32c.ts';

/** GCS answers at most 1,000 entries (items + prefixes) per page. */
const MAX_PAGE = 1000;

/** SFTPGo's deadline for a server-side copy, which rewrites the whole object: 5 minutes. */
const COPY_DEADLINE_MS = 300_000;

/** The HTTP status behind an SDK error, whichever shape it came in. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } } | undefined;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.status === 'number') return e.status;
  if (typeof e?.response?.status === 'number') return e.response.status;
  return undefined;
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid',
  401: 'permission_denied',
  403: 'permission_denied',
  404: 'not_found',
  409: 'exists',
  412: 'exists',
  416: 'invalid',
};

export function gcsError(err: unknown, op: string, key: string): AppError {
  if (err instanceof AppError) return err;
  const status = statusOf(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  const kind: ErrorCode = (status !== undefined ? BY_STATUS[status] : undefined) ?? 'io';
  const why = status !== undefined ? `HTTP ${status}` : typeof code === 'string' ? code : 'failed';
  return new AppError(kind, `gcs ${op} "${key}": ${why}`, { cause: err });
}

function lowerKeys(m: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (v !== null && v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

function toInfo(m: FileMetadata): ObjectInfo {
  return {
    key: m.name ?? '',
    size: Number(m.size ?? 0),
    // SFTPGo uses `updated` too; ObjectFs prefers the mtime it keeps in metadata.
    lastModifiedMs: Date.parse(m.updated ?? m.timeCreated ?? '') || 0,
    ...(m.etag ? { etag: m.etag } : {}),
    ...(m.metadata ? { metadata: lowerKeys(m.metadata as Record<string, unknown>) } : {}),
  };
}

/**
 * One resumable upload. Writes reach the SDK in blocks of BLOCK_BYTES (the last, partial one on
 * complete()). The SDK opens the session on the first block (or on end for a small or empty
 * object) and sends a chunk whenever it has `chunkBytes`; the final chunk goes only on
 * complete(), so an aborted upload never becomes an object. abort() also cancels the session
 * (DELETE on its URI, as Google documents) so nothing lingers server-side.
 */
class GcsUpload implements ObjectUpload {
  private readonly failed: Promise<never>;
  private state: 'open' | 'completing' | 'done' | 'aborted' = 'open';
  /** Set once data reached the SDK: a session is being (or has been) created. */
  private sessionStarting = false;
  private sessionUri?: string;
  private onUri?: () => void;
  private cancelling?: Promise<void>;

  /** Bytes handed to the SDK whose write callback has not come yet. */
  private queued = 0;
  private onAccepted?: () => void;
  private writeError?: unknown;
  /** Writes are copied into blocks of BLOCK_BYTES before they reach the SDK. */
  private readonly blocks = new BlockBuffer(BLOCK_BYTES);

  private readonly aheadBytes: number;
  private readonly chunkMaxMs: number;
  /** Runs while the SDK holds data it has not acknowledged: a chunk that is late fails the upload. */
  private watchdog: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ws: Writable,
    private readonly key: string,
    { aheadBytes, chunkMaxMs, signal }: GcsUploadOptions,
  ) {
    this.aheadBytes = aheadBytes;
    this.chunkMaxMs = chunkMaxMs;
    this.failed = new Promise<never>((_, reject) => ws.once('error', (err) => reject(gcsError(err, 'upload', key))));
    this.failed.catch(() => {}); // observed through write()/complete(); never unhandled
    ws.on('error', () => {}); // errors after abort() are expected and already reported
    ws.once('writing', () => {
      this.sessionStarting = true;
    });
    ws.on('uri', (uri: string) => {
      this.sessionUri = uri;
      this.onUri?.();
      // A session whose creation finished after abort(): cancel it too.
      if (this.state === 'aborted') void this.cancelSession();
    });
    // The caller's signal discards the upload like abort(); a commit under way is not interrupted.
    const unlink = onAbort(signal, () => {
      if (this.state === 'open') void this.abort();
    });
    ws.once('close', () => {
      unlink();
      this.disarm();
    });
  }

  /**
   * (Re)starts the chunk deadline, counted from the last acknowledgement: the SDK acknowledges
   * writes chunk by chunk, so a chunk that never gets through (a silent or crawling peer, or a
   * session request that never answers) stops them.
   */
  private arm(): void {
    this.disarm();
    if (this.state === 'done' || this.state === 'aborted') return;
    if (this.queued === 0 && this.state !== 'completing') return;
    this.watchdog = setTimeout(() => {
      const err = new AppError('io', `gcs upload "${this.key}": a chunk took longer than ${this.chunkMaxMs / 1000} s (upload_part_max_time)`);
      this.writeError ??= err;
      this.ws.destroy(err);
    }, this.chunkMaxMs);
  }

  private disarm(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new AppError('invalid', `gcs upload "${this.key}": write after ${this.state}`));
    if (this.writeError) return Promise.reject(this.writeError);
    // The SDK keeps each chunk's buffers until GCS acknowledges the chunk (to resend it): they are
    // blocks of our own, never the caller's, which may reuse theirs once write() resolves.
    this.blocks.add(chunk, (block) => this.send(block));
    if (this.queued <= this.aheadBytes) return Promise.resolve();
    const accepted = new Promise<void>((resolve, reject) => {
      this.onAccepted = () => {
        if (this.writeError) reject(this.writeError);
        else if (this.queued <= this.aheadBytes) resolve();
        else return;
        this.onAccepted = undefined;
      };
    });
    return Promise.race([accepted, this.failed]);
  }

  /** Hands one block to the SDK; `queued` counts it until the SDK acknowledges it. */
  private send(block: Buffer): void {
    this.queued += block.length;
    if (!this.watchdog) this.arm();
    this.ws.write(block, (err) => {
      this.queued -= block.length;
      if (err) this.writeError ??= gcsError(err, 'upload', this.key);
      this.arm();
      this.onAccepted?.();
    });
  }

  async complete(): Promise<void> {
    if (this.state !== 'open') throw new AppError('invalid', `gcs upload "${this.key}": complete after ${this.state}`);
    this.state = 'completing';
    try {
      const last = this.blocks.take();
      if (last) this.send(last);
      this.ws.end();
      // The last chunk and the finalizing request get a deadline of their own.
      this.arm();
      await Promise.race([finished(this.ws), this.failed]);
      this.state = 'done';
      this.disarm();
    } catch (err) {
      this.state = 'aborted';
      this.disarm();
      this.ws.destroy();
      await this.cancelSession();
      throw gcsError(err, 'upload', this.key);
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.disarm();
    this.blocks.take();
    this.ws.destroy();
    // The session request may still be in flight: wait (bounded) for its URI so it can be cancelled.
    if (this.sessionStarting && !this.sessionUri) await this.uriOrTimeout(SESSION_WAIT_MS);
    await this.cancelSession();
  }

  private uriOrTimeout(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.onUri = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** DELETE on the session URI, as Google documents for cancelling; once per upload. */
  private cancelSession(): Promise<void> {
    if (!this.sessionUri) return Promise.resolve();
    this.cancelling ??= deleteSession(this.sessionUri);
    return this.cancelling;
  }
}

interface GcsUploadOptions {
  /**
   * How many bytes write() may run ahead of the SDK. The SDK acknowledges a write only once the
   * chunk holding it is on its way, so waiting for every callback leaves the client idle while
   * each chunk uploads; one chunk of lead lets the next chunk arrive meanwhile.
   */
  aheadBytes: number;
  /** upload_part_max_time, in ms. */
  chunkMaxMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * The size of the pieces handed to the SDK. It does per-write work (a listener, a hash update, a
 * request-body piece) for each, so 32 KiB protocol writes cost far more CPU than 1 MiB blocks.
 */
const BLOCK_BYTES = 1024 * 1024;

/** How long abort() waits for a session being created, to cancel it. */
const SESSION_WAIT_MS = 5000;

/** Best effort: an uncancelled session expires on its own after a week. */
async function deleteSession(uri: string): Promise<void> {
  try {
    const res = await fetch(uri, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
  } catch {
    // ignored: see above
  }
}

/**
 * `work` under the caller's signal and a deadline of `ms`. The SDK's calls take no signal: a call
 * past either is raced and its answer dropped; past the deadline the error says so.
 */
async function bounded<T>(work: Promise<T>, o: { signal: AbortSignal | undefined; ms: number; op: string; key: string }): Promise<T> {
  const deadline = AbortSignal.timeout(o.ms);
  try {
    return await raceAbort(work, o.signal ? AbortSignal.any([o.signal, deadline]) : deadline, `gcs ${o.op}`, o.key);
  } catch (err) {
    if (deadline.aborted && !o.signal?.aborted) throw new AppError('io', `gcs ${o.op} "${o.key}": no answer within ${o.ms / 1000} s`);
    throw err;
  }
}

/**
 * Fails a download whose peer sends nothing for `ms` while the stream has room for more. A full
 * buffer means the reader is the slow one (an SFTP client may pause for as long as it likes): the
 * peer is given the time again.
 */
export function failWhenSilent(source: Readable, ms: number, key: string): Readable {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, ms);
  };
  // A pass-through sees each chunk without putting the source in flowing mode before its reader.
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      arm();
      cb(null, chunk);
    },
  });
  const check = (): void => {
    // The whole object arrived: the peer owes nothing more.
    if (out.writableEnded) return;
    if (out.readableLength >= out.readableHighWaterMark || out.writableLength >= out.writableHighWaterMark) return arm();
    out.destroy(new AppError('io', `gcs read "${key}": nothing received for ${ms / 1000} s`));
  };
  arm();
  out.once('close', () => clearTimeout(timer));
  pipeline(source, out, () => undefined);
  return out;
}

export class GcsClient implements ObjectClient {
  readonly kind = 'gcs' as const;
  readonly location: { bucket: string; endpoint?: string };
  private readonly storage: Storage;
  private readonly bucket: Bucket;

  constructor(private readonly target: GcsTarget) {
    this.storage = new Storage({ ...target.storageOptions, crc32cGenerator });
    this.bucket = this.storage.bucket(target.bucket);
    this.location = { bucket: target.bucket, ...(target.endpoint ? { endpoint: target.endpoint } : {}) };
  }

  private file(key: string): File {
    return this.bucket.file(key);
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectInfo | undefined> {
    try {
      const [m] = await bounded(this.file(key).getMetadata(), { signal: opts.signal, ms: REQUEST_DEADLINE_MS, op: 'stat', key });
      return toInfo(m);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw gcsError(err, 'stat', key);
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    try {
      const [, , resp] = await bounded(this.bucket.getFiles({
        prefix,
        ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
        ...(opts.token ? { pageToken: opts.token } : {}),
        maxResults: Math.min(opts.maxKeys ?? MAX_PAGE, MAX_PAGE),
        autoPaginate: false,
      }), { signal: opts.signal, ms: REQUEST_DEADLINE_MS, op: 'list', key: prefix });
      // The raw page, rather than the File objects built from it: it carries `prefixes` too.
      const page = (resp ?? {}) as { items?: FileMetadata[]; prefixes?: string[]; nextPageToken?: string };
      return {
        objects: (page.items ?? []).map(toInfo),
        prefixes: page.prefixes ?? [],
        ...(page.nextPageToken ? { nextToken: page.nextPageToken } : {}),
      };
    } catch (err) {
      throw gcsError(err, 'list', prefix);
    }
  }

  async get(key: string, range?: GetRange): Promise<Readable> {
    const stream = destroyOnAbort(
      this.file(key).createReadStream(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {}),
      range?.signal,
      'gcs read',
      key,
    );
    try {
      // The request starts on the first read; wait for its answer so not-found is an error
      // here, not a stream that fails later.
      const answerBy = withDeadline(range?.signal, REQUEST_DEADLINE_MS);
      const answered = once(stream, 'response', { signal: answerBy }) as Promise<[{ statusCode?: number }]>;
      stream.read(0);
      const [res] = await answered.catch((err: unknown) => {
        if (answerBy.aborted && !range?.signal?.aborted) throw new AppError('io', `gcs read "${key}": no answer within ${REQUEST_DEADLINE_MS / 1000} s`);
        throw err;
      });
      const status = res.statusCode ?? 0;
      if (status >= 400) {
        // The SDK reads the error body, then fails the stream with the ApiError.
        const [err] = (await once(stream, 'error').catch((e: unknown) => [e])) as [unknown];
        throw err;
      }
      return failWhenSilent(stream, REQUEST_DEADLINE_MS, key);
    } catch (err) {
      stream.destroy();
      // A range starting at or past the end: nothing to read, as with node:fs streams.
      if (range && statusOf(err) === 416) return Readable.from([]);
      throw gcsError(err, 'read', key);
    }
  }

  put(key: string, opts: PutOptions = {}): ObjectUpload {
    const ws = this.file(key).createWriteStream({
      resumable: true,
      chunkSize: this.target.chunkBytes,
      metadata: {
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
        ...(this.target.storageClass ? { storageClass: this.target.storageClass } : {}),
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
      },
      ...(this.target.acl ? { predefinedAcl: this.target.acl } : {}),
    });
    return new GcsUpload(ws, key, { aheadBytes: this.target.chunkBytes, chunkMaxMs: this.target.chunkMaxMs, signal: opts.signal });
  }

  async copy(from: string, to: string, metadata?: Record<string, string>, opts: CallOptions = {}): Promise<void> {
    try {
      const copied = this.file(from).copy(this.file(to), {
        ...(metadata ? { metadata } : {}),
        ...(this.target.acl ? { predefinedAcl: this.target.acl } : {}),
      });
      await bounded(copied, { signal: opts.signal, ms: COPY_DEADLINE_MS, op: 'copy', key: from });
    } catch (err) {
      throw gcsError(err, 'copy', from);
    }
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    try {
      await bounded(this.file(key).delete({ ignoreNotFound: true }), { signal: opts.signal, ms: REQUEST_DEADLINE_MS, op: 'delete', key });
    } catch (err) {
      throw gcsError(err, 'delete', key);
    }
  }

  async close(): Promise<void> {
    // The SDK holds no pool of its own to release: requests go through the runtime's fetch/agent.
  }
}
