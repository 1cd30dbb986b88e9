// The local backend's small-file data calls: a file's first write, and a read that starts a file
// or follows a short read, are made synchronously when small (no thread-pool round trip), and
// everything else still goes through the pool; the bytes are the same either way.
import { afterAll, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMALL_IO } from '../../../src/vfs/local/file.ts';
import { openLocalFs } from '../../../src/vfs/local/local-fs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test("a small file's only write is on disk before write() returns; later writes land in order", async () => {
  const root = tempDir('small-io-');
  const fs = await openLocalFs(root);
  const w = await fs.openWrite('/small.bin');
  const first = pattern(4096, 1);
  const pending = w.write(first);
  // Synchronous: nothing has run on the event loop yet, and the bytes are there.
  expect(readFileSync(join(root, 'small.bin')).equals(first)).toBe(true);
  await pending;
  const second = pattern(SMALL_IO, 2);
  await w.write(second);
  await w.close();
  expect(readFileSync(join(root, 'small.bin')).equals(Buffer.concat([first, second]))).toBe(true);
  expect(w.size).toBe(4096 + SMALL_IO);
});

test('a first write larger than SMALL_IO goes through the thread pool, intact', async () => {
  const root = tempDir('small-io-');
  const fs = await openLocalFs(root);
  const w = await fs.openWrite('/big.bin');
  const data = pattern(SMALL_IO + 1, 3);
  const pending = w.write(data);
  // Not written yet: the pool's callback needs a turn of the event loop to report it.
  let settled = false;
  void pending.then(() => (settled = true));
  await Promise.resolve();
  expect(settled).toBe(false);
  await pending;
  await w.close();
  expect(readFileSync(join(root, 'big.bin')).equals(data)).toBe(true);
});

test("a small file's first read fills the buffer before read() returns, and so does the read after a short one", async () => {
  const root = tempDir('small-io-');
  const content = pattern(4096, 4);
  writeFileSync(join(root, 'f.bin'), content);
  const fs = await openLocalFs(root);
  const r = await fs.openReader!('/f.bin');
  const buf = Buffer.alloc(SMALL_IO);
  const pending = r.read(buf, 0);
  expect(buf.subarray(0, 4096).equals(content)).toBe(true);
  expect(await pending).toBe(4096);
  // The read that finds the end of the file.
  let settled = false;
  const eof = r.read(Buffer.alloc(SMALL_IO), 4096).then((n) => ((settled = true), n));
  await Promise.resolve();
  await Promise.resolve();
  expect(settled).toBe(true);
  expect(await eof).toBe(0);
  await r.close();
});

test('reads of a larger file after a full read go through the pool and return the right bytes', async () => {
  const root = tempDir('small-io-');
  const content = pattern(3 * SMALL_IO + 100, 5);
  writeFileSync(join(root, 'g.bin'), content);
  const fs = await openLocalFs(root);
  const r = await fs.openReader!('/g.bin');
  const parts: Buffer[] = [];
  for (let pos = 0; ; ) {
    const b = Buffer.alloc(SMALL_IO);
    const n = await r.read(b, pos);
    if (n === 0) break;
    parts.push(b.subarray(0, n));
    pos += n;
  }
  await r.close();
  expect(Buffer.concat(parts).equals(content)).toBe(true);
});
