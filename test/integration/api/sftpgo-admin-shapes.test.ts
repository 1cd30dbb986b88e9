// The admin-side JSON shapes, field by field against SFTPGo's openapi.yaml (written out below):
// Admin, APIKey, ConnectionStatus (with Transfer), ServicesStatus, the quota usage PUTs and
// DefenderEntry. A field the answer carries must be SFTPGo's or one docs/api.md documents as ours, with
// SFTPGo's type; the round trips an SFTPGo client makes (GET, modify, PUT) must work.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { Client } from '../../../src/lib/ssh2.ts';
import { USER_PASSWORD, call, canLogin, configYaml, sftpSession, stopApi, token, type Api } from './harness.ts';

type Kind = 'string' | 'integer' | 'boolean' | 'array' | 'object';

// SFTPGo's openapi.yaml, components.schemas (the fields and their types).
const SFTPGO = {
  Admin: { id: 'integer', status: 'integer', username: 'string', description: 'string', password: 'string', email: 'string', permissions: 'array', filters: 'object', additional_info: 'string', groups: 'array', created_at: 'integer', updated_at: 'integer', last_login: 'integer', role: 'string' },
  AdminFilters: { allow_list: 'array', allow_api_key_auth: 'boolean', require_two_factor: 'boolean', require_password_change: 'boolean', totp_config: 'object', recovery_codes: 'array', preferences: 'object' },
  APIKey: { id: 'string', name: 'string', key: 'string', scope: 'integer', created_at: 'integer', updated_at: 'integer', last_use_at: 'integer', expires_at: 'integer', description: 'string', user: 'string', admin: 'string' },
  ConnectionStatus: { username: 'string', connection_id: 'string', client_version: 'string', remote_address: 'string', connection_time: 'integer', command: 'string', last_activity: 'integer', protocol: 'string', active_transfers: 'array', node: 'string' },
  Transfer: { operation_type: 'string', path: 'string', start_time: 'integer', size: 'integer' },
  ServicesStatus: { ssh: 'object', ftp: 'object', webdav: 'object', data_provider: 'object', defender: 'object', mfa: 'object', allow_list: 'object', rate_limiters: 'object' },
  SSHServiceStatus: { is_active: 'boolean', bindings: 'array', host_keys: 'array', ssh_commands: 'array', authentications: 'array', public_key_algorithms: 'array', macs: 'array', kex_algorithms: 'array', ciphers: 'array' },
  SSHBinding: { address: 'string', port: 'integer', apply_proxy_config: 'boolean' },
  DataProviderStatus: { is_active: 'boolean', driver: 'string', error: 'string' },
  MFAStatus: { is_active: 'boolean', totp_configs: 'array' },
  DefenderEntry: { id: 'string', ip: 'string', score: 'integer', ban_time: 'string' },
  ApiResponse: { message: 'string', error: 'string' },
} satisfies Record<string, Record<string, Kind>>;

// Fields beyond SFTPGo's that docs/api.md documents as ours.
const OURS = {
  Admin: { has_password: 'boolean', source: 'string', overrides: 'object', api_keys: 'array' },
  ServicesStatus: { store: 'object', config: 'object' },
  service: { connections: 'integer' },
} satisfies Record<string, Record<string, Kind>>;

function kindOf(v: unknown): Kind | 'null' | 'number' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as Kind;
}

/** Every field of `value` is one of `allowed` with its type; `required` ones are present. */
function expectShape(value: Record<string, unknown>, allowed: Record<string, Kind>, required: string[] = []): void {
  for (const [k, v] of Object.entries(value)) {
    expect({ field: k, known: k in allowed }).toEqual({ field: k, known: true });
    expect({ field: k, type: kindOf(v) }).toEqual({ field: k, type: allowed[k]! });
  }
  for (const k of required) expect({ field: k, present: k in value }).toEqual({ field: k, present: true });
}

let api: Api;
let root: string;
let davPort: number;
let ftpPort: number;

beforeAll(async () => {
  const dir = tempDir('api-shapes-');
  mkdirSync(join(dir, 'homes/alice'), { recursive: true });
  mkdirSync(join(dir, 'shared'), { recursive: true });
  const [sftpPort, apiPort] = [await freePort(), await freePort()];
  davPort = await freePort();
  ftpPort = await freePort();
  // Two failed logins ban an address: 127.0.0.2 is banned below, 127.0.0.1 only scored.
  const yaml = `common:\n  defender:\n    enabled: true\n    threshold: 4\n    score_invalid: 2\n    score_valid: 1\nwebdavd:\n  bindings: [{ address: 127.0.0.1, port: ${davPort} }]\nftpd:\n  bindings: [{ address: 127.0.0.1, port: ${ftpPort} }]\n${configYaml(dir, sftpPort, apiPort)}`;
  const server = await startServer({ yaml, cwd: dir });
  api = { server, dir, dataDir: join(dir, 'data'), sftpPort, apiPort, telemetryPort: 0, yaml, home: join(dir, 'homes/alice'), url: (p) => `http://127.0.0.1:${apiPort}${p}`, restart: async () => {} };
  root = await token(api);
});
afterAll(() => stopApi(api));

async function raw(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(api.url(path), { method, headers: { authorization: `Bearer ${root}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
}

describe('Admin', () => {
  test('GET: SFTPGo fields (and ours), no password', async () => {
    const a = (await call(api, 'GET', '/api/v2/admins/root', { token: root })).json;
    expectShape(a, { ...SFTPGO.Admin, ...OURS.Admin }, ['id', 'status', 'username', 'permissions', 'filters', 'created_at', 'updated_at']);
    expect(a.password).toBeUndefined();
    // The token issued in beforeAll is root's last login.
    expect(a.last_login).toBeGreaterThan(Date.now() - 120_000);
    expectShape(a.filters, SFTPGO.AdminFilters, ['allow_list', 'allow_api_key_auth']);
    const all = (await call(api, 'GET', '/api/v2/admins', { token: root })).json;
    for (const a2 of all) expectShape(a2, { ...SFTPGO.Admin, ...OURS.Admin });
    const names = all.map((x: { username: string }) => x.username);
    expect(names).toEqual([...names].sort());
    const desc = (await call(api, 'GET', '/api/v2/admins?order=DESC&limit=2&offset=1', { token: root })).json.map((x: { username: string }) => x.username);
    expect(desc).toEqual([...names].reverse().slice(1, 3));
  });

  test('POST with the body an SFTPGo client sends: 201, the admin, a Location', async () => {
    const body = {
      id: 0, status: 1, username: 'helper', password: 'h-Secret-1', email: 'h@example.com', description: 'made by a client',
      permissions: ['view_users', 'view_conns'], additional_info: '', groups: [], role: '', created_at: 0, updated_at: 0, last_login: 0,
      filters: { allow_list: [], allow_api_key_auth: false, require_two_factor: false, require_password_change: false, totp_config: {}, recovery_codes: [], preferences: { hide_user_page_sections: 0 } },
    };
    const res = await raw('POST', '/api/v2/admins', body);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/v2/admins/helper');
    const a = (await res.json()) as Record<string, unknown>;
    expectShape(a, { ...SFTPGO.Admin, ...OURS.Admin });
    expect(a).toMatchObject({ username: 'helper', email: 'h@example.com', permissions: ['view_users', 'view_conns'], status: 1, last_login: 0 });
    expect(await token(api, 'helper', 'h-Secret-1')).toBeTruthy();
    expect((await call(api, 'GET', '/api/v2/admins/helper', { token: root })).json.last_login).toBeGreaterThan(0);
  });

  test('GET → modify → PUT round-trips; PUT replaces and keeps the password', async () => {
    const a = (await call(api, 'GET', '/api/v2/admins/helper', { token: root })).json;
    const put = await call(api, 'PUT', '/api/v2/admins/helper', { token: root, body: { ...a, additional_info: 'round trip', password: '' } });
    expect(put.status).toBe(200);
    expectShape(put.json, SFTPGO.ApiResponse, ['message']);
    const after = (await call(api, 'GET', '/api/v2/admins/helper', { token: root })).json;
    expect(after).toMatchObject({ additional_info: 'round trip', description: 'made by a client', id: a.id, created_at: a.created_at });
    // Replace: what the body leaves out is gone; the password stays.
    const { description: _d, email: _e, ...rest } = after;
    void _d, void _e;
    expect((await call(api, 'PUT', '/api/v2/admins/helper', { token: root, body: rest })).status).toBe(200);
    const replaced = (await call(api, 'GET', '/api/v2/admins/helper', { token: root })).json;
    expect(replaced.description).toBeUndefined();
    expect(replaced.email).toBeUndefined();
    expect(await token(api, 'helper', 'h-Secret-1')).toBeTruthy();
  });

  test('SFTPGo fields for features not here are refused unless empty', async () => {
    for (const extra of [{ groups: [{ name: 'g', options: { add_to_users_as: 0 } }] }, { filters: { require_two_factor: true } }]) {
      const r = await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: 'nope', password: 'n-Secret-1', permissions: ['view_users'], ...extra } });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).toContain('not supported');
    }
    // As SFTPGo: an admin's TOTP is its own to set (/api/v2/admin/totp/save); a body's is ignored.
    const totp = await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: 'otpless', password: 'n-Secret-1', permissions: ['view_users'], filters: { totp_config: { enabled: true, config_name: 'Default', secret: { status: 'Plain', payload: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' } } } } });
    expect(totp.status).toBe(201);
    expect(totp.json.filters.totp_config).toBeUndefined();
    expect(await token(api, 'otpless', 'n-Secret-1')).toBeTruthy();
    // A role is a real setting: an empty one (SFTPGo's "none") passes, one that does not exist is refused.
    const role = await call(api, 'POST', '/api/v2/admins', { token: root, body: { username: 'nope', password: 'n-Secret-1', permissions: ['view_users'], role: 'ops' } });
    expect(role.status).toBe(400);
    expect(role.json.error).toContain('role "ops" does not exist');
  });
});

describe('APIKey', () => {
  let id = '';
  test('POST: 201, {message, key}, X-Object-ID and Location; the key is <id>.<secret>', async () => {
    const res = await raw('POST', '/api/v2/apikeys', { name: 'ci', scope: 1, admin: 'helper', description: 'for CI', expires_at: Date.now() + 3_600_000, id: 'ignored', key: 'ignored', last_use_at: 5 });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['key', 'message']);
    id = res.headers.get('x-object-id')!;
    expect(id).not.toBe('ignored');
    expect(res.headers.get('location')).toBe(`/api/v2/apikeys/${id}`);
    expect(body.key!.startsWith(`${id}.`)).toBe(true);
    // helper does not allow API key authentication yet.
    expect((await call(api, 'GET', '/api/v2/users', { apiKey: body.key })).status).toBe(401);
    const a = (await call(api, 'GET', '/api/v2/admins/helper', { token: root })).json;
    expect((await call(api, 'PUT', '/api/v2/admins/helper', { token: root, body: { ...a, filters: { ...a.filters, allow_api_key_auth: true } } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users', { apiKey: body.key })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users', { apiKey: `${id}.wrong` })).status).toBe(401);
  });

  test('GET: SFTPGo fields without the key; last_use_at once used', async () => {
    const k = (await call(api, 'GET', `/api/v2/apikeys/${id}`, { token: root })).json;
    expectShape(k, SFTPGO.APIKey, ['id', 'name', 'scope', 'created_at', 'updated_at']);
    expect(k.key).toBeUndefined();
    expect(k).toMatchObject({ id, name: 'ci', scope: 1, admin: 'helper', description: 'for CI' });
    expect(k.last_use_at).toBeGreaterThan(Date.now() - 60_000);
    const list = (await call(api, 'GET', '/api/v2/apikeys?order=DESC&limit=10', { token: root })).json;
    for (const one of list) expectShape(one, SFTPGO.APIKey);
  });

  test('PUT replaces the definition and keeps the key; unknown admins and users are refused', async () => {
    const k = (await call(api, 'GET', `/api/v2/apikeys/${id}`, { token: root })).json;
    const put = await call(api, 'PUT', `/api/v2/apikeys/${id}`, { token: root, body: { ...k, name: 'ci-renamed', description: undefined } });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ message: 'API key updated' });
    const after = (await call(api, 'GET', `/api/v2/apikeys/${id}`, { token: root })).json;
    expect(after.name).toBe('ci-renamed');
    expect(after.description).toBeUndefined();
    expect(after.created_at).toBe(k.created_at);
    // A user key (scope 2) names an existing user, and keeps no admin.
    const userKey = await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'u', scope: 2, user: 'alice', admin: '' } });
    expect(userKey.status).toBe(201);
    expect((await call(api, 'GET', `/api/v2/apikeys/${userKey.headers.get('x-object-id')}`, { token: root })).json).toMatchObject({ scope: 2, user: 'alice' });
    expect((await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'u', scope: 2, user: 'ghost' } })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'x', scope: 1, admin: 'ghost' } })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v2/apikeys', { token: root, body: { name: 'x', scope: 3 } })).status).toBe(400);
    expect((await call(api, 'DELETE', `/api/v2/apikeys/${id}`, { token: root })).json).toEqual({ message: 'API key deleted' });
    expect((await call(api, 'GET', `/api/v2/apikeys/${id}`, { token: root })).status).toBe(404);
  });
});

describe('ConnectionStatus and ServicesStatus', () => {
  test('a live SFTP upload is listed with its Transfer', async () => {
    const { client, sftp } = await sftpSession(api.sftpPort, 'alice', USER_PASSWORD);
    const handle = await new Promise<Buffer>((ok, fail) => sftp.open('/partial.bin', 'w', (err: Error | undefined, h: Buffer) => (err ? fail(err) : ok(h))));
    await new Promise<void>((ok, fail) => sftp.write(handle, Buffer.alloc(1000, 1), 0, 1000, 0, (err: Error | undefined) => (err ? fail(err) : ok())));
    const list = (await call(api, 'GET', '/api/v2/connections', { token: root })).json;
    const c = list.find((x: { username: string }) => x.username === 'alice');
    expectShape(c, SFTPGO.ConnectionStatus, ['username', 'connection_id', 'client_version', 'remote_address', 'connection_time', 'last_activity', 'protocol', 'active_transfers']);
    expect(['SFTP', 'SCP', 'SSH', 'FTP', 'DAV']).toContain(c.protocol);
    expect(c.client_version).toStartWith('SSH-2.0-');
    expect(c.active_transfers).toHaveLength(1);
    expectShape(c.active_transfers[0], SFTPGO.Transfer, ['operation_type', 'path', 'start_time', 'size']);
    expect(c.active_transfers[0]).toMatchObject({ operation_type: 'upload', path: '/partial.bin', size: 1000 });
    const closed = await call(api, 'DELETE', `/api/v2/connections/${c.connection_id}`, { token: root });
    expect(closed.json).toEqual({ message: 'Connection closed' });
    client.end();
  });

  test("a WebDAV client's User-Agent is its client_version", async () => {
    const r = await fetch(`http://127.0.0.1:${davPort}/`, { method: 'PROPFIND', headers: { authorization: `Basic ${Buffer.from(`alice:${USER_PASSWORD}`).toString('base64')}`, depth: '1', 'user-agent': 'shapes-dav/1.0' } });
    expect(r.status).toBe(207);
    await r.text();
    const c = (await call(api, 'GET', '/api/v2/connections', { token: root })).json.find((x: { protocol: string }) => x.protocol === 'DAV');
    expectShape(c, SFTPGO.ConnectionStatus, ['username', 'connection_id', 'client_version', 'protocol']);
    expect(c.client_version).toBe('shapes-dav/1.0');
    await call(api, 'DELETE', `/api/v2/connections/${c.connection_id}`, { token: root });
  });

  test("an FTP client's CLNT is its client_version", async () => {
    const sock = connect(ftpPort, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    const until = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(got); i++) await new Promise((r) => setTimeout(r, 25));
      expect(got).toMatch(re);
    };
    await until(/^220 /m);
    sock.write(`CLNT shapes-ftp/2.0\r\nUSER alice\r\nPASS ${USER_PASSWORD}\r\n`);
    await until(/^230 /m);
    const c = (await call(api, 'GET', '/api/v2/connections', { token: root })).json.find((x: { protocol: string }) => x.protocol === 'FTP');
    expectShape(c, SFTPGO.ConnectionStatus, ['username', 'connection_id', 'client_version', 'protocol']);
    expect(c.client_version).toBe('shapes-ftp/2.0');
    sock.destroy();
  });

  test('/status is ServicesStatus', async () => {
    const s = (await call(api, 'GET', '/api/v2/status', { token: root })).json;
    expectShape(s, { ...SFTPGO.ServicesStatus, ...OURS.ServicesStatus }, Object.keys(SFTPGO.ServicesStatus));
    expectShape(s.ssh, { ...SFTPGO.SSHServiceStatus, ...OURS.service }, ['is_active', 'bindings']);
    expect(s.ssh.is_active).toBe(true);
    expectShape(s.ssh.bindings[0], SFTPGO.SSHBinding, ['port']);
    expect(s.ssh.bindings[0]).toEqual({ address: '127.0.0.1', port: api.sftpPort });
    expect(s.ftp.is_active).toBe(true);
    expect(s.ftp.bindings).toEqual([{ address: '127.0.0.1', port: ftpPort }]);
    expect(s.webdav.bindings).toEqual([{ address: '127.0.0.1', port: davPort }]);
    expectShape(s.data_provider, SFTPGO.DataProviderStatus, ['is_active', 'driver', 'error']);
    expectShape(s.mfa, SFTPGO.MFAStatus, ['is_active']);
    expect(s.defender).toEqual({ is_active: true });
    expect(s.allow_list).toEqual({ is_active: false });
    expect(s.rate_limiters).toEqual({ is_active: false, protocols: [] });
  });
});

describe('quota usage', () => {
  test('user and folder usage PUTs take QuotaUsage and answer ApiResponse', async () => {
    for (const [path, read] of [
      ['/api/v2/quotas/users/alice/usage', '/api/v2/users/alice'],
      ['/api/v2/quotas/folders/shared/usage', '/api/v2/folders/shared'],
    ] as const) {
      let r = await call(api, 'PUT', path, { token: root, body: { used_quota_size: 300, used_quota_files: 3 } });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ message: 'Quota updated' });
      r = await call(api, 'PUT', `${path}?mode=add`, { token: root, body: { used_quota_size: 50 } });
      expect(r.status).toBe(200);
      expect((await call(api, 'GET', read, { token: root })).json).toMatchObject({ used_quota_size: 350, used_quota_files: 3 });
      expect((await call(api, 'PUT', `${path}?mode=add`, { token: root, body: { used_quota_files: -1 } })).status).toBe(400);
      expect((await call(api, 'PUT', `${path}?mode=other`, { token: root, body: {} })).status).toBe(400);
    }
    expect((await call(api, 'PUT', '/api/v2/quotas/folders/ghost/usage', { token: root, body: {} })).status).toBe(404);
    // As SFTPGo: the folder PUT needs manage_folders, the user PUT edit_users.
    const viewer = await token(api, 'viewer');
    expect((await call(api, 'PUT', '/api/v2/quotas/folders/shared/usage', { token: viewer, body: {} })).status).toBe(403);
    expect((await call(api, 'PUT', '/api/v2/quotas/users/alice/usage', { token: viewer, body: {} })).status).toBe(403);
  });
});

describe('DefenderEntry', () => {
  test('a scored host has a score and no ban_time; a banned one a ban_time (RFC 3339, seconds) and no score', async () => {
    expect(await canLogin(api.sftpPort, 'alice', 'wrong')).toBe(false);
    const banned = new Client();
    await new Promise<void>((ok) => {
      banned.once('error', () => ok());
      banned.once('ready', () => ok());
      banned.connect({ host: '127.0.0.1', port: api.sftpPort, username: 'nobody', password: 'x', localAddress: '127.0.0.2', readyTimeout: 10_000 } as never);
    });
    const banned2 = new Client();
    await new Promise<void>((ok) => {
      banned2.once('error', () => ok());
      banned2.once('ready', () => ok());
      banned2.connect({ host: '127.0.0.1', port: api.sftpPort, username: 'nobody', password: 'x', localAddress: '127.0.0.2', readyTimeout: 10_000 } as never);
    });
    const hosts = (await call(api, 'GET', '/api/v2/defender/hosts', { token: root })).json as Record<string, unknown>[];
    for (const h of hosts) expectShape(h, SFTPGO.DefenderEntry, ['id', 'ip']);
    const scored = hosts.find((h) => h.ip === '127.0.0.1')!;
    // Scored by the failures of this file's requests, below the threshold.
    expect(Object.keys(scored).sort()).toEqual(['id', 'ip', 'score']);
    expect(scored.id).toBe(Buffer.from('127.0.0.1').toString('hex'));
    expect(scored.score).toBeGreaterThan(0);
    const ban = hosts.find((h) => h.ip === '127.0.0.2')!;
    expect(Object.keys(ban).sort()).toEqual(['ban_time', 'id', 'ip']);
    expect(ban.ban_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const del = await call(api, 'DELETE', `/api/v2/defender/hosts/${ban.id}`, { token: root });
    expect(del.json).toEqual({ message: 'OK' });
    expect((await call(api, 'GET', `/api/v2/defender/hosts/${ban.id}`, { token: root })).status).toBe(404);
  });
});

describe('the OpenAPI document describes the new shapes', () => {
  test('apikeys, folder usage, and the response schemas', async () => {
    const doc = (await call(api, 'GET', '/api/v2/openapi.json')).json;
    expect(doc.paths['/api/v2/apikeys'].post['x-sftpgo-permission']).toBe('*');
    expect(doc.paths['/api/v2/admins'].get['x-sftpgo-permission']).toBe('*');
    expect(doc.paths['/api/v2/quotas/folders/{name}/usage'].put['x-sftpgo-permission']).toBe('manage_folders');
    expect(doc.paths['/metrics']).toBeUndefined();
    expect(doc.paths['/api/v2/apikeys'].post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/APIKey');
    expect(doc.paths['/api/v2/quotas/users/{username}/usage'].put.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/QuotaUsage');
    for (const s of ['APIKey', 'APIKeyCreated', 'ConnectionStatus', 'Transfer', 'ServicesStatus', 'QuotaUsage', 'TransferQuotaUsage', 'ApiResponse', 'DefenderHost'])
      expect(doc.components.schemas[s]).toBeDefined();
    expect(Object.keys(doc.components.schemas.ConnectionStatus.properties).every((k: string) => k in SFTPGO.ConnectionStatus)).toBe(true);
    expect(doc.components.schemas.Admin.properties.permissions.items.enum).not.toContain('manage_admins');
  });
});

