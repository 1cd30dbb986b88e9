// The long fuzzing run as part of `npm run test:hard`: `npm run fuzz` for every target, 1,000,000
// inputs each (on a quiet 2-core machine about an hour in all, most of it the config loader's
// ~350 inputs/s), with a 90-minute cap per target in case the machine is busy; it passes when no
// target finds a crash. Figures go into test/hard/RESULTS.md under "fuzzing".
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { BUN, ROOT } from '../support/server.ts';

test('every fuzz target runs 1,000,000 inputs without a crash', () => {
  const r = spawnSync(BUN, ['test/fuzz/fuzz.ts', '--seconds', '5400'], { cwd: ROOT, stdio: 'inherit' });
  expect(r.status).toBe(0);
});
