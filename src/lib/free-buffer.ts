// Freeing a buffer's memory at a moment we choose. Under Bun the collector runs late for buffer
// memory, and with the allocator keeping freed pages (MIMALLOC_PURGE_DELAY=-1) whatever piles up
// between collections stays resident: a transfer's hot path frees its own buffers as soon as it
// is done with them instead. Detaching the ArrayBuffer (ES2024 `transfer(0)`) releases its memory
// at once; where the runtime lacks it (Node 20) the buffer is left to the collector.

/** ES2024 members of ArrayBuffer (the project's TypeScript lib is ES2023). */
interface Detachable {
  readonly detached?: boolean;
  transfer?: (newLength?: number) => ArrayBuffer;
}

export interface FreeOptions {
  /**
   * The caller knows the ArrayBuffer holds nothing but `buf`, even when it is larger (node:crypto's
   * output: Bun allocates a block of slack).
   */
  wholeBuffer?: boolean;
}

/**
 * Frees `buf`'s memory now when it alone owns its ArrayBuffer (a view into a larger or shared
 * one is left to the collector). The caller guarantees nothing references it any more: every view
 * of it reads as empty afterwards.
 */
export function freeBuffer(buf: Uint8Array, opts: FreeOptions = {}): void {
  const ab: ArrayBufferLike & Detachable = buf.buffer;
  if (!(ab instanceof ArrayBuffer) || buf.byteOffset !== 0 || ab.detached) return;
  if (buf.byteLength !== ab.byteLength && !opts.wholeBuffer) return;
  ab.transfer?.(0);
}
