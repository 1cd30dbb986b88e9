// Coalesces the small writes protocols deliver (SFTP: 32 KiB each) into larger blocks before they
// reach an object store's SDK. Each write is copied once, into the current block; a full block is
// handed on and never touched again, so the SDK may keep it (to assemble a part, or to resend a
// chunk) without the caller's buffers being pinned or copied a second time. Per-block work in the
// SDKs (stream writes, listeners, hash updates, request-body pieces) then runs once per block
// instead of once per protocol write.

/** The first block starts small and doubles, so the many small files do not each cost a full block. */
const FIRST_BLOCK_BYTES = 64 * 1024;

export class BlockBuffer {
  #buf: Buffer | undefined;
  #filled = 0;
  /** Whether a full block was handed on already (later blocks start at full size). */
  #grown = false;

  constructor(private readonly blockBytes: number) {}

  /** Bytes copied in and not yet handed on. */
  get pending(): number {
    return this.#filled;
  }

  /** Copies `chunk` in; calls `full` with each block that fills up (a fresh buffer each time). */
  add(chunk: Uint8Array, full: (block: Buffer) => void): void {
    let off = 0;
    while (off < chunk.byteLength) {
      const buf = this.#room(chunk.byteLength - off);
      const n = Math.min(chunk.byteLength - off, buf.length - this.#filled);
      buf.set(off === 0 && n === chunk.byteLength ? chunk : chunk.subarray(off, off + n), this.#filled);
      this.#filled += n;
      off += n;
      if (this.#filled === this.blockBytes) {
        this.#buf = undefined;
        this.#filled = 0;
        this.#grown = true;
        full(buf);
      }
    }
  }

  /** The partly filled block, if any, handed on for good (the buffer forgets it). */
  take(): Buffer | undefined {
    const buf = this.#buf?.subarray(0, this.#filled);
    this.#buf = undefined;
    this.#filled = 0;
    return buf && buf.length > 0 ? buf : undefined;
  }

  /** The current block, grown (until the first block is full) to fit `want` more bytes. */
  #room(want: number): Buffer {
    const size = this.blockBytes;
    if (!this.#buf) {
      this.#buf = Buffer.allocUnsafe(this.#grown ? size : Math.min(size, Math.max(FIRST_BLOCK_BYTES, want)));
    } else if (this.#filled === this.#buf.length && this.#buf.length < size) {
      let next = this.#buf.length * 2;
      while (next < this.#filled + want && next < size) next *= 2;
      const grown = Buffer.allocUnsafe(Math.min(size, next));
      grown.set(this.#buf.subarray(0, this.#filled));
      this.#buf = grown;
    }
    return this.#buf;
  }
}
