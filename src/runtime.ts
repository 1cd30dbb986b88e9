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

export interface ReleasedPages {
  /** The process's file-backed resident memory (RssFile) before and after, in KiB. */
  rssFileBeforeKb: number;
  rssFileAfterKb: number;
}

/**
 * Drops this process's clean pages of its own executable from memory, once the server is ready
 * (Linux, Bun). Starting touches most of the binary (`npm run build` makes one of ~140 MB): the
 * runtime's code for loading, the embedded bundle's config loader, schema validators, migrations
 * and reconcile. Those pages are clean and file-backed, so the kernel could drop them under memory
 * pressure, but until then they count in RSS and in a container's memory charge: 60 MiB of an
 * idle server's 75 MiB, against ~3 MiB that an idle server touches again. MADV_PAGEOUT (Linux
 * 5.4) drops them now; a page used later is read back from the page cache or the disk on its
 * first touch. Called through bun:ffi on libc's madvise; elsewhere (Node, Deno, another OS, no
 * glibc or musl libc to open) it does nothing and returns undefined.
 */
export async function releaseStartupPages(): Promise<ReleasedPages | undefined> {
  if (typeof Bun === 'undefined' || process.platform !== 'linux') return undefined;
  const { readFileSync, realpathSync } = await import('node:fs');
  let madvise: ((addr: bigint, len: bigint, advice: number) => number) | undefined;
  try {
    const ffi = await import('bun:ffi');
    for (const name of ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`]) {
      try {
        const lib = ffi.dlopen(name, { madvise: { args: [ffi.FFIType.u64, ffi.FFIType.u64, ffi.FFIType.i32], returns: ffi.FFIType.i32 } });
        madvise = (addr, len, advice) => lib.symbols.madvise(addr, len, advice) as number;
        break;
      } catch {
        // not this libc
      }
    }
  } catch {
    return undefined;
  }
  if (!madvise) return undefined;
  const rssFileKb = (): number => Number(/^RssFile:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  const MADV_PAGEOUT = 21;
  const exe = realpathSync(process.execPath);
  const before = rssFileKb();
  let paged = 0;
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    // start-end perms offset dev inode path; the path is the rest of the line.
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s+(.*)$/.exec(line);
    if (!m || m[3] !== exe) continue;
    const start = BigInt(`0x${m[1]}`);
    // A writable mapping's written pages are private copies: the kernel leaves them (no swap) or
    // swaps them; only its clean pages go, as in the read-only ones.
    if (madvise(start, BigInt(`0x${m[2]}`) - start, MADV_PAGEOUT) === 0) paged++;
  }
  if (paged === 0) return undefined;
  return { rssFileBeforeKb: before, rssFileAfterKb: rssFileKb() };
}

/**
 * sendfile(2) on a non-blocking socket: copies up to `count` bytes of `fileFd` from `position` to
 * `socketFd` inside the kernel. Returns the count sent, 0 at the end of the file, -1 when the
 * socket takes nothing more now (EAGAIN), -2, nothing sent, when the last byte of the range is
 * not in the page cache (sending would wait for the disk with the event loop: read it instead);
 * throws on any other error (`errno` set).
 */
export type SendFile = (socketFd: number, fileFd: number, position: number, count: number) => number;

let sendfileLoad: Promise<SendFile | undefined> | undefined;

/** Linux errno values sendfile may fail with on a socket or a file, by name. */
const ERRNO_NAMES: Record<number, string> = { 5: 'EIO', 9: 'EBADF', 12: 'ENOMEM', 22: 'EINVAL', 32: 'EPIPE', 104: 'ECONNRESET' };

/**
 * libc's sendfile through bun:ffi (Linux, Bun); undefined elsewhere (Node and Deno have no way to
 * call it, and another OS's sendfile differs). Loaded once, on first use.
 */
export function sendfile(): Promise<SendFile | undefined> {
  return (sendfileLoad ??= loadSendfile());
}

async function loadSendfile(): Promise<SendFile | undefined> {
  if (typeof Bun === 'undefined' || process.platform !== 'linux') return undefined;
  let ffi: typeof import('bun:ffi');
  try {
    ffi = await import('bun:ffi');
  } catch {
    return undefined;
  }
  const { FFIType, dlopen, ptr, read } = ffi;
  for (const name of ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`]) {
    try {
      const lib = dlopen(name, {
        sendfile: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
        __errno_location: { args: [], returns: FFIType.ptr },
      });
      // The calls are synchronous: one offset cell serves them all.
      const offset = new BigInt64Array(1);
      const offsetPtr = ptr(offset);
      const EAGAIN = 11;
      const resident = residencyProbe(ffi, name, () => read.i32(lib.symbols.__errno_location()!, 0));
      return (socketFd, fileFd, position, count) => {
        if (resident && !resident(fileFd, position + count - 1)) return -2;
        offset[0] = BigInt(position);
        const n = Number(lib.symbols.sendfile(socketFd, fileFd, offsetPtr, count));
        if (n >= 0) return n;
        const errno = read.i32(lib.symbols.__errno_location()!, 0);
        if (errno === EAGAIN) return -1;
        const code = ERRNO_NAMES[errno];
        throw Object.assign(new Error(`sendfile failed: ${code ?? `errno ${errno}`}`), { errno, ...(code ? { code } : {}) });
      };
    } catch {
      // not this libc
    }
  }
  return undefined;
}

/**
 * Whether the byte at `position` of `fd` is in the page cache: a one-byte preadv2 with RWF_NOWAIT
 * (Linux 4.14), which fails with EAGAIN instead of reading from the disk. sendfile reads a cold file
 * synchronously, up to its whole count, while every other connection waits; a range whose last
 * byte is cached has most likely been read ahead whole. Undefined where libc has no preadv2; a
 * kernel or file system without RWF_NOWAIT answers "cached" from then on (sendfile as before).
 */
function residencyProbe(ffi: typeof import('bun:ffi'), libc: string, errno: () => number): ((fd: number, position: number) => boolean) | undefined {
  const { FFIType, dlopen, ptr } = ffi;
  let preadv2: (fd: number, iov: number, count: number, position: bigint, flags: number) => number;
  try {
    const lib = dlopen(libc, { preadv2: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 } });
    preadv2 = (fd, iov, count, position, flags) => Number(lib.symbols.preadv2(fd, iov, count, position, flags));
  } catch {
    return undefined;
  }
  const RWF_NOWAIT = 0x08;
  const EAGAIN = 11;
  const byte = new Uint8Array(1);
  const iov = new BigUint64Array(2);
  let supported = true;
  return (fd, position) => {
    if (!supported) return true;
    iov[0] = BigInt(ptr(byte));
    iov[1] = 1n;
    if (preadv2(fd, ptr(iov), 1, BigInt(position), RWF_NOWAIT) >= 0) return true;
    if (errno() === EAGAIN) return false;
    // EOPNOTSUPP, ENOSYS, EINVAL: no way to tell here; sendfile decides.
    supported = false;
    return true;
  };
}

/**
 * The OS descriptor of a connected node:net socket, where the runtime exposes it (Bun and Node
 * keep it on the socket's handle); undefined for a TLS socket or anything else.
 */
export function socketFd(sock: object): number | undefined {
  if ((sock as { encrypted?: boolean }).encrypted) return undefined;
  const fd = (sock as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Whether object store clients send their requests through the runtime's fetch instead of
 * node:http (vfs/object/fetch-http.ts): under Bun, whose node:http client copies request bodies
 * and keeps response chunks for the collector (measured there). Node's and Deno's node:http do
 * not, and keep the agent's own socket handling.
 */
export function objectStoresUseFetch(): boolean {
  return typeof Bun !== 'undefined';
}
