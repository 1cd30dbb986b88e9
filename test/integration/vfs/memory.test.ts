// The in-memory backend: the shared Fs suite, then what the suite does not cover (symlinks, hard
// links, resume, copy, attributes, cancellation) checked the way the core relies on them.
import { expect, test } from 'bun:test';
import { isAppError } from '../../../src/errors.ts';
import { MemoryFs } from '../../../src/vfs/memory/memory-fs.ts';
import { names, readFile, runFsSuite, writeFile } from './suite.ts';
import { codeOf } from '../../support/codes.ts';

runFsSuite('memory', async () => ({ fs: new MemoryFs(), cleanup: async () => {} }), { writesInPlace: true, cancellation: true });

test('symlinks: stat follows, lstat and readlink do not; a loop is refused', async () => {
  const fs = new MemoryFs();
  await fs.mkdir('/d');
  await writeFile(fs, '/d/f', Buffer.from('target'));
  await fs.symlink('/d/f', '/ln');
  await fs.symlink('/d', '/dl');
  expect((await fs.stat('/ln')).type).toBe('file');
  expect((await fs.lstat('/ln')).type).toBe('symlink');
  expect(await fs.readlink('/ln')).toBe('/d/f');
  expect((await readFile(fs, '/dl/f')).toString()).toBe('target');
  expect(await names(fs, '/dl')).toEqual(['f']);
  await fs.symlink('/loop2', '/loop1');
  await fs.symlink('/loop1', '/loop2');
  expect(await codeOf(fs.stat('/loop1'))).toBe('invalid');
  expect(await codeOf(fs.readlink('/d/f'))).toBe('invalid');
  await fs.remove('/ln');
  expect((await fs.stat('/d/f')).size).toBe(6);
});

test('hard links share content and count links', async () => {
  const fs = new MemoryFs();
  await writeFile(fs, '/a', Buffer.from('one'));
  await fs.link('/a', '/b');
  expect((await fs.stat('/a')).nlink).toBe(2);
  const w = await fs.openWrite('/b', { append: true });
  await w.write(Buffer.from('+two'));
  await w.close();
  expect((await readFile(fs, '/a')).toString()).toBe('one+two');
  await fs.remove('/a');
  expect((await fs.stat('/b')).nlink).toBe(1);
  expect(await codeOf(fs.link('/b', '/b'))).toBe('exists');
});

test('resume at an offset keeps the bytes before it; exclusive create refuses an existing file', async () => {
  const fs = new MemoryFs();
  await writeFile(fs, '/r', Buffer.from('hello there'));
  const w = await fs.openWrite('/r', { offset: 5 });
  expect(w.size).toBe(5);
  await w.write(Buffer.from(' world'));
  await w.close();
  expect((await readFile(fs, '/r')).toString()).toBe('hello world');
  expect(await codeOf(fs.openWrite('/r', { exclusive: true }))).toBe('exists');
  await fs.truncate('/r', 5);
  expect((await readFile(fs, '/r')).toString()).toBe('hello');
  await fs.truncate('/r', 7);
  expect([...(await readFile(fs, '/r')).subarray(5)]).toEqual([0, 0]);
});

test('copy, chmod, chown, positional reads; rename rules', async () => {
  const fs = new MemoryFs();
  await writeFile(fs, '/src', Buffer.from('0123456789'));
  await fs.chmod('/src', 0o600);
  await fs.copy('/src', '/dup');
  expect((await readFile(fs, '/dup')).toString()).toBe('0123456789');
  expect((await fs.stat('/dup')).mode).toBe(0o600);
  await fs.chown('/dup', 1000, 1001);
  expect([(await fs.stat('/dup')).uid, (await fs.stat('/dup')).gid]).toEqual([1000, 1001]);
  const r = await fs.openReader('/src');
  const buf = new Uint8Array(4);
  expect(await r.read(buf, 8)).toBe(2);
  expect(Buffer.from(buf.subarray(0, 2)).toString()).toBe('89');
  await r.close();
  await fs.mkdir('/d');
  await fs.mkdir('/d/e');
  expect(await codeOf(fs.rename('/d', '/d/e/x'))).toBe('invalid');
  expect(await codeOf(fs.rename('/src', '/d'))).toBe('is_dir');
  expect(await codeOf(fs.rename('/d', '/src'))).toBe('not_dir');
  expect(await codeOf(fs.rmdir('/'))).toBe('permission_denied');
});

test('an aborted signal rejects calls and ends streams and handles', async () => {
  const fs = new MemoryFs();
  await writeFile(fs, '/big', Buffer.alloc(4 * 1024 * 1024, 1));
  const ctl = new AbortController();
  const stream = await fs.openRead('/big', { signal: ctl.signal });
  const failed = new Promise<unknown>((resolve) => stream.once('error', resolve));
  const w = await fs.openWrite('/w', { signal: ctl.signal });
  await w.write(Buffer.from('x'));
  ctl.abort();
  expect(stream.destroyed).toBe(true);
  expect(isAppError(await failed, 'io')).toBe(true);
  expect(await codeOf(w.write(Buffer.from('y')))).toBe('io');
  await w.abort();
  expect(await codeOf(fs.stat('/big', { signal: ctl.signal }))).toBe('io');
  expect(await codeOf(fs.mkdir('/x', { signal: ctl.signal }))).toBe('io');
  expect(await codeOf(fs.stat('/x'))).toBe('not_found');
});
