// Positional plaintext reads over an encrypted file, for an inner Fs with positional reads. A read
// touches only the packages under the requested range (one inner read for all of them); the
// packages are checked and opened by PackageOpener.
import { AppError } from '../../errors.ts';
import type { FileReader } from '../fs.ts';
import { FILE_HEADER_SIZE, MAX_PACKAGE, MAX_PAYLOAD, packageIndex, packageOffset } from './format.ts';
import { corrupt, PackageOpener, plaintextSize } from './packages.ts';

/** Packages fetched by one raw read at most (1 MiB of ciphertext): bounds memory per call. */
const MAX_BATCH = 16;

export class CryptReader implements FileReader {
  readonly #raw: FileReader;
  readonly #opener: PackageOpener;
  readonly #path: string;
  /** The last package decrypted, since protocol reads are usually smaller than a package. */
  #cache: { index: number; data: Uint8Array } | undefined;
  #closed = false;
  /** Plaintext size, from the encrypted size alone. */
  readonly size: number;

  private constructor(raw: FileReader, opener: PackageOpener, path: string) {
    this.#raw = raw;
    this.#opener = opener;
    this.size = opener.size;
    this.#path = path;
  }

  /**
   * Reads the file header and derives the file key. `fileSize` is the encrypted size; `raw` is
   * closed if this fails.
   */
  static async open(raw: FileReader, fileSize: number, passphrase: Uint8Array, path: string): Promise<CryptReader> {
    try {
      const size = plaintextSize(fileSize, path);
      const header = new Uint8Array(FILE_HEADER_SIZE);
      if ((await readFully(raw, header, 0)) !== FILE_HEADER_SIZE) throw corrupt(path, 'short header');
      return new CryptReader(raw, PackageOpener.fromHeader(header, passphrase, size, path), path);
    } catch (err) {
      await raw.close().catch(() => undefined);
      throw err;
    }
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    if (this.#closed) throw new AppError('invalid', 'read after close');
    if (position >= this.size || into.byteLength === 0) return 0;
    const end = Math.min(this.size, position + into.byteLength);
    let done = 0;
    for (let index = packageIndex(position); index * MAX_PAYLOAD < end; ) {
      const last = packageIndex(end - 1);
      const batch = await this.packages(index, Math.min(last - index + 1, MAX_BATCH));
      if (batch.length === 0) break;
      for (const data of batch) {
        const start = index * MAX_PAYLOAD;
        const from = Math.max(position, start) - start;
        const to = Math.min(end, start + data.byteLength) - start;
        into.set(data.subarray(from, to), done);
        done += to - from;
        index++;
      }
    }
    return done;
  }

  /** Decrypted payloads of packages [first, first + count), clamped to the file's end. */
  async packages(first: number, count: number): Promise<Uint8Array[]> {
    if (this.#closed) throw new AppError('invalid', 'read after close');
    const n = Math.max(0, Math.min(count, this.#opener.count - first));
    if (n === 0) return [];
    if (n === 1 && this.#cache?.index === first) return [this.#cache.data];
    const rawLen = (n - 1) * MAX_PACKAGE + this.#opener.sealedLength(first + n - 1);
    const raw = new Uint8Array(rawLen);
    const got = await readFully(this.#raw, raw, packageOffset(first));
    if (got !== rawLen) throw corrupt(this.#path, 'truncated');
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const index = first + i;
      out.push(this.#opener.open(index, raw.subarray(i * MAX_PACKAGE, i * MAX_PACKAGE + this.#opener.sealedLength(index))));
    }
    this.#cache = { index: first + n - 1, data: out[n - 1]! };
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache = undefined;
    await this.#raw.close();
  }
}

/** pread until `into` is full or the file ends. */
async function readFully(raw: FileReader, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.byteLength) {
    const n = await raw.read(into.subarray(done), position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
