// The long fuzzing run (`npm run fuzz`: 1,000,000 inputs per target) as part of `npm run test:hard`:
// it passes when no target finds a crash. Figures go into test/hard/RESULTS.md under "fuzzing".
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { BUN, ROOT } from '../support/server.ts';

test('every fuzz target runs 1,000,000 inputs without a crash', () => {
  const r = spawnSync(BUN, ['test/fuzz/fuzz.ts'], { cwd: ROOT, stdio: 'inherit' });
  expect(r.status).toBe(0);
});
