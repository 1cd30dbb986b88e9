// Read-ahead for downloads. Protocol clients read a file as many small positional reads (OpenSSH
// sftp: ~32 KiB READs, up to 64 in flight; FTP and WebDAV: one chunk after another). Served one by
// one against a remote backend, each read costs a request or a turn of a paused stream, and the
// backend's socket idles between them. Once reads are sequential, ReadAhead keeps one backend
// stream open from the read position and buffers a bounded window ahead of the reader, so reads
// are served from memory while the next bytes are already on their way. Reads that do not follow
// on (random access) go to the backend's positional reader, or to a ranged read of exactly the
// bytes asked for.
//
// Memory: the window never holds more than `windowBytes`; a chunk the backend stream hands over
// that would overflow it waits beside the window (at most one backend chunk) until room is made.
// Bytes are dropped from the window as soon as no pending or later sequential read can need them.
import type { Readable } from 'node:stream';
import { AppError } from '../errors.ts';
import type { FileReader, Fs } from '../vfs/fs.ts';
import { freeBuffer } from '../lib/free-buffer.ts';

export const DEFAULT_READ_AHEAD_BYTES = 8 * 1024 * 1024;

export interface ReadAheadOptions {
  /** Most bytes held ahead of (and just behind) the reader. */
  windowBytes?: number;
  /** Passed to every backend read: aborting it ends the backend streams (the client left). */
  signal?: AbortSignal | undefined;
}

export interface ReadAheadStats {
  /** Backend streams opened for sequential runs. */
  streams: number;
  /** Reads served by the positional reader or a ranged read. */
  randomReads: number;
  /** Most bytes the window ever held. */
  peakHeld: number;
}

interface Waiter {
  into: Uint8Array;
  position: number;
  filled: number;
  resolve: (n: number) => void;
  reject: (err: unknown) => void;
}

/** One sequential run: a backend stream from `start` and the bytes buffered from it. */
class Window {
  stream: Readable | undefined;
  readonly chunks: Buffer[] = [];
  /** Offset of the first held byte. */
  base: number;
  /** Offset just past the last held byte. */
  end: number;
  held = 0;
  /** Part of the last stream chunk that did not fit yet. */
  rest: Buffer | undefined;
  ended = false;
  error: unknown;
  closed = false;
  readonly waiters: Waiter[] = [];
  /** Offset past the last byte handed to a reader: nothing before it is needed again. */
  served: number;
  #space: (() => void) | undefined;

  constructor(
    start: number,
    private readonly limit: number,
    private readonly stats: ReadAheadStats,
  ) {
    this.base = this.end = this.served = start;
  }

  /** Fills the window from `open()`'s stream until the end, an error or close. */
  async pump(open: Promise<Readable>): Promise<void> {
    try {
      const s = await open;
      if (this.closed) return void s.destroy();
      this.stream = s;
      s.on('error', (e: Error) => (this.error ??= e));
      const chunks = new Chunks(s);
      for (;;) {
        while (this.held >= this.limit && !this.closed) await new Promise<void>((r) => (this.#space = r));
        if (this.closed) return;
        let c = this.rest ?? chunks.take() ?? (await chunks.next(() => this.error));
        this.rest = undefined;
        if (this.closed) return;
        if (!c) {
          this.ended = true;
          this.#settle();
          return;
        }
        const room = this.limit - this.held;
        if (c.length > room) {
          this.rest = c.subarray(room);
          c = c.subarray(0, room);
        }
        this.chunks.push(c);
        this.held += c.length;
        this.end += c.length;
        if (this.held > this.stats.peakHeld) this.stats.peakHeld = this.held;
        this.#settle();
      }
    } catch (err) {
      this.error ??= err;
      this.#settle();
    }
  }

  /** True when a read at `position` that is not the next sequential one still belongs to this run (held, or within one window ahead). */
  covers(position: number): boolean {
    return !this.closed && position >= this.base && position <= this.end + this.limit;
  }

  read(into: Uint8Array, position: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ into, position, filled: 0, resolve, reject });
      this.#settle();
    });
  }

  /** Hands buffered bytes to waiting reads, finishes what can be finished, drops what is done with. */
  #settle(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      const at = w.position + w.filled;
      if (at >= this.base && at < this.end) w.filled += this.#copy(w.into.subarray(w.filled), at);
      const pos = w.position + w.filled;
      let done: (() => void) | undefined;
      if (w.filled === w.into.byteLength) done = () => w.resolve(w.filled);
      else if (this.error !== undefined) done = () => w.reject(this.error);
      else if (this.closed) done = () => w.reject(new AppError('invalid', 'read after close'));
      else if (this.ended && pos >= this.end) done = () => w.resolve(w.filled);
      if (!done) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      this.served = Math.max(this.served, pos);
      done();
    }
    // Bytes before the lowest pending read (or, with none pending, before the last served byte)
    // are not needed again: a read ahead of the window skips what arrives before it.
    let floor = this.waiters.length ? Infinity : this.served;
    for (const w of this.waiters) floor = Math.min(floor, w.position + w.filled);
    while (this.chunks.length && this.base + this.chunks[0]!.length <= floor) {
      const c = this.chunks.shift()!;
      this.base += c.length;
      this.held -= c.length;
      // The stream handed the chunk over and every read has copied what it needed: freed now
      // rather than at the next collection (a view of a larger buffer is left to the collector).
      freeBuffer(c);
    }
    if (this.#retiring && !this.waiters.length) return this.close();
    if (this.held < this.limit) {
      const wake = this.#space;
      this.#space = undefined;
      wake?.();
    }
  }

  /** Copies held bytes from `position` into `into`; returns how many. */
  #copy(into: Uint8Array, position: number): number {
    let off = this.base;
    let n = 0;
    for (const c of this.chunks) {
      const cEnd = off + c.length;
      if (cEnd > position + n) {
        const from = position + n - off;
        const take = Math.min(c.length - from, into.byteLength - n);
        into.set(c.subarray(from, from + take), n);
        n += take;
        if (n === into.byteLength) break;
      }
      off = cEnd;
    }
    return n;
  }

  /** Closes the window once no read waits on it. */
  retire(): void {
    this.#retiring = true;
    this.#settle();
  }

  #retiring = false;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream?.destroy();
    this.stream = undefined;
    this.chunks.length = 0;
    this.held = 0;
    this.rest = undefined;
    this.#settle();
  }
}

/**
 * A stream's chunks one at a time, as it emitted them: `read()` would join whatever is buffered
 * into a new buffer, a copy of every byte and garbage for the collector, while a chunk taken
 * whole can be freed once served. The stream is paused after each chunk, so at most one waits.
 */
class Chunks {
  readonly #queue: Buffer[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(private readonly s: Readable) {
    const kick = (): void => {
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    };
    s.on('data', (c: Buffer) => {
      this.#queue.push(c);
      s.pause();
      kick();
    });
    s.on('end', () => {
      this.#ended = true;
      kick();
    });
    s.on('error', kick);
    s.on('close', kick);
  }

  /** A chunk already here, if any. */
  take(): Buffer | undefined {
    return this.#queue.shift();
  }

  /** The next chunk, or undefined at the end; rejects with the stream's error. */
  async next(failed: () => unknown): Promise<Buffer | undefined> {
    for (;;) {
      const err = failed();
      if (err !== undefined) throw err;
      const c = this.#queue.shift();
      if (c) return c;
      if (this.#ended) return undefined;
      // Destroyed before its end without an error: the bytes are missing, not at an end.
      if (this.s.destroyed) throw this.s.errored ?? new AppError('io', 'backend stream closed before the end');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.s.resume();
      });
    }
  }
}

/** The next chunk of `s`, or undefined at its end; rejects with the stream's error. */
function nextChunk(s: Readable, failed: () => unknown): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const settle = (): boolean => {
      const err = failed();
      if (err !== undefined) return done(() => reject(err));
      const c = s.read() as Buffer | null;
      if (c !== null) return done(() => resolve(c));
      if (s.readableEnded) return done(() => resolve(undefined));
      // Destroyed before its end without an error: the bytes are missing, not at an end.
      if (s.destroyed) return done(() => reject(s.errored ?? new AppError('io', 'backend stream closed before the end')));
      return false;
    };
    const again = (): void => void settle();
    const done = (f: () => void): true => {
      s.off('readable', again);
      s.off('end', again);
      s.off('error', again);
      s.off('close', again);
      f();
      return true;
    };
    if (settle()) return;
    s.on('readable', again);
    s.on('end', again);
    s.on('error', again);
    s.on('close', again);
  });
}

/**
 * A FileReader over any backend: sequential reads come from a read-ahead window on one backend
 * stream, other reads from `positional` (backends with random reads) or a ranged read. Reads are
 * served in the order they were asked for within a run; each fills its buffer completely unless
 * the file ends (short reads mid-file make pipelining clients re-ask out of order).
 */
export class ReadAhead implements FileReader {
  readonly stats: ReadAheadStats = { streams: 0, randomReads: 0, peakHeld: 0 };
  readonly #limit: number;
  #window: Window | undefined;
  /** Where the next read would start if the reader keeps going sequentially. */
  #next = -1;
  #closed = false;
  /** Windows left behind that still serve reads already waiting on them. */
  readonly #retired = new Set<Window>();
  readonly #signal: AbortSignal | undefined;

  constructor(
    private readonly fs: Fs,
    private readonly path: string,
    private readonly positional?: FileReader,
    opts: ReadAheadOptions = {},
  ) {
    this.#limit = Math.max(64 * 1024, opts.windowBytes ?? DEFAULT_READ_AHEAD_BYTES);
    this.#signal = opts.signal;
  }

  read(into: Uint8Array, position: number): Promise<number> {
    if (this.#closed) return Promise.reject(new AppError('invalid', 'read after close'));
    if (into.byteLength === 0) return Promise.resolve(0);
    const sequential = position === this.#next;
    this.#next = position + into.byteLength;
    let w = this.#window;
    // A pipelining client may ask far beyond the window: sequential reads stay in the run.
    if (w && !sequential && !w.covers(position)) {
      // The reader left the run: its memory goes as soon as the reads already waiting are served.
      w.retire();
      for (const old of this.#retired) if (old.closed) this.#retired.delete(old);
      if (!w.closed) this.#retired.add(w);
      w = this.#window = undefined;
    }
    if (!w && sequential) w = this.#open(position);
    if (w) return w.read(into, position);
    return this.#random(into, position);
  }

  #open(position: number): Window {
    const w = new Window(position, this.#limit, this.stats);
    this.stats.streams++;
    void w.pump(this.fs.openRead(this.path, { start: position, signal: this.#signal }));
    this.#window = w;
    return w;
  }

  async #random(into: Uint8Array, position: number): Promise<number> {
    this.stats.randomReads++;
    if (this.positional) return this.positional.read(into, position);
    const s = await this.fs.openRead(this.path, { start: position, end: position + into.byteLength - 1, signal: this.#signal });
    let error: unknown;
    s.on('error', (e: Error) => (error ??= e));
    let n = 0;
    try {
      for (let c = await nextChunk(s, () => error); c; c = await nextChunk(s, () => error)) {
        const take = Math.min(c.length, into.byteLength - n);
        into.set(c.subarray(0, take), n);
        n += take;
        if (n === into.byteLength) break;
      }
      return n;
    } finally {
      s.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#window?.close();
    for (const w of this.#retired) w.close();
    this.#window = undefined;
    await this.positional?.close();
  }
}
