// openRead() of the crypt backend: decrypts a ranged stream of ciphertext from the inner Fs into
// the plaintext range asked for. The inner stream covers exactly the packages under that range (and
// the file header when the range starts in the first package), so one ranged read of the inner
// object serves the whole download. Packages are decrypted one at a time as the consumer pulls
// (backpressure), and the inner stream is destroyed on end, error and destroy.
import { Readable } from 'node:stream';
import { AppError } from '../../errors.ts';
import { FILE_HEADER_SIZE, MAX_PACKAGE, MAX_PAYLOAD, packageIndex } from './format.ts';
import { corrupt, PackageOpener } from './packages.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';

/** Plaintext buffered ahead of the consumer: 256 KiB, the local backend's read-stream chunk. */
const HIGH_WATER_MARK = 4 * MAX_PAYLOAD;

export interface DecryptStreamOptions {
  /**
   * Ciphertext starting at the file header when `opener` is absent, else at the first package of
   * the range; it must reach at least the end of the range's last package.
   */
  source: Readable;
  /** Made from a header read separately, when `source` starts past it. */
  opener?: PackageOpener;
  passphrase: Uint8Array;
  /** Plaintext size of the file. */
  size: number;
  /** Plaintext range, inclusive and within the file (start <= end < size). */
  start: number;
  end: number;
  path: string;
}

/**
 * The plaintext of the range as a byte stream. The first package is decrypted before this
 * resolves, so a wrong passphrase or a damaged file fails the open, not the transfer.
 */
export async function openDecryptStream(o: DecryptStreamOptions): Promise<Readable> {
  const packages = plaintextOf(o);
  let first: IteratorResult<Buffer>;
  try {
    first = await packages.next();
  } catch (err) {
    throw asAppError(err, o.path);
  }
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (first.done) return;
      yield first.value;
      yield* packages;
    } catch (err) {
      throw asAppError(err, o.path);
    } finally {
      // Reached early on destroy: lets the inner generator destroy its source.
      await packages.return(undefined);
    }
  }
  return Readable.from(all(), { objectMode: false, highWaterMark: HIGH_WATER_MARK });
}

async function* plaintextOf(o: DecryptStreamOptions): AsyncGenerator<Buffer> {
  const input = new ExactReader(o.source);
  try {
    let opener = o.opener;
    if (!opener) {
      const header = new Uint8Array(FILE_HEADER_SIZE);
      if ((await input.fill(header)) !== FILE_HEADER_SIZE) throw corrupt(o.path, 'short header');
      opener = PackageOpener.fromHeader(header, o.passphrase, o.size, o.path);
    }
    const buf = new Uint8Array(MAX_PACKAGE);
    for (let index = packageIndex(o.start); index <= packageIndex(o.end); index++) {
      const sealed = buf.subarray(0, opener.sealedLength(index));
      if ((await input.fill(sealed)) !== sealed.byteLength) throw corrupt(o.path, 'truncated');
      const data = opener.open(index, sealed);
      const base = index * MAX_PAYLOAD;
      const from = Math.max(o.start, base) - base;
      const to = Math.min(o.end + 1, base + data.byteLength) - base;
      yield Buffer.from(data.buffer, data.byteOffset + from, to - from);
    }
  } finally {
    o.source.destroy();
  }
}

function asAppError(err: unknown, path: string): AppError {
  return err instanceof AppError ? err : new AppError('io', `read ${path || '/'}: ${(err as Error).message}`, { cause: err });
}

/**
 * Exact-length reads out of a stream of arbitrary chunks. A chunk is the reader's once the stream
 * handed it over: it is freed as soon as all of it has been copied out.
 */
class ExactReader {
  readonly #chunks: AsyncIterator<unknown>;
  #rest: Uint8Array = new Uint8Array(0);
  #chunk: Uint8Array | undefined;

  constructor(source: AsyncIterable<unknown>) {
    this.#chunks = source[Symbol.asyncIterator]();
  }

  /** Fills `into`; returns the bytes filled, fewer only when the stream ended. */
  async fill(into: Uint8Array): Promise<number> {
    let done = 0;
    while (done < into.byteLength) {
      if (this.#rest.byteLength === 0) {
        if (this.#chunk) freeBuffer(this.#chunk);
        const next = await this.#chunks.next();
        if (next.done) break;
        this.#rest = this.#chunk = typeof next.value === 'string' ? Buffer.from(next.value) : (next.value as Uint8Array);
        continue;
      }
      const n = Math.min(this.#rest.byteLength, into.byteLength - done);
      into.set(this.#rest.subarray(0, n), done);
      this.#rest = this.#rest.subarray(n);
      done += n;
    }
    return done;
  }
}
