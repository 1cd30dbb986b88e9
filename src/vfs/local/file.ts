// Open files of the local backend: positional reads and writes on a raw descriptor, so the SFTP hot
// path costs one pread/pwrite per request and no stream or FileHandle bookkeeping.
// Data calls run in the thread pool, so the disk and the ciphers work at the same time, except the
// few a small file is made of: its first write, and a read that starts it or comes right after a
// short read (most likely the one that finds the end of the file), when at most SMALL_IO bytes.
// Those are synchronous, like the backend's metadata calls: into or from the page cache they cost
// a few µs, where a thread-pool round trip costs tens of µs of CPU and more of waiting (many
// small files over FTP: one write per upload, two reads per download).
import { closeSync, fsync, read, readSync, write, writeSync } from 'node:fs';
import { AppError } from '../../errors.ts';
import { checkAborted } from '../abort.ts';
import type { SendFile } from '../../runtime.ts';
import type { FileReader, FileWriter } from '../fs.ts';
import { fsError } from './errors.ts';

function preadFd(fd: number, into: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, into, 0, into.byteLength, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

function pwriteAll(fd: number, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void =>
      write(fd, data, done, data.byteLength - done, position + done, (err, n) => {
        if (err) return reject(err);
        done += n;
        if (done < data.byteLength) step();
        else resolve();
      });
    step();
  });
}

/** Largest read or write of a small file's few that is made synchronously (see the header). */
export const SMALL_IO = 64 * 1024;

function pwriteAllSync(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.byteLength; ) done += writeSync(fd, data, done, data.byteLength - done, position + done);
}

export class LocalReader implements FileReader {
  #fd: number | undefined;
  /** The next read is the handle's first, or follows a short read. */
  #edge = true;
  readonly sendTo?: (fd: number, position: number, count: number) => number;
  constructor(
    fd: number,
    private readonly path: string,
    private readonly signal?: AbortSignal,
    sendfile?: SendFile,
  ) {
    this.#fd = fd;
    if (sendfile) this.sendTo = (out, position, count) => this.#sendTo(sendfile, out, position, count);
  }

  #sendTo(sendfile: SendFile, out: number, position: number, count: number): number {
    if (this.#fd === undefined) throw new AppError('invalid', 'read after close');
    checkAborted(this.signal, 'read', this.path);
    try {
      const n = sendfile(out, this.#fd, position, count);
      // A short send, like a short read: the bytes right after it are most likely in the page
      // cache (the kernel reads ahead of sendfile too), so a small read next is synchronous.
      this.#edge = n < count;
      return n;
    } catch (err) {
      throw fsError(err, 'read', this.path);
    }
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    if (this.#fd === undefined) throw new AppError('invalid', 'read after close');
    checkAborted(this.signal, 'read', this.path);
    try {
      const n =
        this.#edge && into.byteLength <= SMALL_IO
          ? readSync(this.#fd, into, 0, into.byteLength, position)
          : await preadFd(this.#fd, into, position);
      this.#edge = n < into.byteLength;
      return n;
    } catch (err) {
      throw fsError(err, 'read', this.path);
    }
  }

  async close(): Promise<void> {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    // Synchronous like the backend's other metadata calls (local-fs.ts): a close costs microseconds.
    try {
      closeSync(fd);
    } catch (err) {
      throw fsError(err, 'close', this.path);
    }
  }
}

export class LocalWriter implements FileWriter {
  #fd: number | undefined;
  #next: number;
  #size: number;
  #first = true;

  constructor(
    fd: number,
    start: number,
    private readonly path: string,
    private readonly signal?: AbortSignal,
  ) {
    this.#fd = fd;
    this.#next = start;
    this.#size = start;
  }

  get size(): number {
    return this.#size;
  }

  async write(data: Uint8Array, position = this.#next): Promise<void> {
    if (this.#fd === undefined) throw new AppError('invalid', 'write after close');
    checkAborted(this.signal, 'write', this.path);
    const first = this.#first;
    this.#first = false;
    try {
      if (first && data.byteLength <= SMALL_IO) pwriteAllSync(this.#fd, data, position);
      else await pwriteAll(this.#fd, data, position);
    } catch (err) {
      throw fsError(err, 'write', this.path);
    }
    this.#next = position + data.byteLength;
    if (this.#next > this.#size) this.#size = this.#next;
  }

  sync(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(fsError(err, 'fsync', this.path)) : resolve())));
  }

  async close(): Promise<void> {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch (err) {
      throw fsError(err, 'close', this.path);
    }
  }

  /** Local writes land in place; what to do with a partial file is the core's upload-mode policy. */
  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
  }
}
