// SFTPGo migration through the API: a hand-written SFTPGo backup (test/fixtures/sftpgo-dump.json)
// loaded with POST /api/v2/loaddata?from=sftpgo, then a login over SFTP with the original password.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../support/server.ts';
import { call, readdir, sftpSession, startApiWithToken, stopApi, type Api } from './harness.ts';

let api: Api;
let t: string;
beforeAll(async () => ({ api, token: t } = await startApiWithToken()));
afterAll(() => stopApi(api));

function fixture(base: string): unknown {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures/sftpgo-dump.json'), 'utf8').replaceAll('/srv/sftpgo', base));
}

describe('import from SFTPGo', () => {
  test('the backup is imported as runtime-owned records and a local user logs in with the original password', async () => {
    const base = join(api.dir, 'sftpgo');
    mkdirSync(join(base, 'data/carol'), { recursive: true });
    mkdirSync(join(base, 'folders/team'), { recursive: true });
    writeFileSync(join(base, 'data/carol/report.txt'), 'q3');
    writeFileSync(join(base, 'folders/team/plan.md'), '# plan');

    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo', { token: t, body: fixture(base) });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ users: 3, folders: 2, admins: 1 });

    const carol = await call(api, 'GET', '/api/v2/users/carol', { token: t });
    expect(carol.json).toMatchObject({ source: 'runtime', home_dir: join(base, 'data/carol'), used_quota_size: 2048, used_quota_files: 2 });
    const dave = await call(api, 'GET', '/api/v2/users/dave', { token: t });
    expect(dave.json.filesystem).toMatchObject({ provider: 1, s3config: { bucket: 'acme-dave', key_prefix: 'dave/' } });
    expect((await call(api, 'GET', '/api/v2/folders/archive', { token: t })).json.filesystem.provider).toBe(1);

    // The SFTPGo admin's password and API key (`<key>.<key_id>`, as SFTPGo hands it out) still work.
    expect((await call(api, 'GET', '/api/v2/token', { basic: ['superadmin', 'admin-Pass-1'] })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/status', { apiKey: 'Kx9pLmN2qRsT4uVwXyZ0aBcDeFgHiJkL.2Rx7Qm9kTz' })).status).toBe(200);

    const { client, sftp } = await sftpSession(api.sftpPort, 'carol', 'carol-Pass-1');
    try {
      expect(await readdir(sftp, '/')).toContain('report.txt');
      expect(await readdir(sftp, '/team')).toEqual(['plan.md']);
    } finally {
      client.end();
    }
  });

  test('a secret that cannot be opened leaves its record out, named with the field; the rest imports', async () => {
    const dump = fixture(join(api.dir, 'x')) as any;
    dump.users[1].username = 'dave2';
    dump.users[1].filesystem.s3config.access_secret = { status: 'AES-256-GCM', payload: 'ab12', key: 'k', additional_data: 'dave2', mode: 0 };
    dump.folders[1].name = 'archive2';
    dump.folders[1].filesystem.s3config.access_secret = { status: 'Secretbox', payload: 'cd34', key: 'k', additional_data: '', mode: 1 };
    dump.users[2].username = 'erin2';
    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo', { token: t, body: dump });
    expect(r.status).toBe(200);
    expect(r.json.skipped.map((d: any) => d.path).sort()).toEqual(['folders[1].filesystem.s3config.access_secret', 'users[1].filesystem.s3config.access_secret']);
    expect(r.json.skipped.find((d: any) => d.path.startsWith('folders')).message).toContain('master key');
    expect((await call(api, 'GET', '/api/v2/users/dave2', { token: t })).status).toBe(404);
    expect((await call(api, 'GET', '/api/v2/folders/archive2', { token: t })).status).toBe(404);
    expect((await call(api, 'GET', '/api/v2/users/erin2', { token: t })).status).toBe(200);
  });

  test('a value our schema refuses fails the whole import, and nothing is written', async () => {
    const before = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    const dump = fixture(join(api.dir, 'x')) as any;
    dump.users[1].username = 'dave3';
    dump.users[2].filesystem = { provider: 6, httpconfig: { endpoint: 'https://x' } };
    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo', { token: t, body: dump });
    expect(r.status).toBe(400);
    expect(r.json.details.map((d: any) => d.path)).toEqual(['users[2].filesystem.provider']);
    const after = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    expect({ ...after.json, created_at: 0 }).toEqual({ ...before.json, created_at: 0 });
  });
});
