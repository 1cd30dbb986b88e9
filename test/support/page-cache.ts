// Drops a file's pages from the page cache (posix_fadvise DONTNEED through libc, Bun on Linux):
// the next read of it goes to the disk, as a file nobody read lately would.
import { closeSync, fsyncSync, openSync } from 'node:fs';

/** True when the kernel took the advice; false where it cannot be given (not Bun on Linux). */
export async function evictFromPageCache(path: string): Promise<boolean> {
  if (typeof Bun === 'undefined' || process.platform !== 'linux') return false;
  const { dlopen, FFIType } = await import('bun:ffi');
  const lib = dlopen('libc.so.6', { posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 } });
  const fd = openSync(path, 'r');
  try {
    // Dirty pages are not dropped: write them out first.
    fsyncSync(fd);
    return lib.symbols.posix_fadvise(fd, 0n, 0n, 4 /* POSIX_FADV_DONTNEED */) === 0;
  } finally {
    closeSync(fd);
    lib.close();
  }
}
