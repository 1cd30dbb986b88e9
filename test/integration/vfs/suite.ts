// The backend suite: the same behaviour checks run against every Fs (local, memory, crypt, S3, GCS,
// Azure, SFTP), each against a real server where there is one. A backend is done when this passes. Capabilities decide which
// checks apply (e.g. random writes); nothing else may differ between backends.
//
//   runFsSuite('s3', async () => ({ fs, cleanup }))
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { isAppError } from '../../../src/errors.ts';
import type { FileInfo, Fs } from '../../../src/vfs/fs.ts';

export interface SuiteTarget {
  fs: Fs;
  /** Removes everything the suite created and releases the server side. */
  cleanup(): Promise<void>;
}

export interface SuiteOptions {
  /** Entries for the paged-listing test (default 2,500: more than one page on every store). */
  listingSize?: number;
  /** Size of the big file (default 100 MiB). */
  bigFileBytes?: number;
  /**
   * Writers write into the file itself, as on a disk (local, memory): an aborted upload keeps the
   * bytes that arrived, and the core's upload mode decides what becomes of them. Other backends
   * commit on close, so an aborted upload leaves the previous file untouched.
   */
  writesInPlace?: boolean;
  /**
   * Run the cancellation checks (fs.ts: an aborted signal rejects calls, ends streams and stops
   * writers). Every backend that forwards signals opts in.
   */
  cancellation?: boolean;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

export async function writeFile(fs: Fs, path: string, data: Uint8Array | Iterable<Uint8Array>): Promise<void> {
  const w = await fs.openWrite(path);
  try {
    if (data instanceof Uint8Array) await w.write(data);
    else for (const chunk of data) await w.write(chunk);
    await w.close();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

export async function readFile(fs: Fs, path: string, range?: { start?: number; end?: number }): Promise<Buffer> {
  return readAll(await fs.openRead(path, range));
}

export async function names(fs: Fs, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of fs.list(path)) out.push(e.name);
  return out.sort();
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) {
      expect(err.code).toBe(code as never);
      return;
    }
    throw err;
  }
  throw new Error(`expected an error with code ${code}`);
}

/** A deterministic pseudo-random stream of `total` bytes, with its sha256. */
function bigData(total: number, chunk = 1 << 20): { chunks: () => Iterable<Uint8Array>; sha256: string } {
  const block = randomBytes(chunk);
  const h = createHash('sha256');
  const gen = function* () {
    for (let off = 0, i = 0; off < total; off += chunk, i++) {
      const c = Buffer.from(block.subarray(0, Math.min(chunk, total - off)));
      c.writeUInt32BE(i, 0); // every chunk differs, so misplaced parts are caught
      yield c;
    }
  };
  for (const c of gen()) h.update(c);
  return { chunks: gen, sha256: h.digest('hex') };
}

export function runFsSuite(name: string, make: () => Promise<SuiteTarget>, opts: SuiteOptions = {}): void {
  describe(`Fs suite: ${name}`, () => {
    let t: SuiteTarget;
    let fs: Fs;
    beforeAll(async () => {
      t = await make();
      fs = t.fs;
    }, 120_000);
    afterAll(async () => {
      await t?.cleanup();
    }, 120_000);

    test('stat of the root is a directory; a missing path is not_found', async () => {
      expect((await fs.stat('/')).type).toBe('dir');
      await expectCode(fs.stat('/no/such/file'), 'not_found');
      await expectCode(fs.openRead('/no-such-file'), 'not_found');
    });

    test('write, stat, read back; 0-byte file', async () => {
      const data = randomBytes(300_000);
      await writeFile(fs, '/a.bin', data);
      const st = await fs.stat('/a.bin');
      expect(st.type).toBe('file');
      expect(st.size).toBe(data.length);
      expect(st.name).toBe('a.bin');
      expect((await readFile(fs, '/a.bin')).equals(data)).toBe(true);
      await writeFile(fs, '/empty', new Uint8Array(0));
      expect((await fs.stat('/empty')).size).toBe(0);
      expect((await readFile(fs, '/empty')).length).toBe(0);
    });

    test('ranged reads', async () => {
      const data = randomBytes(1_000_000);
      await writeFile(fs, '/ranged.bin', data);
      expect((await readFile(fs, '/ranged.bin', { start: 0, end: 9 })).equals(data.subarray(0, 10))).toBe(true);
      expect((await readFile(fs, '/ranged.bin', { start: 123_456, end: 654_320 })).equals(data.subarray(123_456, 654_321))).toBe(true);
      expect((await readFile(fs, '/ranged.bin', { start: 999_900 })).equals(data.subarray(999_900))).toBe(true);
    });

    test('overwrite replaces the content and size', async () => {
      await writeFile(fs, '/over.txt', Buffer.from('a much longer first version of the file'));
      await writeFile(fs, '/over.txt', Buffer.from('short'));
      expect((await readFile(fs, '/over.txt')).toString()).toBe('short');
      expect((await fs.stat('/over.txt')).size).toBe(5);
    });

    if (!opts.writesInPlace)
      test('an aborted upload leaves no object and keeps the previous one', async () => {
      await writeFile(fs, '/keep.txt', Buffer.from('good'));
      const w = await fs.openWrite('/keep.txt');
      await w.write(randomBytes(64 * 1024));
      await w.abort();
      expect((await readFile(fs, '/keep.txt')).toString()).toBe('good');
      const w2 = await fs.openWrite('/never.txt');
      await w2.write(randomBytes(1024));
      await w2.abort();
      await expectCode(fs.stat('/never.txt'), 'not_found');
    });

    if (opts.writesInPlace === true)
      test('an aborted upload keeps exactly the bytes that arrived, in place', async () => {
      await writeFile(fs, '/keep.txt', Buffer.from('good'));
      const partial = randomBytes(64 * 1024);
      const w = await fs.openWrite('/keep.txt');
      await w.write(partial);
      await w.abort();
      expect((await readFile(fs, '/keep.txt')).equals(partial)).toBe(true);
      const w2 = await fs.openWrite('/never.txt');
      await w2.write(Buffer.from('abc'));
      await w2.abort();
      expect((await readFile(fs, '/never.txt')).toString()).toBe('abc');
    });

    test('mkdir, empty directory kept, rmdir; rmdir of a non-empty dir fails', async () => {
      await fs.mkdir('/d1');
      expect((await fs.stat('/d1')).type).toBe('dir');
      expect(await names(fs, '/d1')).toEqual([]);
      expect(await names(fs, '/')).toContain('d1');
      await writeFile(fs, '/d1/f', Buffer.from('x'));
      await expectCode(fs.rmdir('/d1'), 'not_empty');
      await fs.remove('/d1/f');
      await fs.rmdir('/d1');
      await expectCode(fs.stat('/d1'), 'not_found');
    });

    test('nested paths: a file deep in a tree makes its parents listable', async () => {
      await fs.mkdir('/t');
      await fs.mkdir('/t/u');
      await writeFile(fs, '/t/u/deep.txt', Buffer.from('deep'));
      expect(await names(fs, '/t')).toEqual(['u']);
      expect((await fs.stat('/t/u')).type).toBe('dir');
      const entries: FileInfo[] = [];
      for await (const e of fs.list('/t/u')) entries.push(e);
      expect(entries.map((e) => [e.name, e.type, e.size])).toEqual([['deep.txt', 'file', 4]]);
    });

    test('remove a file; remove of a directory is is_dir; remove of a missing file is not_found', async () => {
      await writeFile(fs, '/gone.txt', Buffer.from('bye'));
      await fs.remove('/gone.txt');
      await expectCode(fs.stat('/gone.txt'), 'not_found');
      await fs.mkdir('/dir-not-file');
      await expectCode(fs.remove('/dir-not-file'), 'is_dir');
      await expectCode(fs.remove('/gone.txt'), 'not_found');
    });

    test('rename a file (replacing an existing target)', async () => {
      await writeFile(fs, '/r1.txt', Buffer.from('one'));
      await writeFile(fs, '/r2.txt', Buffer.from('two'));
      await fs.rename('/r1.txt', '/r2.txt');
      expect((await readFile(fs, '/r2.txt')).toString()).toBe('one');
      await expectCode(fs.stat('/r1.txt'), 'not_found');
    });

    test('rename a directory with its contents', async () => {
      await fs.mkdir('/src');
      await fs.mkdir('/src/sub');
      await writeFile(fs, '/src/a', Buffer.from('A'));
      await writeFile(fs, '/src/sub/b', Buffer.from('B'));
      await fs.rename('/src', '/dst');
      await expectCode(fs.stat('/src'), 'not_found');
      expect(await names(fs, '/dst')).toEqual(['a', 'sub']);
      expect((await readFile(fs, '/dst/sub/b')).toString()).toBe('B');
    });

    test('set times: mtime is kept', async () => {
      await writeFile(fs, '/times.txt', Buffer.from('t'));
      const mtime = Date.UTC(2020, 0, 2, 3, 4, 5);
      await fs.setTimes('/times.txt', mtime, mtime);
      expect(Math.abs((await fs.stat('/times.txt')).mtimeMs - mtime)).toBeLessThan(1000);
    });

    test('unicode names', async () => {
      const n = 'ünïcødé ✓ 文件 🚀.txt';
      await fs.mkdir('/ユニコード');
      await writeFile(fs, `/ユニコード/${n}`, Buffer.from('u'));
      expect(await names(fs, '/ユニコード')).toEqual([n]);
      expect((await readFile(fs, `/ユニコード/${n}`)).toString()).toBe('u');
    });

    test(`listing across pages: ${opts.listingSize ?? 2500} entries, each once`, async () => {
      const n = opts.listingSize ?? 2500;
      await fs.mkdir('/many');
      const batch = 50;
      for (let i = 0; i < n; i += batch)
        await Promise.all(
          Array.from({ length: Math.min(batch, n - i) }, (_, j) => writeFile(fs, `/many/f${String(i + j).padStart(5, '0')}`, Buffer.from([1]))),
        );
      const seen = await names(fs, '/many');
      expect(seen.length).toBe(n);
      expect(new Set(seen).size).toBe(n);
      expect(seen[0]).toBe('f00000');
      expect(seen[n - 1]).toBe(`f${String(n - 1).padStart(5, '0')}`);
    }, 300_000);

    test('random writes where the backend has them; refused cleanly where it does not', async () => {
      if (fs.capabilities.randomWrites) {
        const w = await fs.openWrite('/rw.bin');
        await w.write(Buffer.from('world'), 6);
        await w.write(Buffer.from('hello '), 0);
        await w.close();
        expect((await readFile(fs, '/rw.bin')).toString()).toBe('hello world');
      } else {
        const w = await fs.openWrite('/rw.bin');
        await w.write(Buffer.from('hello '));
        await expectCode(w.write(Buffer.from('x'), 100), 'unsupported');
        await w.abort();
      }
    });

    if (opts.cancellation === true)
      test('an aborted signal rejects calls, ends streams and stops writers', async () => {
      await writeFile(fs, '/sig.bin', randomBytes(3 * 1024 * 1024));
      const gone = AbortSignal.abort();
      await expectCode(fs.stat('/sig.bin', { signal: gone }), 'io');
      await expectCode(fs.mkdir('/sig-dir', { signal: gone }), 'io');
      await expectCode(fs.openRead('/sig.bin', { signal: gone }), 'io');
      await expectCode(fs.stat('/sig-dir'), 'not_found');

      const reading = new AbortController();
      const stream = await fs.openRead('/sig.bin', { signal: reading.signal });
      const ended = new Promise<unknown>((resolve) => stream.once('error', resolve));
      for await (const _ of stream) break; // one chunk arrived; the stream is still open
      reading.abort();
      expect(await ended).toBeInstanceOf(Error);
      expect(stream.destroyed).toBe(true);

      const writing = new AbortController();
      const w = await fs.openWrite('/sig-w.bin', { signal: writing.signal });
      await w.write(Buffer.from('abc'));
      writing.abort();
      expect(await w.write(Buffer.from('def')).then(() => 'written', () => 'refused')).toBe('refused');
      await w.abort();
      if (!opts.writesInPlace) await expectCode(fs.stat('/sig-w.bin'), 'not_found');
      else expect((await readFile(fs, '/sig-w.bin')).toString()).toBe('abc');
    });

    test(`big file: ${((opts.bigFileBytes ?? 100 * 2 ** 20) / 2 ** 20).toFixed(0)} MiB streamed up and down intact`, async () => {
      const size = opts.bigFileBytes ?? 100 * 2 ** 20;
      const { chunks, sha256 } = bigData(size);
      await writeFile(fs, '/big.bin', chunks());
      expect((await fs.stat('/big.bin')).size).toBe(size);
      const h = createHash('sha256');
      for await (const c of await fs.openRead('/big.bin')) h.update(c);
      expect(h.digest('hex')).toBe(sha256);
    }, 300_000);
  });
}
