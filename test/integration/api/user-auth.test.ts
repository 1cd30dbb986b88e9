// The user API's authentication: Basic (and TOTP) → a user JWT through the login gate with protocol
// HTTP, Bearer on the user routes, logout, and the separation of user and admin tokens.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base32Decode, hotp, totpStep } from '../../../src/auth/totp.ts';
import { run } from '../../support/run.ts';
import { tempDir } from '../../support/tmp.ts';
import { ADMIN_PASSWORD, call, startApi, stopApi, token, type Api } from './harness.ts';

const PASSWORD = 'bob-Secret-1';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

let api: Api;
beforeAll(async () => {
  api = await startApi(`  - username: bob
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
  - username: tina
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters:
      totp_config: { enabled: true, config_name: Default, secret: "${TOTP_SECRET}", protocols: [HTTP] }
  - username: nohttp
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters: { denied_protocols: [HTTP] }
  - username: gone
    password: "${PASSWORD}"
    status: 0
    permissions: { "/": ["*"] }
  - username: fenced
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters: { allowed_ip: ["10.9.0.0/16"] }
  - username: old
    password: "${PASSWORD}"
    expiration_date: 1000000000000
    permissions: { "/": ["*"] }
  - username: solo
    password: "${PASSWORD}"
    max_sessions: 1
    permissions: { "/": ["*"] }
common:
  post_connect_hook: ${postConnectHook()}
`);
});
afterAll(() => stopApi(api));

/** A post-connect hook that refuses 127.0.0.8 only. */
function postConnectHook(): string {
  const path = join(tempDir('user-auth-hook-'), 'post-connect.sh');
  writeFileSync(path, '#!/bin/sh\n[ "$SFTPGO_CONNECTION_IP" != "127.0.0.8" ]\n');
  chmodSync(path, 0o755);
  return path;
}

async function userToken(user: string, password = PASSWORD, otp?: string): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  if (otp) headers['x-sftpgo-otp'] = otp;
  const res = await fetch(api.url('/api/v2/user/token'), { headers });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

function currentCode(secret: string, offsetSteps = 0): string {
  return hotp(base32Decode(secret)!, totpStep(Date.now() / 1000) + offsetSteps);
}

describe('user token', () => {
  test('Basic credentials get a user JWT, logged as an HTTP login', async () => {
    const r = await userToken('bob');
    expect(r.status).toBe(200);
    expect(r.json.access_token.split('.')).toHaveLength(3);
    expect(Date.parse(r.json.expires_at) - Date.now()).toBeGreaterThan(590_000);
    const line = await api.server.waitForLog((l) => l.event === 'login' && l.username === 'bob');
    expect(line.protocol).toBe('HTTP');
    const dirs = await call(api, 'GET', '/api/v2/user/logout', { token: r.json.access_token });
    expect(dirs.status).toBe(200);
  });

  test('a wrong password is 401 with a Basic challenge and a login_failed line', async () => {
    const r = await userToken('bob', 'wrong');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('Basic');
    const line = await api.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'bob' && l.protocol === 'HTTP');
    expect(line.reason).toBe('invalid_credentials');
  });

  test('denied protocol HTTP is 403; a disabled user 401', async () => {
    expect((await userToken('nohttp')).status).toBe(403);
    expect((await api.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'nohttp')).reason).toBe('protocol_denied');
    expect((await userToken('gone')).status).toBe(401);
    expect((await api.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'gone')).reason).toBe('user_disabled');
  });

  test('the post-connect hook runs for a token request and may refuse it', async () => {
    const curl = (from: string) => run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--interface', from, '-u', `bob:${PASSWORD}`, api.url('/api/v2/user/token')]);
    expect((await curl('127.0.0.8')).stdout).toBe('403');
    const line = await api.server.waitForLog((l) => l.event === 'connection_refused' && l.reason === 'post_connect_hook');
    expect(line).toMatchObject({ ip: '127.0.0.8', protocol: 'HTTP' });
    expect((await curl('127.0.0.1')).stdout).toBe('200');
  });

  test('an address outside allowed_ip is 403; an expired account 401', async () => {
    expect((await userToken('fenced')).status).toBe(403);
    expect((await api.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'fenced')).reason).toBe('ip_denied');
    expect((await userToken('old')).status).toBe(401);
    expect((await api.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'old')).reason).toBe('user_expired');
  });

  test('TOTP for HTTP: the code goes in X-SFTPGO-OTP, once', async () => {
    expect((await userToken('tina')).status).toBe(401);
    expect((await api.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'tina')).reason).toBe('totp_missing');
    expect((await userToken('tina', PASSWORD, '000000')).status).toBe(401);
    const code = currentCode(TOTP_SECRET);
    expect((await userToken('tina', PASSWORD, code)).status).toBe(200);
    expect((await userToken('tina', PASSWORD, code)).status).toBe(401);
  });

  test('max_sessions: a user at its limit gets no token', async () => {
    // A long-lived SFTP session holds solo's one session.
    const { sftpSession } = await import('./harness.ts');
    const { client } = await sftpSession(api.sftpPort, 'solo', PASSWORD);
    try {
      const r = await userToken('solo');
      expect(r.status).toBe(403);
    } finally {
      client.end();
    }
  });
});

describe('user and admin tokens are distinct', () => {
  test('an admin token is refused on user routes, a user token on admin routes', async () => {
    const admin = await token(api, 'root', ADMIN_PASSWORD);
    expect((await call(api, 'GET', '/api/v2/user/logout', { token: admin })).status).toBe(401);
    const user = (await userToken('bob')).json.access_token;
    expect((await call(api, 'GET', '/api/v2/users', { token: user })).status).toBe(401);
    expect((await call(api, 'GET', '/api/v2/user/token', { token: user })).status).toBe(401);
  });

  test('logout revokes the token at once', async () => {
    const t = (await userToken('bob')).json.access_token;
    expect((await call(api, 'GET', '/api/v2/user/logout', { token: t })).status).toBe(200);
    const again = await call(api, 'GET', '/api/v2/user/logout', { token: t });
    expect(again.status).toBe(401);
  });

  test('a user disabled after its token was issued is refused', async () => {
    const t = (await userToken('bob')).json.access_token;
    const admin = await token(api, 'root', ADMIN_PASSWORD);
    expect((await call(api, 'PUT', '/api/v2/users/bob', { token: admin, body: { status: 0 } })).status).toBe(200);
    try {
      expect((await call(api, 'GET', '/api/v2/user/logout', { token: t })).status).toBe(403);
    } finally {
      await call(api, 'PUT', '/api/v2/users/bob', { token: admin, body: { status: 1 } });
    }
  });
});


describe('TOTP self-service', () => {
  test('generate, validate, save for HTTP: the next token needs the code; disable keeps the secret', async () => {
    const t = (await userToken('bob')).json.access_token;
    expect((await call(api, 'GET', '/api/v2/user/totp/configs', { token: t })).json).toEqual([{ name: 'Default', issuer: 'SFTPGo', algo: 'sha1' }]);
    const gen = await call(api, 'POST', '/api/v2/user/totp/generate', { token: t, body: { config_name: 'Default' } });
    expect(gen.status).toBe(200);
    const secret: string = gen.json.secret;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(gen.json.url).toContain(`secret=${secret}`);
    expect((await call(api, 'POST', '/api/v2/user/totp/validate', { token: t, body: { config_name: 'Default', passcode: '000000', secret } })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v2/user/totp/validate', { token: t, body: { config_name: 'Default', passcode: currentCode(secret), secret } })).status).toBe(200);
    const saved = await call(api, 'POST', '/api/v2/user/totp/save', { token: t, body: { enabled: true, config_name: 'Default', protocols: ['HTTP'], secret: { status: 'Plain', payload: secret } } });
    expect(saved.status).toBe(200);
    expect((await userToken('bob')).status).toBe(401);
    const withCode = await userToken('bob', PASSWORD, currentCode(secret));
    expect(withCode.status).toBe(200);
    // The stored secret reads as redacted to an admin, and disabling keeps it.
    const admin = await token(api, 'root', ADMIN_PASSWORD);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: admin })).json.filters.totp_config.secret.status).toBe('Redacted');
    const off = await call(api, 'POST', '/api/v2/user/totp/save', { token: withCode.json.access_token, body: { enabled: false, config_name: 'Default', protocols: [] } });
    expect(off.status).toBe(200);
    expect((await userToken('bob')).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/bob', { token: admin })).json.filters.totp_config).toMatchObject({ enabled: false, secret: { status: 'Redacted' } });
    expect((await call(api, 'POST', '/api/v2/user/totp/save', { token: t, body: { enabled: true, config_name: 'Other', protocols: ['HTTP'] } })).status).toBe(400);
  });
});

describe('user API keys (scope 2)', () => {
  test('work on file routes once the user allows them, never on account routes', async () => {
    const admin = await token(api, 'root', ADMIN_PASSWORD);
    const made = await call(api, 'POST', '/api/v2/apikeys', { token: admin, body: { name: 'bob-cli', scope: 2, user: 'bob' } });
    expect(made.status).toBe(201);
    const key: string = made.json.key;
    const asKey = (method: string, path: string) => fetch(api.url(path), { method, headers: { 'x-sftpgo-api-key': key } });
    expect((await asKey('GET', '/api/v2/user/dirs')).status).toBe(401);
    expect((await api.server.waitForLog((l) => l.event === 'login_failed' && l.reason === 'api_key_auth_disabled')).username).toBe('bob');
    const t = (await userToken('bob')).json.access_token;
    expect((await call(api, 'PUT', '/api/v2/user/profile', { token: t, body: { allow_api_key_auth: true } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/user/profile', { token: t })).json.allow_api_key_auth).toBe(true);
    const dirs = await asKey('GET', '/api/v2/user/dirs');
    expect(dirs.status).toBe(200);
    expect(Array.isArray(await dirs.json())).toBe(true);
    expect((await asKey('GET', '/api/v2/user/profile')).status).toBe(403);
    expect((await asKey('GET', '/api/v2/user/logout')).status).toBe(403);
    // A user key is not an admin key, and a wrong secret is a failed login.
    expect((await asKey('GET', '/api/v2/users')).status).toBe(403);
    const wrong = await fetch(api.url('/api/v2/user/dirs'), { headers: { 'x-sftpgo-api-key': `${key.split('.')[0]}.nope` } });
    expect(wrong.status).toBe(401);
    // Turning it off again stops the key at once.
    expect((await call(api, 'PUT', '/api/v2/user/profile', { token: t, body: { allow_api_key_auth: false } })).status).toBe(200);
    expect((await asKey('GET', '/api/v2/user/dirs')).status).toBe(401);
  });

  test("deleting a user deletes its keys", async () => {
    const admin = await token(api, 'root', ADMIN_PASSWORD);
    expect((await call(api, 'POST', '/api/v2/users', { token: admin, body: { username: 'temp', password: PASSWORD, permissions: { '/': ['*'] } } })).status).toBe(201);
    const made = await call(api, 'POST', '/api/v2/apikeys', { token: admin, body: { name: 'temp-key', scope: 2, user: 'temp' } });
    const id = made.headers.get('x-object-id');
    expect((await call(api, 'GET', `/api/v2/apikeys/${id}`, { token: admin })).status).toBe(200);
    expect((await call(api, 'DELETE', '/api/v2/users/temp', { token: admin })).status).toBe(200);
    expect((await call(api, 'GET', `/api/v2/apikeys/${id}`, { token: admin })).status).toBe(404);
  });

  test('an admin-scope key is refused on user routes', async () => {
    const admin = await token(api, 'root', ADMIN_PASSWORD);
    const made = await call(api, 'POST', '/api/v2/apikeys', { token: admin, body: { name: 'root-key', scope: 1, admin: 'root' } });
    const r = await fetch(api.url('/api/v2/user/dirs'), { headers: { 'x-sftpgo-api-key': made.json.key } });
    expect(r.status).toBe(403);
  });
});

describe('OpenAPI', () => {
  test('the served document lists the user routes with their methods and Bearer security', async () => {
    const doc = (await call(api, 'GET', '/api/v2/openapi.json')).json;
    expect(Object.keys(doc.paths['/api/v2/user/files']).sort()).toEqual(['delete', 'get', 'patch', 'post']);
    expect(Object.keys(doc.paths['/api/v2/user/dirs']).sort()).toEqual(['delete', 'get', 'patch', 'post']);
    for (const p of ['/api/v2/user/files/upload', '/api/v2/user/streamzip', '/api/v2/user/file-actions/copy', '/api/v2/user/file-actions/move', '/api/v2/user/totp/save'])
      expect(doc.paths[p]?.post).toBeDefined();
    expect(doc.paths['/api/v2/user/dirs'].get.security).toEqual([{ BearerAuth: [] }]);
    expect(doc.paths['/api/v2/user/token'].get.security).toEqual([{ BasicAuth: [] }]);
    expect(doc.components.schemas.DirEntry.properties.mode.type).toBe('integer');
  });
});
