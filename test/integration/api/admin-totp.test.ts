// Two-factor authentication for admins and recovery codes for admins and users, against a real
// `serve`: a YAML admin with a TOTP secret must send X-SFTPGO-OTP to GET /api/v2/token (a missing
// or wrong code is refused and scored by the defender), its secret never shows in the API or a
// dump; an admin enrols itself through /api/v2/admin/totp/*, gets twelve recovery codes once,
// each good once in place of a code, replaced by a new set; an admin PUT keeps the TOTP; turning
// it off drops the codes. A user's recovery code opens /api/v2/user/token once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { base32Decode, hotp, totpStep } from '../../../src/auth/totp.ts';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const ROOT_PASSWORD = 'root-Totp-Secret-1';
const OTP_PASSWORD = 'otp-Totp-Secret-1';
const ALICE_PASSWORD = 'alice-Totp-Secret-1';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

let server: RunningServer;
let port: number;

const url = (p: string) => `http://127.0.0.1:${port}${p}`;
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

/** The code of `secret` at `offset` steps from now (each step is good once: tests walk -1, 0, +1). */
function code(secret: string, offset = 0): string {
  return hotp(base32Decode(secret)!, totpStep(Date.now() / 1000) + offset);
}

async function adminToken(user: string, password: string, otp?: string): Promise<Response> {
  return fetch(url('/api/v2/token'), { headers: { authorization: basic(user, password), ...(otp ? { 'x-sftpgo-otp': otp } : {}) } });
}

async function bearer(user: string, password: string, otp?: string): Promise<string> {
  const r = await adminToken(user, password, otp);
  if (r.status !== 200) throw new Error(`token for ${user}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

async function api(t: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const r = await fetch(url(path), { method, headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined, text };
}

async function score(): Promise<number> {
  const hosts = (await api(await bearer('auditor', ROOT_PASSWORD), 'GET', '/api/v2/defender/hosts')).json as { ip: string; score?: number }[];
  return hosts.find((h) => h.ip === '127.0.0.1')?.score ?? 0;
}

beforeAll(async () => {
  const dir = tempDir('admin-totp-');
  mkdirSync(join(dir, 'homes/alice'), { recursive: true });
  port = await freePort();
  server = await startServer({
    cwd: dir,
    yaml: `common:
  defender: { enabled: true, threshold: 1000, score_invalid: 2, score_valid: 1, observation_time: 30 }
httpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - { username: alice, password: "${ALICE_PASSWORD}", home_dir: ${join(dir, 'homes/alice')}, permissions: { "/": ["*"] } }
admins:
  - { username: root, password: "${ROOT_PASSWORD}", permissions: ["*"] }
  - { username: auditor, password: "${ROOT_PASSWORD}", permissions: ["*"] }
  - username: otpadmin
    password: "${OTP_PASSWORD}"
    permissions: ["*"]
    filters:
      totp_config: { enabled: true, config_name: Default, secret: "${SECRET}" }
`,
  });
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('a YAML admin with TOTP', () => {
  test('GET /api/v2/token needs X-SFTPGO-OTP: missing and wrong codes are refused and scored, the right one works once', async () => {
    const before = await score();
    const missing = await adminToken('otpadmin', OTP_PASSWORD);
    expect(missing.status).toBe(401);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'otpadmin' && l.reason === 'totp_missing');
    const wrong = await adminToken('otpadmin', OTP_PASSWORD, code(SECRET, 5));
    expect(wrong.status).toBe(401);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'otpadmin' && l.reason === 'totp_invalid');
    // score_valid each: the admin exists (score_invalid is for unknown names).
    expect(await score()).toBeGreaterThanOrEqual(before + 2);
    // A wrong password is still refused before the code is looked at.
    expect((await adminToken('otpadmin', 'nope', code(SECRET))).status).toBe(401);
    const first = code(SECRET, -1);
    expect((await adminToken('otpadmin', OTP_PASSWORD, first)).status).toBe(200);
    const replay = await adminToken('otpadmin', OTP_PASSWORD, first);
    expect(replay.status).toBe(401);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'otpadmin' && l.reason === 'totp_replayed');
  });

  test('the secret never shows: the API redacts it and a dump holds it sealed', async () => {
    const t = await bearer('root', ROOT_PASSWORD);
    const a = await api(t, 'GET', '/api/v2/admins/otpadmin');
    expect(a.json.filters.totp_config).toEqual({ enabled: true, config_name: 'Default', secret: { status: 'Redacted' } });
    const dump = await api(t, 'GET', '/api/v2/dumpdata');
    expect(dump.text).not.toContain(SECRET);
    // An admin PUT of what it read keeps the TOTP (SFTPGo ignores a body's two-factor settings).
    expect((await api(t, 'PUT', '/api/v2/admins/otpadmin', { ...a.json, description: 'edited' })).status).toBe(200);
    expect((await adminToken('otpadmin', OTP_PASSWORD)).status).toBe(401);
    expect((await adminToken('otpadmin', OTP_PASSWORD, code(SECRET, 0))).status).toBe(200);
  });
});

describe('an admin enrolling itself', () => {
  let secret = '';
  let codes: string[] = [];

  test('generate, validate and save: twelve recovery codes come back once', async () => {
    const t = await bearer('root', ROOT_PASSWORD);
    expect((await api(t, 'GET', '/api/v2/admin/totp/configs')).json).toEqual([{ name: 'Default', issuer: 'SFTPGo', algo: 'sha1' }]);
    const g = await api(t, 'POST', '/api/v2/admin/totp/generate', { config_name: 'Default' });
    expect(g.status).toBe(200);
    secret = g.json.secret;
    expect(g.json.url).toBe(`otpauth://totp/SFTPGo%3AAdmin%20%22root%22?algorithm=SHA1&digits=6&issuer=SFTPGo&period=30&secret=${secret}`);
    expect((await api(t, 'POST', '/api/v2/admin/totp/validate', { config_name: 'Default', secret, passcode: code(secret, 3) })).status).toBe(400);
    expect((await api(t, 'POST', '/api/v2/admin/totp/validate', { config_name: 'Default', secret, passcode: code(secret) })).status).toBe(200);
    // No recovery codes while TOTP is off.
    expect((await api(t, 'GET', '/api/v2/admin/2fa/recoverycodes')).status).toBe(403);
    const saved = await api(t, 'POST', '/api/v2/admin/totp/save', { enabled: true, config_name: 'Default', secret: { status: 'Plain', payload: secret } });
    expect(saved.status).toBe(200);
    codes = saved.json.recovery_codes;
    expect(codes).toHaveLength(12);
    for (const c of codes) expect(c).toMatch(/^RC-[A-Z2-9]{22}$/);
    expect(new Set(codes).size).toBe(12);
    // An API key cannot reach these routes.
    expect((await fetch(url('/api/v2/admin/totp/configs'), { headers: { 'x-sftpgo-api-key': 'x.y' } })).status).toBe(401);
  });

  test('a recovery code works once in place of the TOTP code; a wrong one is refused and scored', async () => {
    expect((await adminToken('root', ROOT_PASSWORD)).status).toBe(401);
    expect((await adminToken('root', ROOT_PASSWORD, codes[0]!.toLowerCase())).status).toBe(200);
    const before = await score();
    expect((await adminToken('root', ROOT_PASSWORD, codes[0])).status).toBe(401);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'root' && l.reason === 'recovery_code_invalid');
    expect((await adminToken('root', ROOT_PASSWORD, 'RC-ABCDEFGHJKLMNPQRSTUVWX')).status).toBe(401);
    // score_valid each: the admin exists (score_invalid is for unknown names).
    expect(await score()).toBeGreaterThanOrEqual(before + 2);
    const t = await bearer('root', ROOT_PASSWORD, code(secret, -1));
    const list = await api(t, 'GET', '/api/v2/admin/2fa/recoverycodes');
    expect(list.status).toBe(200);
    expect(list.json).toHaveLength(12);
    expect(list.json.filter((c: { used: boolean }) => c.used)).toHaveLength(1);
    // Kept hashed: a list shows hints, never a whole code.
    expect(list.text).not.toContain(codes[1]);
    expect(list.json[1].code).toBe(`${codes[1]!.slice(0, 7)}…`);
  });

  test('regenerating replaces the codes: the old ones stop working', async () => {
    const t = await bearer('root', ROOT_PASSWORD, codes[1]);
    const renewed = await api(t, 'POST', '/api/v2/admin/2fa/recoverycodes');
    expect(renewed.status).toBe(200);
    expect(renewed.json).toHaveLength(12);
    expect((await adminToken('root', ROOT_PASSWORD, codes[2])).status).toBe(401);
    expect((await adminToken('root', ROOT_PASSWORD, renewed.json[0])).status).toBe(200);
    codes = renewed.json;
  });

  test('turning TOTP off (another super admin, then the admin itself) drops the codes', async () => {
    const auditor = await bearer('auditor', ROOT_PASSWORD);
    expect((await api(auditor, 'PUT', '/api/v2/admins/otpadmin/2fa/disable')).status).toBe(200);
    expect((await adminToken('otpadmin', OTP_PASSWORD)).status).toBe(200);
    expect((await api(auditor, 'PUT', '/api/v2/admins/otpadmin/2fa/disable')).status).toBe(400);
    const t = await bearer('root', ROOT_PASSWORD, codes[1]);
    expect((await api(t, 'POST', '/api/v2/admin/totp/save', { enabled: false })).status).toBe(200);
    expect((await adminToken('root', ROOT_PASSWORD)).status).toBe(200);
    expect((await api(await bearer('root', ROOT_PASSWORD), 'GET', '/api/v2/admin/2fa/recoverycodes')).status).toBe(403);
    expect((await adminToken('root', ROOT_PASSWORD, codes[2])).status).toBe(200);
  });

  test('an admin changes its own password, the current one checked', async () => {
    const t = await bearer('auditor', ROOT_PASSWORD);
    expect((await api(t, 'PUT', '/api/v2/admin/changepwd', { current_password: 'wrong', new_password: 'auditor-New-1' })).status).toBe(400);
    expect((await api(t, 'PUT', '/api/v2/admin/changepwd', { current_password: ROOT_PASSWORD, new_password: 'auditor-New-1' })).status).toBe(200);
    expect((await adminToken('auditor', 'auditor-New-1')).status).toBe(200);
    expect((await adminToken('auditor', ROOT_PASSWORD)).status).toBe(401);
  });
});

describe("a user's recovery codes", () => {
  test('saving TOTP for HTTP answers the codes once; one opens /api/v2/user/token once', async () => {
    const userToken = async (otp?: string) => fetch(url('/api/v2/user/token'), { headers: { authorization: basic('alice', ALICE_PASSWORD), ...(otp ? { 'x-sftpgo-otp': otp } : {}) } });
    const t = ((await (await userToken()).json()) as { access_token: string }).access_token;
    expect((await api(t, 'GET', '/api/v2/user/2fa/recoverycodes')).status).toBe(403);
    const g = await api(t, 'POST', '/api/v2/user/totp/generate', {});
    const saved = await api(t, 'POST', '/api/v2/user/totp/save', { enabled: true, secret: { status: 'Plain', payload: g.json.secret }, protocols: ['HTTP'] });
    expect(saved.status).toBe(200);
    const codes = saved.json.recovery_codes as string[];
    expect(codes).toHaveLength(12);
    expect((await userToken()).status).toBe(401);
    const viaCode = await userToken(codes[3]);
    expect(viaCode.status).toBe(200);
    expect((await userToken(codes[3])).status).toBe(401);
    const t2 = ((await viaCode.json()) as { access_token: string }).access_token;
    const list = await api(t2, 'GET', '/api/v2/user/2fa/recoverycodes');
    expect(list.json.filter((c: { used: boolean }) => c.used)).toHaveLength(1);
    const renewed = await api(t2, 'POST', '/api/v2/user/2fa/recoverycodes');
    expect(renewed.json).toHaveLength(12);
    expect((await userToken(codes[4])).status).toBe(401);
    expect((await userToken(renewed.json[0])).status).toBe(200);
  });
});
