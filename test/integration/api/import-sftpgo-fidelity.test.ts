// An SFTPGo backup with encrypted secrets and the state its users have (test/fixtures/
// sftpgo-dump-fidelity.json) imported through the API and the CLI, then used by real clients: the
// 2FA user logs in with a TOTP code over SSH keyboard-interactive, the S3 users reach s3rver with
// their opened secrets, first-upload/first-download do not fire again for users who had them, the
// subpath mount shows its subtree, and every record not imported is named in a warning. Then
// SFTPGo's loaddata modes and scan-quota.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from '../../../src/lib/ssh2.ts';
import { REDACTED_SECRET } from '../../../src/api/shapes.ts';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { s3ClientFor, startS3rver, type S3rver } from '../../support/s3rver.ts';
import { ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { Receiver, type Body } from '../actions/receiver.ts';
import { call, readdir, sftpSession, token as tokenFor, type Api } from './harness.ts';

const T = 1717000000000;
const MASTER_KEY = 'fidelity-master-key';
const ROOT_PASSWORD = 'root-Pass-1';

/**
 * RFC 6238 (SHA-1, 6 digits, 30 s), written apart from src/auth/totp.ts: by default for frank's
 * secret, base32 of "12345678901234567890".
 */
function totpNow(key = Buffer.from('12345678901234567890')): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[19]! & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Waits until the current TOTP step has just begun, so a code stays valid through a login. */
async function freshStep(): Promise<void> {
  const into = (Date.now() / 1000) % 30;
  if (into > 20) await Bun.sleep((30 - into) * 1000 + 200);
}

/** An ssh2 login: the password, then the answers to each keyboard-interactive round. */
function sshLogin(port: number, username: string, password: string, codes: string[]): Promise<boolean> {
  const client = new Client();
  let step = 0;
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      client.end();
      resolve(ok);
    };
    client.once('ready', () => done(true));
    client.once('error', () => done(false));
    client.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish(codes.splice(0, 1)));
    client.connect({
      host: '127.0.0.1', port, username, readyTimeout: 15_000, tryKeyboard: true,
      authHandler: (() => {
        step++;
        if (step === 1) return { type: 'password', username, password };
        if (step === 2 && codes.length) return 'keyboard-interactive';
        return false;
      }) as never,
    } as never);
  });
}

function sftpCall<T>(sftp: any, method: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => sftp[method](...args, (err: Error | undefined, v: T) => (err ? reject(err) : resolve(v))));
}

function yamlFor(sftpPort: number, apiPort: number, hook: string): string {
  return `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${sftpPort} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${apiPort} }]
data_provider:
  password_hashing:
    bcrypt_options: { cost: 4 }
common:
  actions:
    execute_on: [upload, download, first-upload, first-download]
    hook: ${hook}
admins:
  - username: root
    password: "${ROOT_PASSWORD}"
    permissions: ["*"]
`;
}

let s3: S3rver;
let rx: Receiver;
let base: string;
let api: Api;
let server: RunningServer;
let t: string;

/** The fixture with its paths and S3 endpoint pointing at this test's directories and s3rver. */
function backup(): any {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures/sftpgo-dump-fidelity.json'), 'utf8').replaceAll('/srv/sftpgo', base).replaceAll('http://s3.invalid:9000', s3.endpoint));
}

beforeAll(async () => {
  s3 = await startS3rver('sftpgo-import');
  const sdk = s3ClientFor(s3);
  for (const who of ['grace', 'henry']) await sdk.send(new PutObjectCommand({ Bucket: 'sftpgo-import', Key: `${who}/hello.txt`, Body: `hello ${who}` }));
  rx = await Receiver.start();
  base = tempDir('sftpgo-fidelity-');
  for (const d of ['data/frank', 'data/ivan', 'data/judy', 'folders/projects/ivan']) mkdirSync(join(base, d), { recursive: true });
  writeFileSync(join(base, 'folders/projects/ivan/plan.md'), '# ivan plan');
  writeFileSync(join(base, 'folders/projects/shared.md'), 'everyone');
  writeFileSync(join(base, 'data/judy/j.txt'), 'judy!');
  const sftpPort = await freePort();
  const apiPort = await freePort();
  server = await startServer({ yaml: yamlFor(sftpPort, apiPort, rx.url), cwd: base });
  api = { server, dir: base, dataDir: server.dataDir, sftpPort, apiPort, telemetryPort: 0, yaml: '', home: '', url: (p) => `http://127.0.0.1:${apiPort}${p}`, restart: async () => {} };
  t = await tokenFor(api, 'root', ROOT_PASSWORD);
});

afterAll(async () => {
  await server?.stop();
  await s3?.stop();
  await rx?.stop();
  removeTempDirs();
});

const byUser = (action: string, username: string) => (b: Body) => b.action === action && b.username === username;

describe('API import of an SFTPGo backup with encrypted secrets', () => {
  let first: any;
  test('imports what opens, names what does not, and warns once for what is not supported yet', async () => {
    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo', { token: t, body: backup() });
    first = r.json;
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ users: 4, folders: 2, groups: 2, admins: 2, roles: 1, ip_lists: 1, shares: 1, event_actions: 1, event_rules: 1, not_updated: [], disconnected: [] });
    const dump = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    expect(dump.json.shares['3zQf8kX2Lh9pRw']).toEqual({ id: '3zQf8kX2Lh9pRw', name: 'q3-report', description: 'for the auditors', scope: 1, paths: ['/reports'], username: 'ivan', created_at: 1717000000000, updated_at: 1717000000000 });
    const entry = await call(api, 'GET', `/api/v2/iplists/1/${encodeURIComponent('192.0.2.0/24')}`, { token: t });
    expect(entry.json).toMatchObject({ ipornet: '192.0.2.0/24', type: 1, mode: 1, protocols: 0, description: 'office' });
    // henry's secret was sealed with the source server's master key, which this server was not given.
    expect(r.json.skipped).toEqual([{ path: 'users[2].filesystem.s3config.access_secret', message: expect.stringContaining('master key') }]);
    expect((await call(api, 'GET', '/api/v2/users/henry', { token: t })).status).toBe(404);
    for (const w of [
      "configs (sftpd, smtp): SFTPGo's stored configurations are not supported yet, not imported",
    ])
      expect(r.json.warnings).toContain(w);
    expect(r.json.warnings.some((w: string) => w.includes('role'))).toBe(false);
    // The event action and the rule that runs it import (the empty password block is dropped).
    expect(r.json.warnings.some((w: string) => w.startsWith('event_'))).toBe(false);
    expect((await call(api, 'GET', '/api/v2/eventrules/on-upload', { token: t })).json).toMatchObject({ trigger: 1, conditions: { fs_events: ['upload'], options: { names: [{ pattern: 'ivan' }] } }, actions: [{ name: 'notify-upload', type: 1, order: 1 }] });
    // eu-admin's TOTP comes along (its AES-256-GCM secret opened), as admins have TOTP here too.
    expect(r.json.warnings.some((w: string) => w.includes('totp_config'))).toBe(false);
    // The log has each one too.
    expect(await server.waitForLog((l) => l.event === 'import_sftpgo_warning' && String(l.warning).startsWith('configs'))).toBeDefined();
    expect(await server.waitForLog((l) => l.event === 'import_sftpgo_skipped' && l.path === 'users[2].filesystem.s3config.access_secret')).toBeDefined();
  });

  test('usage, transfer usage, password change time and group mappings are kept and shown', async () => {
    expect(first).toBeDefined();
    const frank = (await call(api, 'GET', '/api/v2/users/frank', { token: t })).json;
    expect(frank).toMatchObject({ used_quota_size: 4096, used_quota_files: 3, used_upload_data_transfer: 5242880, used_download_data_transfer: 1048576, last_password_change: T + 300 });
    expect(frank.filters.totp_config).toEqual({ enabled: true, config_name: 'Default', secret: REDACTED_SECRET, protocols: ['SSH', 'FTP', 'HTTP'] });
    const ivan = (await call(api, 'GET', '/api/v2/users/ivan', { token: t })).json;
    expect(ivan.groups).toEqual([{ name: 'staff', type: 1 }, { name: 'auditors', type: 3 }]);
    expect(ivan.virtual_folders).toEqual([expect.objectContaining({ name: 'projects_ivan', virtual_path: '/projects', mapped_path: join(base, 'folders/projects/ivan') })]);
    expect((await call(api, 'GET', '/api/v2/folders/projects', { token: t })).json).toMatchObject({ used_quota_size: 100, used_quota_files: 1 });
    // The groups came along: ivan's mappings name them.
    expect((await call(api, 'GET', '/api/v2/groups/staff', { token: t })).json).toMatchObject({ description: 'everyone', users: ['ivan'] });
    // last_password_change is read-only here: sent back with an edit (PUT replaces, so the whole
    // GET body) it is ignored and kept; the group mappings are the user's definition.
    const put = await call(api, 'PUT', '/api/v2/users/ivan', { token: t, body: { ...ivan, email: 'ivan@new.example.com', last_password_change: 1 } });
    expect(put.status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/ivan', { token: t })).json).toMatchObject({ email: 'ivan@new.example.com', groups: ivan.groups, last_password_change: T + 600 });
    const whole = (await call(api, 'GET', '/api/v2/users/ivan', { token: t })).json;
    const changed = await call(api, 'PUT', '/api/v2/users/ivan', { token: t, body: { ...whole, groups: [{ name: 'staff', type: 1 }] } });
    expect(changed.status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/ivan', { token: t })).json.groups).toEqual([{ name: 'staff', type: 1 }]);
    // Secrets are stored sealed, never in clear.
    const dump = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    expect(dump.text).not.toContain('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(dump.json.users.find((u: any) => u.username === 'grace').filesystem.s3config.access_secret.sealed).toMatch(/^v1:/);
  });

  test('the 2FA user logs in with the password and a code from the authenticator, not with the password alone', async () => {
    expect(await sshLogin(api.sftpPort, 'frank', 'frank-Pass-1', [])).toBe(false);
    await freshStep();
    expect(await sshLogin(api.sftpPort, 'frank', 'frank-Pass-1', [totpNow()])).toBe(true);
    expect(await server.waitForLog((l) => l.event === 'login' && l.username === 'frank')).toMatchObject({ method: 'password+totp' });
  });

  test('the S3 user reaches s3rver with the opened Secretbox secret', async () => {
    const { client, sftp } = await sftpSession(api.sftpPort, 'grace', 'grace-Pass-1');
    try {
      expect(await readdir(sftp, '/')).toEqual(['hello.txt']);
      expect(String(await sftpCall<Buffer>(sftp, 'readFile', '/hello.txt'))).toBe('hello grace');
    } finally {
      client.end();
    }
  });

  test('the subpath mount shows its subtree; first-upload/first-download do not fire again for a user who had them', async () => {
    const ivan = await sftpSession(api.sftpPort, 'ivan', 'ivan-Pass-1');
    try {
      expect(await readdir(ivan.sftp, '/projects')).toEqual(['plan.md']);
      expect(String(await sftpCall<Buffer>(ivan.sftp, 'readFile', '/projects/plan.md'))).toBe('# ivan plan');
      await sftpCall(ivan.sftp, 'writeFile', '/up.txt', 'ivan upload');
    } finally {
      ivan.client.end();
    }
    await rx.waitFor(byUser('upload', 'ivan'));
    await rx.waitFor(byUser('download', 'ivan'));
    // judy had no transfer in SFTPGo: hers fire, and arrive after anything ivan's transfers queued.
    const judy = await sftpSession(api.sftpPort, 'judy', 'judy-Pass-1');
    try {
      expect(await readdir(judy.sftp, '/projects')).toEqual(['ivan', 'shared.md']);
      await sftpCall(judy.sftp, 'writeFile', '/mine.txt', 'judy upload');
      expect(String(await sftpCall<Buffer>(judy.sftp, 'readFile', '/j.txt'))).toBe('judy!');
    } finally {
      judy.client.end();
    }
    await rx.waitFor(byUser('first-upload', 'judy'));
    await rx.waitFor(byUser('first-download', 'judy'));
    expect(rx.bodies((b) => b.username === 'ivan' && String(b.action).startsWith('first-'))).toEqual([]);
  });

  test('the admin limited to a role is imported enabled, with its role, and manages only the users of that role', async () => {
    const eu = (await call(api, 'GET', '/api/v2/admins/eu-admin', { token: t })).json;
    expect(eu).toMatchObject({ status: 1, role: 'eu', permissions: ['add_users', 'edit_users', 'view_users'] });
    expect((await call(api, 'GET', '/api/v2/roles/eu', { token: t })).json).toMatchObject({ name: 'eu', description: 'EU region', admins: ['eu-admin'] });
    expect(eu.filters.totp_config).toEqual({ enabled: true, config_name: 'Default', secret: REDACTED_SECRET });
    // Its secret is base32 JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP: the code is asked with the password.
    const basic = { authorization: `Basic ${Buffer.from('eu-admin:admin-Pass-1').toString('base64')}` };
    expect((await fetch(api.url('/api/v2/token'), { headers: basic })).status).toBe(401);
    await freshStep();
    const otp = totpNow(Buffer.from('48656c6c6f21deadbeef48656c6c6f21deadbeef', 'hex'));
    const euToken = ((await (await fetch(api.url('/api/v2/token'), { headers: { ...basic, 'x-sftpgo-otp': otp } })).json()) as { access_token: string }).access_token;
    // No imported user has the role: it sees none of them, and a user it adds gets its role.
    expect((await call(api, 'GET', '/api/v2/users', { token: euToken })).json).toEqual([]);
    expect((await call(api, 'GET', '/api/v2/users/frank', { token: euToken })).status).toBe(404);
    const add = await call(api, 'POST', '/api/v2/users', { token: euToken, body: { username: 'eu-user', password: 'eu-Pass-1', home_dir: join(base, 'data/eu-user'), permissions: { '/': ['*'] } } });
    expect(add.status).toBe(201);
    expect(add.json.role).toBe('eu');
    expect((await call(api, 'GET', '/api/v2/users', { token: euToken })).json.map((u: any) => u.username)).toEqual(['eu-user']);
    expect((await call(api, 'GET', '/api/v2/admins', { token: euToken })).status).toBe(403);
    expect((await call(api, 'DELETE', '/api/v2/users/eu-user', { token: t })).status).toBe(200);
    // Editing it keeps its role unless the edit changes it; a role that does not exist is refused.
    expect((await call(api, 'PUT', '/api/v2/admins/eu-admin', { token: t, body: { ...eu, description: 'edited' } })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/admins/eu-admin', { token: t })).json).toMatchObject({ role: 'eu', status: 1, description: 'edited' });
    expect((await call(api, 'PUT', '/api/v2/admins/eu-admin', { token: t, body: { ...eu, role: 'us' } })).status).toBe(400);
  });
});

describe('loaddata modes and scan-quota', () => {
  test('bad values are refused; mode and scan-quota apply only to an SFTPGo backup', async () => {
    expect((await call(api, 'POST', '/api/v2/loaddata?from=sftpgo&mode=5', { token: t, body: backup() })).status).toBe(400);
    expect((await call(api, 'POST', '/api/v2/loaddata?from=sftpgo&scan-quota=x', { token: t, body: backup() })).status).toBe(400);
    const dump = (await call(api, 'GET', '/api/v2/dumpdata', { token: t })).json;
    expect((await call(api, 'POST', '/api/v2/loaddata?mode=1', { token: t, body: dump })).status).toBe(400);
  });

  test('mode 1 adds new records and leaves existing ones as they are', async () => {
    const d = backup();
    d.users[0].description = 'changed in SFTPGo';
    d.users.push({ ...d.users[4], username: 'kate', home_dir: join(base, 'data/kate'), virtual_folders: [] });
    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo&mode=1', { token: t, body: d });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ users: 1, folders: 0, admins: 0 });
    expect(r.json.not_updated).toEqual(expect.arrayContaining(['user "frank"', 'user "ivan"', 'folder "projects"', 'admin "superadmin"']));
    expect((await call(api, 'GET', '/api/v2/users/frank', { token: t })).json.description).toBe('two-factor user');
    expect((await call(api, 'GET', '/api/v2/users/kate', { token: t })).status).toBe(200);
  });

  test('mode 2 updates existing records, keeps the usage this server counted, and disconnects the updated users', async () => {
    const before = (await call(api, 'GET', '/api/v2/users/ivan', { token: t })).json;
    expect(before.used_quota_size).toBe(2000 + 'ivan upload'.length);
    const session = await sftpSession(api.sftpPort, 'ivan', 'ivan-Pass-1');
    const closed = new Promise<void>((resolve) => session.client.once('close', () => resolve()));
    const d = backup();
    d.users[3].description = 'updated by mode 2';
    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo&mode=2', { token: t, body: d });
    expect(r.status).toBe(200);
    expect(r.json.disconnected).toEqual(['ivan']);
    await closed;
    const after = (await call(api, 'GET', '/api/v2/users/ivan', { token: t })).json;
    expect(after.description).toBe('updated by mode 2');
    expect(after.used_quota_size).toBe(before.used_quota_size);
  });

  test('scan-quota 2 rescans users with quota limits and every folder, not the others', async () => {
    const r = await call(api, 'POST', '/api/v2/loaddata?from=sftpgo&scan-quota=2', { token: t, body: backup() });
    expect(r.status).toBe(200);
    const judySize = 'judy!'.length + 'judy upload'.length;
    const deadline = Date.now() + 20_000;
    let judy: any;
    let projects: any;
    do {
      judy = (await call(api, 'GET', '/api/v2/users/judy', { token: t })).json;
      projects = (await call(api, 'GET', '/api/v2/folders/projects', { token: t })).json;
      if (judy.used_quota_size === judySize && projects.used_quota_size === '# ivan plan'.length + 'everyone'.length) break;
      await Bun.sleep(100);
    } while (Date.now() < deadline);
    expect({ size: judy.used_quota_size, files: judy.used_quota_files }).toEqual({ size: judySize, files: 2 });
    expect({ size: projects.used_quota_size, files: projects.used_quota_files }).toEqual({ size: '# ivan plan'.length + 'everyone'.length, files: 2 });
    // frank has no quota limit: not scanned, the backup's count stays.
    expect((await call(api, 'GET', '/api/v2/users/frank', { token: t })).json.used_quota_size).toBe(4096);
  });
});

describe('CLI import of the same backup', () => {
  test('without the master key the mode-1 secret is named; with it the user imports and reaches s3rver', async () => {
    const dir = tempDir('sftpgo-fidelity-cli-');
    const file = join(dir, 'backup.json');
    writeFileSync(file, JSON.stringify(backup()));
    const noKey = runCli(['loaddata', '--from-sftpgo', '--input', file, '--data-dir', join(dir, 'nokey')], { env: { SFTPGO_KMS__SECRETS__MASTER_KEY: '' } });
    expect(noKey.code).toBe(0);
    expect(noKey.stdout).toContain('imported 4 users, 2 folders, 2 groups, 2 admins');
    expect(noKey.stderr).toContain('not imported: users[2].filesystem.s3config.access_secret: Secretbox secret in mode 1');
    expect(noKey.stdout).toContain('1 event actions, 1 event rules');
    expect(noKey.stdout).toContain('1 event actions, 1 event rules, 1 shares from the SFTPGo backup');
    expect(noKey.stderr).not.toContain('admins[1].role');

    expect(runCli(['loaddata', '--from-sftpgo', '--input', file, '--scan-quota', '9', '--data-dir', join(dir, 'bad')]).code).toBe(2);
    const own = runCli(['loaddata', '--input', file, '--mode', '1', '--data-dir', join(dir, 'bad')]);
    expect(own.code).toBe(2);
    expect(own.stderr).toContain('--mode applies to an SFTPGo backup');

    const keyFile = join(dir, 'master.key');
    writeFileSync(keyFile, `${MASTER_KEY}\n`);
    const data = join(dir, 'data');
    const withKey = runCli(['loaddata', '--from-sftpgo', '--input', file, '--kms-master-key-file', keyFile, '--data-dir', data]);
    expect(withKey.code).toBe(0);
    expect(withKey.stdout).toContain('imported 5 users, 2 folders, 2 groups, 2 admins');
    expect(withKey.stderr).not.toContain('not imported:');
    // SFTPGo's own environment name works as well; mode 1 leaves every existing record alone.
    const again = runCli(['loaddata', '--from-sftpgo', '--input', file, '--mode', '1', '--data-dir', data], { env: { SFTPGO_KMS__SECRETS__MASTER_KEY: MASTER_KEY } });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('imported 0 users, 0 folders, 0 groups, 0 admins');
    expect(again.stderr).toContain('not updated (mode 1): user "henry"');

    const sftpPort = await freePort();
    const s = await startServer({ yaml: `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${sftpPort} }]\n`, cwd: dir, dataDir: data });
    try {
      const { client, sftp } = await sftpSession(sftpPort, 'henry', 'henry-Pass-1');
      try {
        expect(String(await sftpCall<Buffer>(sftp, 'readFile', '/hello.txt'))).toBe('hello henry');
      } finally {
        client.end();
      }
    } finally {
      await s.stop();
    }
  });
});
