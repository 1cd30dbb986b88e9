// No path from a limited admin to a super admin, as in SFTPGo 2.7: every route that could hand out
// "*" (admins, API keys, dumps, loaddata, reload) needs "*" itself, an admin cannot widen or disable
// itself, and an API key cannot mint keys nor edit the admin it impersonates. Each request below must
// fail with SFTPGo's status code and leave the store as it was.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { ADMIN_PASSWORD, API_KEY, call, configYaml, stopApi, token, type Api } from './harness.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { mkdirSync } from 'node:fs';

// Every permission short of "*": the most an admin can hold without being a super admin.
const ALL_LIMITED = ['add_users', 'edit_users', 'del_users', 'view_users', 'view_conns', 'close_conns', 'view_status', 'manage_folders', 'quota_scans', 'manage_defender', 'view_defender'];

let api: Api;
let ops: string;
let root: string;

beforeAll(async () => {
  const dir = tempDir('api-escalation-');
  mkdirSync(join(dir, 'homes/alice'), { recursive: true });
  mkdirSync(join(dir, 'shared'), { recursive: true });
  const sftpPort = await freePort();
  const apiPort = await freePort();
  const yaml = `${configYaml(dir, sftpPort, apiPort)}  - username: ops
    password: "${ADMIN_PASSWORD}"
    permissions: ${JSON.stringify(ALL_LIMITED)}
    filters:
      allow_api_key_auth: true
  - username: keyed
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
    filters:
      allow_api_key_auth: true
`;
  const server = await startServer({ yaml, cwd: dir });
  api = { server, dir, dataDir: join(dir, 'data'), sftpPort, apiPort, telemetryPort: 0, yaml, home: join(dir, 'homes/alice'), url: (p) => `http://127.0.0.1:${apiPort}${p}`, restart: async () => {} };
  ops = await token(api, 'ops');
  root = await token(api);
});
afterAll(() => stopApi(api));

async function admins(): Promise<Record<string, unknown>[]> {
  return (await call(api, 'GET', '/api/v2/admins', { token: root })).json;
}

describe('a limited admin cannot reach "*"', () => {
  test('it cannot read admins (nor their secrets)', async () => {
    expect((await call(api, 'GET', '/api/v2/admins', { token: ops })).status).toBe(403);
    expect((await call(api, 'GET', '/api/v2/admins/root', { token: ops })).status).toBe(403);
    expect((await call(api, 'GET', '/api/v2/admins/ops', { token: ops })).status).toBe(403);
  });

  test('it cannot create, edit or delete admins, nor drop an admin override', async () => {
    const before = JSON.stringify(await admins());
    expect((await call(api, 'POST', '/api/v2/admins', { token: ops, body: { username: 'evil', password: 'e-Secret-1', permissions: ['*'] } })).status).toBe(403);
    expect((await call(api, 'PUT', '/api/v2/admins/ops', { token: ops, body: { username: 'ops', permissions: ['*'] } })).status).toBe(403);
    expect((await call(api, 'PUT', '/api/v2/admins/viewer', { token: ops, body: { username: 'viewer', permissions: ['*'] } })).status).toBe(403);
    expect((await call(api, 'DELETE', '/api/v2/admins/root', { token: ops })).status).toBe(403);
    expect((await call(api, 'DELETE', '/api/v2/overrides/admins/ops', { token: ops })).status).toBe(403);
    expect(JSON.stringify(await admins())).toBe(before);
  });

  test('it cannot dump, load data (ours or an SFTPGo backup) or reload', async () => {
    expect((await call(api, 'GET', '/api/v2/dumpdata', { token: ops })).status).toBe(403);
    const dump = (await call(api, 'GET', '/api/v2/dumpdata', { token: root })).json;
    const forged = { ...dump, admins: [...dump.admins, { ...dump.admins[0], username: 'evil', id: 999 }] };
    expect((await call(api, 'POST', '/api/v2/loaddata', { token: ops, body: forged })).status).toBe(403);
    const backup = { version: 17, admins: [{ username: 'evil', password: 'e-Secret-1', status: 1, permissions: ['*'] }] };
    expect((await call(api, 'POST', '/api/v2/loaddata?from=sftpgo', { token: ops, body: backup })).status).toBe(403);
    expect((await call(api, 'POST', '/api/v2/reload', { token: ops })).status).toBe(403);
    expect((await admins()).map((a) => a.username)).not.toContain('evil');
  });

  test('it cannot list or create API keys, not even one bound to another admin', async () => {
    expect((await call(api, 'GET', '/api/v2/apikeys', { token: ops })).status).toBe(403);
    expect((await call(api, 'POST', '/api/v2/apikeys', { token: ops, body: { name: 'mine', scope: 1, admin: 'root' } })).status).toBe(403);
    expect((await call(api, 'POST', '/api/v2/apikeys', { token: ops, body: { name: 'mine', scope: 1 } })).status).toBe(403);
    expect((await call(api, 'GET', '/api/v2/apikeys', { token: root })).json).toEqual([]);
  });

  test('an unbound key used with a super admin\'s name only works for an admin allowing API keys', async () => {
    const made = await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'any-admin', scope: 1 } });
    expect(made.status).toBe(201);
    // root does not allow API key authentication (SFTPGo's default): 401.
    expect((await call(api, 'GET', '/api/v2/status', { apiKey: `${made.json.key}.root` })).status).toBe(401);
    expect((await call(api, 'GET', '/api/v2/status', { apiKey: `${made.json.key}.ops` })).status).toBe(200);
    // Without a name, an unbound key is nobody.
    expect((await call(api, 'GET', '/api/v2/status', { apiKey: made.json.key })).status).toBe(401);
    expect((await call(api, 'DELETE', `/api/v2/apikeys/${made.json.key.split('.')[0]}`, { token: root })).status).toBe(200);
  });

  test("a key bound to a limited admin stays that admin whatever name is appended", async () => {
    const made = await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'ops-key', scope: 1, admin: 'ops' } });
    expect(made.status).toBe(201);
    expect((await call(api, 'GET', '/api/v2/admins', { apiKey: `${made.json.key}.keyed` })).status).toBe(403);
    expect((await call(api, 'GET', '/api/v2/users', { apiKey: `${made.json.key}.keyed` })).status).toBe(200);
  });
});

describe('a super admin cannot be made to escalate through a key or itself', () => {
  test('an admin authenticated by an API key cannot manage API keys (403)', async () => {
    const made = await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'keyed-key', scope: 1, admin: 'keyed' } });
    expect(made.status).toBe(201);
    const r = await call(api, 'POST', '/api/v2/apikeys', { apiKey: made.json.key, body: { name: 'minted', scope: 1, admin: 'keyed' } });
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.json)).toContain('API key authentication is not allowed');
    expect((await call(api, 'GET', '/api/v2/apikeys', { apiKey: made.json.key })).status).toBe(403);
    // The YAML's embedded keys are API keys too.
    expect((await call(api, 'GET', '/api/v2/apikeys', { apiKey: API_KEY })).status).toBe(403);
    // Nor edit the admin the key impersonates (400, as SFTPGo).
    const self = await call(api, 'GET', '/api/v2/admins/keyed', { apiKey: made.json.key });
    expect(self.status).toBe(200);
    const put = await call(api, 'PUT', '/api/v2/admins/keyed', { apiKey: made.json.key, body: { ...self.json, description: 'changed' } });
    expect(put.status).toBe(400);
    expect(JSON.stringify(put.json)).toContain('updating the admin impersonated with an API key is not allowed');
    // The same round trip with a token is fine.
    const byToken = await call(api, 'PUT', '/api/v2/admins/keyed', { token: await token(api, 'keyed'), body: { ...self.json, description: 'changed' } });
    expect(byToken.status).toBe(200);
  });

  test('an admin cannot change its own permissions, disable or delete itself (400)', async () => {
    const self = (await call(api, 'GET', '/api/v2/admins/root', { token: root })).json;
    const cases: [string, Record<string, unknown>, string][] = [
      ['PUT', { ...self, permissions: ['view_users'] }, 'you cannot change your permissions'],
      ['PUT', { ...self, status: 0 }, 'you cannot disable yourself'],
      ['DELETE', {}, 'you cannot delete yourself'],
    ];
    for (const [method, body, message] of cases) {
      const r = await call(api, method, '/api/v2/admins/root', { token: root, ...(method === 'PUT' ? { body } : {}) });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).toContain(message);
    }
    expect((await call(api, 'GET', '/api/v2/admins/root', { token: root })).json.permissions).toEqual(['*']);
  });

  test('a deleted admin takes its API keys and last login with it', async () => {
    const made = await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: 'temp', password: 't-Secret-1', permissions: ['view_users'], filters: { allow_api_key_auth: true } } });
    expect(made.status).toBe(201);
    const key = await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'temp-key', scope: 1, admin: 'temp' } });
    expect((await call(api, 'GET', '/api/v2/users', { apiKey: key.json.key })).status).toBe(200);
    expect((await call(api, 'DELETE', '/api/v2/admins/temp', { token: root })).status).toBe(200);
    const id = key.json.key.split('.')[0];
    expect((await call(api, 'GET', `/api/v2/apikeys/${id}`, { token: root })).status).toBe(404);
    expect((await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: 'temp', password: 't-Secret-1', permissions: ['*'], filters: { allow_api_key_auth: true } } })).status).toBe(201);
    expect((await call(api, 'GET', '/api/v2/users', { apiKey: key.json.key })).status).toBe(401);
    expect((await call(api, 'GET', '/api/v2/admins/temp', { token: root })).json.last_login).toBe(0);
  });
});

describe('removed permissions are refused with their reason', () => {
  test('through the API', async () => {
    for (const p of ['manage_admins', 'manage_apikeys', 'manage_system']) {
      const r = await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: `x-${p.replace(/_/g, '')}`, password: 'x-Secret-1', permissions: [p] } });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).toContain(`${p}\\": removed in SFTPGo 2.7`);
    }
    // manage_groups (SFTPGo 2.7) is accepted now that groups exist.
    const r = await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: 'x-groups', password: 'x-Secret-1', permissions: ['manage_groups'] } });
    expect(r.status).toBe(201);
    const d = await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: 'x-events', password: 'x-Secret-1', permissions: ['view_events'] } });
    expect(d.status).toBe(400);
    expect(JSON.stringify(d.json)).toContain('not supported');
  });

  test('in the YAML: validate names the permission, its place and the reason', () => {
    const dir = tempDir('api-escalation-yaml-');
    const file = join(dir, 'sftpgo.yaml');
    writeFileSync(file, 'admins:\n  - username: old\n    password: o-Secret-1\n    permissions: [view_users, manage_admins]\n');
    const r = runCli(['validate', '--config', file, '--data-dir', join(dir, 'data')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('admins[0].permissions[1]: "manage_admins": removed in SFTPGo 2.7: only a super admin ("*") manages admins');
  });
});
