// Runtime-specific tuning, kept in one place so the rest of the source stays runtime-neutral.
// Imports nothing: the entry point loads it before anything else.

/** Running as a `bun build --compile` binary (its modules live in Bun's embedded file system). */
export function isCompiledBinary(): boolean {
  return import.meta.url.includes('$bunfs') || import.meta.url.includes('~BUN');
}

/**
 * Under Bun, the allocator (mimalloc) returns freed memory to the OS at once and faults it back in
 * for the next buffer: measured, ~21-23% of a compiled SFTP server's CPU, and AES-GCM server
 * throughput ~155 → 435-580 MB/s with MIMALLOC_PURGE_DELAY=-1. mimalloc reads the variable only at
 * process start, so `serve` re-executes itself once with it set (same PID, no supervisor), from the
 * entry point before the commands are loaded (loading them costs 40-50 ms a start). Setting
 * MIMALLOC_PURGE_DELAY yourself (e.g. 0 to return memory eagerly) disables the re-exec.
 */
export function tuneAllocatorForServe(): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof Bun === 'undefined' || typeof execve !== 'function' || process.env.MIMALLOC_PURGE_DELAY !== undefined) return;
  // A compiled binary's argv[1] is its embedded entry point; a script run's is the script.
  const rest = isCompiledBinary() ? process.argv.slice(2) : process.argv.slice(1);
  execve.call(process, process.execPath, [process.execPath, ...rest], { ...process.env, MIMALLOC_PURGE_DELAY: '-1' });
}

/**
 * A synchronous full collection where the runtime offers one (Bun), else undefined. The core's
 * collector pacer (core/gc-pacer.ts) calls it; Node and Deno collect on their own schedule.
 */
export function fullCollection(): (() => void) | undefined {
  return typeof Bun !== 'undefined' ? () => Bun.gc(true) : undefined;
}
