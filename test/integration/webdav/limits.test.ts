// Quotas and transfer limits over WebDAV, with curl: a PUT past quota_size (or past a virtual
// folder's own quota) is answered 507 Insufficient Storage and leaves nothing in atomic mode; a GET
// once download_data_transfer is used up is 403; usage is charged where the data landed.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../support/run.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { DAV_PASSWORD, startDavd, type Davd } from '../../support/webdav.ts';

let d: Davd;
let vfDir: string;
let local: string;

beforeAll(async () => {
  vfDir = join(tempDir('dav-vf-'), 'vf');
  mkdirSync(vfDir, { recursive: true });
  local = tempDir('dav-src-');
  d = await startDavd(
    [
      {
        username: 'quota',
        extra: '    quota_size: 100000\n    download_data_transfer: 1\n    virtual_folders:\n      - { name: vf, virtual_path: /vf, quota_size: 50000, quota_files: 0 }\n',
      },
    ],
    // The folder definition rides along after the common block.
    { common: `  upload_mode: atomic\nfolders:\n  - name: vf\n    mapped_path: ${vfDir}` },
  );
});

afterAll(async () => {
  await d?.server.stop();
  removeTempDirs();
});

/** curl's HTTP status for a PUT of `bytes` random bytes (000 when no answer was read). */
async function put(path: string, bytes: number): Promise<string> {
  const file = join(local, `${bytes}.bin`);
  writeFileSync(file, randomBytes(bytes));
  const r = await run('curl', ['-s', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code}', '-u', `quota:${DAV_PASSWORD}`, '-T', file, `${d.url}${path}`]);
  return r.stdout.trim();
}

async function get(path: string): Promise<{ status: string; bytes: number }> {
  const out = join(local, 'got.bin');
  const r = await run('curl', ['-s', '--max-time', '30', '-o', out, '-w', '%{http_code} %{size_download}', '-u', `quota:${DAV_PASSWORD}`, `${d.url}${path}`]);
  const [status, bytes] = r.stdout.trim().split(' ');
  return { status: status!, bytes: Number(bytes) };
}

async function usage(key: string): Promise<Record<string, number>> {
  // Usage is flushed to the store in batches; the dump reads the same store.
  const { runCli } = await import('../../support/cli.ts');
  return JSON.parse(runCli(['dumpdata', '--data-dir', d.server.dataDir]).stdout).usage[key];
}

test('a PUT past quota_size gets 507 and leaves nothing', async () => {
  const home = d.homes.quota!;
  expect(await put('/fits.bin', 60_000)).toBe('201');
  expect(await put('/toobig.bin', 60_000)).toBe('507');
  expect(existsSync(join(home, 'toobig.bin'))).toBe(false);
  expect(readdirSync(home).filter((n) => n.startsWith('.sftpgo-upload'))).toEqual([]);
  // A large body, refused while it is still being sent, still gets the 507 answer.
  expect(await put('/huge.bin', 5_000_000)).toBe('507');
  expect(existsSync(join(home, 'huge.bin'))).toBe(false);
});

test("a virtual folder's own quota binds: 507 in the folder, the home is not charged", async () => {
  expect(await put('/vf/a.bin', 40_000)).toBe('201');
  expect(await put('/vf/b.bin', 20_000)).toBe('507');
  expect(readdirSync(vfDir)).toEqual(['a.bin']);
  // The home still has room: the folder's bytes were charged to the folder only.
  expect(await put('/more.bin', 30_000)).toBe('201');
  // Usage reaches the store in batches: poll until the folder's charge has landed.
  for (let i = 0; i < 100 && (await usage('folder:vf'))?.used_quota_size !== 40_000; i++) await Bun.sleep(50);
  expect(await usage('folder:vf')).toMatchObject({ used_quota_size: 40_000, used_quota_files: 1 });
  expect(await usage('user:quota')).toMatchObject({ used_quota_size: 90_000, used_quota_files: 2 });
});

test('a GET past download_data_transfer is 403', async () => {
  writeFileSync(join(d.homes.quota!, 'mb.bin'), randomBytes(1024 * 1024));
  expect(await get('/mb.bin')).toEqual({ status: '200', bytes: 1024 * 1024 });
  expect((await get('/mb.bin')).status).toBe('403');
});
