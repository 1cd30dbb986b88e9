// Download side of the crypt backend: positional plaintext reads over an encrypted file. A read
// touches only the packages under the requested range (one pread for all of them), and every
// package is checked against what its position demands (version, length, final flag, the stream's
// cipher and nonce) before its tag is verified; nothing is returned from a package that fails.
import { AppError } from '../../errors.ts';
import type { FileReader } from '../fs.ts';
import { packageAead, type PackageAead } from './aead.ts';
import {
  aeadNonce,
  deriveFileKey,
  DARE_VERSION,
  FILE_HEADER_SIZE,
  FILE_VERSION,
  FINAL_FLAG,
  HEADER_SIZE,
  MAX_PACKAGE,
  MAX_PAYLOAD,
  packageCount,
  packageIndex,
  packageOffset,
  payloadLength,
  plaintextOfFile,
  readPackageHeader,
  TAG_SIZE,
} from './format.ts';

/** Packages fetched by one raw read at most (1 MiB of ciphertext): bounds memory per call. */
const MAX_BATCH = 16;

export class CryptReader implements FileReader {
  readonly #raw: FileReader;
  readonly #key: Uint8Array;
  readonly #path: string;
  readonly #count: number;
  readonly #aeads: (PackageAead | undefined)[] = [];
  /** Cipher and nonce (final flag cleared) of the first package verified: all must match it. */
  #ref: { cipher: number; nonce: Uint8Array } | undefined;
  /** The last package decrypted, since protocol reads are usually smaller than a package. */
  #cache: { index: number; data: Uint8Array } | undefined;
  #closed = false;

  /** Plaintext size, from the encrypted size alone. */
  readonly size: number;

  private constructor(raw: FileReader, key: Uint8Array, size: number, path: string) {
    this.#raw = raw;
    this.#key = key;
    this.size = size;
    this.#count = packageCount(size);
    this.#path = path;
  }

  /**
   * Reads the file header and derives the file key. `fileSize` is the encrypted size; `raw` is
   * closed if this fails.
   */
  static async open(raw: FileReader, fileSize: number, passphrase: Uint8Array, path: string): Promise<CryptReader> {
    try {
      const size = plaintextOfFile(fileSize);
      if (size === undefined) throw corrupt(path, 'its size is not that of any encrypted file');
      const header = new Uint8Array(FILE_HEADER_SIZE);
      if ((await readFully(raw, header, 0)) !== FILE_HEADER_SIZE) throw corrupt(path, 'short header');
      if (header[0] !== FILE_VERSION) throw corrupt(path, `unsupported encryption version 0x${header[0]!.toString(16)}`);
      return new CryptReader(raw, deriveFileKey(passphrase, header.subarray(1)), size, path);
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
    const n = Math.max(0, Math.min(count, this.#count - first));
    if (n === 0) return [];
    if (n === 1 && this.#cache?.index === first) return [this.#cache.data];
    const rawLen = (first + n - 1) * MAX_PACKAGE - first * MAX_PACKAGE + HEADER_SIZE + payloadLength(first + n - 1, this.size) + TAG_SIZE;
    const raw = new Uint8Array(rawLen);
    const got = await readFully(this.#raw, raw, packageOffset(first));
    if (got !== rawLen) throw corrupt(this.#path, 'truncated');
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const index = first + i;
      const len = payloadLength(index, this.size);
      const pkg = raw.subarray(i * MAX_PACKAGE, i * MAX_PACKAGE + HEADER_SIZE + len + TAG_SIZE);
      out.push(this.#open(index, pkg, len));
    }
    this.#cache = { index: first + n - 1, data: out[n - 1]! };
    return out;
  }

  #open(index: number, pkg: Uint8Array, expectedLen: number): Uint8Array {
    const header = pkg.subarray(0, HEADER_SIZE);
    const h = readPackageHeader(header);
    if (h.version !== DARE_VERSION) throw corrupt(this.#path, `package ${index}: unsupported DARE version 0x${h.version.toString(16)}`);
    const final = index === this.#count - 1;
    if (h.final !== final) throw corrupt(this.#path, final ? 'truncated (last package is not final)' : `package ${index}: unexpected final package`);
    if (h.length !== expectedLen) throw corrupt(this.#path, `package ${index}: payload size mismatch`);
    const nonce = header.slice(4, HEADER_SIZE);
    nonce[0] = nonce[0]! & ~FINAL_FLAG;
    if (this.#ref === undefined) this.#ref = { cipher: h.cipher, nonce };
    else if (h.cipher !== this.#ref.cipher || !sameBytes(nonce, this.#ref.nonce)) throw corrupt(this.#path, `package ${index}: header mismatch`);
    const aead = this.#aead(h.cipher);
    const plain = new Uint8Array(expectedLen);
    if (!aead.open(aeadNonce(header, index), header.subarray(0, 4), pkg.subarray(HEADER_SIZE), plain))
      throw corrupt(this.#path, `package ${index}: authentication failed (wrong passphrase or damaged data)`);
    return plain;
  }

  #aead(cipher: number): PackageAead {
    const a = (this.#aeads[cipher] ??= packageAead(cipher, this.#key));
    if (!a) throw corrupt(this.#path, `unsupported cipher suite 0x${cipher.toString(16)}`);
    return a;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache = undefined;
    await this.#raw.close();
  }
}

function corrupt(path: string, why: string): AppError {
  return new AppError('io', `read ${path || '/'}: encrypted file is damaged or unreadable: ${why}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
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
