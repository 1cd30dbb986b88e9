// The user API's authentication: Basic (and TOTP) → a user JWT through the login gate with protocol
// HTTP, Bearer on the user routes, logout, and the separation of user and admin tokens.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { base32Decode, hotp, totpStep } from '../../../src/auth/totp.ts';
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
  - username: solo
    password: "${PASSWORD}"
    max_sessions: 1
    permissions: { "/": ["*"] }
`);
});
afterAll(() => stopApi(api));

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
