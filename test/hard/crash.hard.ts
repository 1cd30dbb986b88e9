// The long crash consistency run (npm run test:hard): kill -9 during concurrent SFTP uploads for
// many seeds, in every upload mode, on local disk (with and without common.temp_path), S3
// (s3rver) and Azure (azurite). Prints one line per crash and the totals for test/hard/RESULTS.md.
// CRASH_SEEDS sets the seeds per configuration (default 8).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startAzurite, type Azurite } from '../support/azurite.ts';
import { crashRun, figuresLine, type CrashFigures, type CrashRunOptions } from '../support/crash-harness.ts';
import { startS3rver, type S3rver } from '../support/s3rver.ts';
import { removeTempDirs } from '../support/tmp.ts';

const SEEDS = Number(process.env.CRASH_SEEDS ?? 8);
const MiB = 1024 * 1024;
const all: CrashFigures[] = [];
let s3: S3rver;
let az: Azurite;

beforeAll(async () => {
  [s3, az] = await Promise.all([startS3rver('crash-hard'), startAzurite()]);
  await az.createContainer('crash-hard');
});

afterAll(async () => {
  await Promise.all([s3?.stop(), az?.stop()]);
  removeTempDirs();
  const sum = (f: (x: CrashFigures) => number) => all.reduce((n, x) => n + f(x), 0);
  console.log(
    `crash totals: ${all.length} crashes survived, ${sum((x) => x.uploads)} uploads, ${sum((x) => x.acknowledged)} acknowledged closes, ` +
      `${sum((x) => x.verified)} files verified, ${sum((x) => x.discarded)} open object store uploads discarded at start, ` +
      `${sum((x) => x.leftovers)} leftovers, ${sum((x) => x.failures.length)} failures`,
  );
});

type Config = { name: string; opts: (seed: number) => Omit<CrashRunOptions, 'seed'> };

const configs: Config[] = [
  { name: 'local atomic', opts: () => ({ uploads: 100, mode: 'atomic' }) },
  { name: 'local atomic_resume', opts: () => ({ uploads: 100, mode: 'atomic_resume' }) },
  { name: 'local atomic, temp_path', opts: () => ({ uploads: 100, mode: 'atomic', common: '  temp_path: uploads-tmp' }) },
  { name: 'local standard', opts: () => ({ uploads: 100, mode: 'standard' }) },
  { name: 'local standard, 200 uploads over 8 connections', opts: () => ({ uploads: 200, mode: 'standard', connections: 8 }) },
  { name: 's3 atomic', opts: (seed) => ({ uploads: 12, mode: 'atomic', parallel: 4, sizes: { min: 6 * MiB, max: 12 * MiB }, backend: { kind: 's3', s3, prefix: `atomic-${seed}` } }) },
  { name: 's3 standard, half replacing a file', opts: (seed) => ({ uploads: 12, mode: 'standard', overwrite: true, parallel: 4, sizes: { min: 6 * MiB, max: 12 * MiB }, backend: { kind: 's3', s3, prefix: `standard-${seed}` } }) },
  { name: 'azblob atomic', opts: (seed) => ({ uploads: 24, mode: 'atomic', parallel: 6, sizes: { min: 1.5 * MiB, max: 5 * MiB }, backend: { kind: 'azblob', azurite: az, container: 'crash-hard', prefix: `atomic-${seed}` } }) },
  { name: 'azblob standard, half replacing a file', opts: (seed) => ({ uploads: 24, mode: 'standard', overwrite: true, parallel: 6, sizes: { min: 4 * MiB, max: 6 * MiB }, backend: { kind: 'azblob', azurite: az, container: 'crash-hard', prefix: `standard-${seed}` } }) },
];

for (const c of configs) {
  test(`${c.name}: ${SEEDS} seeds`, async () => {
    const failures: string[] = [];
    for (let seed = 100; seed < 100 + SEEDS; seed++) {
      const f = await crashRun({ seed, ...c.opts(seed) });
      all.push(f);
      console.log(figuresLine(f));
      failures.push(...f.failures.map((m) => `seed ${seed}: ${m}`));
    }
    expect(failures).toEqual([]);
  });
}
