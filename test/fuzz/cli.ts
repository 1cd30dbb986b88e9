// The fuzzer's command line, run by Node on a bundle of this file (V8's block coverage is the
// feedback, and Bun runs JavaScriptCore): the main thread supervises, the worker thread of the same
// bundle fuzzes. `bun test/fuzz/fuzz.ts` builds the bundles and runs it; see docs/development.md.
//
//   node cli.mjs --name <target> --bundle <target.mjs> [--corpus <dir>]...
//                [--out <dir>] [--runs <n>] [--seconds <n>] [--seed <n>] [--timeout <ms>] [--memory <mb>]
//                [--minimize] [--json]
import { isMainThread } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fuzz } from './engine/supervisor.ts';
import { workerMain } from './engine/worker.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      bundle: { type: 'string' },
      corpus: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      runs: { type: 'string', default: '1000000' },
      seconds: { type: 'string' },
      seed: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '2000' },
      memory: { type: 'string', default: '512' },
      minimize: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.name || !values.bundle) throw new Error('--name and --bundle are required');
  const report = await fuzz({
    workerFile: fileURLToPath(import.meta.url),
    bundle: values.bundle,
    name: values.name,
    corpusDirs: values.corpus,
    outDir: values.out,
    runs: Number(values.runs),
    seconds: values.seconds ? Number(values.seconds) : undefined,
    seed: Number(values.seed),
    timeoutMs: Number(values.timeout),
    memoryMb: Number(values.memory),
    minimize: values.minimize,
    log: (line) => console.log(line),
  });
  const summary = `${report.target}: done ${report.runs} runs (+${report.seeds} seeds) in ${report.seconds.toFixed(1)} s, corpus ${report.corpus}, blocks ${report.blocks}, features ${report.features}, crashes ${report.crashes.length}`;
  console.log(summary);
  if (values.json)
    console.log(JSON.stringify({ ...report, crashes: report.crashes.map((c) => ({ kind: c.kind, message: c.message, file: c.file, input: c.input.toString('base64') })) }));
  process.exitCode = report.crashes.length ? 1 : 0;
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 2;
  });
} else {
  await workerMain();
}
