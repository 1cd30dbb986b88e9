// Ranged parallel reads of large objects: a Readable that fetches consecutive byte ranges of
// `partSize` with up to `concurrency` requests in flight and emits them strictly in order. Memory
// is bounded by part size × concurrency; a part is fetched only when the consumer has room for
// it (backpressure), and destroying the stream cancels every request still in flight. A part is
// kept as the chunks its response arrived in and handed on as they are: copying each into one
// part-sized buffer cost a copy of every byte and an 8 MiB allocation per part.
import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';

/** Fetches bytes [start, end] (inclusive) of the object; must honour `signal`. */
export type FetchRange = (start: number, end: number, signal: AbortSignal) => Promise<Readable>;

interface Part {
  done: Promise<Buffer[]>;
  controller: AbortController;
}

/** Reads a whole part as its chunks; a body shorter or longer than `size` is an error. */
async function collect(body: Readable, size: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let at = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    if (at + chunk.byteLength > size) {
      body.destroy();
      throw new Error(`range body longer than the ${size} bytes asked for`);
    }
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    at += chunk.byteLength;
  }
  if (at !== size) throw new Error(`range body of ${at} bytes, expected ${size}`);
  return chunks;
}

export class ParallelRangeReader extends Readable {
  readonly #parts: Part[] = [];
  /** Chunks of the part being handed on that the consumer had no room for yet. */
  #pending: Buffer[] = [];
  #next: number;
  #pumping = false;
  /** _read() came while a pump was running: pump again when it ends, or the stream would stall. */
  #again = false;
  #ended = false;

  constructor(
    private readonly fetchRange: FetchRange,
    start: number,
    private readonly end: number,
    private readonly partSize: number,
    private readonly concurrency: number,
    /** Per-part time limit in ms (0: none): a stalled part is cancelled and the read fails. */
    private readonly partTimeoutMs = 0,
  ) {
    // Nothing buffered ahead beyond the parts themselves: they are the read-ahead.
    super({ highWaterMark: 1, objectMode: false });
    this.#next = start;
  }

  #startPart(): void {
    const start = this.#next;
    const end = Math.min(start + this.partSize - 1, this.end);
    this.#next = end + 1;
    const controller = new AbortController();
    const timer = this.partTimeoutMs > 0 ? setTimeout(() => controller.abort(new Error('part download timed out')), this.partTimeoutMs) : undefined;
    const signal = controller.signal;
    const done = this.fetchRange(start, end, signal)
      .then((body) => {
        // The SDK's abort covers the request; a body already streaming is stopped here.
        const stop = (): void => void body.destroy(new Error('part download cancelled'));
        if (signal.aborted) stop();
        signal.addEventListener('abort', stop, { once: true });
        return collect(body, end - start + 1).finally(() => signal.removeEventListener('abort', stop));
      })
      .finally(() => clearTimeout(timer));
    done.catch(() => undefined); // awaited in order by #pump; never unhandled meanwhile
    this.#parts.push({ done, controller });
  }

  override _read(): void {
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#ended) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    this.#again = false;
    try {
      for (;;) {
        while (this.#pending.length) if (!this.push(this.#pending.shift()!)) return; // resumed by the next _read()
        while (this.#parts.length < this.concurrency && this.#next <= this.end) this.#startPart();
        const part = this.#parts[0];
        if (!part) {
          this.#ended = true;
          this.push(null);
          return;
        }
        const chunks = await part.done;
        if (this.destroyed) return;
        this.#parts.shift();
        this.#pending = chunks;
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.#pumping = false;
      if (this.#again && !this.destroyed) void this.#pump();
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    for (const p of this.#parts.splice(0)) p.controller.abort();
    this.#pending = [];
    callback(err);
  }
}
