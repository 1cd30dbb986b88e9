// Uploads and downloads: a Transfer bound to a backend handle. The upload mode lives here, in the
// core, not in backends: atomic modes write to a temporary name beside the target and rename on
// success, so an aborted upload never replaces a good file with a truncated one.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../errors.ts';
import type { FileReader, FileWriter, Fs } from '../vfs/fs.ts';
import { Transfer, type Connection } from './connection.ts';
import type { MountQuota } from './quota.ts';

/** common.upload_mode: 0 standard (in place), 1 atomic, 2 atomic with partial files kept for resume. */
export type UploadMode = 0 | 1 | 2;

export function parseUploadMode(v: number | string | undefined): UploadMode {
  if (v === 1 || v === 'atomic') return 1;
  if (v === 2 || v === 'atomic_resume') return 2;
  return 0;
}

const TEMP_PREFIX = '.sftpgo-upload.';

export function tempUploadPath(target: string): string {
  return posix.join(posix.dirname(target), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}.${posix.basename(target)}`);
}

export class Download extends Transfer {
  constructor(
    connection: Connection,
    virtualPath: string,
    private readonly reader: FileReader,
  ) {
    super(connection, 'download', virtualPath);
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    const n = await this.reader.read(into, position);
    this.bytes += n;
    return n;
  }

  protected finish(): Promise<void> {
    return this.reader.close();
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
  ) {
    super(connection, 'upload', virtualPath);
  }

  get size(): number {
    return this.writer.size;
  }

  async write(data: Uint8Array, position?: number): Promise<void> {
    try {
      if (this.#failed) throw this.#failed;
      if (position !== undefined && position !== this.writer.size && !this.fs.capabilities.randomWrites)
        throw new AppError('unsupported', 'this storage only accepts sequential writes');
      if (this.quota) {
        const end = Math.max(this.writer.size, (position ?? this.writer.size) + data.byteLength);
        this.quota.mount.check(end - this.quota.oldSize, this.quota.newFile ? 1 : 0);
      }
      await this.writer.write(data, position);
      this.bytes += data.byteLength;
    } catch (err) {
      // A failed write fails the whole upload: closing it must not commit what arrived.
      this.#failed ??= err as Error;
      throw err;
    }
  }

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

  protected async finish(ok: boolean): Promise<void> {
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

/**
 * Positional reads over a backend that only streams: keeps one range stream open and reopens it
 * when a read jumps elsewhere. Sequential clients (the common case) cost one stream per file.
 */
export class StreamReader implements FileReader {
  #stream: Readable | undefined;
  #pos = 0;
  #pending: Buffer | undefined;

  constructor(
    private readonly fs: Fs,
    private readonly path: string,
  ) {}

  async read(into: Uint8Array, position: number): Promise<number> {
    if (!this.#stream || position !== this.#pos) {
      this.#stream?.destroy();
      this.#pending = undefined;
      this.#stream = await this.fs.openRead(this.path, { start: position });
      this.#pos = position;
    }
    let chunk = this.#pending ?? (await this.#next());
    this.#pending = undefined;
    if (!chunk) return 0;
    const n = Math.min(chunk.length, into.byteLength);
    into.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#pending = chunk.subarray(n);
    this.#pos += n;
    return n;
  }

  #next(): Promise<Buffer | undefined> {
    const s = this.#stream!;
    return new Promise((resolve, reject) => {
      const tryRead = (): void => {
        const c = s.read() as Buffer | null;
        if (c !== null) return done(() => resolve(c));
        if (s.readableEnded) return done(() => resolve(undefined));
      };
      const onEnd = (): void => done(() => resolve(undefined));
      const onErr = (e: Error): void => done(() => reject(e));
      const done = (f: () => void): void => {
        s.off('readable', tryRead);
        s.off('end', onEnd);
        s.off('error', onErr);
        f();
      };
      s.on('readable', tryRead);
      s.on('end', onEnd);
      s.on('error', onErr);
      tryRead();
    });
  }

  async close(): Promise<void> {
    this.#stream?.destroy();
    this.#stream = undefined;
  }
}
