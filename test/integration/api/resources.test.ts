// Users and folders CRUD, overrides on config-declared users (visible, effective for logins, kept
// across restarts, dropped on request), and invalid bodies that change nothing.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { listOverrides } from '../../../src/reconcile/overrides.ts';
import { runCli } from '../../support/cli.ts';
import { openStore } from '../../../src/store/open.ts';
import { call, canLogin, startApiWithToken, stopApi, token, USER_PASSWORD, type Api } from './harness.ts';

let api: Api;
let t: string;
beforeAll(async () => ({ api, token: t } = await startApiWithToken()));
afterAll(() => stopApi(api));

/** What SFTPGo's clients do: GET the resource, change some fields, PUT the whole body back. */
async function edit(path: string, change: Record<string, unknown>) {
  const cur = await call(api, 'GET', path, { token: t });
  expect(cur.status).toBe(200);
  return call(api, 'PUT', path, { token: t, body: { ...cur.json, ...change } });
}

function withoutTime(dump: any) {
  const { created_at: _c, ...rest } = dump;
  return rest;
}

describe('users and folders CRUD', () => {
  test('create, read, update, delete a runtime user', async () => {
    const home = join(api.dir, 'homes/bob');
    const c = await call(api, 'POST', '/api/v2/users', { token: t, body: { username: 'bob', password: 'bob-Secret-1', home_dir: home, permissions: { '/': ['*'] } } });
    expect(c.status).toBe(201);
    expect(c.json.source).toBe('runtime');
    expect(c.json.password).toBeUndefined();
    expect(c.json.has_password).toBe(true);
    expect((await call(api, 'POST', '/api/v2/users', { token: t, body: { username: 'bob' } })).status).toBe(409);
    expect(await canLogin(api.sftpPort, 'bob', 'bob-Secret-1')).toBe(true);

    const u = await edit('/api/v2/users/bob', { quota_files: 7, password: 'bob-Secret-2' });
    expect(u.status).toBe(200);
    const g = await call(api, 'GET', '/api/v2/users/bob', { token: t });
    expect(g.json.quota_files).toBe(7);
    expect(g.json.home_dir).toBe(home);
    expect(g.json.overrides).toBeUndefined();
    expect(await canLogin(api.sftpPort, 'bob', 'bob-Secret-2')).toBe(true);

    const dump = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    const stored = dump.json.users.find((x: any) => x.username === 'bob');
    expect(stored.password).toStartWith('$2');
    expect(dump.text).not.toContain('bob-Secret-2');

    expect((await call(api, 'DELETE', '/api/v2/users/bob', { token: t })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: t })).status).toBe(404);
    expect(await canLogin(api.sftpPort, 'bob', 'bob-Secret-2')).toBe(false);
  });

  test('folders: create, list, update, delete; a config folder cannot be deleted', async () => {
    const c = await call(api, 'POST', '/api/v2/folders', { token: t, body: { name: 'tmpf', mapped_path: join(api.dir, 'tmpf') } });
    expect(c.status).toBe(201);
    const l = await call(api, 'GET', '/api/v2/folders', { token: t });
    expect(l.json.map((f: any) => f.name).sort()).toEqual(['shared', 'tmpf']);
    expect((await edit('/api/v2/folders/tmpf', { description: 'd' })).status).toBe(200);
    const f = (await call(api, 'GET', '/api/v2/folders/tmpf', { token: t })).json;
    expect(f.description).toBe('d');
    expect(f.mapped_path).toBe(join(api.dir, 'tmpf'));
    // PUT replaces the folder, as in SFTPGo: a field left out is back to its default.
    expect((await call(api, 'PUT', '/api/v2/folders/tmpf', { token: t, body: { mapped_path: f.mapped_path } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/folders/tmpf', { token: t })).json.description).toBeUndefined();
    // A local folder without its directory is refused, as in the YAML (and in SFTPGo).
    const nodir = await call(api, 'PUT', '/api/v2/folders/tmpf', { token: t, body: { description: 'x' } });
    expect(nodir.status).toBe(400);
    expect(nodir.json.details).toEqual([{ path: 'mapped_path', message: 'mapped_path is required for a local folder' }]);
    expect((await call(api, 'POST', '/api/v2/folders', { token: t, body: { name: 'rel', mapped_path: 'relative/dir' } })).json.details).toEqual([{ path: 'mapped_path', message: 'must be an absolute path' }]);
    expect((await call(api, 'POST', '/api/v2/users', { token: t, body: { username: 'rel', home_dir: 'relative/dir' } })).json.details).toEqual([{ path: 'home_dir', message: 'must be an absolute path' }]);
    expect((await call(api, 'DELETE', '/api/v2/folders/tmpf', { token: t })).status).toBe(200);
    const d = await call(api, 'DELETE', '/api/v2/folders/shared', { token: t });
    expect(d.status).toBe(409);
    expect(d.json.error).toContain('config');
  });

  test('a filesystem without the block its provider or crypt storage needs is refused with the field', async () => {
    const r = await call(api, 'POST', '/api/v2/folders', { token: t, body: { name: 'halfvault', filesystem: { provider: 'crypt', cryptconfig: { passphrase: 'p', storage: 's3' } } } });
    expect(r.status).toBe(400);
    expect(r.json.details).toEqual([{ path: 'filesystem.cryptconfig.storage', message: 's3config is required beside cryptconfig for storage s3' }]);
    expect((await call(api, 'GET', '/api/v2/folders/halfvault', { token: t })).status).toBe(404);
  });

  test('backend secrets: env and file references are refused, a literal is stored sealed', async () => {
    const fs = (secret: unknown) => ({ provider: 's3', s3config: { bucket: 'b', region: 'r', access_key: 'AK', access_secret: secret } });
    const body = (name: string, secret: unknown) => ({ username: name, password: 'x-Secret-1', home_dir: join(api.dir, 'homes', name), filesystem: fs(secret) });
    for (const ref of [{ file: '/etc/passwd' }, { env: 'HOME' }]) {
      const r = await call(api, 'POST', '/api/v2/users', { token: t, body: body('refs', ref) });
      expect(r.status).toBe(400);
      expect(r.text).toContain('filesystem.s3config.access_secret: env and file references are for the config file');
    }
    expect((await call(api, 'GET', '/api/v2/users/refs', { token: t })).status).toBe(404);
    const ok = await call(api, 'POST', '/api/v2/users', { token: t, body: body('lit', 'Literal-S3-Secret') });
    expect(ok.status).toBe(201);
    expect(ok.text).not.toContain('Literal-S3-Secret');
    expect(ok.json.filesystem.s3config.access_secret).toEqual({ status: 'Redacted' });
    const sealed = () => call(api, 'GET', '/api/v2/dumpdata', { token: t }).then((d) => d.json.users.find((u: any) => u.username === 'lit').filesystem.s3config.access_secret);
    const before = await sealed();
    expect(before.sealed).toMatch(/^v1:/);
    // What a GET returned goes back unchanged, and the stored secret stays.
    const back = await edit('/api/v2/users/lit', {});
    expect(back.status).toBe(200);
    expect(await sealed()).toEqual(before);
    expect((await call(api, 'DELETE', '/api/v2/users/lit', { token: t })).status).toBe(200);
  });

  test('an invalid body is rejected with field paths and changes nothing', async () => {
    const before = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    const bad = [
      { path: '/api/v2/users', method: 'POST', body: { username: 'x/y', quota_size: -5 } },
      { path: '/api/v2/users/alice', method: 'PUT', body: { filesystem: { provider: 's3', s3config: {} } } },
      { path: '/api/v2/users/alice', method: 'PUT', body: { permissions: { '/': ['fly'] } } },
      { path: '/api/v2/folders', method: 'POST', body: { name: 'f', bogus: 1 } },
      { path: '/api/v2/admins', method: 'POST', body: { username: 'a', permissions: ['root'] } },
    ];
    const r0 = await call(api, 'POST', '/api/v2/users', { token: t, body: bad[0]!.body });
    expect(r0.status).toBe(400);
    expect(r0.json.details.map((d: any) => d.path).sort()).toEqual(['quota_size', 'username']);
    const r1 = await call(api, 'PUT', '/api/v2/users/alice', { token: t, body: bad[1]!.body });
    expect(r1.status).toBe(400);
    expect(r1.json.details).toContainEqual({ path: 'filesystem.s3config.bucket', message: 'required' });
    for (const b of bad.slice(2)) expect((await call(api, b.method, b.path, { token: t, body: b.body })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v2/users', { token: t, rawBody: '{not json' })).status).toBe(400);
    const after = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    expect(withoutTime(after.json)).toEqual(withoutTime(before.json));
  });
});

describe('overrides on a config-declared user', () => {
  test('a PUT on a YAML user becomes an override: visible, effective, kept across restart, dropped on request', async () => {
    const put = await edit('/api/v2/users/alice', { quota_size: 5000, password: 'alice-Override-2' });
    expect(put.status).toBe(200);
    let g = await call(api, 'GET', '/api/v2/users/alice', { token: t });
    expect(g.json.source).toBe('config');
    expect(g.json.quota_size).toBe(5000);
    expect(g.json.description).toBe('from yaml');
    // The new password's age rides with it in the override (password_expiration counts from it).
    expect(Object.keys(g.json.overrides.fields).sort()).toEqual(['last_password_change', 'password', 'quota_size']);
    expect(g.json.overrides.fields.password).toBe('[**redacted**]');
    expect(g.json.overrides.updated_by).toBe('root');
    // Logins see the override.
    expect(await canLogin(api.sftpPort, 'alice', 'alice-Override-2')).toBe(true);
    expect(await canLogin(api.sftpPort, 'alice', USER_PASSWORD)).toBe(false);

    // Restart on the same data dir: reconcile rewrites the base record only.
    await api.restart();
    t = await token(api);
    g = await call(api, 'GET', '/api/v2/users/alice', { token: t });
    expect(g.json.quota_size).toBe(5000);
    expect(g.json.overrides.fields.quota_size).toBe(5000);
    const ov = await call(api, 'GET', '/api/v2/overrides', { token: t });
    expect(ov.json).toEqual([expect.objectContaining({ kind: 'user', name: 'alice', fields: ['last_password_change', 'password', 'password_digest', 'quota_size'] })]);
    expect(await canLogin(api.sftpPort, 'alice', 'alice-Override-2')).toBe(true);

    // listOverrides reads the same from the store, and `sftpgo plan` prints it beside the plan.
    await api.server.stop();
    const store = await openStore(api.dataDir, { readOnly: true });
    try {
      expect((await listOverrides(store)).map((o) => `${o.kind}:${o.name}:${o.fields.join(',')}`)).toEqual(['user:alice:last_password_change,password,password_digest,quota_size']);
    } finally {
      await store.close();
    }
    const plan = runCli(['plan', '--config', api.server.configPath, '--data-dir', api.dataDir]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('no changes');
    expect(plan.stdout).toMatch(/override user alice \(last_password_change, password, password_digest, quota_size\)/);
    const planJson = JSON.parse(runCli(['plan', '--json', '--config', api.server.configPath, '--data-dir', api.dataDir]).stdout);
    expect(planJson.overrides).toEqual([expect.objectContaining({ kind: 'user', name: 'alice' })]);
    await api.restart();
    t = await token(api);

    // Dropping it returns to the YAML's values.
    expect((await call(api, 'DELETE', '/api/v2/overrides/users/alice', { token: t })).status).toBe(200);
    g = await call(api, 'GET', '/api/v2/users/alice', { token: t });
    expect(g.json.quota_size).toBe(1000);
    expect(g.json.overrides).toBeUndefined();
    expect(await canLogin(api.sftpPort, 'alice', USER_PASSWORD)).toBe(true);
    expect((await call(api, 'DELETE', '/api/v2/overrides/users/alice', { token: t })).status).toBe(404);
  });

  test('a PUT that sets the YAML value back drops the override; a config user cannot be deleted', async () => {
    await edit('/api/v2/users/alice', { description: 'changed' });
    expect((await call(api, 'GET', '/api/v2/overrides', { token: t })).json).toHaveLength(1);
    const r = await edit('/api/v2/users/alice', { description: 'from yaml' });
    expect(r.json.message).toContain('override dropped');
    expect((await call(api, 'GET', '/api/v2/overrides', { token: t })).json).toHaveLength(0);
    expect((await call(api, 'DELETE', '/api/v2/users/alice', { token: t })).status).toBe(409);
  });

  test('a reload that removes the user from the YAML drops its override too', async () => {
    await edit('/api/v2/users/alice', { quota_files: 3 });
    const yaml = api.yaml.replace(/users:\n[\s\S]*?folders:/, 'folders:');
    await Bun.write(api.server.configPath, yaml);
    const r = await call(api, 'POST', '/api/v2/reload', { token: t });
    expect(r.status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/alice', { token: t })).status).toBe(404);
    expect((await call(api, 'GET', '/api/v2/overrides', { token: t })).json).toEqual([]);
  });
});
