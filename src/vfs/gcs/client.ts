// The GCS ObjectClient: keys in, bytes out, over @google-cloud/storage. Uploads are resumable
// uploads we send ourselves, one chunk (upload_part_size) at a time from reused buffers
// (upload.ts), so memory is bounded by two chunks; reads are streamed, ranged when asked;
// listings are single pages (`autoPaginate: false`).
// Errors are classified by HTTP status or error code, never by message or class: the SDK throws
// ApiError (`code` = status) for JSON API calls, gaxios errors (`status`) for resumable-session
// requests, and runtime-specific network errors (`code` = ECONNREFUSED, ...) otherwise.
// Deadlines are SFTPGo's: each upload chunk upload_part_max_time, a server-side copy 5 minutes,
// every other request 30 s; a download whose peer falls silent for 30 s fails too.
import { type Bucket, type File, type FileMetadata, Storage } from '@google-cloud/storage';
import { once } from 'node:events';
import { pipeline, Readable, Transform } from 'node:stream';
import { AppError } from '../../errors.ts';
import { destroyOnAbort, raceAbort, REQUEST_DEADLINE_MS, withDeadline } from '../abort.ts';
import type { CallOptions } from '../fs.ts';
import type { GetRange, ListOptions, ListPage, ObjectClient, ObjectInfo, ObjectUpload, PutOptions } from '../object/client.ts';
import type { GcsTarget } from './config.ts';
import { crc32cGenerator } from './crc32c.ts';
import { gcsError, statusOf } from './errors.ts';
import { GcsResumableUpload } from './upload.ts';

/** GCS answers at most 1,000 entries (items + prefixes) per page. */
const MAX_PAGE = 1000;

/** SFTPGo's deadline for a server-side copy, which rewrites the whole object: 5 minutes. */
const COPY_DEADLINE_MS = 300_000;

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
    const o = this.target.storageOptions;
    // The SDK sends no auth to a custom endpoint (an emulator) unless told to (config.ts).
    const auth = !o.apiEndpoint || o.useAuthWithCustomEndpoint === true;
    return new GcsResumableUpload({
      apiEndpoint: this.storage.apiEndpoint,
      bucket: this.target.bucket,
      key,
      chunkBytes: this.target.chunkBytes,
      chunkMaxMs: this.target.chunkMaxMs,
      resource: {
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
        ...(this.target.storageClass ? { storageClass: this.target.storageClass } : {}),
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
      },
      predefinedAcl: this.target.acl,
      authHeaders: auth ? async (url) => (await this.storage.authClient.getRequestHeaders(url)) as Record<string, string> : async () => ({}),
      signal: opts.signal,
    });
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
