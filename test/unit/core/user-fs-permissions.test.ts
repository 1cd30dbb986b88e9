// Per-directory permissions applied by UserFs, in process over in-memory storage: each operation
// needs its permission on the right directory (the parent for files, the directory itself for a
// listing), the most specific configured directory wins whole, sub-directories inherit, and a
// refusal is `permission_denied` (what every front-end maps) with nothing changed on the backend.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { backendNames, backendText, openCore, seed, type CoreHarness, type CoreLogin } from '../../support/core.ts';
import { codeOf } from '../../support/codes.ts';

let core: CoreHarness;
let u: CoreLogin;

beforeAll(async () => {
  core = await openCore({
    yaml: `
users:
  - username: perm
    permissions:
      "/": [list, download]
      "/up": [list, upload]
      "/up/edit": [list, download, upload, overwrite, delete, rename, create_dirs]
      "/up/edit/locked": []
      "/meta": [list, chmod, chtimes, create_symlinks]
      "/all": ["*"]
`,
  });
  u = await core.login({ username: 'perm' });
  await seed(u.home, {
    '/readme.txt': 'root file',
    '/up/old.txt': 'old',
    '/up/edit/a.txt': 'a',
    '/up/edit/deep/b.txt': 'b',
    '/up/edit/locked/c.txt': 'c',
    '/meta/m.txt': 'm',
    '/all/x.txt': 'x',
  });
});

afterAll(() => core.close());

describe('UserFs permissions', () => {
  test('list and download on "/" only: uploads, mkdir and deletes are refused and change nothing', async () => {
    expect(await u.names('/')).toEqual(['all', 'meta', 'readme.txt', 'up']);
    expect(await u.get('/readme.txt')).toBe('root file');
    expect(await codeOf(u.put('/new.txt', 'n'))).toBe('permission_denied');
    expect(await codeOf(u.fs.mkdir('/d'))).toBe('permission_denied');
    expect(await codeOf(u.fs.remove('/readme.txt'))).toBe('permission_denied');
    expect(await codeOf(u.fs.rename('/readme.txt', '/r.txt', false))).toBe('permission_denied');
    expect(await backendNames(u.home)).toEqual(['all', 'meta', 'readme.txt', 'up']);
  });

  test('upload without overwrite: a new file lands, an existing one is kept; no download there', async () => {
    await u.put('/up/new.txt', 'fresh');
    expect(await backendText(u.home, '/up/new.txt')).toBe('fresh');
    expect(await codeOf(u.put('/up/old.txt', 'replaced'))).toBe('permission_denied');
    expect(await backendText(u.home, '/up/old.txt')).toBe('old');
    expect(await codeOf(u.get('/up/old.txt'))).toBe('permission_denied');
  });

  test('a listing is checked on the directory itself, a file operation on its parent', async () => {
    // "/meta" grants list, so it lists; its file cannot be read because "/meta" lacks download.
    expect(await u.names('/meta')).toEqual(['m.txt']);
    expect(await codeOf(u.get('/meta/m.txt'))).toBe('permission_denied');
    // "/up/edit/locked" grants nothing: no listing and no stat of its entries.
    expect(await codeOf(u.names('/up/edit/locked'))).toBe('permission_denied');
    expect(await codeOf(u.fs.stat('/up/edit/locked/c.txt'))).toBe('permission_denied');
    // Its own entry is governed by "/up/edit", which lists.
    expect((await u.fs.stat('/up/edit/locked')).type).toBe('dir');
  });

  test('sub-directories inherit the nearest configured directory; the most specific wins whole', async () => {
    // "/up/edit/deep" is not configured: it has what "/up/edit" grants, download included.
    expect(await u.get('/up/edit/deep/b.txt')).toBe('b');
    await u.put('/up/edit/deep/b.txt', 'b2');
    expect(await backendText(u.home, '/up/edit/deep/b.txt')).toBe('b2');
    // "/up/edit/locked" is configured empty: nothing of "/up/edit" or "/" applies below it.
    expect(await codeOf(u.get('/up/edit/locked/c.txt'))).toBe('permission_denied');
    expect(await codeOf(u.fs.remove('/up/edit/locked/c.txt'))).toBe('permission_denied');
    expect(await backendNames(u.home, '/up/edit/locked')).toEqual(['c.txt']);
  });

  test('overwrite, delete, rename and create_dirs where granted', async () => {
    await u.fs.mkdir('/up/edit/newdir');
    await u.put('/up/edit/a.txt', 'a2');
    await u.fs.rename('/up/edit/a.txt', '/up/edit/newdir/a.txt', false);
    expect(await backendText(u.home, '/up/edit/newdir/a.txt')).toBe('a2');
    await u.fs.remove('/up/edit/newdir/a.txt');
    await u.fs.rmdir('/up/edit/newdir');
    expect(await backendNames(u.home, '/up/edit')).toEqual(['deep', 'locked']);
  });

  test('a rename needs the permission on both sides', async () => {
    // "/up" grants upload but not rename: neither moving out of it nor into it.
    expect(await codeOf(u.fs.rename('/up/old.txt', '/up/edit/old.txt', false))).toBe('permission_denied');
    expect(await codeOf(u.fs.rename('/up/edit/deep/b.txt', '/up/b.txt', false))).toBe('permission_denied');
    expect(await backendNames(u.home, '/up')).toEqual(['edit', 'new.txt', 'old.txt']);
  });

  test('chmod, chtimes and create_symlinks only where granted', async () => {
    await u.fs.setAttrs('/meta/m.txt', { mode: 0o600, mtimeMs: 1_000_000 });
    const st = await u.home.stat('/meta/m.txt');
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.mtimeMs).toBe(1_000_000);
    await u.fs.symlink('/meta/m.txt', '/meta/link');
    expect(await u.home.readlink('/meta/link')).toBe('/meta/m.txt');

    // "/up/edit" has neither: attributes and links stay as they were.
    expect(await codeOf(u.fs.setAttrs('/up/edit/deep/b.txt', { mode: 0o600 }))).toBe('permission_denied');
    expect(await codeOf(u.fs.setAttrs('/up/edit/deep/b.txt', { mtimeMs: 1 }))).toBe('permission_denied');
    expect(await codeOf(u.fs.symlink('/up/edit/deep/b.txt', '/up/edit/l'))).toBe('permission_denied');
    expect((await u.home.stat('/up/edit/deep/b.txt')).mtimeMs).not.toBe(1);
    expect(await backendNames(u.home, '/up/edit')).toEqual(['deep', 'locked']);
  });

  test('"*" grants everything, including chown', async () => {
    await u.fs.setAttrs('/all/x.txt', { uid: 42, gid: 43 });
    expect((await u.home.stat('/all/x.txt')).uid).toBe(42);
    await u.fs.mkdir('/all/d');
    await u.fs.rename('/all/x.txt', '/all/d/x.txt', false);
    await u.fs.remove('/all/d/x.txt');
    expect(await backendNames(u.home, '/all')).toEqual(['d']);
  });
});
