// filters.password_expiration and filters.require_password_change, as SFTPGo applies them to
// protocol logins: a password that is too old, or that an admin asked to be changed, no longer
// logs in over SFTP (password and keyboard-interactive), FTP or WebDAV; a public key still does.
// The client that sent the right password is told why (FTP's 530 text, WebDAV's 401 body); a
// wrong password learns nothing more. The password's age comes from the store's
// last_password_change, set here in the past by importing an SFTPGo backup through the API.
// Changing the password through the API restarts the clock and clears the change request.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../../src/auth/passwords.ts';
import { startReceiver, type Receiver } from '../hooks/harness.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { freeProtocolPorts, protocolsYaml, type ProtocolPorts } from '../../support/protocols.ts';
import { run, type RunResult } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'pwage-Secret-1';
const ADMIN_PASSWORD = 'admin-Secret-1';
const DAY_MS = 86_400_000;
const SSH_BASE = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-F', '/dev/null'];

let server: RunningServer;
let dir: string;
let ports: ProtocolPorts;
let apiPort: number;
let key: string;
let adminToken: string;
/** Receives the post-login hook: SFTPGo reports these refusals as failed logins there too. */
let receiver: Receiver;
const longAgo = Date.now() - 40 * DAY_MS;
const recently = Date.now() - 10 * DAY_MS;

beforeAll(async () => {
  dir = tempDir('pwage-');
  ports = await freeProtocolPorts();
  apiPort = await freePort();
  key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  receiver = await startReceiver(() => ({ status: 200 }));
  const yaml = [
    protocolsYaml(ports),
    '  ',
    'httpd:',
    `  bindings: [{ address: 127.0.0.1, port: ${apiPort} }]`,
    'common:',
    // On, with a threshold no test reaches: the refusals must be scored, not banned.
    '  defender: { enabled: true, threshold: 1000, ban_time: 10, observation_time: 30 }',
    'data_provider:',
    '  password_hashing: { bcrypt_options: { cost: 4 } }',
    `  post_login_hook: ${receiver.url}/login`,
    'admins:',
    `  - { username: root, password: "${ADMIN_PASSWORD}", permissions: ["*"] }`,
    'users:',
    `  - username: declared`,
    `    password: "${PASSWORD}"`,
    `    home_dir: ${join(dir, 'homes/declared')}`,
    '    permissions: { "/": ["*"] }',
    '    filters: { require_password_change: true }',
    '',
  ].join('\n').replace('sftpd:\n', 'sftpd:\n  keyboard_interactive_authentication: true\n');
  server = await startServer({ yaml, cwd: dir });
  adminToken = await token();
  const hash = await hashPassword(PASSWORD, { bcryptCost: 4 });
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  const user = (username: string, extra: Record<string, unknown>) => ({
    username, password: hash, status: 1, home_dir: join(dir, 'homes', username), permissions: { '/': ['*'] }, public_keys: [pub], ...extra,
  });
  const backup = {
    version: 16,
    users: [
      user('stale', { last_password_change: longAgo, filters: { password_expiration: 30 } }),
      user('recent', { last_password_change: recently, filters: { password_expiration: 30 } }),
      user('asked', { last_password_change: recently, filters: { require_password_change: true } }),
      user('renewed', { last_password_change: longAgo, filters: { password_expiration: 30 } }),
    ],
  };
  const r = await api('POST', '/api/v2/loaddata?from=sftpgo', backup);
  if (r.status !== 200) throw new Error(`import: ${r.status} ${r.text}`);
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
  removeTempDirs();
});

async function token(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`root:${ADMIN_PASSWORD}`).toString('base64')}` } });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** `sftp -b` listing the home, by password (sshpass), keyboard-interactive or the key. */
function sftpLs(user: string, how: 'password' | 'keyboard-interactive' | 'publickey', password = PASSWORD): Promise<RunResult> {
  const batch = join(dir, `${user}-${how}.batch`);
  writeFileSync(batch, 'ls\n');
  const target = ['-P', String(ports.sftp), '-b', batch, `${user}@127.0.0.1`];
  if (how === 'publickey')
    return run('sftp', [...SSH_BASE, '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'IdentitiesOnly=yes', '-i', key, ...target]);
  // LogLevel INFO: OpenSSH prints a keyboard-interactive instruction at that level.
  return run('sshpass', ['-p', password, 'sftp', ...SSH_BASE, '-o', 'LogLevel=INFO', '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no',
    '-o', 'NumberOfPasswordPrompts=1', '-o', `PreferredAuthentications=${how}`, ...target]);
}

async function ftpLogin(user: string, password = PASSWORD): Promise<{ code: number; text: string }> {
  const c = await FtpControl.connect(ports.ftp);
  try {
    return await c.login(user, password);
  } finally {
    c.close();
  }
}

async function davGet(user: string, password = PASSWORD): Promise<{ status: string; body: string }> {
  const out = join(dir, `${user}-dav.body`);
  const r = await run('curl', ['-sS', '--max-time', '20', '-o', out, '-w', '%{http_code}', '-X', 'PROPFIND', '-H', 'Depth: 0', '-u', `${user}:${password}`,
    `http://127.0.0.1:${ports.dav}/`]);
  return { status: r.stdout.trim(), body: readFileSync(out, 'utf8') };
}

function refusedFor(user: string, protocol: string, reason: string): boolean {
  return server.logs.some((l) => l.event === 'login_failed' && l.username === user && l.protocol === protocol && l.reason === reason);
}

describe('filters.password_expiration', () => {
  test('the import keeps last_password_change and GET shows it', async () => {
    const r = await api('GET', '/api/v2/users/stale');
    expect(r.status).toBe(200);
    expect(r.json.last_password_change).toBe(longAgo);
    expect(r.json.filters.password_expiration).toBe(30);
  });

  test('an expired password is refused over SFTP (password and keyboard-interactive), FTP and WebDAV, and scored', async () => {
    expect((await sftpLs('stale', 'password')).status).not.toBe(0);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'stale' && l.reason === 'password_expired' && l.method === 'password');
    const ki = await sftpLs('stale', 'keyboard-interactive');
    expect(ki.status).not.toBe(0);
    // The one SSH method that can carry text tells the user why.
    expect(ki.stderr).toContain('Login not allowed, password expired');
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'stale' && l.reason === 'password_expired' && l.method === 'keyboard-interactive');
    const ftp = await ftpLogin('stale');
    expect(ftp.code).toBe(530);
    expect(ftp.text).toContain('password expired');
    const dav = await davGet('stale');
    expect(dav.status).toBe('401');
    expect(dav.body).toContain('password expired');
    expect(refusedFor('stale', 'FTP', 'password_expired')).toBe(true);
    expect(refusedFor('stale', 'DAV', 'password_expired')).toBe(true);
    const hook = await receiver.waitFor((r) => r.path === '/login' && r.query.protocol === 'FTP' && (r.body as { username?: string }).username === 'stale');
    expect(hook.query.status).toBe('0');
    const hosts = await api('GET', '/api/v2/defender/hosts');
    expect(hosts.json.find((h: { ip: string }) => h.ip === '127.0.0.1')?.score).toBeGreaterThan(0);
  });

  test('a wrong password is only "invalid credentials": the expiry is not revealed', async () => {
    const ftp = await ftpLogin('stale', 'not-the-password');
    expect(ftp.code).toBe(530);
    expect(ftp.text).not.toContain('expired');
    expect((await davGet('stale', 'not-the-password')).body).not.toContain('expired');
    const ki = await sftpLs('stale', 'keyboard-interactive', 'not-the-password');
    expect(ki.status).not.toBe(0);
    expect(ki.stderr).not.toContain('expired');
    expect(refusedFor('stale', 'FTP', 'invalid_credentials')).toBe(true);
  });

  test('the public key still logs in; a password younger than the limit works everywhere', async () => {
    const key = await sftpLs('stale', 'publickey');
    expect(key.stderr).toBe('');
    expect(key.status).toBe(0);
    expect((await sftpLs('recent', 'password')).status).toBe(0);
    expect((await sftpLs('recent', 'keyboard-interactive')).status).toBe(0);
    expect((await ftpLogin('recent')).code).toBe(230);
    expect((await davGet('recent')).status).toBe('207');
  });

  test('a new password through the API restarts the clock', async () => {
    expect((await ftpLogin('renewed')).code).toBe(530);
    const before = Date.now();
    const r = await api('PUT', '/api/v2/users/renewed', { password: 'renewed-Secret-2' });
    expect(r.status).toBe(200);
    const got = await api('GET', '/api/v2/users/renewed');
    expect(got.json.last_password_change).toBeGreaterThanOrEqual(before);
    expect((await sftpLs('renewed', 'password', 'renewed-Secret-2')).status).toBe(0);
    expect((await ftpLogin('renewed', 'renewed-Secret-2')).code).toBe(230);
  });
});

describe('filters.require_password_change', () => {
  test('password logins are refused with the reason, the public key works', async () => {
    expect((await sftpLs('asked', 'password')).status).not.toBe(0);
    const ftp = await ftpLogin('asked');
    expect(ftp.code).toBe(530);
    expect(ftp.text).toContain('password change required');
    expect((await davGet('asked')).status).toBe('401');
    for (const p of ['SSH', 'FTP', 'DAV']) expect(refusedFor('asked', p, 'password_change_required')).toBe(true);
    expect((await sftpLs('asked', 'publickey')).status).toBe(0);
  });

  test('a new password set with the flag again keeps it; a new password alone clears it', async () => {
    let r = await api('PUT', '/api/v2/users/asked', { password: 'temporary-Secret-3', filters: { require_password_change: true } });
    expect(r.status).toBe(200);
    expect((await api('GET', '/api/v2/users/asked')).json.filters.require_password_change).toBe(true);
    expect((await ftpLogin('asked', 'temporary-Secret-3')).code).toBe(530);

    r = await api('PUT', '/api/v2/users/asked', { password: 'chosen-Secret-4' });
    expect(r.status).toBe(200);
    expect((await api('GET', '/api/v2/users/asked')).json.filters?.require_password_change).toBeUndefined();
    expect((await ftpLogin('asked', 'chosen-Secret-4')).code).toBe(230);
    expect((await sftpLs('asked', 'password', 'chosen-Secret-4')).status).toBe(0);
  });

  test('a user the YAML declares with the flag: refused until an admin clears it (an override)', async () => {
    expect((await ftpLogin('declared')).code).toBe(530);
    expect(refusedFor('declared', 'FTP', 'password_change_required')).toBe(true);
    const r = await api('PUT', '/api/v2/users/declared', { filters: { require_password_change: false } });
    expect(r.status).toBe(200);
    const got = await api('GET', '/api/v2/users/declared');
    expect(got.json.overrides.fields.filters).toEqual({ require_password_change: false });
    expect((await ftpLogin('declared')).code).toBe(230);
    expect((await davGet('declared')).status).toBe('207');
  });
});
