// Users' last_login through real clients: a login over OpenSSH sftp (public key), FTP (curl) and
// WebDAV (curl) sets it on GET /api/v2/users/{name} and in the list; it is kept out of the record,
// so a no-change plan and a reload after the logins change nothing; an SFTPGo import keeps the
// backup's last_login for a new user and admin, and an update keeps the one recorded here;
// dumpdata / loaddata round-trip it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { freeProtocolPorts, protocolsYaml, type ProtocolPorts } from '../../support/protocols.ts';
import { run } from '../../support/run.ts';
import { ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'login-Secret-1';
const ADMIN_PASSWORD = 'admin-Secret-1';
const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];

let dir: string;
let server: RunningServer;
let ports: ProtocolPorts;
let apiPort: number;
let keyPath: string;
let token: string;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function lastLogin(name: string): Promise<number> {
  const r = await api('GET', `/api/v2/users/${name}`);
  expect(r.status).toBe(200);
  return r.json.last_login;
}

/** The write runs after the login, in the background: waits for it (or fails after 10 s). */
async function lastLoginSet(name: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await lastLogin(name);
    if (v > 0 || Date.now() > deadline) return v;
    await Bun.sleep(50);
  }
}

beforeAll(async () => {
  dir = tempDir('last-login-');
  ports = await freeProtocolPorts({ passive: true });
  apiPort = await freePort();
  keyPath = join(dir, 'key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
  const pub = readFileSync(`${keyPath}.pub`, 'utf8').trim();
  const users = usersYaml(dir, [{ username: 'sshuser', extra: `    public_keys: ["${pub}"]\n` }, { username: 'ftpuser' }, { username: 'davuser' }, { username: 'idle' }], PASSWORD);
  server = await startServer({
    cwd: dir,
    yaml: `${protocolsYaml(ports)}
httpd:
  bindings: [{ address: 127.0.0.1, port: ${apiPort} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
${users.yaml}
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
`,
  });
  const r = await fetch(`http://127.0.0.1:${apiPort}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`root:${ADMIN_PASSWORD}`).toString('base64')}` } });
  token = ((await r.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('last_login', () => {
  test('0 for a user who never logged in, on GET and in the list', async () => {
    expect(await lastLogin('idle')).toBe(0);
    const list = await api('GET', '/api/v2/users');
    expect(list.json.find((u: any) => u.username === 'idle').last_login).toBe(0);
  });

  test('a login over OpenSSH sftp with a key sets it', async () => {
    const before = Date.now();
    const r = await run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-i', keyPath, '-P', String(ports.sftp), '-b', '-', 'sshuser@127.0.0.1'], { input: 'ls\n', timeout: 30_000 });
    expect(r.status).toBe(0);
    const at = await lastLoginSet('sshuser');
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
    const list = await api('GET', '/api/v2/users');
    expect(list.json.find((u: any) => u.username === 'sshuser').last_login).toBe(at);
    // Nobody else's login was touched.
    expect(await lastLogin('idle')).toBe(0);
  });

  test('a login over FTP (curl) sets it', async () => {
    const before = Date.now();
    const r = await run('curl', ['-sS', '--list-only', '-u', `ftpuser:${PASSWORD}`, `ftp://127.0.0.1:${ports.ftp}/`], { timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(await lastLoginSet('ftpuser')).toBeGreaterThanOrEqual(before);
  });

  test('a login over WebDAV (curl) sets it; a refused one does not', async () => {
    const propfind = (pw: string) =>
      run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', `davuser:${pw}`, '-X', 'PROPFIND', '-H', 'Depth: 0', `http://127.0.0.1:${ports.dav}/`]);
    expect((await propfind('wrong-password')).stdout).toBe('401');
    await Bun.sleep(200);
    expect(await lastLogin('davuser')).toBe(0);
    const before = Date.now();
    expect((await propfind(PASSWORD)).stdout).toBe('207');
    const at = await lastLoginSet('davuser');
    expect(at).toBeGreaterThanOrEqual(before);
    // Within the ten minutes another login leaves it as it was.
    expect((await propfind(PASSWORD)).stdout).toBe('207');
    await Bun.sleep(200);
    expect(await lastLogin('davuser')).toBe(at);
  });

  test('after the logins, plan finds no change and a reload writes nothing', async () => {
    const updatedAt = (await api('GET', '/api/v2/users/sshuser')).json.updated_at;
    const plan = runCli(['plan', '--json', '--config', server.configPath, '--data-dir', server.dataDir]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).changes).toEqual([]);
    const seen = server.logs.length;
    server.proc.kill('SIGHUP');
    const applied = await server.waitForLog((l) => l.event === 'reload_applied' && server.logs.indexOf(l) >= seen);
    expect(applied).toMatchObject({ create: 0, update: 0, delete: 0 });
    expect(server.logs.slice(seen).filter((l) => l.event === 'reconcile_change')).toEqual([]);
    expect((await api('GET', '/api/v2/users/sshuser')).json.updated_at).toBe(updatedAt);
  });

  test('an SFTPGo import keeps the backup\'s last_login for a new user and admin; an update keeps the one recorded here', async () => {
    const base = join(dir, 'sftpgo');
    const dump = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/sftpgo-dump.json'), 'utf8').replaceAll('/srv/sftpgo', base));
    dump.admins[0].last_login = 1718000001000;
    const r = await api('POST', '/api/v2/loaddata?from=sftpgo', dump);
    expect(r.status).toBe(200);
    expect(await lastLogin('carol')).toBe(1718000000000);
    // A user the backup shows as never logged in stays at 0.
    expect(await lastLogin('dave')).toBe(0);
    expect((await api('GET', '/api/v2/admins/superadmin')).json.last_login).toBe(1718000001000);

    dump.users[0].last_login = 1719000000000;
    dump.admins[0].last_login = 1719000001000;
    expect((await api('POST', '/api/v2/loaddata?from=sftpgo&mode=0', dump)).status).toBe(200);
    expect(await lastLogin('carol')).toBe(1718000000000);
    expect((await api('GET', '/api/v2/admins/superadmin')).json.last_login).toBe(1718000001000);
  });

  test('dumpdata carries last logins and loaddata restores them with their records', async () => {
    const dump = (await api('GET', '/api/v2/dumpdata')).json;
    const sshAt = await lastLogin('sshuser');
    expect(dump.last_logins).toMatchObject({ 'user:sshuser': sshAt, 'user:ftpuser': await lastLogin('ftpuser'), 'admin:superadmin': 1718000001000 });
    expect(dump.last_logins['admin:root']).toBeGreaterThan(0);
    expect(dump.last_logins).not.toHaveProperty('user:idle');

    // A dump without last logins (an older one) leaves the recorded ones as they are.
    const { last_logins: _, ...older } = dump;
    expect((await api('POST', '/api/v2/loaddata', older)).status).toBe(200);
    expect(await lastLogin('sshuser')).toBe(sshAt);

    // With them, each loaded record gets the dump's (none: never logged in).
    const edited = { ...dump, last_logins: { ...dump.last_logins, 'user:sshuser': 1720000000000, 'user:idle': 1720000005000 } };
    delete edited.last_logins['user:ftpuser'];
    expect((await api('POST', '/api/v2/loaddata', edited)).status).toBe(200);
    expect(await lastLogin('sshuser')).toBe(1720000000000);
    expect(await lastLogin('idle')).toBe(1720000005000);
    expect(await lastLogin('ftpuser')).toBe(0);

    const bad = await api('POST', '/api/v2/loaddata', { ...dump, last_logins: { 'user:sshuser': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('last_logins');
    expect(await lastLogin('sshuser')).toBe(1720000000000);
  });

  test('a deleted and re-created user starts over at 0', async () => {
    expect((await api('DELETE', '/api/v2/users/carol')).status).toBe(200);
    const created = await api('POST', '/api/v2/users', { username: 'carol', password: PASSWORD, home_dir: join(dir, 'homes/carol2'), permissions: { '/': ['*'] } });
    expect(created.status).toBe(201);
    expect(await lastLogin('carol')).toBe(0);
  });
});
