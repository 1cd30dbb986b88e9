// A streaming block-blob upload. Bytes are copied into one part buffer; each full part is staged as
// an uncommitted block (Put Block) while the next one fills, with at most `concurrency` blocks in
// flight, so memory stays within max(concurrency, 2) × part size whatever the file size: a part
// fills into the buffer a finished request left (with every buffer in flight, writing waits), and
// the buffers are freed when the upload ends. complete()
// commits the block list in one request, which is when the blob appears or is replaced; a file that
// fits in one part skips blocks and goes up with a single Put Blob. abort() cancels in-flight
// requests and never commits: the committed blob (if any) is untouched. The blocks it staged for a
// blob that was never committed are discarded (discardStagedBlocks); those staged over a committed
// blob cannot be, short of rewriting it, and the service drops them on its own after a week. A
// journal, when given, names the upload from its first block until it is committed or its blocks
// discarded, so a kill -9 in between is repaired at the next start (core/remote-uploads.ts).
import { randomBytes } from 'node:crypto';
import type { BlockBlobClient, BlockBlobUploadOptions } from '@azure/storage-blob';
import { AppError } from '../../errors.ts';
import { onAbort, partDeadlineMs, REQUEST_DEADLINE_MS, withDeadline } from '../abort.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';
import type { ObjectUpload, PutOptions } from '../object/client.ts';
import { abortedError, azError } from './errors.ts';
import { toAzureMetadata } from './metadata.ts';

/** The first part starts small and doubles, so the many small files do not each cost a full part. */
const FIRST_BUFFER_BYTES = 64 * 1024;
/** Azure's limit on committed blocks per blob. */
const MAX_BLOCKS = 50_000;
/** How long an aborted upload spends discarding its blocks before leaving them to the next start. */
const DISCARD_MS = 10_000;

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/**
 * Discards the blocks staged for `blob` when no committed blob exists: a Put Blob drops a blob's
 * uncommitted blocks, so an empty one is put (only if none exists, If-None-Match: *) and deleted
 * at once (only if it is still that one). Over a committed blob nothing is done. Resolves 1 when
 * blocks were discarded, else 0.
 */
export async function discardStagedBlocks(blob: BlockBlobClient, signal?: AbortSignal): Promise<number> {
  let staged: number;
  try {
    const list = await blob.getBlockList('all', { abortSignal: signal });
    if ((list.committedBlocks ?? []).length > 0) return 0;
    staged = (list.uncommittedBlocks ?? []).length;
  } catch (err) {
    if (statusOf(err) === 404) return 0;
    throw err;
  }
  if (staged === 0) return 0;
  let etag: string | undefined;
  try {
    etag = (await blob.upload(Buffer.alloc(0), 0, { conditions: { ifNoneMatch: '*' }, abortSignal: signal })).etag;
  } catch (err) {
    if (statusOf(err) !== 409 && statusOf(err) !== 412) throw err;
    // Azurite counts a blob of staged blocks as existing (and keeps the blocks through a Put
    // Blob); a Delete Blob drops them there. Unless a blob was committed meanwhile.
    if (await blob.exists({ abortSignal: signal })) return 0;
  }
  try {
    await blob.delete({ ...(etag ? { conditions: { ifMatch: etag } } : {}), abortSignal: signal });
  } catch (err) {
    if (statusOf(err) === 404 || statusOf(err) === 412) return 0;
    throw err;
  }
  return 1;
}

export interface BlockUploadSettings {
  partBytes: number;
  concurrency: number;
  accessTier?: BlockBlobUploadOptions['tier'];
  /** Live uploads of the owning client, which aborts them all on close. */
  live: Set<ObjectUpload>;
}

type State = 'open' | 'completing' | 'done' | 'aborted';

export class BlockUpload implements ObjectUpload {
  private state: State = 'open';
  private buf: Buffer | undefined;
  private filled = 0;
  /** Full-size part buffers whose Put Block has finished, for the next parts. */
  private readonly spare: Buffer[] = [];
  private readonly blockIds: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly controller = new AbortController();
  /**
   * Block ids are unique per upload so two concurrent uploads of one key cannot overwrite each
   * other's uncommitted blocks; all ids of a blob must have the same length, hence fixed widths.
   */
  private readonly idPrefix = randomBytes(12).toString('hex');
  private readonly signal = this.controller.signal;

  constructor(
    private readonly blob: BlockBlobClient,
    private readonly key: string,
    private readonly opts: PutOptions,
    private readonly settings: BlockUploadSettings,
  ) {
    settings.live.add(this);
    // The caller's signal discards the upload like abort(); a commit under way is not interrupted.
    this.unlink = onAbort(opts.signal, () => {
      if (this.state === 'open') void this.release();
    });
  }

  private readonly unlink: () => void;

  async write(chunk: Uint8Array): Promise<void> {
    this.checkOpen('write');
    let off = 0;
    while (off < chunk.length) {
      // A fresh part buffer only while fewer blocks than buffers allowed are in flight: at most
      // max(concurrency, 2) part buffers, the filling one included (with one in flight, the next
      // still fills meanwhile).
      if (!this.buf && this.blockIds.length > 0 && this.spare.length === 0) await this.room(Math.max(this.settings.concurrency, 2));
      const buf = this.buffer(chunk.length - off);
      const n = Math.min(chunk.length - off, buf.length - this.filled);
      buf.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.settings.partBytes) await this.stageFilled();
    }
  }

  async complete(): Promise<void> {
    this.checkOpen('complete');
    this.state = 'completing';
    try {
      const common = {
        abortSignal: this.signal,
        metadata: toAzureMetadata(this.opts.metadata),
        blobHTTPHeaders: this.opts.contentType ? { blobContentType: this.opts.contentType } : undefined,
        tier: this.settings.accessTier,
      };
      if (this.blockIds.length === 0) {
        const body = this.buf ? this.buf.subarray(0, this.filled) : Buffer.alloc(0);
        await this.blob.upload(body, body.length, { ...common, abortSignal: withDeadline(this.signal, partDeadlineMs(this.settings.partBytes)) });
      } else {
        if (this.filled > 0) await this.stageFilled();
        await Promise.all(this.inFlight);
        if (this.failure !== undefined) throw this.failure;
        await this.blob.commitBlockList(this.blockIds, { ...common, abortSignal: withDeadline(this.signal, REQUEST_DEADLINE_MS) });
        this.opts.journal?.end(this.key);
      }
      this.state = 'done';
      this.settings.live.delete(this);
      this.unlink();
      // No request uses them any more.
      if (this.buf) freeBuffer(this.buf);
      for (const b of this.spare.splice(0)) freeBuffer(b);
    } catch (err) {
      const aborted = this.signal.aborted;
      await this.release();
      throw aborted ? abortedError('upload', this.key) : azError(err, 'upload', this.key);
    } finally {
      this.buf = undefined;
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'aborted') return;
    await this.release();
  }

  private async release(): Promise<void> {
    this.state = 'aborted';
    this.unlink();
    this.settings.live.delete(this);
    this.buf = undefined;
    this.controller.abort();
    await Promise.all(this.inFlight);
    for (const b of this.spare.splice(0)) freeBuffer(b);
    if (this.blockIds.length > 0) {
      // Not tied to the cancelled controller; failed or slow, the journal keeps naming the blob
      // and the next start discards its blocks.
      const discarded = await discardStagedBlocks(this.blob, AbortSignal.timeout(DISCARD_MS)).then(
        () => true,
        () => false,
      );
      if (discarded) this.opts.journal?.end(this.key);
    }
  }

  private checkOpen(op: string): void {
    if (this.state !== 'open') throw new AppError('invalid', `azblob ${op} "${this.key}": upload is ${this.state}`);
    if (this.failure !== undefined) throw azError(this.failure, 'upload', this.key);
  }

  /** The part buffer, grown (first part only) to fit `want` more bytes, up to the part size. */
  private buffer(want: number): Buffer {
    const part = this.settings.partBytes;
    if (!this.buf) {
      this.buf = this.spare.pop() ?? Buffer.allocUnsafe(this.blockIds.length > 0 ? part : Math.min(part, Math.max(FIRST_BUFFER_BYTES, want)));
    } else if (this.filled === this.buf.length && this.buf.length < part) {
      let size = this.buf.length * 2;
      while (size < this.filled + want && size < part) size *= 2;
      const grown = Buffer.allocUnsafe(Math.min(part, size));
      this.buf.copy(grown, 0, 0, this.filled);
      freeBuffer(this.buf);
      this.buf = grown;
    }
    return this.buf;
  }

  /** Waits until fewer than `limit` blocks are in flight (reporting a failure). */
  private async room(limit: number): Promise<void> {
    while (this.inFlight.size >= limit) await Promise.race(this.inFlight);
    if (this.state === 'aborted') throw abortedError('upload', this.key);
    if (this.failure !== undefined) throw azError(this.failure, 'upload', this.key);
  }

  /** Stages the filled part as the next block, once fewer than `concurrency` are in flight. */
  private async stageFilled(): Promise<void> {
    await this.room(this.settings.concurrency);
    if (this.blockIds.length >= MAX_BLOCKS) {
      throw new AppError('invalid', `azblob upload "${this.key}": more than ${MAX_BLOCKS} blocks; raise upload_part_size`);
    }
    const buf = this.buf!;
    const data = buf.subarray(0, this.filled);
    this.buf = undefined;
    this.filled = 0;
    const id = Buffer.from(`${this.idPrefix}-${String(this.blockIds.length).padStart(6, '0')}`).toString('base64');
    // Named before the first block is staged: a crash right after still leaves it found.
    if (this.blockIds.length === 0) this.opts.journal?.begin(this.key);
    this.blockIds.push(id);
    const staged: Promise<void> = this.blob
      // SFTPGo's deadline for a block: a silent or crawling peer fails the upload.
      .stageBlock(id, data, data.length, { abortSignal: withDeadline(this.signal, partDeadlineMs(this.settings.partBytes)) })
      .then(
        () => {
          // Its request has finished: the buffer serves a later part.
          if (buf.length === this.settings.partBytes && this.state !== 'aborted') this.spare.push(buf);
          else freeBuffer(buf);
        },
        (err: unknown) => {
          this.failure ??= err;
        },
      )
      .finally(() => this.inFlight.delete(staged));
    this.inFlight.add(staged);
  }
}
