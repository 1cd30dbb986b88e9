// Runtime-specific tuning, kept in one place so the rest of the source stays runtime-neutral.
// Imports nothing: the entry point loads it before anything else.

/** Running as a `bun build --compile` binary (its modules live in Bun's embedded file system). */
export function isCompiledBinary(): boolean {
  return import.meta.url.includes('$bunfs') || import.meta.url.includes('~BUN');
}

/** A Linux process running on musl libc (where `process.report` finds no glibc). */
function onMusl(): boolean {
  if (process.platform !== 'linux') return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header !== undefined && report.header.glibcVersionRuntime === undefined;
}

export interface ServeEnvOptions {
  /** chacha20-poly1305 runs on the pure-JS fallback (no libsodium: musl, or SSH2_DISABLE_SODIUM). */
  jsCipher: boolean;
}

/**
 * The variables `serve` runs with under Bun, each only where the environment does not set it:
 * - MIMALLOC_PURGE_DELAY=-1. The allocator (mimalloc) otherwise returns freed memory to the OS at
 *   once and faults it back in for the next buffer: measured, ~21-23% of a compiled SFTP server's
 *   CPU, and AES-GCM server throughput ~155 → 435-580 MB/s.
 * - BUN_JSC_useFTLJIT=0: JavaScriptCore's top tier compiles the data path on a background thread
 *   in the first second of a transfer, and the compiler's working memory stays resident (the
 *   allocator keeps what is freed, above): 5-15 MiB of a 4-transfer peak. The tier below (DFG)
 *   still optimises: SFTP server CPU per GB measured no higher without FTL. Kept where
 *   chacha20-poly1305 runs in JS (noble's ChaCha20 is ~27% slower without FTL).
 */
export function serveEnv(env: NodeJS.ProcessEnv, opts: ServeEnvOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (env.MIMALLOC_PURGE_DELAY === undefined) out.MIMALLOC_PURGE_DELAY = '-1';
  if (env.BUN_JSC_useFTLJIT === undefined && !opts.jsCipher) out.BUN_JSC_useFTLJIT = '0';
  return out;
}

/**
 * Both variables are read only at process start, so `serve` re-executes itself once with them
 * (same PID, no supervisor), from the entry point before the commands are loaded (loading them
 * costs 40-50 ms a start). Setting MIMALLOC_PURGE_DELAY yourself (e.g. 0 to return memory eagerly)
 * disables the re-exec, and with it the JIT setting.
 */
export function tuneRuntimeForServe(): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof Bun === 'undefined' || typeof execve !== 'function' || process.env.MIMALLOC_PURGE_DELAY !== undefined) return;
  const jsCipher = process.env.SSH2_DISABLE_SODIUM === '1' || onMusl();
  // A compiled binary's argv[1] is its embedded entry point; a script run's is the script.
  const rest = isCompiledBinary() ? process.argv.slice(2) : process.argv.slice(1);
  execve.call(process, process.execPath, [process.execPath, ...rest], { ...process.env, ...serveEnv(process.env, { jsCipher }) });
}

/**
 * A synchronous full collection where the runtime offers one (Bun), else undefined. The core's
 * collector pacer (core/gc-pacer.ts) calls it; Node and Deno collect on their own schedule.
 */
export function fullCollection(): (() => void) | undefined {
  return typeof Bun !== 'undefined' ? () => Bun.gc(true) : undefined;
}
