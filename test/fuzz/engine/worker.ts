// The fuzzing loop, run in a worker thread so the supervisor can stop an input that hangs and
// survive one that exhausts the worker's heap. It replays the corpus, then mutates corpus entries,
// keeps every input that reaches a new coverage feature, and reports crashes, new entries and
// progress to the supervisor. Before each input runs, its bytes go into shared memory with the
// time it started: that is what the supervisor saves when the worker hangs or dies.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { FuzzTarget } from '../target.ts';
import { Coverage } from './coverage.ts';
import { Mutator, Rng } from './mutate.ts';

// Batch sizes: small while most batches reach something new (each is then run again to find
// which inputs did), large once new blocks are rare (one coverage read per batch).
const MIN_BATCH = 16;
const MAX_BATCH = 256;
/** Inputs per batch read one by one to learn hit-count features: 4 of 256. */
const SAMPLED_PER = 64;

export interface WorkerInput {
  bundle: string;
  seeds: Uint8Array[];
  runs: number;
  seed: number;
  shared: SharedArrayBuffer;
  minimize: boolean;
  /** Epoch ms after which no new batch starts (a time budget); Infinity for none. */
  deadline: number;
}

export type WorkerMessage =
  | { type: 'new'; input: Uint8Array }
  | { type: 'crash'; message: string; input: Uint8Array }
  | { type: 'stats'; runs: number; reruns: number; corpus: number; blocks: number; features: number }
  | { type: 'done'; runs: number; reruns: number; corpus: number; blocks: number; features: number; minimized?: Uint8Array[] };

/** Layout of the shared block: int32 running flag, int32 length, float64 start time, then bytes. */
export const SHARED_HEADER = 16;

export function sharedInput(shared: SharedArrayBuffer): { running: boolean; startedMs: number; input: Buffer } {
  const ints = new Int32Array(shared, 0, 2);
  const time = new Float64Array(shared, 8, 1);
  const len = Atomics.load(ints, 1);
  return { running: Atomics.load(ints, 0) === 1, startedMs: time[0]!, input: Buffer.from(new Uint8Array(shared, SHARED_HEADER, len)) };
}

export async function workerMain(): Promise<void> {
  const opts = workerData as WorkerInput;
  const port = parentPort!;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  const mod = (await import(pathToFileURL(opts.bundle).href)) as { target: FuzzTarget };
  const target = mod.target;
  const ints = new Int32Array(opts.shared, 0, 2);
  const time = new Float64Array(opts.shared, 8, 1);
  const bytes = new Uint8Array(opts.shared, SHARED_HEADER);
  const cov = new Coverage(pathToFileURL(opts.bundle).href);
  const rng = new Rng(opts.seed);
  const dictionary = (target.dictionary ?? []).map((t) => (typeof t === 'string' ? Buffer.from(t) : t));
  const mutator = new Mutator({ rng, maxLen: target.maxLen, dictionary });
  let current: Buffer = Buffer.alloc(0);
  process.on('unhandledRejection', (err) => post({ type: 'crash', message: `unhandled rejection: ${describe(err)}`, input: current }));

  /** Runs one input; coverage is left for the caller to read. */
  const runOne = async (input: Buffer): Promise<void> => {
    current = input;
    const len = Math.min(input.length, bytes.length);
    bytes.set(input.subarray(0, len));
    Atomics.store(ints, 1, len);
    time[0] = Date.now();
    Atomics.store(ints, 0, 1);
    try {
      const r = target.run(input);
      if (r) await r;
    } catch (err) {
      post({ type: 'crash', message: describe(err), input });
    }
    Atomics.store(ints, 0, 0);
  };
  const exec = async (input: Buffer, into?: Set<number>): Promise<number> => {
    await runOne(input);
    return cov.collect(into);
  };

  const corpus: Buffer[] = [];
  for (const s of opts.seeds) {
    const b = Buffer.from(s);
    await exec(b);
    corpus.push(b);
  }
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  const stats = (runs: number) => ({ runs, reruns, corpus: corpus.length, blocks: cov.blocks.size, features: cov.features.size });
  let lastStats = Date.now();
  let runs = 0;
  /** Inputs run again to find which of a batch reached a new block. */
  let reruns = 0;
  // Coverage is read once per batch. A batch that ran a block never seen before is split in
  // halves, run again, until the inputs that did it are found (a handful of reads instead of one
  // per input); a few inputs of every batch are read one by one as well, to learn hit-count
  // features. Parsers are deterministic, so a second run behaves as the first.
  const keep = async (input: Buffer): Promise<void> => {
    if ((await exec(input)) > 0) {
      corpus.push(input);
      post({ type: 'new', input });
    }
  };
  // `inputs` ran at least one new block between them. When the first half ran none, the second
  // half did: it is split without running it again.
  const bisect = async (inputs: Buffer[]): Promise<void> => {
    if (inputs.length === 1) return keep(inputs[0]!);
    const half = inputs.length >> 1;
    const first = inputs.slice(0, half);
    const second = inputs.slice(half);
    if (await hasNewBlocks(first)) {
      await bisect(first);
      if (await hasNewBlocks(second)) await bisect(second);
    } else await bisect(second);
  };
  const hasNewBlocks = async (part: Buffer[]): Promise<boolean> => {
    cov.reset();
    for (const input of part) await runOne(input);
    reruns += part.length;
    return cov.newBlocks() > 0;
  };
  let batchSize = MAX_BATCH;
  /** New corpus entries per input, a moving average over batches. */
  let novelty = 0;
  while (runs < opts.runs && Date.now() < opts.deadline) {
    const batch: Buffer[] = [];
    const size = Math.min(batchSize, opts.runs - runs);
    cov.reset();
    for (let i = 0; i < size; i++) {
      const parent = corpus[rng.below(corpus.length)]!;
      const other = corpus[rng.below(corpus.length)];
      const input = mutator.mutate(parent, other);
      batch.push(input);
      await runOne(input);
    }
    runs += size;
    const before = corpus.length;
    if (cov.newBlocks() > 0) await bisect(batch);
    // About one new entry in every two batches: re-running a batch to find its new entries then
    // costs about half a batch per entry.
    novelty = 0.9 * novelty + (0.1 * (corpus.length - before)) / size;
    batchSize = MAX_BATCH;
    while (batchSize > MIN_BATCH && batchSize * novelty > 0.5) batchSize >>= 1;
    const sampled = Math.max(1, Math.round(size / SAMPLED_PER));
    for (let i = 0; i < sampled && batch.length; i++) await keep(batch[rng.below(batch.length)]!);
    if (Date.now() - lastStats > 1000) {
      lastStats = Date.now();
      post({ type: 'stats', ...stats(runs) });
    }
  }
  const done: WorkerMessage = { type: 'done', ...stats(runs) };
  if (opts.minimize) done.minimized = await minimize(corpus, exec);
  post(done);
}

/** The smallest entries that together reach every feature the corpus reaches (greedy, shortest first). */
async function minimize(corpus: Buffer[], exec: (b: Buffer, into: Set<number>) => Promise<number>): Promise<Buffer[]> {
  const kept: Buffer[] = [];
  const covered = new Set<number>();
  for (const b of [...corpus].sort((x, y) => x.length - y.length)) {
    const mine = new Set<number>();
    await exec(b, mine);
    let adds = false;
    for (const f of mine) if (!covered.has(f)) (adds = true), covered.add(f);
    if (adds) kept.push(b);
  }
  return kept;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return `thrown non-error: ${String(err)}`;
}
