// The usage marks: what a session can change is marked before it changes anything, unmarked once
// its last session ended and the deltas are flushed; a clean stop leaves nothing; a crash leaves
// exactly the counters in use, and they stay marked until repaired.
import { afterAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageMarks } from '../../../src/core/usage-marks.ts';
import { liveEntries } from '../../../src/core/upload-journal.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const quiet = () => undefined;

function onDisk(file: string): string[] {
  return [...liveEntries(readFileSync(file, 'utf8'))].sort();
}

test('held counters are on disk at once; released ones go after the flush; a second holder keeps them', async () => {
  const file = join(tempDir(), 'usage.marks');
  let flushes = 0;
  const { marks, stale } = UsageMarks.open({ file, log: quiet, flush: async () => void flushes++ });
  expect(stale).toEqual([]);
  const a = marks.hold(['user:alice', 'folder:shared']);
  const b = marks.hold(['user:bob', 'folder:shared']);
  // Written before the hold returns: a kill -9 right after finds them.
  expect(onDisk(file)).toEqual(['folder:shared', 'user:alice', 'user:bob']);
  a();
  a();
  await Bun.sleep(5);
  expect(flushes).toBe(1);
  expect(onDisk(file)).toEqual(['folder:shared', 'user:bob']);
  b();
  await Bun.sleep(5);
  expect(readFileSync(file, 'utf8')).toBe('');
  await marks.close();
});

test('a crash leaves the held counters; they stay marked until repaired, even across another crash', async () => {
  const file = join(tempDir(), 'usage.marks');
  const first = UsageMarks.open({ file, log: quiet, flush: async () => undefined });
  first.marks.hold(['user:alice', 'user:bob']);
  // No close: the process died.
  const second = UsageMarks.open({ file, log: quiet, flush: async () => undefined });
  expect(second.stale.sort()).toEqual(['user:alice', 'user:bob']);
  second.marks.repaired('user:alice');
  // A session of bob's during the repair does not unmark what the crash left.
  const release = second.marks.hold(['user:bob']);
  release();
  await Bun.sleep(5);
  expect(onDisk(file)).toEqual(['user:bob']);
  const third = UsageMarks.open({ file, log: quiet, flush: async () => undefined });
  expect(third.stale).toEqual(['user:bob']);
  third.marks.repaired('user:bob');
  expect(readFileSync(file, 'utf8')).toBe('');
  await third.marks.close();
});

test('a clean stop with sessions still open leaves nothing: the book was flushed before it', async () => {
  const file = join(tempDir(), 'usage.marks');
  const { marks } = UsageMarks.open({ file, log: quiet, flush: async () => undefined });
  marks.hold(['user:alice']);
  await marks.close();
  expect(readFileSync(file, 'utf8')).toBe('');
  expect(UsageMarks.open({ file, log: quiet, flush: async () => undefined }).stale).toEqual([]);
});
