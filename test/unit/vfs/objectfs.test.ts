// ObjectFs over an in-memory ObjectClient: directory emulation (markers, implied directories,
// rmdir/remove kinds), paged listings with tiny pages, bounded directory renames, mtime metadata,
// sequential-only writes. The same ObjectFs runs over S3, GCS and Azure clients.
import { describe, expect, test } from 'bun:test';
import { Readable } from 'node:stream';
import { AppError } from '../../../src/errors.ts';
import { MTIME_METADATA_KEY, type ListOptions, type ListPage, type ObjectClient, type ObjectInfo, type ObjectUpload, type PutOptions } from '../../../src/vfs/object/client.ts';
import { ObjectFs } from '../../../src/vfs/object/objectfs.ts';
import { codeOf } from '../../support/codes.ts';

interface Stored {
  data: Buffer;
  lastModifiedMs: number;
  metadata?: Record<string, string>;
}

/** A sorted-key store with S3's listing rules (prefix, delimiter, key-based tokens). */
class MemoryClient implements ObjectClient {
  readonly kind = 's3' as const;
  readonly location = { bucket: 'mem' };
  readonly objects = new Map<string, Stored>();
  calls: string[] = [];
  now = 1_000_000;

  #info(key: string, o: Stored): ObjectInfo {
    return { key, size: o.data.length, lastModifiedMs: o.lastModifiedMs, metadata: o.metadata };
  }
  async head(key: string): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(key);
    return o && this.#info(key, o);
  }
  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    this.calls.push(`list ${prefix}`);
    const max = opts.maxKeys ?? 1000;
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && (!opts.token || k > opts.token)).sort();
    const page: ListPage = { objects: [], prefixes: [] };
    let last: string | undefined;
    for (const k of keys) {
      if (page.objects.length + page.prefixes.length >= max) {
        page.nextToken = last;
        break;
      }
      const rest = k.slice(prefix.length);
      const cut = opts.delimiter ? rest.indexOf(opts.delimiter) : -1;
      if (cut >= 0) {
        const p = prefix + rest.slice(0, cut + 1);
        if (page.prefixes[page.prefixes.length - 1] !== p && !(opts.token && opts.token.startsWith(p))) page.prefixes.push(p);
      } else page.objects.push(this.#info(k, this.objects.get(k)!));
      last = k;
    }
    return page;
  }
  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const o = this.objects.get(key);
    if (!o) throw new AppError('not_found', key);
    return Readable.from([o.data.subarray(range?.start ?? 0, (range?.end ?? o.data.length - 1) + 1)]);
  }
  put(key: string, opts: PutOptions = {}): ObjectUpload {
    const chunks: Buffer[] = [];
    return {
      write: async (c) => void chunks.push(Buffer.from(c)),
      complete: async () => void this.objects.set(key, { data: Buffer.concat(chunks), lastModifiedMs: this.now, metadata: opts.metadata }),
      abort: async () => void chunks.splice(0),
    };
  }
  async copy(from: string, to: string, metadata?: Record<string, string>): Promise<void> {
    const o = this.objects.get(from);
    if (!o) throw new AppError('not_found', from);
    this.calls.push(`copy ${from} ${to}`);
    this.objects.set(to, { data: o.data, lastModifiedMs: this.now, metadata: metadata ?? o.metadata });
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async close(): Promise<void> {}
}

async function put(fs: ObjectFs, path: string, text: string): Promise<void> {
  const w = await fs.openWrite(path);
  await w.write(Buffer.from(text));
  await w.close();
}

async function list(fs: ObjectFs, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of fs.list(path)) out.push(`${e.name}${e.type === 'dir' ? '/' : ''}`);
  return out;
}

function setup(opts: ConstructorParameters<typeof ObjectFs>[2] = {}): { c: MemoryClient; fs: ObjectFs } {
  const c = new MemoryClient();
  return { c, fs: new ObjectFs(c, 'home/u/', opts) };
}

describe('ObjectFs directories', () => {
  test('mkdir writes a marker; the directory outlives its last file', async () => {
    const { c, fs } = setup();
    await fs.mkdir('/d');
    expect([...c.objects.keys()]).toEqual(['home/u/d/']);
    await put(fs, '/d/f', 'x');
    await fs.remove('/d/f');
    expect((await fs.stat('/d')).type).toBe('dir');
    expect(await list(fs, '/d')).toEqual([]);
    expect(await codeOf(fs.mkdir('/d'))).toBe('exists');
  });

  test('an implied directory (objects, no marker) stats and lists, and vanishes with its last file', async () => {
    const { c, fs } = setup();
    c.objects.set('home/u/imp/a/b.txt', { data: Buffer.from('b'), lastModifiedMs: 5 });
    expect((await fs.stat('/imp')).type).toBe('dir');
    expect((await fs.stat('/imp/a')).mtimeMs).toBe(5);
    expect(await list(fs, '/imp')).toEqual(['a/']);
    await fs.remove('/imp/a/b.txt');
    expect(await codeOf(fs.stat('/imp'))).toBe('not_found');
  });

  test('error kinds: rmdir not_empty / not_dir / not_found, remove is_dir, list not_dir', async () => {
    const { fs } = setup();
    await fs.mkdir('/d');
    await put(fs, '/d/f', 'x');
    expect(await codeOf(fs.rmdir('/d'))).toBe('not_empty');
    expect(await codeOf(fs.rmdir('/d/f'))).toBe('not_dir');
    expect(await codeOf(fs.rmdir('/nope'))).toBe('not_found');
    expect(await codeOf(fs.remove('/d'))).toBe('is_dir');
    expect(await codeOf(fs.remove('/'))).toBe('is_dir');
    expect(await codeOf(fs.rmdir('/'))).toBe('permission_denied');
    expect(await codeOf(list(fs, '/d/f'))).toBe('not_dir');
    expect(await codeOf(list(fs, '/nope'))).toBe('not_found');
    expect(await codeOf(fs.openRead('/d'))).toBe('is_dir');
    expect(await list(fs, '/')).toEqual(['d/']); // an empty root lists fine too
  });

  test('listings stream page by page, with tiny pages, each entry once', async () => {
    const { c, fs } = setup({ listPageSize: 3 });
    for (const k of ['a', 'b/x', 'b/y', 'b/z', 'c', 'd/', 'e/1', 'f']) c.objects.set(`home/u/${k}`, { data: Buffer.alloc(0), lastModifiedMs: 1 });
    expect(await list(fs, '/')).toEqual(['a', 'b/', 'c', 'd/', 'e/', 'f']);
    expect(c.calls.filter((x) => x === 'list home/u/').length).toBeGreaterThan(1);
  });
});

describe('ObjectFs renames', () => {
  test('a file rename copies with the mtime, then deletes', async () => {
    const { c, fs } = setup();
    await put(fs, '/a', 'A');
    c.now = 2_000_000;
    await fs.rename('/a', '/b');
    expect(c.objects.has('home/u/a')).toBe(false);
    expect(c.objects.get('home/u/b')!.metadata?.[MTIME_METADATA_KEY]).toBe('1000000');
    expect((await fs.stat('/b')).mtimeMs).toBe(1_000_000);
  });

  test('directory renames: disabled, over the bound, into itself, onto a non-empty dir', async () => {
    const off = setup({ renameDirs: false });
    await off.fs.mkdir('/d');
    expect(await codeOf(off.fs.rename('/d', '/e'))).toBe('unsupported');
    const { c, fs } = setup({ renameDirs: true, renameDirMaxObjects: 2, listPageSize: 1 });
    await fs.mkdir('/d');
    await put(fs, '/d/1', '1');
    await put(fs, '/d/2', '2');
    expect(await codeOf(fs.rename('/d', '/e'))).toBe('unsupported');
    expect(c.calls.some((x) => x.startsWith('copy'))).toBe(false);
    await fs.remove('/d/2');
    expect(await codeOf(fs.rename('/d', '/d/inner'))).toBe('invalid');
    await put(fs, '/full/x', 'x');
    expect(await codeOf(fs.rename('/d', '/full'))).toBe('not_empty');
    await put(fs, '/file', 'f');
    expect(await codeOf(fs.rename('/d', '/file'))).toBe('not_dir');
    await fs.rename('/d', '/e');
    expect([...c.objects.keys()].filter((k) => k.startsWith('home/u/e') || k.startsWith('home/u/d')).sort()).toEqual(['home/u/e/', 'home/u/e/1']);
    expect(await codeOf(fs.rename('/nope', '/x'))).toBe('not_found');
  });
});

describe('ObjectFs files', () => {
  test('writes are sequential only; offsets and appends are unsupported', async () => {
    const { fs } = setup();
    expect(await codeOf(fs.openWrite('/f', { offset: 10 }))).toBe('unsupported');
    expect(await codeOf(fs.openWrite('/f', { append: true }))).toBe('unsupported');
    const w = await fs.openWrite('/f');
    await w.write(Buffer.from('abc'));
    expect(await codeOf(w.write(Buffer.from('x'), 1))).toBe('unsupported');
    await w.write(Buffer.from('def'), 3);
    await w.close();
    expect(w.size).toBe(6);
    expect(await codeOf(fs.openWrite('/f', { exclusive: true }))).toBe('exists');
  });

  test('reads past the end are empty; setTimes on files and marked dirs', async () => {
    const { c, fs } = setup();
    await put(fs, '/f', 'abc');
    const chunks: Buffer[] = [];
    for await (const x of await fs.openRead('/f', { start: 3 })) chunks.push(x);
    expect(Buffer.concat(chunks).length).toBe(0);
    await fs.setTimes('/f', 0, 77_000);
    expect((await fs.stat('/f')).mtimeMs).toBe(77_000);
    expect(c.objects.get('home/u/f')!.data.toString()).toBe('abc');
    await fs.mkdir('/d');
    await fs.setTimes('/d', 0, 88_000);
    expect((await fs.stat('/d')).mtimeMs).toBe(88_000);
    expect(await codeOf(fs.setTimes('/nope', 0, 1))).toBe('not_found');
  });
});
