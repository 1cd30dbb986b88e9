// Bandwidth limits: one shared bucket per user and direction, so every session of a user, over any
// protocol, draws from the same allowance. The bucket is a virtual clock (GCRA): each chunk moves
// the user's "next free" time forward by its transmission time at the configured rate, and waits
// until that time, less a small burst allowance, has come. Concurrent chunks queue in call order,
// the rate stays smooth at any chunk size, and a rate change applies to the next chunk.
import type { Direction } from './connection.ts';

/** How far ahead of the steady rate a user may run after idling: small, so the rate stays smooth. */
const BURST_MS = 50;
/** Waits shorter than this are not worth a timer: they are absorbed by the burst allowance. */
const MIN_WAIT_MS = 2;

export class Bucket {
  /** The virtual time (ms, monotonic) at which everything granted so far has been sent. */
  #tat = 0;
  /** Bytes per second; 0 = unlimited. */
  rate = 0;

  /** How long the caller must wait before sending `bytes`; reserves them. */
  reserve(bytes: number, now = performance.now()): number {
    if (this.rate <= 0 || bytes <= 0) return 0;
    this.#tat = Math.max(this.#tat, now) + (bytes * 1000) / this.rate;
    return Math.max(0, this.#tat - now - BURST_MS);
  }
}

/** One server's buckets, one per user and direction. */
export class BandwidthBuckets {
  readonly #buckets = new Map<string, Bucket>();

  /** The shared bucket of `username` for `direction`, set to `kbPerSec` (SFTPGo's KB/s; 0 = unlimited). */
  for(username: string, direction: Direction, kbPerSec: number): Bucket | undefined {
    const key = `${direction}\0${username}`;
    let b = this.#buckets.get(key);
    if (kbPerSec <= 0) {
      // Unlimited now: a bucket still serving other transfers keeps their pace until they end.
      if (b) b.rate = 0;
      return undefined;
    }
    // Kept for the life of the server (two small records per user who ever had a limit): a bucket
    // dropped while idle could be replaced under a transfer still holding it, splitting the limit.
    if (!b) this.#buckets.set(key, (b = new Bucket()));
    b.rate = kbPerSec * 1024;
    return b;
  }
}

/** Waits until `bytes` may pass through `bucket`. */
export function throttle(bucket: Bucket | undefined, bytes: number): Promise<void> | undefined {
  if (!bucket) return undefined;
  const wait = bucket.reserve(bytes);
  if (wait < MIN_WAIT_MS) return undefined;
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, wait);
    // A wait never keeps the process alive: on shutdown the transfer is aborted and the write dropped.
    (timer as { unref?: () => void }).unref?.();
  });
}
