// openRead() of the crypt backend: a byte range of the plaintext as a node:stream Readable. It
// decrypts a few packages per _read, only when the consumer asks for more (backpressure), and
// closes the file on end, error and destroy.
import { Readable } from 'node:stream';
import { AppError } from '../../errors.ts';
import { MAX_PAYLOAD, packageIndex } from './format.ts';
import type { CryptReader } from './reader.ts';

/** Packages decrypted per _read: 256 KiB, the local backend's read-stream chunk. */
const BATCH = 4;

export class DecryptStream extends Readable {
  readonly #reader: CryptReader;
  /** Next plaintext byte to emit and the last one wanted (inclusive). */
  #pos: number;
  readonly #end: number;
  #first: Uint8Array[] | undefined;
  #busy = false;

  /**
   * `first` holds the already decrypted packages that start the range (openRead decrypts them
   * before returning, so a wrong passphrase fails the open, not the transfer).
   */
  constructor(reader: CryptReader, start: number, end: number, first: Uint8Array[] | undefined) {
    super({ highWaterMark: BATCH * MAX_PAYLOAD });
    this.#reader = reader;
    this.#pos = start;
    this.#end = end;
    this.#first = first;
  }

  override _read(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#pump().then(
      () => {
        this.#busy = false;
      },
      (err: unknown) => {
        this.#busy = false;
        this.destroy(err instanceof AppError ? err : new AppError('io', `read: ${(err as Error).message}`, { cause: err }));
      },
    );
  }

  async #pump(): Promise<void> {
    if (this.#pos > this.#end) {
      this.push(null);
      return;
    }
    const index = packageIndex(this.#pos);
    const batch = this.#first ?? (await this.#reader.packages(index, BATCH));
    this.#first = undefined;
    if (this.destroyed) return;
    if (batch.length === 0) throw new AppError('io', 'read: encrypted file ended early');
    let i = index;
    for (const data of batch) {
      const start = i * MAX_PAYLOAD;
      const from = this.#pos - start;
      const to = Math.min(data.byteLength, this.#end - start + 1);
      if (to > from) this.push(Buffer.from(data.buffer, data.byteOffset + from, to - from));
      this.#pos = start + to;
      i++;
      if (this.#pos > this.#end) break;
    }
    if (this.#pos > this.#end) this.push(null);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#reader.close().then(
      () => callback(err),
      (closeErr: unknown) => callback(err ?? (closeErr as Error)),
    );
  }
}
