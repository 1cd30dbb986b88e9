// Open remote files: pipelined reads and writes over one SFTP handle. A single READ or WRITE costs a
// round trip, so transfers keep a bounded window of requests in flight (SFTPGo's `buffer_size`):
// the download stream asks ahead up to the window and delivers in order; the writer returns as soon
// as a chunk is on the wire and only waits when the window is full, reporting a failed chunk on the
// next call or at close(). The window is the only buffering, so memory per transfer is bounded.
import { Readable } from 'node:stream';
import { AppError } from '../../errors.ts';
import { checkAborted, raceAbort } from '../abort.ts';
import type { FileReader, FileWriter } from '../fs.ts';
import type { SftpSession } from './connection.ts';
import { FX, sftpError, statusOf } from './errors.ts';

export interface Window {
  /** Bytes per request. */
  chunk: number;
  /** Bytes in flight at most (at least one chunk). */
  bytes: number;
}

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/** One READ into `into`; 0 at end of file. */
function readChunk(s: SftpSession, handle: Buffer, into: Buffer, position: number): Promise<number> {
  return s
    .call<number>((cb) => s.sftp.read(handle, into, 0, into.length, position, (err, n) => cb(err, n ?? 0)))
    .catch((err) => (statusOf(err) === FX.EOF ? 0 : Promise.reject(err)));
}

export function closeHandle(s: SftpSession, handle: Buffer): Promise<void> {
  return s.call<void>((cb) => s.sftp.close(handle, (err) => cb(err, undefined)));
}

/**
 * Closes a handle and gives the session back to the pool. A handle lost with its connection is
 * already closed: only a status from the server is an error.
 */
async function releaseHandle(s: SftpSession, handle: Buffer, path: string): Promise<void> {
  try {
    await closeHandle(s, handle);
  } catch (err) {
    if (statusOf(err) !== undefined) throw sftpError(err, 'close', path);
  } finally {
    s.release();
  }
}

interface Pending {
  position: number;
  buf: Buffer;
  done: Promise<number>;
}

/** A download: [start, end] of the file (end inclusive, or to EOF), `size` as fstat saw it. */
export class SftpReadStream extends Readable {
  #queue: Pending[] = [];
  #next: number;
  #wake: (() => void) | undefined;
  #started = false;
  #released = false;

  constructor(
    private readonly s: SftpSession,
    private readonly handle: Buffer,
    private readonly path: string,
    start: number,
    private readonly endExclusive: number,
    private readonly size: number,
    private readonly window: Window,
  ) {
    // The window already buffers ahead; a small stream buffer keeps memory near it.
    super({ highWaterMark: window.chunk });
    this.#next = start;
  }

  override _read(): void {
    if (!this.#started) {
      this.#started = true;
      this.#loop().catch((err) => this.destroy(sftpError(err, 'read', this.path)));
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Requests ahead up to the window; past the size fstat gave, one at a time (to find EOF or growth). */
  #fill(): void {
    let queued = this.#queue.reduce((n, p) => n + p.buf.length, 0);
    while (this.#next < this.endExclusive && queued < this.window.bytes) {
      if (this.#next >= this.size && this.#queue.length > 0) break;
      const len = Math.min(this.window.chunk, this.endExclusive - this.#next);
      this.#queue.push(this.#request(this.#next, len));
      this.#next += len;
      queued += len;
    }
  }

  #request(position: number, len: number): Pending {
    const buf = Buffer.allocUnsafe(len);
    const done = readChunk(this.s, this.handle, buf, position);
    done.catch(() => undefined); // awaited in order by #loop; this only avoids an unhandled rejection
    return { position, buf, done };
  }

  async #loop(): Promise<void> {
    for (;;) {
      if (this.destroyed) return;
      this.#fill();
      const head = this.#queue.shift();
      if (!head) break;
      const n = await head.done;
      if (this.destroyed) return;
      if (n === 0) break; // end of file (it may have shrunk since fstat)
      if (n < head.buf.length) {
        // A short read that is not EOF: ask for the rest before anything queued behind it.
        this.#queue.unshift(this.#request(head.position + n, head.buf.length - n));
      }
      if (!this.push(head.buf.subarray(0, n))) await new Promise<void>((r) => (this.#wake = r));
    }
    this.#queue = [];
    this.push(null);
    await this.#closeHandle().catch((err) => this.destroy(err));
  }

  async #closeHandle(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await releaseHandle(this.s, this.handle, this.path);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    this.#closeHandle().then(
      () => cb(err),
      (closeErr) => cb(err ?? closeErr),
    );
  }
}

/** Positional reads (openReader): one request per chunk of `into`, all in flight at once. */
export class SftpReader implements FileReader {
  #open = true;

  constructor(
    private readonly s: SftpSession,
    private readonly handle: Buffer,
    private readonly path: string,
    private readonly window: Window,
    /** The open call's signal: once aborted, reads reject (close() still releases the handle). */
    private readonly signal?: AbortSignal,
  ) {}

  async read(into: Uint8Array, position: number): Promise<number> {
    if (!this.#open) throw new AppError('invalid', 'read after close');
    return raceAbort(this.#read(into, position), this.signal, 'read', this.path);
  }

  async #read(into: Uint8Array, position: number): Promise<number> {
    const out = asBuffer(into);
    let total = 0;
    try {
      for (let off = 0; off < out.length; ) {
        const parts: { len: number; done: Promise<number> }[] = [];
        for (let inflight = 0; off < out.length && inflight < this.window.bytes; ) {
          const len = Math.min(this.window.chunk, out.length - off);
          parts.push({ len, done: readChunk(this.s, this.handle, out.subarray(off, off + len), position + off) });
          off += len;
          inflight += len;
        }
        const got = await Promise.all(parts.map((p) => p.done));
        for (let i = 0; i < parts.length; i++) {
          total += got[i]!;
          // Bytes after a short chunk would leave a hole: report only the contiguous part.
          if (got[i]! < parts[i]!.len) return total;
        }
      }
      return total;
    } catch (err) {
      throw sftpError(err, 'read', this.path);
    }
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await releaseHandle(this.s, this.handle, this.path);
  }
}

export interface WriterOptions {
  /** Runs after the handle closed cleanly: e.g. moves a temporary upload into place. */
  commit(): Promise<void>;
  /** Runs after abort() or a failed close(): e.g. removes a temporary upload. */
  discard(): Promise<void>;
  /** The open call's signal: once aborted, writes reject (close() and abort() still work). */
  signal?: AbortSignal | undefined;
}

export class SftpWriter implements FileWriter {
  #next: number;
  #size: number;
  #inflight = 0;
  #error: AppError | undefined;
  #drained: (() => void) | undefined;
  #open = true;

  constructor(
    private readonly s: SftpSession,
    private readonly handle: Buffer,
    start: number,
    private readonly path: string,
    private readonly window: Window,
    private readonly hooks: WriterOptions,
  ) {
    this.#next = start;
    this.#size = start;
  }

  get size(): number {
    return this.#size;
  }

  async write(data: Uint8Array, position = this.#next): Promise<void> {
    if (!this.#open) throw new AppError('invalid', 'write after close');
    if (this.#error) throw this.#error;
    const signal = this.hooks.signal;
    checkAborted(signal, 'write', this.path);
    const buf = asBuffer(data);
    for (let off = 0; off < buf.length; ) {
      while (this.#inflight >= this.window.bytes) await raceAbort(this.#settle(), signal, 'write', this.path);
      if (this.#error) throw this.#error;
      const len = Math.min(this.window.chunk, buf.length - off);
      this.#send(buf, off, len, position + off);
      off += len;
    }
    this.#next = position + buf.length;
    if (this.#next > this.#size) this.#size = this.#next;
  }

  /** ssh2 copies the bytes into the outgoing packet synchronously, so the caller may reuse `buf`. */
  #send(buf: Buffer, off: number, len: number, position: number): void {
    this.#inflight += len;
    const done = (err: unknown): void => {
      this.#inflight -= len;
      if (err && !this.#error) this.#error = sftpError(err, 'write', this.path);
      const wake = this.#drained;
      this.#drained = undefined;
      wake?.();
    };
    this.s.call<void>((cb) => this.s.sftp.write(this.handle, buf, off, len, position, (err) => cb(err, undefined))).then(() => done(undefined), done);
  }

  #settle(): Promise<void> {
    return new Promise((r) => {
      const prev = this.#drained;
      this.#drained = () => {
        prev?.();
        r();
      };
    });
  }

  async #drain(): Promise<void> {
    while (this.#inflight > 0) await this.#settle();
  }

  async sync(): Promise<void> {
    await this.#drain();
    if (this.#error) throw this.#error;
    if (!this.#open || !this.s.has('fsync@openssh.com')) return;
    await this.s.call<void>((cb) => this.s.sftp.ext_openssh_fsync(this.handle, (err) => cb(err, undefined))).catch((err) => Promise.reject(sftpError(err, 'fsync', this.path)));
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    await this.#drain();
    this.#open = false;
    let err = this.#error;
    try {
      await closeHandle(this.s, this.handle).catch((e) => {
        err ??= sftpError(e, 'close', this.path);
      });
      if (!err) {
        try {
          await this.hooks.commit();
          return;
        } catch (e) {
          err = sftpError(e, 'close', this.path);
        }
      }
      await this.hooks.discard().catch(() => undefined);
      throw err;
    } finally {
      this.s.release();
    }
  }

  async abort(): Promise<void> {
    if (!this.#open) return;
    await this.#drain();
    this.#open = false;
    try {
      await closeHandle(this.s, this.handle).catch(() => undefined);
      await this.hooks.discard().catch(() => undefined);
    } finally {
      this.s.release();
    }
  }
}
