// httpd and data_provider settings proven over the REST API with curl: enable_https with the section
// certificate or a binding's own, min_tls_version, enable_rest_api off (the binding then serves the
// web admin alone, or nothing when that is off too), token_validity, the web switches off
// (enable_web_admin, enable_web_client), users_base_dir for users without a
// home_dir, driver, and the record fields kept and returned as given (email, additional_info).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { tempDir } from '../../support/tmp.ts';

const ADMIN_PASSWORD = 'admin-Settings-1';
let server: RunningServer;
let dir: string;
let ports: { http: number; global: number; own: number; off: number; webOnly: number };
let certs: { global: string; own: string };

beforeAll(async () => {
  dir = tempDir('api-settings-');
  const global = makeSelfSignedCert(dir);
  const own = makeSelfSignedCert(dir, 'binding');
  certs = { global: global.cert, own: own.cert };
  ports = { http: await freePort(), global: await freePort(), own: await freePort(), off: await freePort(), webOnly: await freePort() };
  const yaml = `httpd:
  token_validity: 120
  certificate_file: ${global.cert}
  certificate_key_file: ${global.key}
  bindings:
    - { address: 127.0.0.1, port: ${ports.http}, enable_web_admin: false, enable_web_client: false }
    - { address: 127.0.0.1, port: ${ports.global}, enable_https: true }
    - { address: 127.0.0.1, port: ${ports.own}, enable_https: true, min_tls_version: 13, certificate_file: ${own.cert}, certificate_key_file: ${own.key} }
    - { address: 127.0.0.1, port: ${ports.off}, enable_rest_api: false, enable_web_admin: false, enable_web_client: false }
    - { address: 127.0.0.1, port: ${ports.webOnly}, enable_rest_api: false }
data_provider:
  driver: lmdb
  users_base_dir: ${join(dir, 'base')}
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: alice
    password: alice-Settings-1
    email: alice@example.com
    additional_info: badge 42
    permissions: { "/": ["*"] }
    filters:
      totp_config: { enabled: false, config_name: Default }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    email: root@example.com
    additional_info: on call
    permissions: ["*"]
`;
  server = await startServer({ yaml, cwd: dir });
});

afterAll(async () => {
  await server?.stop();
});

function curl(url: string, extra: string[] = []) {
  return run('curl', ['-sS', '--max-time', '20', ...extra, url]);
}

async function token(base: string, extra: string[] = []): Promise<{ access_token: string; expires_at: string }> {
  const r = await curl(`${base}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`, ...extra]);
  return JSON.parse(r.stdout);
}

describe('httpd and data_provider settings', () => {
  test('token_validity sets how long a token from /api/v2/token lasts', async () => {
    const before = Date.now();
    const t = await token(`http://127.0.0.1:${ports.http}`);
    const left = (Date.parse(t.expires_at) - before) / 1000;
    expect(left).toBeGreaterThan(110);
    expect(left).toBeLessThan(130);
  });

  test('enable_https: the section pair, or the binding certificate_file/certificate_key_file pair', async () => {
    const at = (port: number, ca: string) => curl(`https://localhost:${port}/api/v2/token`, ['--resolve', `localhost:${port}:127.0.0.1`, '--cacert', ca, '-u', `root:${ADMIN_PASSWORD}`]);
    expect((await at(ports.global, certs.global)).stdout).toContain('access_token');
    expect((await at(ports.global, certs.own)).status).not.toBe(0);
    expect((await at(ports.own, certs.own)).stdout).toContain('access_token');
    expect((await at(ports.own, certs.global)).status).not.toBe(0);
  });

  test('the web admin on a TLS binding sets its cookies Secure; on plain HTTP it cannot', async () => {
    const tls = await curl(`https://127.0.0.1:${ports.global}/web/admin/login`, ['-k', '-si']);
    expect(tls.stdout).toMatch(/set-cookie: sftpgo_admin_login_csrf=[^\r\n]*; HttpOnly; Secure; SameSite=Strict/i);
    const plain = await curl(`http://127.0.0.1:${ports.webOnly}/web/admin/login`, ['-si']);
    expect(plain.stdout).toMatch(/set-cookie: sftpgo_admin_login_csrf=[^\r\n]*; HttpOnly; SameSite=Strict/i);
    expect(plain.stdout).not.toMatch(/; Secure/i);
  });

  test('min_tls_version 13 refuses a TLS 1.2 client', async () => {
    expect((await curl(`https://127.0.0.1:${ports.own}/api/v2/token`, ['-k', '--tls-max', '1.2'])).status).not.toBe(0);
    expect((await curl(`https://127.0.0.1:${ports.global}/api/v2/token`, ['-k', '--tls-max', '1.2', '-u', `root:${ADMIN_PASSWORD}`])).stdout).toContain('access_token');
  });

  test('enable_rest_api, enable_web_admin and enable_web_client false leave the binding closed; each alone serves the others', async () => {
    const r = await curl(`http://127.0.0.1:${ports.off}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`]);
    expect(r.status).toBe(7); // curl: failed to connect
    const code = async (url: string, extra: string[] = []) => (await curl(url, ['-o', '/dev/null', '-w', '%{http_code}', ...extra])).stdout;
    expect(await code(`http://127.0.0.1:${ports.http}/web/admin`)).toBe('404');
    expect(await code(`http://127.0.0.1:${ports.http}/web/admin/login`)).toBe('404');
    expect(await code(`http://127.0.0.1:${ports.http}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`])).toBe('200');
    expect(await code(`http://127.0.0.1:${ports.webOnly}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`])).toBe('404');
    expect(await code(`http://127.0.0.1:${ports.webOnly}/web/admin/login`)).toBe('200');
    expect(await code(`http://127.0.0.1:${ports.webOnly}/web/client/login`)).toBe('200');
    expect(await code(`http://127.0.0.1:${ports.http}/web/client/login`)).toBe('404');
    // the public share pages are the web client's: served where it is on, 404 where it is off
    expect((await curl(`http://127.0.0.1:${ports.webOnly}/web/client/pubshares/nope/download`, [])).stdout).toContain('share does not exist');
    expect(await code(`http://127.0.0.1:${ports.http}/web/client/pubshares/nope/download`)).toBe('404');
  });

  test('users_base_dir homes a user without home_dir; driver lmdb is the store; email and additional_info come back', async () => {
    const base = `http://127.0.0.1:${ports.http}`;
    const auth = ['-H', `Authorization: Bearer ${(await token(base)).access_token}`];
    const user = JSON.parse((await curl(`${base}/api/v2/users/alice`, auth)).stdout);
    expect(user.home_dir).toBe(join(dir, 'base', 'alice'));
    expect(user).toMatchObject({ email: 'alice@example.com', additional_info: 'badge 42' });
    const admin = JSON.parse((await curl(`${base}/api/v2/admins/root`, auth)).stdout);
    expect(admin).toMatchObject({ email: 'root@example.com', additional_info: 'on call' });
    const status = JSON.parse((await curl(`${base}/api/v2/status`, auth)).stdout);
    expect(status.data_provider.driver).toBe('lmdb');
  });
});
