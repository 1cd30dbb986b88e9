// `npm run fuzz [-- [target...] [--runs N] [--seconds N] [--seed N] [--minimize]]`: the long run. Builds the
// bundles, then fuzzes each target in turn under Node (1,000,000 inputs each by default), keeping
// new corpus entries and crashes under .fuzz/<target>/, and prints a summary table.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFuzz, CORPUS_DIR, FUZZ_DIR, targetNames } from './build.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '1000000' },
    seconds: { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    timeout: { type: 'string', default: '2000' },
    minimize: { type: 'boolean', default: false },
  },
});
const all = targetNames();
const targets = positionals.length ? positionals : all;
for (const t of targets) if (!all.includes(t)) throw new Error(`unknown target ${t} (targets: ${all.join(', ')})`);
const work = join(FUZZ_DIR, '../../.fuzz');
const build = await buildFuzz(join(work, 'build'), targets);

interface Summary {
  target: string;
  runs: number;
  seeds: number;
  corpus: number;
  blocks: number;
  features: number;
  crashes: { kind: string; message: string; file?: string }[];
  seconds: number;
}
const summaries: Summary[] = [];
for (const t of targets) {
  const out = join(work, t);
  mkdirSync(out, { recursive: true });
  const args = [build.cli, '--name', t, '--bundle', build.bundle(t), '--corpus', join(CORPUS_DIR, t), '--corpus', join(out, 'corpus'), '--out', out, '--runs', values.runs, '--seed', values.seed, '--timeout', values.timeout, '--json'];
  if (values.seconds) args.push('--seconds', values.seconds);
  if (values.minimize) args.push('--minimize');
  const child = spawn('node', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let last = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    for (const line of d.split('\n')) {
      if (!line) continue;
      if (line.startsWith('{')) last = line;
      else console.log(line);
    }
  });
  await new Promise((r) => child.on('close', r));
  if (last) summaries.push(JSON.parse(last) as Summary);
  else summaries.push({ target: t, runs: 0, seeds: 0, corpus: 0, blocks: 0, features: 0, crashes: [{ kind: 'exit', message: 'the fuzzer did not report' }], seconds: 0 });
}
console.log('\n| target | inputs | seeds | corpus | blocks | features | crashes | seconds | inputs/s |\n|---|---|---|---|---|---|---|---|---|');
for (const s of summaries)
  console.log(`| ${s.target} | ${s.runs} | ${s.seeds} | ${s.corpus} | ${s.blocks} | ${s.features} | ${s.crashes.length} | ${s.seconds.toFixed(0)} | ${Math.round(s.runs / Math.max(s.seconds, 0.001))} |`);
for (const s of summaries) for (const c of s.crashes) console.log(`${s.target}: ${c.kind}: ${c.message.split('\n')[0]}${c.file ? ` (${c.file})` : ''}`);
process.exitCode = summaries.some((s) => s.crashes.length) ? 1 : 0;
