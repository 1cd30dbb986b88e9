// Open files of the local backend: positional reads and writes on a raw descriptor, so the SFTP hot
// path costs one pread/pwrite per request and no stream or FileHandle bookkeeping.
import { closeSync, fsync, read, write } from 'node:fs';
import { AppError } from '../../errors.ts';
import { checkAborted } from '../abort.ts';
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


export class LocalReader implements FileReader {
  #fd: number | undefined;
  constructor(
    fd: number,
    private readonly path: string,
    private readonly signal?: AbortSignal,
  ) {
    this.#fd = fd;
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    if (this.#fd === undefined) throw new AppError('invalid', 'read after close');
    checkAborted(this.signal, 'read', this.path);
    try {
      return await preadFd(this.#fd, into, position);
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
    try {
      await pwriteAll(this.#fd, data, position);
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
