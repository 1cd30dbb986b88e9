// Coverage feedback from V8's precise block coverage, read through node:inspector (Node only: Bun
// has no V8), per input or per batch of inputs (a read costs about a millisecond, the parsers
// microseconds). Only the target's bundle counts, so the engine's own code adds no noise.
//
// V8 reports a nested block only where its count differs from the enclosing one, so the ranges
// listed change with the counts. Every range ever listed is remembered per function, and its
// count in a read is that of the innermost listed range holding it: the true count, whatever
// was merged away. A feature is a block that ran, with its count in a log2 bucket as AFL does,
// so a loop that runs more often is new behaviour too.
import { Session } from 'node:inspector';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  url: string;
  functions: { ranges: Range[] }[];
}

function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  if (count < 128) return 7;
  return 8;
}

const blockId = (start: number, end: number): number => (Math.imul(start, 0x9e3779b1) + end) >>> 0;

export class Coverage {
  readonly #session = new Session();
  readonly #url: string;
  /** Every range listed so far, by function (its start offset): [start, end] pairs. */
  readonly #known = new Map<number, [number, number][]>();
  readonly #knownIds = new Set<number>();
  /** Every feature seen so far. */
  readonly features = new Set<number>();
  /** Every block that ran at least once. */
  readonly blocks = new Set<number>();

  constructor(bundleUrl: string) {
    this.#url = bundleUrl;
    this.#session.connect();
    this.#post('Profiler.enable');
    this.#post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  #post(method: string, params?: object): unknown {
    // A session on the current thread answers synchronously.
    let out: unknown;
    let failure: Error | null = null;
    this.#session.post(method, params ?? {}, (err, res) => {
      failure = err;
      out = res;
    });
    if (failure) throw failure;
    return out;
  }

  /** Reads and resets the counts; calls `visit` with each known block's id and true count. */
  #take(visit: (block: number, count: number) => void): void {
    const { result } = this.#post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const script = result.find((s) => s.url === this.#url);
    if (!script) return;
    for (const fn of script.functions) {
      const ranges = fn.ranges;
      if (ranges.length === 0 || ranges[0]!.count === 0) continue;
      const key = ranges[0]!.startOffset;
      let known = this.#known.get(key);
      if (!known) this.#known.set(key, (known = []));
      let added = false;
      for (const r of ranges) {
        const id = blockId(r.startOffset, r.endOffset);
        if (!this.#knownIds.has(id)) (this.#knownIds.add(id), known.push([r.startOffset, r.endOffset]), (added = true));
      }
      // Outer before inner where two start together, as V8 lists them.
      if (added) known.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
      // One sweep over both lists (each sorted by start): `open` holds the listed ranges around
      // the current block, outermost first; the innermost that holds it gives its count.
      const open: Range[] = [];
      let next = 0;
      for (const [start, end] of known) {
        while (next < ranges.length && ranges[next]!.startOffset <= start) {
          const r = ranges[next++]!;
          while (open.length && open[open.length - 1]!.endOffset <= r.startOffset) open.pop();
          open.push(r);
        }
        while (open.length && open[open.length - 1]!.endOffset <= start) open.pop();
        let count = 0;
        for (let i = open.length - 1; i >= 0; i--) {
          if (open[i]!.endOffset >= end) {
            count = open[i]!.count;
            break;
          }
        }
        visit(blockId(start, end), count);
      }
    }
  }

  /** Drops the counts gathered so far. */
  reset(): void {
    this.#take(() => undefined);
  }

  /** Reads and resets the counts of a batch: how many blocks ran that never ran before. Records nothing. */
  newBlocks(): number {
    let fresh = 0;
    this.#take((block, count) => {
      if (count > 0 && !this.blocks.has(block)) fresh++;
    });
    return fresh;
  }

  /**
   * Reads and resets the counts of one input and returns how many of its features are new. With
   * `into`, its features go there and the global sets are left alone (to compare, not to learn).
   */
  collect(into?: Set<number>): number {
    let fresh = 0;
    this.#take((block, count) => {
      if (count === 0) return;
      const feature = (Math.imul(block, 9) + bucket(count)) >>> 0;
      into?.add(feature);
      if (this.features.has(feature)) return;
      fresh++;
      if (!into) {
        this.features.add(feature);
        this.blocks.add(block);
      }
    });
    return fresh;
  }
}
