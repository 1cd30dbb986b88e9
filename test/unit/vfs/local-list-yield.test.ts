// The local backend's metadata calls are synchronous, so a long listing must hand the event loop
// back on its own: other sessions (and the API) keep being served during a big walk.
import { afterAll, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLocalFs } from '../../../src/vfs/local/local-fs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

test('a listing of 1,000 names lets other work run between its entries, and before its first', async () => {
  const root = tempDir('list-yield-');
  mkdirSync(join(root, 'big'));
  for (let i = 0; i < 1000; i++) writeFileSync(join(root, 'big', `f${i}`), '');
  mkdirSync(join(root, 'small'));
  writeFileSync(join(root, 'small', 'one'), '');
  const fs = await openLocalFs(root);

  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const seenAt: number[] = [];
  for await (const _ of fs.list('/big')) seenAt.push(turns);
  expect(seenAt).toHaveLength(1000);
  // The other work advanced while the listing ran, several times over.
  expect(seenAt.at(-1)! - seenAt[0]!).toBeGreaterThanOrEqual(3);

  // Even a one-entry listing yields once, so a walk over many small directories does too.
  const before = turns;
  for await (const _ of fs.list('/small')) void _;
  expect(turns).toBeGreaterThan(before);
  ticking = false;
});
