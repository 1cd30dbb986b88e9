// Uploads and downloads: a Transfer bound to a backend handle. The upload mode lives here, in the
// core, not in backends: atomic modes write to a temporary name beside the target and rename on
// success, so an aborted upload never replaces a good file with a truncated one.
// The handles were opened with the connection's signal; the commit and clean-up calls here
// (rename, remove) deliberately carry none: they run while a connection closes, and a commit or
// clean-up cut halfway would leave worse than finishing it.
import { AppError } from '../errors.ts';
import { freeBuffer } from '../lib/free-buffer.ts';
import type { FileReader, FileWriter, Fs } from '../vfs/fs.ts';
import { actions } from './actions.ts';
import { Transfer, type Connection } from './connection.ts';
import type { MountQuota } from './quota.ts';
import type { TransferGate } from './transfer-limits.ts';

/** common.upload_mode: 0 standard (in place), 1 atomic, 2 atomic with partial files kept for resume. */
export type UploadMode = 0 | 1 | 2;

export function parseUploadMode(v: number | string | undefined): UploadMode {
  if (v === 1 || v === 'atomic') return 1;
  if (v === 2 || v === 'atomic_resume') return 2;
  return 0;
}

/** The error an upload or download ended with when the client went away or the protocol gave up. */
const ABORTED = new AppError('io', 'transfer aborted');

/** How much out-of-order data a sequential upload may hold while it waits for a gap to fill. */
const MAX_REORDER_BYTES = 32 * 1024 * 1024;
/** Bytes a streamed download reads at once (FTP RETR, WebDAV GET). */
const STREAM_CHUNK = 1024 * 1024;
/**
 * Its first read: reads grow from here to STREAM_CHUNK, so a small file costs a small buffer (a
 * 1 MiB one per read of a 4 KiB file was the larger part of what its download allocated).
 */
const FIRST_STREAM_CHUNK = 64 * 1024;

export class Download extends Transfer {
  constructor(
    connection: Connection,
    virtualPath: string,
    private readonly reader: FileReader,
    /** The user's bandwidth and data transfer limits. */
    private readonly gate?: TransferGate,
  ) {
    super(connection, 'download', virtualPath);
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    const n = await this.reader.read(into, position);
    await this.gate?.pass(n);
    this.bytes += n;
    return n;
  }

  /** The storage can send straight to a socket (FileReader.sendTo). */
  get direct(): boolean {
    return this.reader.sendTo !== undefined;
  }

  /**
   * Sends up to `count` bytes from `position` straight from storage to the socket descriptor `fd`
   * (FileReader.sendTo; check `direct` first), counted and held to the user's bandwidth like
   * read(). Resolves the count sent, 0 at the end of the file, -1 when the socket is full, -2 when
   * the bytes are not in memory (read them instead: FileReader.sendTo).
   */
  async sendTo(fd: number, position: number, count: number): Promise<number> {
    // Bytes sent cannot be taken back: never more than the data transfer allowance leaves. At the
    // allowance, a one-byte read tells the end of the file (0) from a refusal (it throws).
    const allowed = Math.min(count, this.gate?.allowance() ?? count);
    if (allowed <= 0) return this.read(new Uint8Array(1), position);
    const n = this.reader.sendTo!(fd, position, allowed);
    if (n > 0) {
      await this.gate?.pass(n);
      this.bytes += n;
    }
    return n;
  }

  /**
   * The bytes from `start` to `end` (inclusive; to the end of the file when undefined) as fresh
   * buffers a consumer may hold on to, the next chunk read while the consumer sends the current
   * one: the storage and the client's socket work at the same time instead of taking turns. Stops
   * early at the end of the file. Each chunk is the only view of its memory (never a slice of a
   * shared pool), so a consumer done with it may free it whole. Reads start at 64 KiB and grow
   * with what was read, up to `chunk`.
   */
  async *chunks(start: number, end?: number, chunk = STREAM_CHUNK): AsyncGenerator<Buffer> {
    const last = end ?? Infinity;
    const readAt = (pos: number): Promise<Buffer> => {
      // As much as was read so far: reads end on 64 KiB × 2^k boundaries, then on multiples of `chunk`.
      const size = Math.min(chunk, Math.max(FIRST_STREAM_CHUNK, pos - start));
      const buf = Buffer.allocUnsafeSlow(Math.min(size, last - pos + 1));
      return this.read(buf, pos).then((n) => (n === buf.length ? buf : buf.subarray(0, n)));
    };
    let pos = start;
    let next: Promise<Buffer> | undefined = pos <= last ? readAt(pos) : undefined;
    try {
      while (next) {
        const buf: Buffer = await next;
        next = undefined;
        if (buf.length === 0) {
          freeBuffer(buf, { wholeBuffer: true });
          return;
        }
        pos += buf.length;
        if (pos <= last) next = readAt(pos);
        yield buf;
      }
    } finally {
      // The consumer stopped (error, client gone): the download is closed or aborted next, and no
      // read may still be running on its handle then.
      await next?.catch(() => undefined);
    }
  }

  protected async finish(ok: boolean): Promise<void> {
    await this.reader.close();
    await actions.transferEnded(this, this.bytes, ok ? undefined : ABORTED);
  }
}

export class Upload extends Transfer {
  constructor(
    connection: Connection,
    virtualPath: string,
    private readonly fs: Fs,
    private readonly writer: FileWriter,
    /** Backend path the data lands on when committed. */
    private readonly target: string,
    /** Backend path being written, when it differs from target (atomic modes). */
    private readonly temp: string | undefined,
    private readonly mode: UploadMode,
    /** Quota to check while writing and charge when the data lands: `oldSize` is what it replaces. */
    private readonly quota?: { mount: MountQuota; oldSize: number; newFile: boolean },
    /** The user's bandwidth, data transfer and file size limits. */
    private readonly gate?: TransferGate,
  ) {
    super(connection, 'upload', virtualPath);
    this.#expected = this.#queuedEnd = writer.size;
  }

  get size(): number {
    return this.writer.size;
  }

  async write(data: Uint8Array, position?: number): Promise<void> {
    try {
      if (this.#failed) throw this.#failed;
      if (this.gate) {
        const random = this.fs.capabilities.randomWrites;
        this.gate.checkFileSize((position ?? (random ? this.writer.size : this.#queuedEnd)) + data.byteLength);
        await this.gate.pass(data.byteLength);
        // Aborted (client gone, connection closed) while this write waited for bandwidth.
        if (this.done) throw new AppError('io', 'the upload has ended');
      }
      if (this.fs.capabilities.randomWrites) return await this.#apply(data, position);
      return await this.#inOrder(data, position);
    } catch (err) {
      // A failed write fails the whole upload: closing it must not commit what arrived.
      this.#failed ??= err as Error;
      throw err;
    }
  }

  async #apply(data: Uint8Array, position?: number): Promise<void> {
    if (this.quota) {
      const end = Math.max(this.writer.size, (position ?? this.writer.size) + data.byteLength);
      this.quota.mount.check(end - this.quota.oldSize, this.quota.newFile ? 1 : 0);
    }
    await this.writer.write(data, position);
    this.bytes += data.byteLength;
  }

  /**
   * Sequential-only storage (object stores, encrypted files): pipelining clients (OpenSSH sftp
   * keeps ~64 writes in flight) may have later offsets dispatched before earlier ones finish, so
   * writes are queued by offset and applied strictly in order. A rewrite of bytes already written,
   * or a gap wider than MAX_REORDER_BYTES, is refused as unsupported.
   */
  #inOrder(data: Uint8Array, position?: number): Promise<void> {
    const pos = position ?? this.#queuedEnd;
    if (pos < this.#expected || this.#pending.has(pos))
      throw new AppError('unsupported', 'this storage only accepts sequential writes');
    if (this.#pendingBytes + data.byteLength > MAX_REORDER_BYTES)
      throw new AppError('unsupported', 'writes too far out of order for this storage');
    this.#queuedEnd = Math.max(this.#queuedEnd, pos + data.byteLength);
    this.#pendingBytes += data.byteLength;
    const done = new Promise<void>((resolve, reject) => this.#pending.set(pos, { data, resolve, reject }));
    void this.#drain();
    return done;
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#pending.get(this.#expected); next; next = this.#pending.get(this.#expected)) {
        this.#pending.delete(this.#expected);
        this.#pendingBytes -= next.data.byteLength;
        try {
          await this.#apply(next.data);
          this.#expected += next.data.byteLength;
          next.resolve();
        } catch (err) {
          next.reject(err);
          for (const p of this.#pending.values()) p.reject(err);
          this.#pending.clear();
          this.#pendingBytes = 0;
          return;
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Offset the next in-order write must start at (sequential storage). */
  #expected = 0;
  #queuedEnd = 0;
  #pendingBytes = 0;
  #draining = false;
  readonly #pending = new Map<number, { data: Uint8Array; resolve: () => void; reject: (e: unknown) => void }>();

  /** Commits the upload, unless a write failed: then it is aborted and the write's error returned. */
  override async close(): Promise<void> {
    if (!this.#failed) return super.close();
    await this.abort();
    throw this.#failed;
  }

  #failed: Error | undefined;

  /** Charges the quota for what landed under the target name. */
  #charge(landedSize: number): void {
    if (this.quota) this.quota.mount.charge(landedSize - this.quota.oldSize, this.quota.newFile ? 1 : 0);
  }

  sync(): Promise<void> {
    return this.writer.sync();
  }

  /** Commits or discards, then reports the upload; a failing synchronous upload action undoes it. */
  protected async finish(ok: boolean): Promise<void> {
    try {
      await this.#settle(ok);
    } catch (err) {
      await actions.transferEnded(this, this.writer.size, err);
      throw err;
    }
    const refused = await actions.transferEnded(this, this.writer.size, ok ? undefined : (this.#failed ?? ABORTED));
    if (!refused) return;
    await this.fs.remove(this.target).then(
      () => this.quota?.mount.charge(-this.writer.size, -1),
      () => undefined,
    );
    throw refused;
  }

  async #settle(ok: boolean): Promise<void> {
    if (ok) {
      try {
        await this.writer.close();
        if (this.temp) await this.fs.rename(this.temp, this.target);
      } catch (err) {
        if (this.temp) await this.fs.remove(this.temp).catch(() => undefined);
        throw err;
      }
      this.#charge(this.writer.size);
      return;
    }
    await this.writer.abort();
    if (!this.temp) {
      // In place: a backend with random writes keeps what arrived; an object store commits nothing.
      if (this.fs.capabilities.randomWrites) this.#charge(this.writer.size);
      return;
    }
    // atomic_resume keeps what arrived under the real name so the client can resume it.
    if (this.mode === 2 && this.writer.size > 0) {
      const kept = await this.fs.rename(this.temp, this.target).then(() => true, () => false);
      if (kept) this.#charge(this.writer.size);
    } else await this.fs.remove(this.temp).catch(() => undefined);
  }
}
