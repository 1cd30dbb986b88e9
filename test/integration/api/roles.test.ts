// Roles (SFTPGo 2.7) over the real server: roles and role admins declared in the YAML, an admin of
// role "eu" that sees and manages only eu's users (list, get, edit, delete, connections, quota) and
// none of the global resources, the /api/v2/roles resource for super admins, the YAML checks, and an
// SFTPGo backup whose role admin comes in enabled and scoped.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { ADMIN_PASSWORD, call, configYaml, sftpSession, stopApi, token, type Api } from './harness.ts';

const EU_KEY = 'eu-k3y-0123456789abcdef0123456789abcdef';

function userYaml(dir: string, name: string, role?: string): string {
  return `  - username: ${name}
    password: "${name}-Secret-1"
    home_dir: ${join(dir, 'homes', name)}
${role ? `    role: ${role}\n` : ''}`;
}

function rolesYaml(dir: string, sftpPort: number, apiPort: number): string {
  const perms = '[add_users, edit_users, del_users, view_users, view_conns, close_conns, quota_scans, manage_folders, view_status]';
  return `${configYaml(dir, sftpPort, apiPort, userYaml(dir, 'bob', 'eu') + userYaml(dir, 'carol', 'us'))}  - username: eu-admin
    password: "${ADMIN_PASSWORD}"
    role: eu
    permissions: ${perms}
    filters:
      allow_api_key_auth: true
    api_keys:
      - name: eu-ci
        key: "${EU_KEY}"
  - username: us-admin
    password: "${ADMIN_PASSWORD}"
    role: us
    permissions: ${perms}
roles:
  - name: eu
    description: EU region
  - name: us
`;
}

let api: Api;
let root: string;
let eu: string;

beforeAll(async () => {
  const dir = tempDir('api-roles-');
  for (const u of ['alice', 'bob', 'carol']) mkdirSync(join(dir, 'homes', u), { recursive: true });
  mkdirSync(join(dir, 'shared'), { recursive: true });
  const sftpPort = await freePort();
  const apiPort = await freePort();
  const yaml = rolesYaml(dir, sftpPort, apiPort);
  const start = (y: string) => startServer({ yaml: y, cwd: dir });
  api = {
    server: await start(yaml), dir, dataDir: join(dir, 'data'), sftpPort, apiPort, telemetryPort: 0, yaml, home: join(dir, 'homes/alice'),
    url: (p) => `http://127.0.0.1:${apiPort}${p}`,
    async restart(y = yaml) {
      await api.server.stop();
      api.server = await start(y);
    },
  };
  root = await token(api);
  eu = await token(api, 'eu-admin');
});

afterAll(() => stopApi(api));

const names = (r: { json: any }) => (r.json as { username: string }[]).map((u) => u.username).sort();

describe('roles declared in the YAML', () => {
  test('a role lists its users and admins; a super admin sees every user', async () => {
    const roles = await call(api, 'GET', '/api/v2/roles', { token: root });
    expect(roles.status).toBe(200);
    expect(roles.json).toEqual([
      expect.objectContaining({ name: 'eu', description: 'EU region', users: ['bob'], admins: ['eu-admin'], source: 'config' }),
      expect.objectContaining({ name: 'us', users: ['carol'], admins: ['us-admin'] }),
    ]);
    expect(names(await call(api, 'GET', '/api/v2/users', { token: root }))).toEqual(['alice', 'bob', 'carol']);
    expect((await call(api, 'GET', '/api/v2/users/carol', { token: root })).json.role).toBe('us');
    // dumpdata carries them, so loaddata restores them.
    expect((await call(api, 'GET', '/api/v2/dumpdata', { token: root })).json.roles.map((r: { name: string }) => r.name)).toEqual(['eu', 'us']);
  });

  test("the role admin's token carries the role", () => {
    const claims = JSON.parse(Buffer.from(eu.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ sub: 'eu-admin', role: 'eu' });
  });
});

describe('an admin limited to a role', () => {
  test('lists and reads only the users of its role', async () => {
    expect(names(await call(api, 'GET', '/api/v2/users', { token: eu }))).toEqual(['bob']);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: eu })).status).toBe(200);
    for (const other of ['carol', 'alice']) {
      const r = await call(api, 'GET', `/api/v2/users/${other}`, { token: eu });
      expect(r.status).toBe(404);
      expect(r.json.message).toContain(`user "${other}" not found`);
    }
    // The same through its API key.
    expect(names(await call(api, 'GET', '/api/v2/users', { apiKey: EU_KEY }))).toEqual(['bob']);
    expect((await call(api, 'GET', '/api/v2/users/carol', { apiKey: EU_KEY })).status).toBe(404);
  });

  test("cannot edit or delete another role's user, nor drop its override", async () => {
    const carol = (await call(api, 'GET', '/api/v2/users/carol', { token: root })).json;
    expect((await call(api, 'PUT', '/api/v2/users/carol', { token: eu, body: { ...carol, description: 'taken' } })).status).toBe(404);
    expect((await call(api, 'DELETE', '/api/v2/users/carol', { token: eu })).status).toBe(404);
    expect((await call(api, 'DELETE', '/api/v2/overrides/users/carol', { token: eu })).status).toBe(404);
    const after = (await call(api, 'GET', '/api/v2/users/carol', { token: root })).json;
    expect(after.description).toBe(carol.description);
    expect(after.role).toBe('us');
  });

  test("edits its own users but cannot change or remove their role", async () => {
    const bob = (await call(api, 'GET', '/api/v2/users/bob', { token: eu })).json;
    expect((await call(api, 'PUT', '/api/v2/users/bob', { token: eu, body: { ...bob, description: 'edited by eu' } })).status).toBe(200);
    const moved = await call(api, 'PUT', '/api/v2/users/bob', { token: eu, body: { ...bob, role: 'us' } });
    expect(moved.status).toBe(403);
    expect(moved.json.error).toContain('cannot give a user another role');
    // Leaving the role out or empty keeps it: the admin's users stay in its role.
    const { role: _r, ...noRole } = bob;
    expect((await call(api, 'PUT', '/api/v2/users/bob', { token: eu, body: noRole })).status).toBe(200);
    expect((await call(api, 'PUT', '/api/v2/users/bob', { token: eu, body: { ...bob, role: '' } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: root })).json).toMatchObject({ role: 'eu' });
  });

  test('creates users only in its role', async () => {
    const body = (username: string, role?: string) => ({ username, password: 'x-Secret-1', home_dir: join(api.dir, 'homes', username), permissions: { '/': ['*'] }, ...(role !== undefined ? { role } : {}) });
    const added = await call(api, 'POST', '/api/v2/users', { token: eu, body: body('dora') });
    expect(added.status).toBe(201);
    expect(added.json.role).toBe('eu');
    expect((await call(api, 'POST', '/api/v2/users', { token: eu, body: body('erik', 'eu') })).json.role).toBe('eu');
    const other = await call(api, 'POST', '/api/v2/users', { token: eu, body: body('fred', 'us') });
    expect(other.status).toBe(403);
    expect((await call(api, 'GET', '/api/v2/users/fred', { token: root })).status).toBe(404);
    expect(names(await call(api, 'GET', '/api/v2/users', { token: eu }))).toEqual(['bob', 'dora', 'erik']);
    // Paging counts only what the admin sees.
    expect(names(await call(api, 'GET', '/api/v2/users?offset=1&limit=1', { token: eu }))).toEqual(['dora']);
    expect((await call(api, 'DELETE', '/api/v2/users/erik', { token: eu })).status).toBe(200);
  });

  test('quota scans and usage only for the users of its role', async () => {
    expect((await call(api, 'GET', '/api/v2/quotas/users/bob/usage', { token: eu })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/quotas/users/carol/usage', { token: eu })).status).toBe(404);
    expect((await call(api, 'PUT', '/api/v2/quotas/users/carol/usage', { token: eu, body: { used_quota_size: 1, used_quota_files: 1 } })).status).toBe(404);
    expect((await call(api, 'PUT', '/api/v2/quotas/users/carol/transfer-usage', { token: eu, body: { used_upload_data_transfer: 5 } })).status).toBe(404);
    expect((await call(api, 'POST', '/api/v2/quotas/users/carol/scan', { token: eu })).status).toBe(404);
    expect((await call(api, 'GET', '/api/v2/quotas/users/carol/usage', { token: root })).json).toMatchObject({ used_quota_size: 0, used_upload_data_transfer: 0 });
    expect((await call(api, 'PUT', '/api/v2/quotas/users/bob/usage', { token: eu, body: { used_quota_size: 7, used_quota_files: 1 } })).status).toBe(200);
    expect((await call(api, 'POST', '/api/v2/quotas/users/bob/scan', { token: eu })).status).toBe(202);
    expect((await call(api, 'GET', '/api/v2/quotas/users/scans', { token: eu })).status).toBe(200);
  });

  test('sees and closes only the connections of its users', async () => {
    const bob = await sftpSession(api.sftpPort, 'bob', 'bob-Secret-1');
    const carol = await sftpSession(api.sftpPort, 'carol', 'carol-Secret-1');
    try {
      const all = (await call(api, 'GET', '/api/v2/connections', { token: root })).json as { username: string; connection_id: string }[];
      expect(all.map((c) => c.username).sort()).toEqual(['bob', 'carol']);
      const mine = (await call(api, 'GET', '/api/v2/connections', { token: eu })).json as { username: string }[];
      expect(mine.map((c) => c.username)).toEqual(['bob']);
      const carolId = all.find((c) => c.username === 'carol')!.connection_id;
      expect((await call(api, 'DELETE', `/api/v2/connections/${carolId}`, { token: eu })).status).toBe(404);
      expect((await call(api, 'GET', '/api/v2/connections', { token: root })).json.length).toBe(2);
      const bobId = all.find((c) => c.username === 'bob')!.connection_id;
      expect((await call(api, 'DELETE', `/api/v2/connections/${bobId}`, { token: eu })).status).toBe(200);
    } finally {
      bob.client.end();
      carol.client.end();
    }
  });

  test('cannot reach global resources; folders and status follow its permissions', async () => {
    for (const [method, path] of [
      ['GET', '/api/v2/admins'], ['GET', '/api/v2/admins/root'], ['GET', '/api/v2/apikeys'], ['GET', '/api/v2/roles'], ['GET', '/api/v2/roles/eu'],
      ['POST', '/api/v2/roles'], ['DELETE', '/api/v2/roles/us'], ['GET', '/api/v2/dumpdata'], ['POST', '/api/v2/loaddata'], ['POST', '/api/v2/reload'],
      ['GET', '/api/v2/overrides'],
    ] as const) {
      const r = await call(api, method, path, { token: eu, body: method === 'POST' ? {} : undefined });
      expect({ path, status: r.status }).toEqual({ path, status: 403 });
    }
    expect((await call(api, 'GET', '/api/v2/folders', { token: eu })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/status', { token: eu })).status).toBe(200);
  });
});

describe('the roles resource (super admins)', () => {
  test('create, read, update, and delete: refused while an admin has the role, its users lose it', async () => {
    const created = await call(api, 'POST', '/api/v2/roles', { token: root, body: { name: 'apac', description: 'Asia' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v2/roles/apac');
    expect(created.json).toMatchObject({ name: 'apac', description: 'Asia', source: 'runtime' });
    expect((await call(api, 'POST', '/api/v2/roles', { token: root, body: { name: 'apac' } })).status).toBe(409);
    expect((await call(api, 'POST', '/api/v2/roles', { token: root, body: { name: 'bad/name' } })).status).toBe(400);
    // A GET body sent back (with its members) is accepted; PUT replaces the description.
    const got = (await call(api, 'GET', '/api/v2/roles/apac', { token: root })).json;
    expect((await call(api, 'PUT', '/api/v2/roles/apac', { token: root, body: { ...got, users: ['x'], description: 'Asia-Pacific' } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/roles/apac', { token: root })).json.description).toBe('Asia-Pacific');

    const user = { username: 'gina', password: 'g-Secret-1', home_dir: join(api.dir, 'homes/gina'), permissions: { '/': ['*'] } };
    expect((await call(api, 'POST', '/api/v2/users', { token: root, body: { ...user, role: 'nowhere' } })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v2/users', { token: root, body: { ...user, role: 'apac' } })).status).toBe(201);
    const admin = { username: 'apac-admin', password: 'a-Secret-1', role: 'apac' };
    expect((await call(api, 'POST', '/api/v2/admins', { token: root, body: { ...admin, permissions: ['*'] } })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v2/admins', { token: root, body: { ...admin, permissions: ['view_users'] } })).status).toBe(201);
    expect((await call(api, 'GET', '/api/v2/roles/apac', { token: root })).json).toMatchObject({ users: ['gina'], admins: ['apac-admin'] });
    const apac = await token(api, 'apac-admin', 'a-Secret-1');
    expect(names(await call(api, 'GET', '/api/v2/users', { token: apac }))).toEqual(['gina']);

    const refused = await call(api, 'DELETE', '/api/v2/roles/apac', { token: root });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toContain('referenced by admin "apac-admin"');
    expect((await call(api, 'DELETE', '/api/v2/admins/apac-admin', { token: root })).status).toBe(200);
    expect((await call(api, 'DELETE', '/api/v2/roles/apac', { token: root })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/roles/apac', { token: root })).status).toBe(404);
    expect((await call(api, 'GET', '/api/v2/users/gina', { token: root })).json.role).toBeUndefined();
  });

  test('a super admin moves a user between roles; a config-declared role is edited by override, not deleted', async () => {
    const carol = (await call(api, 'GET', '/api/v2/users/carol', { token: root })).json;
    expect((await call(api, 'PUT', '/api/v2/users/carol', { token: root, body: { ...carol, role: 'eu' } })).status).toBe(200);
    expect(names(await call(api, 'GET', '/api/v2/users', { token: eu }))).toContain('carol');
    expect((await call(api, 'DELETE', '/api/v2/overrides/users/carol', { token: root })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/carol', { token: eu })).status).toBe(404);

    expect((await call(api, 'DELETE', '/api/v2/roles/us', { token: root })).status).toBe(409);
    const put = await call(api, 'PUT', '/api/v2/roles/us', { token: root, body: { name: 'us', description: 'United States' } });
    expect(put.status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/roles/us', { token: root })).json).toMatchObject({ description: 'United States', overrides: { fields: { description: 'United States' } } });
  });
});

describe('roles in the YAML: checks and plan', () => {
  test('an unknown role and a super admin with a role are refused with their place', () => {
    const dir = tempDir('api-roles-yaml-');
    const file = join(dir, 'sftpgo.yaml');
    writeFileSync(file, `roles:
  - name: eu
users:
  - username: u1
    password: u-Secret-1
    role: mars
admins:
  - username: a1
    password: a-Secret-1
    role: eu
    permissions: ["*"]
  - username: a2
    password: a-Secret-1
    role: venus
    permissions: [view_users]
`);
    const r = runCli(['validate', '--config', file, '--data-dir', join(dir, 'data')]);
    expect(r.code).not.toBe(0);
    const out = r.stderr + r.stdout;
    expect(out).toMatch(/sftpgo\.yaml:6:\d+: users\[0\]\.role: role "mars" is not declared in roles/);
    expect(out).toMatch(/sftpgo\.yaml:\d+:\d+: admins\[0\]\.permissions\[0\]: a role admin cannot be a super admin/);
    expect(out).toContain('admins[1].role: role "venus" is not declared in roles');
  });

  test('plan shows roles created, changed and removed, removed after the users that had them', async () => {
    const dir = tempDir('api-roles-plan-');
    const file = join(dir, 'sftpgo.yaml');
    const data = join(dir, 'data');
    const port = await freePort();
    const head = `sftpd:\n  bindings:\n    - address: 127.0.0.1\n      port: ${port}\n`;
    const user = (role: string) => `users:\n  - username: u1\n    password: u-Secret-1\n    home_dir: ${join(dir, 'u1')}\n    role: ${role}\n`;
    writeFileSync(file, `${head}roles:\n  - name: eu\n  - name: us\n${user('eu')}`);
    let r = runCli(['plan', '--config', file, '--data-dir', data]);
    expect(r.stdout).toContain('+ role eu');
    expect(r.stdout).toContain('+ role us');
    const server = await startServer({ yaml: `${head}roles:\n  - name: eu\n  - name: us\n${user('eu')}`, cwd: dir, dataDir: data });
    await server.stop();
    writeFileSync(file, `${head}roles:\n  - name: us\n    description: moved\n${user('us')}`);
    r = runCli(['plan', '--config', file, '--data-dir', data]);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('~ role us (description)');
    expect(lines).toContain('~ user u1 (role)');
    expect(lines.indexOf('- role eu')).toBeGreaterThan(lines.indexOf('~ user u1 (role)'));
    // Applied: the role goes after its user left it, in one transaction.
    const again = await startServer({ yaml: readFileSync(file, 'utf8'), cwd: dir, dataDir: data });
    expect(again.logs.filter((l) => l.event === 'reconcile_change').map((l) => `${l.action} ${l.kind} ${l.name}`)).toEqual(['update role us', 'update user u1', 'delete role eu']);
    await again.stop();
  });
});

describe('an SFTPGo backup with roles', () => {
  test('its role admin comes in enabled, with its role, and sees only that role\'s users', async () => {
    const password = (await call(api, 'GET', '/api/v2/dumpdata', { token: root })).json.admins.find((a: any) => a.username === 'root').password;
    const backup = {
      version: 17,
      roles: [{ id: 1, name: 'latam', description: 'Latin America', created_at: 1, updated_at: 1, users: ['hugo'], admins: ['latam-admin'] }],
      users: [{ id: 9, username: 'hugo', status: 1, password, home_dir: join(api.dir, 'homes/hugo'), permissions: { '/': ['*'] }, role: 'latam', filesystem: { provider: 0 } }],
      admins: [{ id: 5, username: 'latam-admin', status: 1, password, permissions: ['view_users', 'add_users'], role: 'latam', filters: {} }],
      folders: [],
    };
    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo', { token: root, body: backup });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ users: 1, admins: 1, roles: 1 });
    expect((await call(api, 'GET', '/api/v2/admins/latam-admin', { token: root })).json).toMatchObject({ status: 1, role: 'latam' });
    const latam = await token(api, 'latam-admin');
    expect(names(await call(api, 'GET', '/api/v2/users', { token: latam }))).toEqual(['hugo']);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: latam })).status).toBe(404);
    expect((await call(api, 'GET', '/api/v2/roles/latam', { token: root })).json).toMatchObject({ users: ['hugo'], admins: ['latam-admin'] });
  });
});
