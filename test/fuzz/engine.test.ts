// The fuzzing engine finds what it is for: a planted bug behind four nested byte comparisons
// (coverage feedback keeps each input that passes one more, so the bug is reached stage by stage),
// an input that hangs (stopped by the watchdog, saved, the run going on) and one that fills the
// worker's heap.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFuzz, type FuzzBuild } from './build.ts';
import { tempDir } from '../support/tmp.ts';

const PLANTED = `
export const target = {
  name: 'planted',
  maxLen: 8,
  dictionary: ['B', 'U', 'G', '!'],
  run(d) {
    if (d[0] === 0x42) {
      if (d[1] === 0x55) {
        if (d[2] === 0x47) {
          if (d[3] === 0x21) throw new TypeError('planted bug');
        }
      }
    }
    if (d[0] === 0x48 && d[1] === 0x41 && d[2] === 0x4e && d[3] === 0x47) for (;;) {}
    if (d[0] === 0x4d && d[1] === 0x45 && d[2] === 0x4d) { const keep = []; for (;;) keep.push(new Array(1e6).fill(1)); }
  },
};
`;

let dir: string;
let build: FuzzBuild;
beforeAll(async () => {
  dir = tempDir('fuzz-engine-');
  build = await buildFuzz(join(dir, 'build'), []);
  writeFileSync(join(dir, 'planted.mjs'), PLANTED);
  mkdirSync(join(dir, 'corpus'));
  writeFileSync(join(dir, 'corpus', 'seed'), 'abcd');
  writeFileSync(join(dir, 'corpus', 'hang'), 'HANG');
  writeFileSync(join(dir, 'corpus', 'mem'), 'MEM');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('finds a planted bug by coverage, and survives a hang and a heap overflow', () => {
  const out = join(dir, 'out');
  const r = spawnSync('node', [build.cli, '--name', 'planted', '--bundle', join(dir, 'planted.mjs'), '--corpus', join(dir, 'corpus'), '--out', out, '--runs', '20000', '--seed', '3', '--timeout', '3000', '--memory', '64', '--json'], { encoding: 'utf8', timeout: 100_000 });
  const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { runs: number; crashes: { kind: string; message: string; input: string }[] };
  const kinds = report.crashes.map((c) => `${c.kind}: ${c.message.split('\n')[0]}`);
  expect(kinds).toContain('exception: TypeError: planted bug');
  expect(kinds).toContain('timeout: input ran over 3000 ms');
  expect(kinds.some((k) => k.startsWith('memory: '))).toBe(true);
  const planted = report.crashes.find((c) => c.message.includes('planted bug'))!;
  expect(Buffer.from(planted.input, 'base64').subarray(0, 4).toString()).toBe('BUG!');
  expect(readdirSync(join(out, 'crashes')).length).toBe(3);
  expect(r.status).toBe(1);
}, 120_000);
