// Admin authentication: Basic → JWT, Bearer, API keys, permissions, allow_list, failed-login logging.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_PASSWORD, API_KEY, call, startApi, stopApi, token, type Api } from './harness.ts';

let api: Api;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => stopApi(api));

describe('token and API key auth', () => {
  test('Basic credentials get a JWT that authorises later calls', async () => {
    const r = await call(api, 'GET', '/api/v2/token', { basic: ['root', ADMIN_PASSWORD] });
    expect(r.status).toBe(200);
    expect(r.json.access_token.split('.')).toHaveLength(3);
    const exp = Date.parse(r.json.expires_at);
    expect(exp - Date.now()).toBeGreaterThan(590_000);
    expect(exp - Date.now()).toBeLessThan(610_000);
    const users = await call(api, 'GET', '/api/v2/users', { token: r.json.access_token });
    expect(users.status).toBe(200);
    expect(users.json.map((u: { username: string }) => u.username)).toContain('alice');
  });

  test('a wrong password is 401 and logged as login_failed with the client IP', async () => {
    const r = await call(api, 'GET', '/api/v2/token', { basic: ['root', 'nope'] });
    expect(r.status).toBe(401);
    const line = await api.server.waitForLog((l) => l.event === 'login_failed' && l.protocol === 'HTTP' && l.username === 'root');
    expect(line.ip).toMatch(/127\.0\.0\.1/);
    expect(line.reason).toBe('invalid_credentials');
  });

  test('no credentials, a forged token: 401', async () => {
    expect((await call(api, 'GET', '/api/v2/users')).status).toBe(401);
    const good = await token(api);
    const [h, p] = good.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'viewer' })).toString('base64url')}.${good.split('.')[2]}`;
    expect((await call(api, 'GET', '/api/v2/users', { token: forged })).status).toBe(401);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect((await call(api, 'GET', '/api/v2/users', { token: none })).status).toBe(401);
  });

  test('X-SFTPGO-API-KEY authenticates as the admin owning the key', async () => {
    const r = await call(api, 'GET', '/api/v2/status', { apiKey: API_KEY });
    expect(r.status).toBe(200);
    expect(r.json.ssh.is_active).toBe(true);
    expect((await call(api, 'GET', '/api/v2/status', { apiKey: 'wrong-key' })).status).toBe(401);
  });

  test('a non-privileged admin is denied (403) and changes nothing', async () => {
    const t = await token(api, 'viewer');
    expect((await call(api, 'GET', '/api/v2/users', { token: t })).status).toBe(200);
    const r = await call(api, 'POST', '/api/v2/users', { token: t, body: { username: 'mallory', password: 'x-Secret-1' } });
    expect(r.status).toBe(403);
    expect(r.json.error).toContain('add_users');
    expect((await call(api, 'GET', '/api/v2/admins', { token: t })).status).toBe(403);
    const root = await token(api);
    expect((await call(api, 'GET', '/api/v2/users/mallory', { token: root })).status).toBe(404);
  });

  test("an admin outside its allow_list cannot log in", async () => {
    const r = await call(api, 'GET', '/api/v2/token', { basic: ['fenced', ADMIN_PASSWORD] });
    expect(r.status).toBe(403);
  });

  test('an API-created admin with an API key: the key is stored hashed and works', async () => {
    const root = await token(api);
    const key = 'second-key-abcdefghijklmnopqrstuvwxyz';
    const c = await call(api, 'POST', '/api/v2/admins', {
      token: root,
      body: { username: 'ops', password: 'ops-Secret-1', permissions: ['view_conns'], api_keys: [{ name: 'k', key }] },
    });
    expect(c.status).toBe(201);
    expect(c.json.source).toBe('runtime');
    expect(c.json.api_keys[0].key).toStartWith('$pbkdf2-sha256$');
    expect(c.text).not.toContain('ops-Secret-1');
    expect((await call(api, 'GET', '/api/v2/connections', { apiKey: key })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users', { apiKey: key })).status).toBe(403);
    const dump = await call(api, 'GET', '/api/v2/dumpdata', { token: root });
    expect(dump.text).not.toContain(key);
    expect(dump.text).not.toContain('ops-Secret-1');
  });

  test('an API key past its expires_at (ms since the epoch) is refused; one not yet expired works', async () => {
    const root = await token(api);
    const [old, fresh] = ['expired-key-abcdefghijklmnopqrstuvwxyz', 'current-key-abcdefghijklmnopqrstuvwxyz'];
    const body = {
      username: 'timed',
      password: 'timed-Secret-1',
      permissions: ['view_conns'],
      api_keys: [
        { name: 'old', key: old, expires_at: Date.now() - 60_000 },
        { name: 'fresh', key: fresh, expires_at: Date.now() + 3_600_000 },
      ],
    };
    expect((await call(api, 'POST', '/api/v2/admins', { token: root, body })).status).toBe(201);
    expect((await call(api, 'GET', '/api/v2/connections', { apiKey: old })).status).toBe(401);
    expect((await call(api, 'GET', '/api/v2/connections', { apiKey: fresh })).status).toBe(200);
  });

  test('an admin with status 0 is refused with its password and its API keys', async () => {
    const root = await token(api);
    const key = 'fourth-key-abcdefghijklmnopqrstuvwxyz';
    const body = { username: 'paused', status: 0, password: 'paused-Secret-1', permissions: ['view_conns'], api_keys: [{ name: 'k', key }] };
    expect((await call(api, 'POST', '/api/v2/admins', { token: root, body })).status).toBe(201);
    expect((await call(api, 'GET', '/api/v2/token', { basic: ['paused', 'paused-Secret-1'] })).status).toBe(401);
    expect((await call(api, 'GET', '/api/v2/connections', { apiKey: key })).status).toBe(401);
    expect((await call(api, 'PUT', '/api/v2/admins/paused', { token: root, body: { ...body, status: 1 } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/token', { basic: ['paused', 'paused-Secret-1'] })).status).toBe(200);
  });

  test('filters.allow_api_key_auth: false turns an admin\'s API keys off; the password still works', async () => {
    const root = await token(api);
    const key = 'third-key-abcdefghijklmnopqrstuvwxyz0';
    const body = { username: 'keyless', password: 'keyless-Secret-1', permissions: ['view_conns'], api_keys: [{ name: 'k', key }] };
    expect((await call(api, 'POST', '/api/v2/admins', { token: root, body: { ...body, filters: { allow_api_key_auth: false } } })).status).toBe(201);
    expect((await call(api, 'GET', '/api/v2/connections', { apiKey: key })).status).toBe(401);
    expect((await call(api, 'GET', '/api/v2/token', { basic: ['keyless', 'keyless-Secret-1'] })).status).toBe(200);
    expect((await call(api, 'PUT', '/api/v2/admins/keyless', { token: root, body: { ...body, filters: { allow_api_key_auth: true } } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/connections', { apiKey: key })).status).toBe(200);
  });
});
