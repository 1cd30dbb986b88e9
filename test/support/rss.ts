// Samples this process's resident memory while something runs: the server under test runs in this
// process and its clients are other programs, so the figures are the server's.
export interface RssFigures {
  /** MiB before the run. */
  start: number;
  /** Highest MiB sampled during the run. */
  peak: number;
  /** MiB right after the run. */
  end: number;
}

const MIB = 1024 * 1024;

export function rssMiB(): number {
  return Math.round(process.memoryUsage.rss() / MIB);
}

/** Runs `work`, sampling RSS every `everyMs`; resolves its result with the figures. */
export async function sampleRss<T>(work: () => Promise<T>, everyMs = 100): Promise<{ result: T; rss: RssFigures }> {
  const start = rssMiB();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB());
  }, everyMs);
  try {
    const result = await work();
    const end = rssMiB();
    return { result, rss: { start, peak: Math.max(peak, end), end } };
  } finally {
    clearInterval(timer);
  }
}
