// The long fuzzing run as part of `npm run test:hard`: `npm run fuzz` for every target, bounded by
// 10 minutes a target (the config loader runs ~10 inputs/s here, so 1,000,000 would take a day);
// it passes when no target finds a crash. Figures go into test/hard/RESULTS.md under "fuzzing".
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { BUN, ROOT } from '../support/server.ts';

test('every fuzz target runs 1,000,000 inputs or 10 minutes without a crash', () => {
  const r = spawnSync(BUN, ['test/fuzz/fuzz.ts', '--seconds', '600'], { cwd: ROOT, stdio: 'inherit' });
  expect(r.status).toBe(0);
});
