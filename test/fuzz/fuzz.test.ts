// The short fuzzing run of `npm test`: every target replays its checked-in corpus
// (test/fuzz/corpus/<target>/, crash regressions included) and then tries new inputs from a
// fixed seed, under the same engine as `npm run fuzz` (Node, block coverage).
// Any broken invariant, exception of the wrong type, hang or heap exhaustion fails the target.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildFuzz, CORPUS_DIR, targetNames, type FuzzBuild } from './build.ts';
import { ROOT } from '../support/server.ts';

// New inputs per target: a few thousand, fewer where one input costs milliseconds (the YAML
// loader parses a whole config, SCP runs a transfer through the core), so each takes ~10 s.
const RUNS: Record<string, number> = { 'config-yaml': 150, scp: 400, 'sftpgo-dump': 700 };
const DEFAULT_RUNS = 3000;
const SEED = 20261203;

let dir: string;
let build: FuzzBuild;
beforeAll(async () => {
  // Inside the repository: the bundles leave packages external, found in node_modules from there.
  dir = join(ROOT, '.fuzz', `test-${process.pid}`);
  build = await buildFuzz(join(dir, 'build'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Report {
  runs: number;
  seeds: number;
  corpus: number;
  blocks: number;
  crashes: { kind: string; message: string; input: string }[];
}

describe('fuzz targets, short run', () => {
  for (const name of targetNames()) {
    test(name, () => {
      const runs = RUNS[name] ?? DEFAULT_RUNS;
      const seeds = readdirSync(join(CORPUS_DIR, name)).length;
      expect(seeds).toBeGreaterThan(0);
      const r = spawnSync('node', [build.cli, '--name', name, '--bundle', build.bundle(name), '--corpus', join(CORPUS_DIR, name), '--runs', String(runs), '--seed', String(SEED), '--timeout', '5000', '--json'], { encoding: 'utf8', timeout: 60_000 });
      const last = r.stdout.trim().split('\n').at(-1) ?? '';
      expect(last.startsWith('{'), `fuzzer output:\n${r.stdout}\n${r.stderr}`).toBe(true);
      const report = JSON.parse(last) as Report;
      const crashes = report.crashes.map((c) => `${c.kind}: ${c.message}\n  input (base64): ${c.input}`);
      expect(crashes).toEqual([]);
      expect(report.seeds).toBe(seeds);
      expect(report.runs).toBe(runs);
      expect(report.blocks).toBeGreaterThan(0);
      expect(r.status).toBe(0);
    });
  }
});
