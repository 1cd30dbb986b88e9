// Checking and opening DARE packages of one encrypted file, wherever the ciphertext came from (a
// positional read or a ranged stream): every package is checked against what its position demands
// (version, length, final flag, the stream's cipher and nonce) before its tag is verified, and
// nothing is returned from a package that fails.
import { AppError } from '../../errors.ts';
import { packageAead, type PackageAead } from './aead.ts';
import {
  aeadNonce,
  DARE_VERSION,
  deriveFileKey,
  FILE_HEADER_SIZE,
  FILE_VERSION,
  FINAL_FLAG,
  HEADER_SIZE,
  packageCount,
  payloadLength,
  plaintextOfFile,
  readPackageHeader,
  TAG_SIZE,
} from './format.ts';

export function corrupt(path: string, why: string): AppError {
  return new AppError('io', `read ${path || '/'}: encrypted file is damaged or unreadable: ${why}`);
}

/** Plaintext size of an encrypted file of `fileSize` bytes; an impossible size is an error. */
export function plaintextSize(fileSize: number, path: string): number {
  const size = plaintextOfFile(fileSize);
  if (size === undefined) throw corrupt(path, 'its size is not that of any encrypted file');
  return size;
}

export class PackageOpener {
  readonly #key: Uint8Array;
  readonly #path: string;
  readonly #aeads: (PackageAead | undefined)[] = [];
  /** Cipher and nonce (final flag cleared) of the first package verified: all must match it. */
  #ref: { cipher: number; nonce: Uint8Array } | undefined;
  /** Plaintext size of the file. */
  readonly size: number;
  readonly count: number;

  private constructor(key: Uint8Array, size: number, path: string) {
    this.#key = key;
    this.#path = path;
    this.size = size;
    this.count = packageCount(size);
  }

  /** Checks the 33-byte file header and derives the file key from it. */
  static fromHeader(header: Uint8Array, passphrase: Uint8Array, size: number, path: string): PackageOpener {
    if (header.byteLength < FILE_HEADER_SIZE) throw corrupt(path, 'short header');
    if (header[0] !== FILE_VERSION) throw corrupt(path, `unsupported encryption version 0x${header[0]!.toString(16)}`);
    return new PackageOpener(deriveFileKey(passphrase, header.subarray(1, FILE_HEADER_SIZE)), size, path);
  }

  /** Bytes package `index` takes in the file (header, payload and tag). */
  sealedLength(index: number): number {
    return HEADER_SIZE + payloadLength(index, this.size) + TAG_SIZE;
  }

  /** The plaintext of package `index`, given exactly its sealed bytes. */
  open(index: number, pkg: Uint8Array): Uint8Array {
    const expectedLen = payloadLength(index, this.size);
    if (pkg.byteLength !== HEADER_SIZE + expectedLen + TAG_SIZE) throw corrupt(this.#path, 'truncated');
    const header = pkg.subarray(0, HEADER_SIZE);
    const h = readPackageHeader(header);
    if (h.version !== DARE_VERSION) throw corrupt(this.#path, `package ${index}: unsupported DARE version 0x${h.version.toString(16)}`);
    const final = index === this.count - 1;
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
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
