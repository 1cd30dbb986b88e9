// Virtual path cleaning and mount resolution.
import { describe, expect, test } from 'bun:test';
import { cleanVirtualPath, isWithin, mountPointsIn, parentOf, resolveMount, type Mount } from '../../../src/core/paths.ts';
import type { Fs } from '../../../src/vfs/fs.ts';

describe('cleanVirtualPath', () => {
  test('absolute, relative and dot segments', () => {
    expect(cleanVirtualPath('/')).toBe('/');
    expect(cleanVirtualPath('')).toBe('/');
    expect(cleanVirtualPath('.')).toBe('/');
    expect(cleanVirtualPath('a/b/')).toBe('/a/b');
    expect(cleanVirtualPath('a//b/./c')).toBe('/a/b/c');
    expect(cleanVirtualPath('x', '/dir')).toBe('/dir/x');
    expect(cleanVirtualPath('/x', '/dir')).toBe('/x');
  });

  test('.. never climbs above the root', () => {
    expect(cleanVirtualPath('..')).toBe('/');
    expect(cleanVirtualPath('../../etc/passwd')).toBe('/etc/passwd');
    expect(cleanVirtualPath('/a/../../..')).toBe('/');
    expect(cleanVirtualPath('../x', '/a/b')).toBe('/a/x');
  });

  test('NUL bytes are refused', () => {
    expect(() => cleanVirtualPath('a\0b')).toThrow(/NUL/);
  });

  test('parentOf and isWithin', () => {
    expect(parentOf('/a/b')).toBe('/a');
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/')).toBe('/');
    expect(isWithin('/a/b', '/a')).toBe(true);
    expect(isWithin('/ab', '/a')).toBe(false);
    expect(isWithin('/a', '/a')).toBe(true);
    expect(isWithin('/anything', '/')).toBe(true);
  });
});

describe('resolveMount', () => {
  const fake = (kind: string) => ({ kind }) as unknown as Fs;
  const mounts: Mount[] = [
    { virtualPath: '/', fs: fake('home') },
    { virtualPath: '/shared', fs: fake('shared'), folder: 'shared' },
    { virtualPath: '/shared/deep', fs: fake('deep'), folder: 'deep' },
  ];

  test('the deepest mount containing the path wins', () => {
    expect(resolveMount(mounts, '/x/y')).toMatchObject({ path: '/x/y', mount: { virtualPath: '/' } });
    expect(resolveMount(mounts, '/shared')).toMatchObject({ path: '/', mount: { virtualPath: '/shared' } });
    expect(resolveMount(mounts, '/shared/f')).toMatchObject({ path: '/f', mount: { virtualPath: '/shared' } });
    expect(resolveMount(mounts, '/shared/deep/z')).toMatchObject({ path: '/z', mount: { virtualPath: '/shared/deep' } });
    expect(resolveMount(mounts, '/sharedness')).toMatchObject({ path: '/sharedness', mount: { virtualPath: '/' } });
  });

  test('mount points show up in their parent listing', () => {
    expect(mountPointsIn(mounts, '/')).toEqual(['shared']);
    expect(mountPointsIn(mounts, '/shared')).toEqual(['deep']);
    expect(mountPointsIn(mounts, '/other')).toEqual([]);
  });
});
