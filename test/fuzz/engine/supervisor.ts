// Runs one target's fuzzing worker and watches it: an input that runs past the time limit, or a
// worker that dies (its heap limit is the "no unbounded allocation" check), is saved as a crash and
// the worker restarts from the corpus gathered so far with the runs left. New corpus entries and
// crashes are written under the output directory, named by their content's hash.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SHARED_HEADER, sharedInput, type WorkerInput, type WorkerMessage } from './worker.ts';

// The most of an input the watchdog can save (the mutator stays far below it).
const MAX_SAVED = 1024 * 1024;

export interface FuzzOptions {
  /** The worker's module (the bundled CLI) and the target's bundle. */
  workerFile: string;
  bundle: string;
  name: string;
  /** Directories whose files seed the corpus (the checked-in corpus first). */
  corpusDirs: string[];
  /** Where new corpus entries (`corpus/`), crashes (`crashes/`) and the minimised set go. */
  outDir?: string;
  runs: number;
  /** A time budget in seconds: the run stops at whichever of runs and seconds comes first. */
  seconds?: number;
  seed: number;
  /** Per-input time limit. */
  timeoutMs: number;
  /** The worker's heap limit. */
  memoryMb: number;
  minimize: boolean;
  log: (line: string) => void;
}

export interface Crash {
  kind: 'exception' | 'timeout' | 'memory' | 'exit';
  message: string;
  input: Buffer;
  file?: string;
}

export interface FuzzReport {
  target: string;
  runs: number;
  seeds: number;
  corpus: number;
  blocks: number;
  features: number;
  crashes: Crash[];
  seconds: number;
  restarts: number;
}

function readCorpus(dirs: string[]): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(d, n);
      if (!statSync(p).isFile()) continue;
      const b = readFileSync(p);
      const h = hash(b);
      if (!seen.has(h)) (seen.add(h), out.push(b));
    }
  }
  return out;
}

const hash = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

function save(dir: string | undefined, prefix: string, b: Uint8Array): string | undefined {
  if (!dir) return undefined;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${prefix}${hash(b)}`);
  writeFileSync(file, b);
  return file;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const seeds = readCorpus(opts.corpusDirs);
  const corpus = [...seeds];
  const crashes: Crash[] = [];
  const signatures = new Set<string>();
  const report: FuzzReport = { target: opts.name, runs: 0, seeds: seeds.length, corpus: 0, blocks: 0, features: 0, crashes, seconds: 0, restarts: 0 };
  const corpusOut = opts.outDir && join(opts.outDir, 'corpus');
  const crashOut = opts.outDir && join(opts.outDir, 'crashes');
  let runsDone = 0;

  const addCrash = (c: Crash): void => {
    // One report per distinct failure: the message's first two lines (error and top frame).
    const sig = `${c.kind}:${c.message.split('\n').slice(0, 2).join('|')}`;
    if (signatures.has(sig)) return;
    signatures.add(sig);
    c.file = save(crashOut, `${c.kind}-`, c.input);
    crashes.push(c);
    opts.log(`${opts.name}: CRASH (${c.kind}) ${c.message.split('\n')[0]}${c.file ? ` -> ${c.file}` : ''}\n  input: ${JSON.stringify(c.input.toString('latin1').slice(0, 200))}`);
  };

  for (;;) {
    const left = opts.runs - runsDone;
    const shared = new SharedArrayBuffer(SHARED_HEADER + MAX_SAVED);
    const data: WorkerInput = { bundle: opts.bundle, seeds: corpus, runs: left, seed: opts.seed + report.restarts, shared, minimize: opts.minimize, deadline: opts.seconds ? started + opts.seconds * 1000 : Infinity };
    const worker = new Worker(opts.workerFile, { workerData: data, resourceLimits: { maxOldGenerationSizeMb: opts.memoryMb }, stdout: true, stderr: true });
    // The target's own console output is noise here (a parser may log what it rejects).
    worker.stdout.resume();
    worker.stderr.resume();
    let finished = false;
    let killed: Crash | undefined;
    let lastRuns = 0;
    const watchdog = setInterval(() => {
      const s = sharedInput(shared);
      if (s.running && Date.now() - s.startedMs > opts.timeoutMs) {
        killed = { kind: 'timeout', message: `input ran over ${opts.timeoutMs} ms`, input: s.input };
        void worker.terminate();
      }
    }, Math.min(250, opts.timeoutMs / 4));
    const exit = await new Promise<{ code: number; error?: Error }>((resolve) => {
      let error: Error | undefined;
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'new') {
          const b = Buffer.from(m.input);
          corpus.push(b);
          save(corpusOut, '', b);
        } else if (m.type === 'crash') {
          addCrash({ kind: 'exception', message: m.message, input: Buffer.from(m.input) });
        } else if (m.type === 'stats' || m.type === 'done') {
          lastRuns = m.runs;
          Object.assign(report, { corpus: m.corpus, blocks: m.blocks, features: m.features });
          if (m.type === 'stats') opts.log(`${opts.name}: #${runsDone + m.runs} corpus ${m.corpus} blocks ${m.blocks} features ${m.features} ${Math.round((runsDone + m.runs) / ((Date.now() - started) / 1000))}/s, reruns ${m.reruns}`);
          if (m.type === 'done') {
            finished = true;
            if (m.minimized && opts.outDir) for (const b of m.minimized) save(join(opts.outDir, 'minimized'), '', b);
            if (m.minimized) opts.log(`${opts.name}: minimised corpus ${m.minimized.length} of ${m.corpus} entries`);
          }
        }
      });
      worker.on('error', (err: Error) => (error = err));
      worker.on('exit', (code) => resolve({ code, error }));
    });
    clearInterval(watchdog);
    runsDone += lastRuns;
    if (finished || (opts.seconds && Date.now() > started + opts.seconds * 1000)) break;
    const s = sharedInput(shared);
    if (killed) addCrash(killed);
    else if (exit.error && /ERR_WORKER_OUT_OF_MEMORY/.test(`${(exit.error as { code?: string }).code} ${exit.error.message}`))
      addCrash({ kind: 'memory', message: `heap over ${opts.memoryMb} MB: ${exit.error.message}`, input: s.input });
    else addCrash({ kind: 'exit', message: `worker exited (${exit.code}): ${exit.error?.stack ?? ''}`, input: s.input });
    // The restart leaves out the input that killed the worker (it may be a seed, replayed first);
    // give up if nothing progresses.
    for (let i = corpus.length - 1; i >= 0; i--) if (corpus[i]!.equals(s.input)) corpus.splice(i, 1);
    runsDone += 1;
    report.restarts++;
    if (runsDone >= opts.runs || report.restarts > 20) break;
  }
  report.runs = runsDone;
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
