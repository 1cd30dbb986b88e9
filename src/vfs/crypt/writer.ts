// Upload side of the crypt backend: plaintext in, DARE packages out, strictly sequential. A full
// 64 KiB package is held back until more data arrives, because only close() knows which package
// is the last one and must carry the final flag. The packages stream into a writer of the inner Fs,
// which commits the file when it closes; abort or any failure aborts that writer and discards what
// the target says to discard.
import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.ts';
import { abortedError } from '../abort.ts';
import type { FileWriter } from '../fs.ts';
import type { PackageAead } from './aead.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';
import { aeadNonce, HEADER_SIZE, MAX_PACKAGE, MAX_PAYLOAD, MAX_PLAINTEXT, STREAM_NONCE_SIZE, TAG_SIZE, writePackageHeader, type CipherId } from './format.ts';

export interface CryptWriterTarget {
  /** Receives the encrypted bytes after the file header; its close() commits the file. */
  raw: FileWriter;
  /** Cleans up after `raw` was aborted (e.g. removes a file the upload created). */
  discard(): Promise<void>;
  /**
   * The caller's cancellation: once aborted, writes and close are refused, even while plaintext
   * is only gathered into a package and nothing reaches `raw` yet.
   */
  signal?: AbortSignal;
}

/**
 * A writer of the inner Fs opened on first use. Nothing touches the target until there is
 * ciphertext to write (the first sealed package, or close): an upload that fails its first
 * package, or is aborted before it, leaves the previous version of the file as it was.
 */
export class DeferredWriter implements FileWriter {
  readonly #open: () => Promise<FileWriter>;
  #writer: Promise<FileWriter> | undefined;
  #size = 0;

  /** `open` returns the inner writer with the file header already written. */
  constructor(open: () => Promise<FileWriter>) {
    this.#open = open;
  }

  /** Whether the inner writer was opened (so the target may have been created or changed). */
  get opened(): boolean {
    return this.#writer !== undefined;
  }

  get size(): number {
    return this.#size;
  }

  async write(data: Uint8Array): Promise<void> {
    await (await this.#inner()).write(data);
    this.#size += data.byteLength;
  }

  async sync(): Promise<void> {
    if (this.#writer) await (await this.#writer).sync();
  }

  async close(): Promise<void> {
    await (await this.#inner()).close();
  }

  async abort(): Promise<void> {
    const w = await this.#writer?.catch(() => undefined);
    await w?.abort();
  }

  #inner(): Promise<FileWriter> {
    return (this.#writer ??= this.#open());
  }
}

export class CryptWriter implements FileWriter {
  readonly #aead: PackageAead;
  readonly #cipher: CipherId;
  readonly #streamNonce: Uint8Array;
  readonly #target: CryptWriterTarget;
  readonly #path: string;
  /** Plaintext not yet sealed: up to one full package. */
  readonly #pending = new Uint8Array(MAX_PAYLOAD);
  #pendingLen = 0;
  #seq = 0;
  /** Plaintext accepted by write() (the next valid position). */
  #accepted = 0;
  /** Plaintext fully processed. */
  #size = 0;
  /** Writes run one after another, in call order, even if a caller does not await each. */
  #chain: Promise<void> = Promise.resolve();
  #state: 'open' | 'closing' | 'done' | 'failed' = 'open';
  #failure: unknown;
  #closing: Promise<void> | undefined;

  /** `streamNonce` is random unless given (only test vectors give it). */
  constructor(aead: PackageAead, cipher: CipherId, target: CryptWriterTarget, path: string, streamNonce?: Uint8Array) {
    this.#streamNonce = streamNonce ?? new Uint8Array(randomBytes(STREAM_NONCE_SIZE));
    this.#aead = aead;
    this.#cipher = cipher;
    this.#target = target;
    this.#path = path;
  }

  get size(): number {
    return this.#size;
  }

  write(data: Uint8Array, position = this.#accepted): Promise<void> {
    if (this.#state === 'failed') return Promise.reject(this.#failed());
    if (this.#target.signal?.aborted) return Promise.reject(abortedError('write', this.#path));
    if (this.#state !== 'open') return Promise.reject(new AppError('invalid', `write ${this.#path}: after close`));
    if (position !== this.#accepted)
      return Promise.reject(new AppError('unsupported', `write ${this.#path}: encrypted files are written sequentially (offset ${position}, expected ${this.#accepted})`));
    if (this.#accepted + data.byteLength > MAX_PLAINTEXT) return Promise.reject(new AppError('invalid', `write ${this.#path}: file too large for DARE`));
    this.#accepted += data.byteLength;
    return this.#enqueue(() => this.#absorb(data));
  }

  async sync(): Promise<void> {
    await this.#chain;
    if (this.#failure !== undefined) throw this.#failed();
    // A held-back package is not on disk yet: it cannot be sealed before we know if it is the last.
    await this.#target.raw.sync();
  }

  close(): Promise<void> {
    if (this.#state === 'done') return Promise.resolve();
    if (this.#closing) return this.#closing;
    if (this.#state === 'failed') return Promise.reject(this.#failed());
    if (this.#target.signal?.aborted) return Promise.reject(abortedError('close', this.#path));
    this.#closing = this.#finish();
    return this.#closing;
  }

  async #finish(): Promise<void> {
    this.#state = 'closing';
    await this.#chain.catch(() => undefined);
    if (this.#failure !== undefined) {
      await this.#discard();
      throw this.#failed();
    }
    try {
      if (this.#pendingLen > 0) {
        const out = new Uint8Array(HEADER_SIZE + this.#pendingLen + TAG_SIZE);
        this.#seal(out, this.#pending.subarray(0, this.#pendingLen), true);
        this.#pendingLen = 0;
        await this.#target.raw.write(out);
        freeBuffer(out);
      }
      await this.#target.raw.close();
      this.#state = 'done';
    } catch (err) {
      this.#failure = err;
      await this.#discard();
      throw this.#failed();
    }
  }

  async abort(): Promise<void> {
    if (this.#state === 'done') return;
    if (this.#closing) {
      // Too late to abort a commit in progress: let it finish or fail on its own.
      await this.#closing.catch(() => undefined);
      return;
    }
    const wasFailed = this.#state === 'failed';
    this.#state = 'failed';
    this.#failure ??= new AppError('invalid', `write ${this.#path}: aborted`);
    await this.#chain.catch(() => undefined);
    if (!wasFailed) await this.#discard();
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(async () => {
      if (this.#failure !== undefined) throw this.#failed();
      try {
        await step();
      } catch (err) {
        this.#failure ??= err;
        throw this.#failed();
      }
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Seals every package that is known not to be the last, and writes them in one call. */
  async #absorb(data: Uint8Array): Promise<void> {
    const total = this.#pendingLen + data.byteLength;
    // Packages we may seal now: all full ones except one that could turn out to be the last.
    const sealable = total > 0 ? Math.floor((total - 1) / MAX_PAYLOAD) : 0;
    const out = sealable > 0 ? new Uint8Array(sealable * MAX_PACKAGE) : undefined;
    let off = 0;
    for (let i = 0; i < sealable; i++) {
      const dst = out!.subarray(i * MAX_PACKAGE, (i + 1) * MAX_PACKAGE);
      if (this.#pendingLen > 0) {
        const take = MAX_PAYLOAD - this.#pendingLen;
        this.#pending.set(data.subarray(off, off + take), this.#pendingLen);
        off += take;
        this.#pendingLen = 0;
        this.#seal(dst, this.#pending, false);
      } else {
        this.#seal(dst, data.subarray(off, off + MAX_PAYLOAD), false);
        off += MAX_PAYLOAD;
      }
    }
    this.#pending.set(data.subarray(off), this.#pendingLen);
    this.#pendingLen += data.byteLength - off;
    if (out) {
      await this.#target.raw.write(out);
      // The inner writer is done with it (FileWriter.write): freed now, not at the next collection.
      freeBuffer(out);
    }
    this.#size += data.byteLength;
  }

  #seal(dst: Uint8Array, payload: Uint8Array, final: boolean): void {
    writePackageHeader(dst, this.#cipher, payload.byteLength, this.#streamNonce, final);
    const header = dst.subarray(0, HEADER_SIZE);
    this.#aead.seal(aeadNonce(header, this.#seq), header.subarray(0, 4), payload, dst.subarray(HEADER_SIZE));
    this.#seq++;
  }

  async #discard(): Promise<void> {
    this.#state = 'failed';
    await this.#target.raw.abort().catch(() => undefined);
    await this.#target.discard().catch(() => undefined);
  }

  #failed(): AppError {
    const f = this.#failure;
    if (f instanceof AppError) return f;
    return new AppError('io', `write ${this.#path}: ${(f as Error | undefined)?.message ?? 'failed'}`, { cause: f });
  }
}
