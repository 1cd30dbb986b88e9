// Memory trace for measuring where a server's memory goes (SFTPGO_MEM_TRACE=<file>): a JSON line
// every few milliseconds with the process's resident memory split into anonymous and file-backed
// pages (from /proc; the binary's own pages are file-backed), the JS heap, the memory held by
// ArrayBuffers, and the bytes moved so far, so a peak can be set against what was in flight and
// what the collector had not yet reclaimed. Off unless asked for: it costs a /proc read a sample.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export interface MemTraceOptions {
  file: string;
  everyMs?: number;
  /** Bytes moved by transfers so far (open and ended). */
  movedBytes: () => number;
}

const MIB = 2 ** 20;

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
    writeSync(fd, JSON.stringify(line) + '\n');
  }, opts.everyMs ?? 25);
  timer.unref?.();
  return () => {
    clearInterval(timer);
    closeSync(fd);
  };
}
