// The FileWriter of object stores: a sequential stream straight into the client's upload. Object
// stores cannot write at an offset, so any position other than the current end is `unsupported`
// (the session core checks capabilities.randomWrites before it gets here).
import { AppError } from '../../errors.ts';
import type { FileWriter } from '../fs.ts';
import type { ObjectUpload } from './client.ts';

export class ObjectWriter implements FileWriter {
  #size = 0;
  #state: 'open' | 'closing' | 'done' = 'open';
  #closed: Promise<void> | undefined;

  constructor(
    private readonly upload: ObjectUpload,
    private readonly path: string,
  ) {}

  get size(): number {
    return this.#size;
  }

  async write(data: Uint8Array, position: number = this.#size): Promise<void> {
    if (this.#state !== 'open') throw new AppError('invalid', `write ${this.path}: after close`);
    if (position !== this.#size) throw new AppError('unsupported', `write ${this.path}: object storage only writes sequentially`);
    if (data.byteLength === 0) return;
    // Callers may reuse their buffers (protocol packet buffers) once write() resolves; the upload
    // copies whatever it keeps longer (ObjectUpload.write), so no copy is made here.
    await this.upload.write(data);
    this.#size += data.byteLength;
  }

  async sync(): Promise<void> {
    // Nothing is durable before complete(); there is nothing to flush early.
  }

  /** Commits the object. A failed commit leaves no object (the client aborts what it started). */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#state = 'closing';
    this.#closed = this.upload.complete().finally(() => {
      this.#state = 'done';
    });
    return this.#closed;
  }

  async abort(): Promise<void> {
    if (this.#closed) {
      // Already committing or committed: an abort cannot take it back; just wait for the outcome.
      await this.#closed.catch(() => undefined);
      return;
    }
    this.#state = 'done';
    this.#closed = Promise.resolve();
    await this.upload.abort();
  }
}
