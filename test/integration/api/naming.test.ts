// SFTPGo's default naming rules: user and folder names in any script (josé, 名前), from the YAML and
// through the API, working end to end: an OpenSSH login, a home directory and a folder by that name.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { call, startApiWithToken, stopApi, type Api } from './harness.ts';

let api: Api;
let t: string;
const JOSE_PASSWORD = 'José-Secret-1';

beforeAll(async () => {
  ({ api, token: t } = await startApiWithToken(`  - username: josé
    password: "${JOSE_PASSWORD}"
    virtual_folders:
      - { name: shared, virtual_path: /shared }
`));
});
afterAll(() => stopApi(api));

test('a YAML user named josé logs in with OpenSSH sftp into a home directory of that name', async () => {
  const local = join(api.dir, 'hello.txt');
  writeFileSync(local, 'hola\n');
  const r = sftpBatchSync({ port: api.sftpPort, user: 'josé', password: JOSE_PASSWORD, dir: api.dir, lines: [`put ${local} saludo.txt`, `put ${local} shared/compartido.txt`, 'ls'] });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('saludo.txt');
  expect(readFileSync(join(api.dataDir, 'users', 'josé', 'saludo.txt'), 'utf8')).toBe('hola\n');
  expect(existsSync(join(api.dir, 'shared', 'compartido.txt'))).toBe(true);
  const g = await call(api, 'GET', `/api/v2/users/${encodeURIComponent('josé')}`, { token: t });
  expect(g.status).toBe(200);
  expect(g.json.username).toBe('josé');
  expect(g.json.home_dir).toBe(join(api.dataDir, 'users', 'josé'));
});

test('the API creates a folder données and a user 名前 that mounts it; both work over SFTP', async () => {
  const f = await call(api, 'POST', '/api/v2/folders', { token: t, body: { name: 'données', mapped_path: join(api.dir, 'données') } });
  expect(f.status).toBe(201);
  expect(f.headers.get('location')).toBe(`/api/v2/folders/${encodeURIComponent('données')}`);
  const u = await call(api, 'POST', '/api/v2/users', {
    token: t,
    body: { username: ' 名前 ', password: 'Namae-Secret-1', permissions: { '/': ['*'] }, virtual_folders: [{ name: 'données', virtual_path: '/d' }] },
  });
  expect(u.status).toBe(201);
  // Trimmed before saving, as SFTPGo's default naming rules do.
  expect(u.json.username).toBe('名前');
  expect((await call(api, 'GET', `/api/v2/folders/${encodeURIComponent('données')}`, { token: t })).json.name).toBe('données');
  const local = join(api.dir, 'x.txt');
  writeFileSync(local, 'x');
  const r = sftpBatchSync({ port: api.sftpPort, user: '名前', password: 'Namae-Secret-1', dir: api.dir, lines: [`put ${local} /d/fichier.txt`] });
  expect(r.status).toBe(0);
  expect(existsSync(join(api.dir, 'données', 'fichier.txt'))).toBe(true);
  // GET, edit, PUT back works on such names too.
  const g = await call(api, 'GET', `/api/v2/users/${encodeURIComponent('名前')}`, { token: t });
  const p = await call(api, 'PUT', `/api/v2/users/${encodeURIComponent('名前')}`, { token: t, body: { ...g.json, quota_files: 9 } });
  expect(p.status).toBe(200);
});

test('names SFTPGo refuses are refused, with the field', async () => {
  for (const name of ['a/b', 'back\\slash', 'co:lon', 'star*', 'CON', 'nul.txt', 'com1', '..', '.', 'dot.', 'tab\there', 'x'.repeat(256), '']) {
    const r = await call(api, 'POST', '/api/v2/users', { token: t, body: { username: name, password: 'Some-Secret-1' } });
    expect([name, r.status]).toEqual([name, 400]);
    expect(r.json.details.map((d: { path: string }) => d.path)).toEqual(['username']);
    const f = await call(api, 'POST', '/api/v2/folders', { token: t, body: { name, mapped_path: join(api.dir, 'nope') } });
    expect([name, f.status]).toEqual([name, 400]);
  }
  for (const name of ['console', 'nul-device', 'Ünïcödé.name', 'with space', 'a@b.example']) {
    const r = await call(api, 'POST', '/api/v2/users', { token: t, body: { username: name, password: 'Some-Secret-1' } });
    expect([name, r.status]).toEqual([name, 201]);
  }
});
