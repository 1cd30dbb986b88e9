// Object store requests through the runtime's own fetch, for the SDK adapters that send them
// (s3/fetch-handler.ts, azblob/fetch-client.ts): a large request body goes out as a stream of
// views of the caller's buffer, never copied on our side; a response body comes back as a node
// Readable handing on fetch's chunks one at a time, each owning its memory (so the reader can free
// it once used, core/read-ahead.ts); at most `maxSockets` requests of one client are open at once,
// as the node:http agent bounded them.
//
// Why: under Bun, node:http's client copies a request body buffer several times and keeps the
// copies until a collection. Measured (bun 1.4.5, one 8 MiB PUT at a time to a local server, a
// full collection every 4 parts): node:http +60 MiB peak RSS, fetch with the buffer as body +33,
// fetch with a stream of 1 MiB views +8-11, and faster. A 1 GiB GET read chunk by chunk, each
// chunk freed once read: node:http +52 MiB, fetch +17.
import { Readable } from 'node:stream';

/** Size of the views a request body is sent as: large enough for few turns, small enough for the runtime's send buffer. */
const BODY_PIECE_BYTES = 1024 * 1024;

/** A request body as a stream of views of `buf` (no copy): `buf` must not change until the request has settled. */
export function bodyOf(buf: Uint8Array): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (off >= buf.byteLength) return c.close();
        const end = Math.min(buf.byteLength, off + BODY_PIECE_BYTES);
        c.enqueue(buf.subarray(off, end));
        off = end;
      },
    },
    // Nothing pulled ahead of the runtime's socket.
    { highWaterMark: 0 },
  );
}

/**
 * A response body as a node Readable that reads the next chunk only when its consumer asks
 * (backpressure reaches the socket through fetch). Destroying it cancels the body, which ends
 * the request; `done` runs once, when the body ended, failed or was destroyed.
 */
export function readableOf(body: ReadableStream<Uint8Array> | null, done: () => void = () => undefined): Readable {
  const reader = body?.getReader();
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    done();
  };
  return new Readable({
    // One chunk at a time: the chunks fetch hands over are the buffering.
    highWaterMark: 0,
    read() {
      if (!reader) {
        finish();
        this.push(null);
        return;
      }
      reader.read().then(
        ({ done: end, value }) => {
          if (end) {
            finish();
            this.push(null);
          } else this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        },
        (err: unknown) => {
          finish();
          this.destroy(err as Error);
        },
      );
    },
    destroy(err, cb) {
      finish();
      if (!reader) return cb(err);
      reader.cancel(err ?? undefined).then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
}

/** Counts the requests of one client that are open (from the call until the response body is done); waits for a free one. */
export class Slots {
  #open = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  /** Resolves once a slot is free (or rejects when `signal` aborts first); returns its release function, which runs once. */
  async take(signal?: AbortSignal): Promise<() => void> {
    while (this.#open >= this.max) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.#waiting.indexOf(wake);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal!.reason);
        };
        this.#waiting.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    signal?.throwIfAborted();
    this.#open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
      this.#waiting.shift()?.();
    };
  }
}

/**
 * Bun's own RequestInit members (this path runs only under Bun, runtime.ts): bytes exactly as the
 * store sent them (an object stored gzip-encoded is not inflated: ranges and sizes count stored
 * bytes), and `tls` for a store whose certificate is not to be verified.
 */
export function bunInit(skipTlsVerify: boolean): Record<string, unknown> {
  return { decompress: false, ...(skipTlsVerify ? { tls: { rejectUnauthorized: false } } : {}) };
}

/**
 * Request headers for fetch from an SDK's: node:http adds no Accept-Encoding, fetch would (and the
 * answer would then come compressed); `Expect: 100-continue` is an optimisation node:http
 * implements and fetch does not.
 */
export function requestHeaders(headers: Record<string, string>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'expect') h.set(k, v);
  if (!h.has('accept-encoding')) h.set('accept-encoding', 'identity');
  return h;
}

/** Response headers as a plain object with lower-case names. */
export function headersOf(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => (out[k] = v));
  return out;
}

