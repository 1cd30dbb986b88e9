// Quota scans through the API: files added behind the server's back are counted once a scan of the
// user (home plus folders included in its quota) or of the folder runs; one scan at a time (409);
// running scans are listed; and a user's data transfer usage can be reset or added to.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, startApi, stopApi, token, type Api } from './harness.ts';

let api: Api;
let t: string;
let bobHome: string;
let carolHome: string;
beforeAll(async () => {
  api = await startApi();
  bobHome = join(api.dir, 'homes/bob');
  carolHome = join(api.dir, 'homes/carol');
  await api.restart(
    api.yaml.replace(
      'folders:\n',
      `  - username: bob\n    password: "bob-Secret-1"\n    home_dir: ${bobHome}\n    permissions: { "/": ["*"] }\n` +
        '    virtual_folders:\n      - { name: shared, virtual_path: /shared, quota_size: -1, quota_files: -1 }\n' +
        // carol's folder "inner" lives inside her home, at the very place it is mounted.
        `  - username: carol\n    password: "carol-Secret-1"\n    home_dir: ${carolHome}\n    permissions: { "/": ["*"] }\n` +
        '    virtual_folders:\n      - { name: inner, virtual_path: /inner, quota_size: -1, quota_files: -1 }\n      - { name: shared, virtual_path: /docs/shared }\n' +
        `folders:\n  - name: inner\n    mapped_path: ${join(carolHome, 'inner')}\n`,
    ),
  );
  t = await token(api);
});
afterAll(() => stopApi(api));

async function untilNoScans(kind: 'users' | 'folders'): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await call(api, 'GET', `/api/v2/quotas/${kind}/scans`, { token: t });
    expect(r.status).toBe(200);
    if (r.json.length === 0) return;
    await Bun.sleep(20);
  }
  throw new Error('scan did not finish');
}

describe('quota scans', () => {
  test('a user scan counts the home and the folders included in the quota', async () => {
    mkdirSync(join(bobHome, 'sub/deeper'), { recursive: true });
    writeFileSync(join(bobHome, 'a.bin'), Buffer.alloc(100));
    writeFileSync(join(bobHome, 'sub/b.bin'), Buffer.alloc(200));
    writeFileSync(join(bobHome, 'sub/deeper/c.bin'), Buffer.alloc(300));
    writeFileSync(join(api.dir, 'shared/s.bin'), Buffer.alloc(1000));
    expect((await call(api, 'GET', '/api/v2/quotas/users/bob/usage', { token: t })).json).toMatchObject({ used_quota_size: 0, used_quota_files: 0 });

    const r = await call(api, 'POST', '/api/v2/quotas/users/bob/scan', { token: t });
    expect(r.status).toBe(202);
    await untilNoScans('users');
    const u = (await call(api, 'GET', '/api/v2/quotas/users/bob/usage', { token: t })).json;
    expect(u).toMatchObject({ used_quota_size: 1600, used_quota_files: 4 });
    expect(u.last_quota_update).toBeGreaterThan(Date.now() - 60_000);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: t })).json).toMatchObject({ used_quota_size: 1600, used_quota_files: 4 });
  });

  test('a folder mapped inside the home counts once; a home directory hidden by a mount counts nothing', async () => {
    mkdirSync(join(carolHome, 'inner'), { recursive: true });
    mkdirSync(join(carolHome, 'docs/shared'), { recursive: true });
    writeFileSync(join(carolHome, 'own.bin'), Buffer.alloc(10));
    writeFileSync(join(carolHome, 'inner/i.bin'), Buffer.alloc(100));
    // Under /docs/shared carol sees the folder "shared" (not in her quota), never this file.
    writeFileSync(join(carolHome, 'docs/shared/hidden.bin'), Buffer.alloc(1000));
    writeFileSync(join(carolHome, 'docs/visible.bin'), Buffer.alloc(1));
    expect((await call(api, 'POST', '/api/v2/quotas/users/carol/scan', { token: t })).status).toBe(202);
    await untilNoScans('users');
    expect((await call(api, 'GET', '/api/v2/quotas/users/carol/usage', { token: t })).json).toMatchObject({ used_quota_size: 111, used_quota_files: 3 });
  });

  test('a folder scan sets the folder usage', async () => {
    writeFileSync(join(api.dir, 'shared/t.bin'), Buffer.alloc(24));
    expect((await call(api, 'POST', '/api/v2/quotas/folders/shared/scan', { token: t })).status).toBe(202);
    await untilNoScans('folders');
    expect((await call(api, 'GET', '/api/v2/folders/shared', { token: t })).json).toMatchObject({ used_quota_size: 1024, used_quota_files: 2 });
  });

  test('one scan at a time per user: the second gets 409 and the running one is listed', async () => {
    // Enough entries that the scan is still walking when the next requests arrive.
    for (let d = 0; d < 40; d++) {
      mkdirSync(join(bobHome, `many/${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(bobHome, `many/${d}/${f}`), 'x');
    }
    const [first, second, listed] = await Promise.all([
      call(api, 'POST', '/api/v2/quotas/users/bob/scan', { token: t }),
      call(api, 'POST', '/api/v2/quotas/users/bob/scan', { token: t }),
      call(api, 'GET', '/api/v2/quotas/users/scans', { token: t }),
    ]);
    expect([first.status, second.status].sort()).toEqual([202, 409]);
    expect((first.status === 409 ? first : second).json.error).toContain('already running');
    expect(listed.json).toEqual([{ username: 'bob', start_time: expect.any(Number) }]);
    await untilNoScans('users');
    expect((await call(api, 'GET', '/api/v2/quotas/users/bob/usage', { token: t })).json).toMatchObject({ used_quota_size: 1624 + 4000, used_quota_files: 5 + 4000 });
    // Free again once done.
    expect((await call(api, 'POST', '/api/v2/quotas/users/bob/scan', { token: t })).status).toBe(202);
    await untilNoScans('users');
  });

  test('unknown names are 404; the quota_scans permission is required', async () => {
    expect((await call(api, 'POST', '/api/v2/quotas/users/nobody/scan', { token: t })).status).toBe(404);
    expect((await call(api, 'POST', '/api/v2/quotas/folders/nothing/scan', { token: t })).status).toBe(404);
    const viewer = await token(api, 'viewer');
    expect((await call(api, 'POST', '/api/v2/quotas/users/bob/scan', { token: viewer })).status).toBe(403);
    expect((await call(api, 'GET', '/api/v2/quotas/users/scans', { token: viewer })).status).toBe(403);
    const doc = (await call(api, 'GET', '/api/v2/openapi.json')).json;
    expect(doc.paths['/api/v2/quotas/users/{username}/scan'].post.responses).toHaveProperty('202');
    expect(doc.paths['/api/v2/quotas/folders/scans'].get['x-sftpgo-permission']).toBe('quota_scans');
  });
});

describe('transfer usage', () => {
  test('PUT resets or adds to the data transfer counters', async () => {
    let r = await call(api, 'PUT', '/api/v2/quotas/users/bob/transfer-usage', { token: t, body: { used_upload_data_transfer: 1000, used_download_data_transfer: 2000 } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ message: 'Quota updated' });
    r = await call(api, 'PUT', '/api/v2/quotas/users/bob/transfer-usage?mode=add', { token: t, body: { used_upload_data_transfer: 400, used_download_data_transfer: 5 } });
    expect(r.status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: t })).json).toMatchObject({ used_upload_data_transfer: 1400, used_download_data_transfer: 2005 });
    // As SFTPGo: negative values are refused in either mode.
    expect((await call(api, 'PUT', '/api/v2/quotas/users/bob/transfer-usage', { token: t, body: { used_upload_data_transfer: -1 } })).status).toBe(400);
    expect((await call(api, 'PUT', '/api/v2/quotas/users/bob/transfer-usage?mode=add', { token: t, body: { used_upload_data_transfer: -1 } })).status).toBe(400);
    expect((await call(api, 'PUT', '/api/v2/quotas/users/nobody/transfer-usage', { token: t, body: {} })).status).toBe(404);
  });
});

describe('quota tracking off', () => {
  test('scans are refused with 403, as SFTPGo does', async () => {
    await api.restart(api.yaml.replace('data_provider:\n', 'data_provider:\n  track_quota: 0\n'));
    const t0 = await token(api);
    const r = await call(api, 'POST', '/api/v2/quotas/users/alice/scan', { token: t0 });
    expect(r.status).toBe(403);
    expect(r.json.error).toContain('track_quota');
    expect((await call(api, 'POST', '/api/v2/quotas/folders/shared/scan', { token: t0 })).status).toBe(403);
  });
});
