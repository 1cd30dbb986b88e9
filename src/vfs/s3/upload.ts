// One streaming S3 upload. Bytes are copied into a part buffer; each full part goes up as an
// UploadPart while the next one fills, with at most `queueSize` parts in flight, so memory stays
// within max(queueSize, 2) × part size whatever the file size: a part fills into the buffer a
// finished request left (with every buffer in flight, writing waits). A part's buffer is freed
// when the upload ends: no buffer per write and no
// part assembled from pieces (lib-storage's Upload, used before, copied every write and then
// concatenated each part, leaving twice the file's size to the collector). A body that ends
// before one part is full becomes a single PutObject.
//
// The requests are the ones lib-storage sends: CreateMultipartUpload with the params (and CRC32
// checksums when the client computes them), UploadPart with the params, CompleteMultipartUpload
// with the parts in order and their checksums. Aborting cancels the requests in flight and sends
// AbortMultipartUpload before abort() resolves, so nothing is left behind; the same happens when
// a part or the completion fails, and when the caller's signal aborts. A journal, when given, is
// told of the multipart upload before it is created and once it is completed or aborted: a kill -9
// in between leaves it named there for the next start to abort (core/remote-uploads.ts).
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AppError } from '../../errors.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';
import { abortedError, onAbort, REQUEST_DEADLINE_MS, withDeadline } from '../abort.ts';
import type { ObjectUpload } from '../object/client.ts';
import type { RemoteUploadJournal } from '../options.ts';
import { s3Error } from './errors.ts';

/** The first part buffer starts small and doubles, so small files do not each cost a full part. */
const FIRST_BUFFER_BYTES = 64 * 1024;
/** S3's limit on parts per multipart upload. */
const MAX_PARTS = 10_000;

type Params = Omit<PutObjectCommandInput, 'Body'>;

/** `promise`, or a rejection as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export interface S3UploadOptions {
  signal?: AbortSignal | undefined;
  journal?: RemoteUploadJournal | undefined;
  /** ms one part (or the single PutObject) may take; 0: no deadline of its own. */
  partTimeoutMs?: number | undefined;
}

export class S3Upload implements ObjectUpload {
  #state: 'open' | 'completing' | 'done' | 'aborted' = 'open';
  #buf: Buffer | undefined;
  #filled = 0;
  /** Full-size part buffers whose request has finished, for the next parts. */
  readonly #spare: Buffer[] = [];
  #parts = 0;
  readonly #done: CompletedPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #uploadId: Promise<string> | undefined;
  #failure: unknown;
  /** Cancels the requests in flight on abort. */
  readonly #controller = new AbortController();
  /** Settles once abort() (or a failed completion) has cleaned up. */
  #cleanup: Promise<void> | undefined;
  readonly #unlink: () => void;
  readonly #journal: RemoteUploadJournal | undefined;
  readonly #partMs: number;

  constructor(
    private readonly client: S3Client,
    private readonly params: Params,
    private readonly partSize: number,
    private readonly queueSize: number,
    { signal, journal, partTimeoutMs }: S3UploadOptions = {},
  ) {
    this.#journal = journal;
    this.#partMs = partTimeoutMs ?? 0;
    // A commit under way is not interrupted: half a completion is worse than finishing it.
    this.#unlink = onAbort(signal, () => {
      if (this.#state !== 'open') return;
      this.#failure ??= abortedError('s3 upload', this.#key);
      void this.abort();
    });
  }

  get #key(): string {
    return this.params.Key ?? '';
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#checkOpen();
    let off = 0;
    while (off < chunk.byteLength) {
      // A fresh part buffer only while fewer parts than buffers allowed are in flight: at most
      // max(queueSize, 2) part buffers, the filling one included (with one in flight, the next
      // still fills meanwhile).
      if (!this.#buf && this.#parts > 0 && this.#spare.length === 0) await this.#room(Math.max(this.queueSize, 2));
      const buf = this.#buffer(chunk.byteLength - off);
      const n = Math.min(chunk.byteLength - off, buf.length - this.#filled);
      buf.set(chunk.subarray(off, off + n), this.#filled);
      this.#filled += n;
      off += n;
      if (this.#filled === this.partSize) await this.#sendFilled();
    }
  }

  async complete(): Promise<void> {
    if (this.#state !== 'open') throw new AppError('invalid', `s3 upload "${this.#key}": complete after ${this.#state}`);
    this.#checkOpen();
    this.#state = 'completing';
    try {
      if (this.#parts === 0) {
        const body = this.#buf ? this.#buf.subarray(0, this.#filled) : Buffer.alloc(0);
        await this.#timed(`the upload`, (signal) => this.client.send(new PutObjectCommand({ ...this.params, Body: body }), { abortSignal: signal }));
      } else {
        if (this.#filled > 0) await this.#sendFilled();
        await Promise.all(this.#inFlight);
        if (this.#failure !== undefined) throw this.#failure;
        const parts = [...this.#done].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        await this.client.send(
          new CompleteMultipartUploadCommand({ ...this.params, UploadId: await this.#uploadId!, MultipartUpload: { Parts: parts } }),
          { abortSignal: withDeadline(this.#controller.signal, REQUEST_DEADLINE_MS) },
        );
        this.#journal?.end(this.#key);
      }
      this.#state = 'done';
      this.#unlink();
      this.#release(true);
    } catch (err) {
      this.#failure ??= err;
      await this.#abortAll();
      throw s3Error(this.#failure, 'upload', this.#key);
    }
  }

  async abort(): Promise<void> {
    if (this.#state === 'done') return;
    if (this.#state === 'completing' && !this.#cleanup) {
      // Too late to take back: wait for the outcome.
      await Promise.all(this.#inFlight).catch(() => undefined);
      return;
    }
    await this.#abortAll();
  }

  /** Cancels what is in flight and aborts the multipart upload; once, however often called. */
  #abortAll(): Promise<void> {
    this.#cleanup ??= (async () => {
      this.#state = 'aborted';
      this.#unlink();
      this.#controller.abort();
      await Promise.all(this.#inFlight);
      const id = await this.#uploadId?.catch(() => undefined);
      if (id !== undefined) {
        // Not tied to the cancelled controller: this request must go out. Refused or lost, the
        // journal keeps naming the upload and the next start aborts it.
        const aborted = await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.params.Bucket, Key: this.params.Key, UploadId: id }), { abortSignal: AbortSignal.timeout(REQUEST_DEADLINE_MS) })
          .then(
          () => true,
          () => false,
        );
        if (aborted) this.#journal?.end(this.#key);
      }
      this.#release(false);
    })();
    return this.#cleanup;
  }

  #checkOpen(): void {
    if (this.#failure !== undefined) throw s3Error(this.#failure, 'upload', this.#key);
    if (this.#state !== 'open') throw new AppError('invalid', 'write after complete or abort');
  }

  /** The part buffer, grown (first part only) to fit `want` more bytes, up to the part size. */
  #buffer(want: number): Buffer {
    const part = this.partSize;
    if (!this.#buf) {
      this.#buf = this.#spare.pop() ?? Buffer.allocUnsafe(this.#parts > 0 ? part : Math.min(part, Math.max(FIRST_BUFFER_BYTES, want)));
    } else if (this.#filled === this.#buf.length && this.#buf.length < part) {
      let size = this.#buf.length * 2;
      while (size < this.#filled + want && size < part) size *= 2;
      const grown = Buffer.allocUnsafe(Math.min(part, size));
      this.#buf.copy(grown, 0, 0, this.#filled);
      freeBuffer(this.#buf);
      this.#buf = grown;
    }
    return this.#buf;
  }

  /** Waits until fewer than `limit` parts are in flight (reporting a failure). */
  async #room(limit: number): Promise<void> {
    while (this.#inFlight.size >= limit) await Promise.race(this.#inFlight);
    if (this.#failure !== undefined) throw s3Error(this.#failure, 'upload', this.#key);
    if (this.#state === 'aborted') throw abortedError('s3 upload', this.#key);
  }

  /** Sends the filled buffer as the next part, once fewer than `queueSize` are in flight. */
  async #sendFilled(): Promise<void> {
    await this.#room(this.queueSize);
    if (this.#parts >= MAX_PARTS) throw new AppError('invalid', `s3 upload "${this.#key}": more than ${MAX_PARTS} parts; raise upload_part_size`);
    const buf = this.#buf!;
    const body = buf.subarray(0, this.#filled);
    this.#buf = undefined;
    this.#filled = 0;
    const partNumber = ++this.#parts;
    this.#uploadId ??= this.#create();
    // Never an unhandled rejection: the failure is recorded and reported by write() or complete().
    const sent: Promise<void> = this.#uploadPart(partNumber, body)
      .then(
        (part) => {
          this.#done.push(part);
          // Its request has finished: the buffer serves a later part.
          if (buf.length === this.partSize && this.#state !== 'aborted') this.#spare.push(buf);
          else freeBuffer(buf);
        },
        (err: unknown) => {
          this.#failure ??= this.#controller.signal.aborted ? abortedError('s3 upload', this.#key) : err;
        },
      )
      .finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
  }

  async #create(): Promise<string> {
    // Named before it exists: a crash right after the create still leaves it found.
    this.#journal?.begin(this.#key);
    const checksums = await this.client.config.requestChecksumCalculation();
    const out = await this.client.send(
      new CreateMultipartUploadCommand({
        ...this.params,
        ...(checksums === 'WHEN_SUPPORTED' ? { ChecksumAlgorithm: this.params.ChecksumAlgorithm ?? ChecksumAlgorithm.CRC32 } : {}),
      }),
      { abortSignal: withDeadline(this.#controller.signal, REQUEST_DEADLINE_MS) },
    );
    if (!out.UploadId) throw new AppError('io', `s3 upload "${this.#key}": no UploadId in the answer`);
    return out.UploadId;
  }

  async #uploadPart(partNumber: number, body: Buffer): Promise<CompletedPart> {
    // The deadline runs from here: a part waiting for a CreateMultipartUpload that never answers
    // is as late as one whose own request hangs.
    const r = await this.#timed(`part ${partNumber}`, async (signal) => {
      const uploadId = await untilAborted(this.#uploadId!, signal);
      return this.client.send(new UploadPartCommand({ ...this.params, ContentLength: undefined, UploadId: uploadId, Body: body, PartNumber: partNumber }), { abortSignal: signal });
    });
    if (!r.ETag) throw new AppError('io', `s3 upload "${this.#key}": part ${partNumber} has no ETag`);
    return {
      PartNumber: partNumber,
      ETag: r.ETag,
      ...(r.ChecksumCRC32 && { ChecksumCRC32: r.ChecksumCRC32 }),
      ...(r.ChecksumCRC32C && { ChecksumCRC32C: r.ChecksumCRC32C }),
      ...(r.ChecksumCRC64NVME && { ChecksumCRC64NVME: r.ChecksumCRC64NVME }),
      ...(r.ChecksumSHA1 && { ChecksumSHA1: r.ChecksumSHA1 }),
      ...(r.ChecksumSHA256 && { ChecksumSHA256: r.ChecksumSHA256 }),
    };
  }

  /** Runs one part's request under the part deadline (upload_part_max_time), which fails the upload when it passes. */
  async #timed<T>(what: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#partMs <= 0) return send(this.#controller.signal);
    const timeout = AbortSignal.timeout(this.#partMs);
    try {
      return await send(AbortSignal.any([this.#controller.signal, timeout]));
    } catch (err) {
      if (timeout.aborted && !this.#controller.signal.aborted)
        throw new AppError('io', `s3 upload "${this.#key}": ${what} took longer than ${this.#partMs / 1000} s (upload_part_max_time)`);
      throw err;
    }
  }

  /**
   * Frees the part buffers no request uses any more. The current one too when the upload
   * succeeded; after a failure it may be the body of a request cancelled mid-way, so it is left
   * to the collector.
   */
  #release(succeeded: boolean): void {
    for (const b of this.#spare.splice(0)) freeBuffer(b);
    if (succeeded && this.#buf) freeBuffer(this.#buf);
    this.#buf = undefined;
    this.#filled = 0;
  }
}
