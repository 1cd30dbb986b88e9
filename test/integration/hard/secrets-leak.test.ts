// No secret leaks: a server configured with every kind of secret (user and admin passwords, an
// admin API key, S3, GCS, Azure and SFTP backend secrets, a crypt passphrase, a TOTP secret, a
// share password, the password in a hook URL and in an event action's HTTP config) is driven
// through logins that fail, logins whose storage cannot be reached, hooks and actions that fail,
// and every API GET that shows those records; then its log, every answer, `plan` in each output
// format, and `dumpdata` (API and CLI) are searched for each secret's value.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../../src/lib/ssh2.ts';
import { runCli } from '../../support/cli.ts';
import { rawHttp } from '../../support/escape-probes.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const S = TEST_SECRETS;
const WRONG = 'Wr0ng-guess-8812';
let server: RunningServer;
let dir = '';
let ports: { sftp: number; ftp: number; dav: number; http: number };
/** Every answer and output collected on the way, labelled. */
const seen: { where: string; text: string }[] = [];

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

beforeAll(async () => {
  dir = tempDir('secrets-leak-');
  ports = { sftp: await freePort(), ftp: await freePort(), dav: await freePort(), http: await freePort() };
  const home = (u: string): string => {
    mkdirSync(join(dir, 'homes', u), { recursive: true });
    return join(dir, 'homes', u);
  };
  // The admin API key is given as `<id>.<key>`-free plain secret: its value is what must never show.
  const yaml = `common:
  actions:
    execute_on: [upload]
    hook: "http://hookuser:${S.hookPassword}@127.0.0.1:1/hook"
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.ftp} }]
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${ports.dav} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.http} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: alice
    password: "${S.userPassword}"
    home_dir: ${home('alice')}
    permissions: { "/": ["*"] }
    filters:
      totp_config: { enabled: true, config_name: Default, secret: "${S.totpSecret}", protocols: [SSH] }
  - username: s3user
    password: "${S.otherUserPassword}"
    home_dir: ${home('s3user')}
    permissions: { "/": ["*"] }
    filesystem:
      provider: s3
      s3config: { bucket: b, region: us-east-1, endpoint: "http://127.0.0.1:1", force_path_style: true, access_key: AKIDTEST, access_secret: "${S.s3AccessSecret}" }
  - username: gcsuser
    password: "${S.otherUserPassword}"
    home_dir: ${home('gcsuser')}
    permissions: { "/": ["*"] }
    filesystem:
      provider: gcs
      gcsconfig: { bucket: b, endpoint: "http://127.0.0.1:1", credentials: '{"type":"service_account","private_key":"${S.gcsCredentials}"}' }
  - username: azuser
    password: "${S.otherUserPassword}"
    home_dir: ${home('azuser')}
    permissions: { "/": ["*"] }
    filesystem:
      provider: azblob
      azblobconfig: { container: c, account_name: devstoreaccount1, account_key: "${S.azureAccountKey}", endpoint: "http://127.0.0.1:1/devstoreaccount1" }
  - username: sftpuser
    password: "${S.otherUserPassword}"
    home_dir: ${home('sftpuser')}
    permissions: { "/": ["*"] }
    filesystem:
      provider: sftp
      sftpconfig: { endpoint: "127.0.0.1:1", username: remote, password: "${S.sftpBackendPassword}", key_passphrase: "${S.sftpBackendKeyPassphrase}", fingerprints: ["SHA256:AAAA"] }
  - username: cryptuser
    password: "${S.otherUserPassword}"
    home_dir: ${home('cryptuser')}
    permissions: { "/": ["*"] }
    filesystem:
      provider: crypt
      cryptconfig: { passphrase: "${S.cryptPassphrase}" }
admins:
  - username: root
    password: "${S.adminPassword}"
    permissions: ["*"]
    api_keys: [{ name: automation, key: "${S.apiKey}" }]
event_actions:
  - name: notify
    type: 1
    options:
      http_config: { endpoint: "http://127.0.0.1:1/event", username: eventuser, password: "${S.eventHttpPassword}", timeout: 2 }
event_rules:
  - name: on-upload
    trigger: 1
    conditions:
      fs_events: [upload]
    actions: [{ name: notify }]
`;
  writeFileSync(join(dir, 'sftpgo.yaml'), yaml);
  server = await startServer({ yaml, cwd: dir });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

function sshFails(username: string, password: string): Promise<string> {
  return new Promise((resolve) => {
    const c = new Client();
    c.once('ready', () => (c.end(), resolve('logged in')));
    c.once('error', (err) => resolve(err.message));
    c.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => finish(prompts.map(() => password)));
    c.connect({ host: '127.0.0.1', port: ports.sftp, username, password, tryKeyboard: true, readyTimeout: 20_000 });
  });
}

async function ftp(username: string, password: string, commands: string[]): Promise<string> {
  const c = await FtpControl.connect(ports.ftp);
  const lines: string[] = [];
  try {
    const r = await c.login(username, password);
    lines.push(`${r.code} ${r.text}`);
    for (const cmd of commands) {
      const t = cmd === 'LIST' ? await c.transfer('LIST /').then((x) => x.last ?? x.first) : await c.send(cmd);
      lines.push(`${t.code} ${t.text}`);
    }
  } catch (err) {
    lines.push(`${username}: ${(err as Error).message}`);
  } finally {
    c.close();
  }
  return lines.join('\n');
}

async function http(where: string, req: Parameters<typeof rawHttp>[1], port = ports.http): Promise<string> {
  const r = await rawHttp(port, req).catch((err: Error) => ({ status: 0, headers: '', body: err.message }));
  const text = `${r.status}\n${r.headers}\n${r.body}`;
  seen.push({ where, text });
  return r.body;
}

test('no secret shows in answers, logs, plan or dumps', async () => {
  // Logins that fail: wrong passwords on every protocol, and the right password for a user whose
  // storage cannot be reached (the error then names the backend, not its secrets).
  seen.push({ where: 'SSH wrong password', text: await sshFails('alice', WRONG) });
  seen.push({ where: 'SSH password without the TOTP code', text: await sshFails('alice', S.userPassword) });
  seen.push({ where: 'FTP wrong password', text: await ftp('alice', WRONG, []) });
  // (The Azure user is left out here: its client keeps retrying an unreachable endpoint for longer
  // than a test waits; its secret is still checked in the API answers, plan and dumps.)
  for (const u of ['s3user', 'gcsuser', 'sftpuser', 'cryptuser']) seen.push({ where: `FTP ${u} listing`, text: await ftp(u, S.otherUserPassword, ['LIST']) });
  await http('WebDAV wrong password', { method: 'PROPFIND', target: '/', headers: { Authorization: basic('alice', WRONG), Depth: '1' } }, ports.dav);
  for (const u of ['s3user', 'gcsuser', 'sftpuser']) await http(`WebDAV ${u}`, { method: 'PROPFIND', target: '/', headers: { Authorization: basic(u, S.otherUserPassword), Depth: '1' } }, ports.dav);
  await http('admin token, wrong password', { method: 'GET', target: '/api/v2/token', headers: { Authorization: basic('root', WRONG) } });
  await http('user token, wrong password', { method: 'GET', target: '/api/v2/user/token', headers: { Authorization: basic('cryptuser', WRONG) } });
  await http('admin API, wrong API key', { method: 'GET', target: '/api/v2/users', headers: { 'X-SFTPGO-API-KEY': `${S.apiKey.slice(0, 8)}.nope` } });

  // An upload that fires the hook and the event action, both failing to connect.
  const token = JSON.parse(await http('admin token', { method: 'GET', target: '/api/v2/token', headers: { Authorization: basic('root', S.adminPassword) } })).access_token as string;
  const crypt = JSON.parse(await http('user token', { method: 'GET', target: '/api/v2/user/token', headers: { Authorization: basic('cryptuser', S.otherUserPassword) } })).access_token as string;
  await http('upload', { method: 'POST', target: '/api/v2/user/files/upload?path=/up.txt', headers: { Authorization: `Bearer ${crypt}` }, body: 'payload' });
  await http('crypt mkdir', { method: 'POST', target: '/api/v2/user/dirs?path=/shared', headers: { Authorization: `Bearer ${crypt}` } });
  const share = await rawHttp(ports.http, { method: 'POST', target: '/api/v2/user/shares', headers: { Authorization: `Bearer ${crypt}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 's', scope: 1, paths: ['/shared'], password: S.sharePassword }) });
  expect(share.status).toBe(201);
  const shareId = /x-object-id: (\S+)/i.exec(share.headers)![1]!;
  await http('share, wrong password', { method: 'GET', target: `/api/v2/shares/${shareId}/dirs`, headers: { Authorization: basic('x', WRONG) } });
  await http('share, right password', { method: 'GET', target: `/api/v2/shares/${shareId}/dirs`, headers: { Authorization: basic('x', S.sharePassword) } });
  // The hook and the event action ran, failed, and said so in the log (which is searched below).
  await server.waitForLog((l) => l.event === 'hook_failed', 15_000);
  await server.waitForLog((l) => l.event === 'event_rule_run' && JSON.stringify(l).includes('failed'), 15_000);

  // Every API GET that shows the records holding secrets.
  const admin = { Authorization: `Bearer ${token}` };
  for (const path of ['/api/v2/users', '/api/v2/users/alice', '/api/v2/users/s3user', '/api/v2/users/gcsuser', '/api/v2/users/azuser', '/api/v2/users/sftpuser', '/api/v2/users/cryptuser',
    '/api/v2/admins', '/api/v2/admins/root', '/api/v2/apikeys', '/api/v2/eventactions', '/api/v2/eventactions/notify', '/api/v2/folders', '/api/v2/overrides', '/api/v2/dumpdata'])
    await http(`GET ${path}`, { method: 'GET', target: path, headers: admin });
  for (const path of ['/api/v2/user/profile', '/api/v2/user/shares', `/api/v2/user/shares/${shareId}`, '/api/v2/user/totp/configs'])
    await http(`GET ${path}`, { method: 'GET', target: path, headers: { Authorization: `Bearer ${crypt}` } });
  // The API key itself works, and its answer does not echo it.
  await http('API key use', { method: 'GET', target: '/api/v2/admins', headers: { 'X-SFTPGO-API-KEY': S.apiKey } });

  await server.stop();
  const config = join(dir, 'sftpgo.yaml');
  for (const output of ['text', 'json', 'markdown']) {
    const r = runCli(['plan', '--config', config, '--data-dir', server.dataDir, '--output', output], { cwd: dir });
    seen.push({ where: `plan --output ${output}`, text: r.stdout + r.stderr });
  }
  const validate = runCli(['validate', '--config', config], { cwd: dir });
  seen.push({ where: 'validate', text: validate.stdout + validate.stderr });
  const dump = runCli(['dumpdata', '--config', config, '--data-dir', server.dataDir], { cwd: dir });
  expect(dump.code).toBe(0);
  seen.push({ where: 'dumpdata', text: dump.stdout + dump.stderr });
  seen.push({ where: 'server log', text: server.logs.map((l) => JSON.stringify(l)).join('\n') + server.stdout() });

  if (process.env.SHOW_SEEN) for (const x of seen) console.log(`--- ${x.where}\n${x.text.slice(0, 600)}`);
  const hits: string[] = [];
  for (const [name, value] of Object.entries(S)) {
    // A base32 TOTP secret may be shown in any case; a digest of a secret is as good as the secret.
    const forms = [value, value.toLowerCase(), createHash('sha256').update(value).digest('hex')];
    for (const s of seen) if (forms.some((f) => s.text.includes(f))) hits.push(`${name} in ${s.where}`);
  }
  expect(hits).toEqual([]);
  // The dump still carries what a restore needs: the secrets, sealed.
  expect(dump.stdout).toContain('"access_secret"');
  expect(readFileSync(config, 'utf8')).toContain(S.s3AccessSecret);
}, 120_000);
