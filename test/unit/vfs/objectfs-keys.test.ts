// The pure rules of the object-store layer: key prefix normalisation, path→key mapping and
// confinement, one listing page → entries (marker, prefixes, repeats across pages), mtime metadata.
import { describe, expect, test } from 'bun:test';
import { isAppError } from '../../../src/errors.ts';
import { MTIME_METADATA_KEY, type ListPage } from '../../../src/vfs/object/client.ts';
import { KeyMap, entriesOfPage, movedKey, mtimeOf, normalizePrefix } from '../../../src/vfs/object/keys.ts';

const obj = (key: string, size = 1, lastModifiedMs = 1000, metadata?: Record<string, string>) => ({ key, size, lastModifiedMs, metadata });

describe('normalizePrefix', () => {
  test('one trailing slash, no leading slash, empty stays empty', () => {
    expect(normalizePrefix(undefined)).toBe('');
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('/')).toBe('');
    expect(normalizePrefix('users/alice')).toBe('users/alice/');
    expect(normalizePrefix('/users//alice/')).toBe('users/alice/');
    expect(normalizePrefix('./a/./b')).toBe('a/b/');
  });
  test('".." in a prefix is a config error', () => {
    let err: unknown;
    try {
      normalizePrefix('a/../b');
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'config')).toBe(true);
  });
});

describe('KeyMap', () => {
  const k = new KeyMap('home/alice');
  test('paths map under the prefix; the root is the prefix itself', () => {
    expect(k.rel('/')).toBe('');
    expect(k.rel('')).toBe('');
    expect(k.isRoot('/a/..')).toBe(true);
    expect(k.fileKey('/a/b.txt')).toBe('home/alice/a/b.txt');
    expect(k.fileKey('a/b.txt/')).toBe('home/alice/a/b.txt');
    expect(k.dirPrefix('/')).toBe('home/alice/');
    expect(k.dirPrefix('/a/b/')).toBe('home/alice/a/b/');
    expect(k.markerKey('/a')).toBe('home/alice/a/');
  });
  test('".." never climbs out of the prefix', () => {
    expect(k.fileKey('/../../bob/secret')).toBe('home/alice/bob/secret');
    expect(k.dirPrefix('/a/../../..')).toBe('home/alice/');
    expect(k.fileKey('a//b')).toBe('home/alice/a/b');
  });
  test('the root has no file key and no marker; NUL is invalid', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isAppError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => k.fileKey('/'))).toBe('is_dir');
    expect(code(() => k.markerKey('/'))).toBe('invalid');
    expect(code(() => k.fileKey('/a\0b'))).toBe('invalid');
  });
  test('an empty prefix is the whole bucket', () => {
    const b = new KeyMap('');
    expect(b.fileKey('/x')).toBe('x');
    expect(b.dirPrefix('/')).toBe('');
    expect(b.contains('anything')).toBe(true);
    expect(k.contains('home/alice-other/x')).toBe(false);
  });
});

describe('entriesOfPage', () => {
  const page = (objects: ReturnType<typeof obj>[], prefixes: string[]): ListPage => ({ objects, prefixes });
  test('objects and common prefixes merge into one sorted list; the marker is no entry', () => {
    const r = entriesOfPage(page([obj('d/', 0), obj('d/z.txt', 5), obj('d/a.txt', 3)], ['d/m/', 'd/b/']), 'd/');
    expect(r.entries.map((e) => [e.name, e.type, e.size])).toEqual([
      ['a.txt', 'file', 3],
      ['b', 'dir', 0],
      ['m', 'dir', 0],
      ['z.txt', 'file', 5],
    ]);
    expect(r.sawMarker).toBe(true);
    expect(r.sawAny).toBe(true);
  });
  test('a marker alone: an empty directory that exists', () => {
    const r = entriesOfPage(page([obj('d/', 0)], []), 'd/');
    expect(r.entries).toEqual([]);
    expect(r.sawMarker).toBe(true);
    expect(r.sawAny).toBe(true);
  });
  test('nothing at all', () => {
    const r = entriesOfPage(page([], []), 'd/');
    expect(r).toEqual({ entries: [], sawMarker: false, sawAny: false });
  });
  test('a prefix repeated from the previous page is yielded once', () => {
    const r = entriesOfPage(page([obj('d/x')], ['d/sub/']), 'd/', 'sub');
    expect(r.entries.map((e) => e.name)).toEqual(['x']);
  });
  test('empty names ("d//x"), deeper keys and foreign keys are skipped', () => {
    const r = entriesOfPage(page([obj('d/a/b'), obj('e/x'), obj('d/ok')], ['d//', 'e/f/']), 'd/');
    expect(r.entries.map((e) => e.name)).toEqual(['ok']);
  });
  test('mtime metadata wins over last-modified', () => {
    const r = entriesOfPage(page([obj('f', 1, 5000, { [MTIME_METADATA_KEY]: '1234' })], []), '');
    expect(r.entries[0]!.mtimeMs).toBe(1234);
  });
});

describe('mtimeOf and movedKey', () => {
  test('malformed mtime metadata falls back to last-modified', () => {
    expect(mtimeOf(obj('k', 1, 7))).toBe(7);
    expect(mtimeOf(obj('k', 1, 7, { [MTIME_METADATA_KEY]: '42' }))).toBe(42);
    expect(mtimeOf(obj('k', 1, 7, { [MTIME_METADATA_KEY]: 'soon' }))).toBe(7);
    expect(mtimeOf(obj('k', 1, 7, { [MTIME_METADATA_KEY]: '-5' }))).toBe(7);
  });
  test('movedKey swaps the directory prefix', () => {
    expect(movedKey('p/src/a/b', 'p/src/', 'p/dst/')).toBe('p/dst/a/b');
    expect(movedKey('p/src/', 'p/src/', 'p/dst/')).toBe('p/dst/');
    expect(() => movedKey('p/other/a', 'p/src/', 'p/dst/')).toThrow();
  });
});
