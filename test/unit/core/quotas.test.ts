// quota_size and quota_files enforced by the core and counted in the usage book, in process over
// in-memory storage: on the home, on a virtual folder included in the user's quota (-1) and on one
// with its own limits; an upload cut where it crosses the quota; usage after overwrite, delete and
// rename, within a mount and across mounts.
import { afterEach, describe, expect, test } from 'bun:test';
import { backendNames, backendText, openCore, type CoreHarness, type CoreLogin } from '../../support/core.ts';
import { codeOf } from '../../support/codes.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

/**
 * User q: 100 bytes and 3 files, a folder /shared counted in that quota and a folder /own with
 * its own 50 bytes. rename_mode 1 lets a file move between mounts.
 */
async function login(opts: { uploadMode?: 0 | 1 } = {}): Promise<{ core: CoreHarness; u: CoreLogin }> {
  const core = await openCore({
    yaml: `
common:
  upload_mode: ${opts.uploadMode ?? 0}
  rename_mode: 1
folders:
  - name: shared
    mapped_path: /srv/shared
  - name: own
    mapped_path: /srv/own
users:
  - username: q
    permissions: { "/": ["*"] }
    quota_size: 100
    quota_files: 3
    virtual_folders:
      - { name: shared, virtual_path: /shared, quota_size: -1, quota_files: -1 }
      - { name: own, virtual_path: /own, quota_size: 50, quota_files: 0 }
`,
  });
  opened.push(core);
  return { core, u: await core.login({ username: 'q' }) };
}

const bytes = (n: number) => Buffer.alloc(n, 0x61);

/** Uploads `chunks` in order; returns the error code the upload ended with, if any. */
async function upload(u: CoreLogin, vpath: string, chunks: number[]): Promise<string | undefined> {
  const up = await u.fs.openUpload(u.conn, vpath);
  try {
    for (const n of chunks) await up.write(bytes(n));
    await up.close();
    return undefined;
  } catch (err) {
    await up.close().catch(() => undefined);
    return (err as { code?: string }).code;
  }
}

describe('quotas on the home', () => {
  test('an upload crossing quota_size is cut; standard mode keeps and counts what landed', async () => {
    const { core, u } = await login();
    expect(await upload(u, '/a.bin', [60])).toBeUndefined();
    expect(await upload(u, '/b.bin', [30, 30])).toBe('quota_exceeded');
    // The chunk that crossed the quota was refused whole; the first one stays, as the mode says.
    expect((await u.home.stat('/b.bin')).size).toBe(30);
    expect(core.usageOf('user:q')).toEqual({ size: 90, files: 2 });
  });

  test('in atomic mode a cut upload leaves nothing and counts nothing', async () => {
    const { core, u } = await login({ uploadMode: 1 });
    expect(await upload(u, '/a.bin', [60])).toBeUndefined();
    expect(await upload(u, '/b.bin', [30, 30])).toBe('quota_exceeded');
    expect(await backendNames(u.home)).toEqual(['a.bin']);
    expect(core.usageOf('user:q')).toEqual({ size: 60, files: 1 });
  });

  test('quota_files refuses a new file when it is opened, but not an overwrite', async () => {
    const { core, u } = await login();
    for (const name of ['/1', '/2', '/3']) await u.put(name, 'x');
    expect(await codeOf(u.fs.openUpload(u.conn, '/4'))).toBe('quota_exceeded');
    expect(await backendNames(u.home)).toEqual(['1', '2', '3']);
    await u.put('/3', 'xyz');
    expect(core.usageOf('user:q')).toEqual({ size: 5, files: 3 });
  });

  test('overwrite counts the difference, delete gives the space back, rename within a mount replaces', async () => {
    const { core, u } = await login();
    await u.put('/a', bytes(40));
    await u.put('/b', bytes(20));
    await u.put('/a', bytes(10));
    expect(core.usageOf('user:q')).toEqual({ size: 30, files: 2 });
    // Renaming over /b replaces it: its 20 bytes and its file leave the usage.
    await u.fs.rename('/a', '/b', true);
    expect(core.usageOf('user:q')).toEqual({ size: 10, files: 1 });
    await u.fs.remove('/b');
    expect(core.usageOf('user:q')).toEqual({ size: 0, files: 0 });
  });
});

describe('quotas on virtual folders', () => {
  test('a folder with quota -1 is counted for itself and in the user quota, which binds it', async () => {
    const { core, u } = await login();
    await u.put('/home.bin', bytes(60));
    await u.put('/shared/s.bin', bytes(30));
    expect(core.usageOf('folder:shared')).toEqual({ size: 30, files: 1 });
    expect(core.usageOf('user:q')).toEqual({ size: 90, files: 2 });
    expect(await upload(u, '/shared/t.bin', [20])).toBe('quota_exceeded');
    expect(core.usageOf('user:q').size).toBeLessThanOrEqual(100);
  });

  test('a folder with its own quota is bound by it alone and leaves the user quota alone', async () => {
    const { core, u } = await login();
    await u.put('/home.bin', bytes(90));
    // The home is nearly full, yet /own has its own 50 bytes.
    expect(await upload(u, '/own/o.bin', [40])).toBeUndefined();
    expect(await upload(u, '/own/p.bin', [20])).toBe('quota_exceeded');
    expect(core.usageOf('folder:own').size).toBe(40 + (await u.folders.own!.stat('/p.bin')).size);
    expect(core.usageOf('user:q')).toEqual({ size: 90, files: 1 });
  });

  test('a rename across mounts moves the usage with the file', async () => {
    const { core, u } = await login();
    await u.put('/f.bin', bytes(25));
    await u.fs.rename('/f.bin', '/own/f.bin', false);
    expect(await backendText(u.folders.own!, '/f.bin')).toHaveLength(25);
    expect(core.usageOf('user:q')).toEqual({ size: 0, files: 0 });
    expect(core.usageOf('folder:own')).toEqual({ size: 25, files: 1 });

    await u.fs.rename('/own/f.bin', '/shared/f.bin', false);
    expect(core.usageOf('folder:own')).toEqual({ size: 0, files: 0 });
    expect(core.usageOf('folder:shared')).toEqual({ size: 25, files: 1 });
    expect(core.usageOf('user:q')).toEqual({ size: 25, files: 1 });
  });

  test('a rename across mounts that would pass the target quota is refused and moves nothing', async () => {
    const { core, u } = await login();
    await u.put('/big.bin', bytes(60));
    expect(await codeOf(u.fs.rename('/big.bin', '/own/big.bin', false))).toBe('quota_exceeded');
    expect(await backendNames(u.folders.own!)).toEqual([]);
    expect(core.usageOf('user:q')).toEqual({ size: 60, files: 1 });
    expect(core.usageOf('folder:own')).toEqual({ size: 0, files: 0 });
  });

  test('usage reaches the store when the book flushes', async () => {
    const { core, u } = await login();
    await u.put('/own/x', bytes(7));
    await core.usage.flush();
    const row = await core.store.get('usage', 'folder:own');
    expect(row).toMatchObject({ used_quota_size: 7, used_quota_files: 1 });
  });
});
