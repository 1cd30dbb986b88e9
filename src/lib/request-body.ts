// An incoming HTTP request body as a web ReadableStream that holds the client back while the
// reader is slower. Under Bun, a socket handed to an http.Server with `emit('connection')` (how
// our listeners admit sockets before HTTP sees them) keeps flowing whatever the request stream's
// state: pausing the request alone does not stop it, so a fast client filled memory with the whole
// body (measured: +236 MB for a 200 MB upload). Pausing the socket itself does stop it (+33 MB,
// as a plain listener), so this pauses the socket above HIGH_WATER bytes queued and resumes it
// once the reader has taken them.
import type { IncomingMessage } from 'node:http';

const HIGH_WATER = 1024 * 1024;

export interface RequestBodyOptions {
  /** Called when the reader cancels before the end (the body is then drained and dropped). */
  onCancel?: () => void;
  /** Bytes of an abandoned body read and dropped before the connection is cut. */
  maxDrainBytes?: number;
}

export function requestBody(req: IncomingMessage, opts: RequestBodyOptions = {}): ReadableStream<Uint8Array> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  let paused = false;
  let cancelled = false;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pause = (): void => {
    if (paused) return;
    paused = true;
    req.socket?.pause();
  };
  const resume = (): void => {
    if (!paused) return;
    paused = false;
    req.socket?.resume();
  };
  req.on('data', (chunk: Buffer) => {
    if (cancelled) return;
    queue.push(chunk);
    queued += chunk.length;
    if (queued > HIGH_WATER) pause();
    notify();
  });
  req.on('end', () => {
    ended = true;
    resume();
    notify();
  });
  req.on('error', (err: Error) => {
    failed = err;
    notify();
  });
  req.on('close', () => {
    // A client that stopped sending mid-body must not look like a complete upload.
    if (!req.complete && !failed) failed = new Error('request body ended early');
    notify();
  });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (queue.length === 0 && !ended && !failed) await new Promise<void>((resolve) => (wake = resolve));
      const chunk = queue.shift();
      if (chunk) {
        queued -= chunk.length;
        if (queued <= HIGH_WATER / 2) resume();
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        return;
      }
      if (failed) controller.error(failed);
      else controller.close();
    },
    cancel() {
      cancelled = true;
      queue.length = 0;
      queued = 0;
      if (req.complete) return resume();
      opts.onCancel?.();
      const limit = opts.maxDrainBytes ?? Infinity;
      let dropped = 0;
      req.on('data', (chunk: Buffer) => {
        dropped += chunk.length;
        if (dropped > limit) req.socket?.destroy();
      });
      resume();
    },
  });
}
