// Memory trace for measuring where a server's memory goes (SFTPGO_MEM_TRACE=<file>): a JSON line
// every few milliseconds with the process's resident memory split into anonymous and file-backed
// pages (from /proc; the binary's own pages are file-backed), the JS heap, the memory held by
// ArrayBuffers, and the bytes moved so far, so a peak can be set against what was in flight and
// what the collector had not yet reclaimed. Under Bun, every 8th sample also carries the
// allocator's own figures (live and peak bytes handed out, committed), and the last line its
// largest size classes by peak: RSS above the allocator's live bytes is memory it keeps. Off
// unless asked for: a sample costs a /proc read, an allocator sample a walk of the JS heap.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export interface MemTraceOptions {
  file: string;
  everyMs?: number;
  /** Bytes moved by transfers so far (open and ended). */
  movedBytes: () => number;
}

const MIB = 2 ** 20;

interface Counter {
  current: number;
  peak: number;
}
interface AllocatorStats {
  malloc_normal?: Counter;
  malloc_huge?: Counter;
  committed?: Counter;
  malloc_bins?: (Counter & { block_size: number })[];
}

/** mimalloc's statistics under Bun (bun:jsc heapStats), undefined elsewhere. */
function allocatorStats(): AllocatorStats | undefined {
  if (typeof Bun === 'undefined') return undefined;
  const jsc = process.getBuiltinModule?.('bun:jsc') as { heapStats?: () => { mimalloc?: AllocatorStats } } | undefined;
  return jsc?.heapStats?.().mimalloc;
}

const mib = (n: number | undefined) => (n === undefined ? undefined : +(n / MIB).toFixed(1));

/** RssAnon and RssFile of this process in MiB, or undefined where /proc is missing. */
function residentSplit(): { anon: number; file: number } | undefined {
  try {
    const s = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return undefined;
  }
}

/** Starts the trace; returns its stop function. The timer never keeps the process alive. */
export function startMemTrace(opts: MemTraceOptions): () => void {
  const fd = openSync(opts.file, 'a');
  const t0 = performance.now();
  let samples = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const split = residentSplit();
    const line = {
      ms: Math.round(performance.now() - t0),
      rss: +(m.rss / MIB).toFixed(1),
      anon: split && +split.anon.toFixed(1),
      file: split && +split.file.toFixed(1),
      heap: +(m.heapUsed / MIB).toFixed(1),
      heapTotal: +(m.heapTotal / MIB).toFixed(1),
      arrayBuffers: +(m.arrayBuffers / MIB).toFixed(1),
      external: +(m.external / MIB).toFixed(1),
      moved: +(opts.movedBytes() / MIB).toFixed(1),
    };
    const a = samples++ % 8 === 0 ? allocatorStats() : undefined;
    const extra = a && {
      mallocLive: mib((a.malloc_normal?.current ?? 0) + (a.malloc_huge?.current ?? 0)),
      mallocPeak: mib((a.malloc_normal?.peak ?? 0) + (a.malloc_huge?.peak ?? 0)),
      committed: mib(a.committed?.current),
    };
    writeSync(fd, JSON.stringify({ ...line, ...extra }) + '\n');
  }, opts.everyMs ?? 25);
  timer.unref?.();
  return () => {
    clearInterval(timer);
    const bins = (allocatorStats()?.malloc_bins ?? [])
      .map((b) => ({ block: b.block_size, peakMiB: mib(b.peak * b.block_size)!, liveMiB: mib(b.current * b.block_size)! }))
      .sort((x, y) => y.peakMiB - x.peakMiB)
      .slice(0, 12);
    writeSync(fd, JSON.stringify({ bins }) + '\n');
    closeSync(fd);
  };
}
