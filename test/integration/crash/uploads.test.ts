// kill -9 during 100 concurrent SFTP uploads, in atomic and in standard mode (the checks are in
// test/support/crash-harness.ts); more seeds and backends run in test/hard/crash.hard.ts.
import { afterAll, expect, test } from 'bun:test';
import { crashRun, figuresLine, type UploadModeName } from '../../support/crash-harness.ts';
import { removeTempDirs } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const runs: [UploadModeName, number][] = [
  ['atomic', 1],
  ['atomic', 2],
  ['standard', 1],
  ['standard', 2],
];

for (const [mode, seed] of runs) {
  test(`${mode}, seed ${seed}: 100 uploads cut by kill -9`, async () => {
    const f = await crashRun({ seed, uploads: 100, mode });
    console.log(figuresLine(f));
    expect(f.failures).toEqual([]);
    expect(f.verified).toBeGreaterThan(0);
  }, 60_000);
}
