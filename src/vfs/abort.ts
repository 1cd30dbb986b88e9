// Cancellation helpers every backend shares: the one error an aborted call rejects with, and the
// two ways a signal reaches work that cannot take one itself (racing a promise, destroying a
// stream). Each listener is removed when its work ends: the core passes one long-lived signal per
// connection, and a listener left behind per call would pile up on it.
import type { Readable } from 'node:stream';
import { AppError } from '../errors.ts';

/**
 * How long an object store request that moves no file part may take, retries included (stat,
 * list, delete, create, commit, abort): SFTPGo's 30 s. A peer that accepts a request and never
 * answers fails it instead of holding the session.
 */
export const REQUEST_DEADLINE_MS = 30_000;

/** The caller's signal, bounded by `ms`. */
export function withDeadline(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** SFTPGo's deadline for moving one part of an object store transfer: a minute per MB of part. */
export function partDeadlineMs(partBytes: number): number {
  return Math.max(1, Math.ceil(partBytes / (1024 * 1024))) * 60_000;
}

export function abortedError(op: string, path: string): AppError {
  return new AppError('io', `${op} ${path || '/'}: aborted`);
}

export function checkAborted(signal: AbortSignal | undefined, op: string, path: string): void {
  if (signal?.aborted) throw abortedError(op, path);
}

/**
 * Settles as `work` does, or rejects at once when `signal` aborts. Work that cannot be stopped
 * runs on; whatever it opens after the abort is handed to `dispose`, so nothing is left open.
 */
export function raceAbort<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  op: string,
  path: string,
  dispose?: (value: T) => unknown,
): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.then((v) => dispose?.(v), () => undefined);
    return Promise.reject(abortedError(op, path));
  }
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const onAbort = (): void => {
      late = true;
      reject(abortedError(op, path));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (late) void Promise.resolve(dispose?.(v)).catch(() => undefined);
        else resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Destroys `stream` when `signal` aborts (at once if it already has); returns the stream. */
export function destroyOnAbort<S extends Readable>(stream: S, signal: AbortSignal | undefined, op: string, path: string): S {
  if (!signal) return stream;
  if (signal.aborted) {
    stream.destroy(abortedError(op, path));
    return stream;
  }
  const onAbort = (): void => void stream.destroy(abortedError(op, path));
  signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
  return stream;
}

/** Calls `onAbort` when `signal` aborts; the returned function removes the listener. */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
