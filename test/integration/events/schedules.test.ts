// Scheduled, provider and IP blocked rules on a real server run in this process, so the test can
// drive the scheduler's tick source (SFTPGo's schedules fire hourly at the fastest): the real
// scheduler, rules and actions run, against uploads made with OpenSSH's sftp and logins made with
// the ssh2 client. Scheduled transfer and quota resets and a data retention check, a slow
// scheduled run that is skipped rather than piled up, a defender ban reaching the HTTP receiver
// with the address, provider events from the YAML reconcile, the REST API, the web admin and the
// pre-login hook (no secret in the object data), a backup that loaddata accepts, an SFTPGo
// backup's rules imported, and plan.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/load.ts';
import { Client } from '../../../src/lib/ssh2.ts';
import { startServer, type Server } from '../../../src/serve/serve.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { BUN, ROOT } from '../../support/server.ts';
import { keptSink } from '../../support/test-logs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { ADMIN_PASSWORD, PASSWORD, Receiver } from './harness.ts';

const HOUR = 3_600_000;
const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];

let server: Server;
let rx: Receiver;
let dir: string;
let configFile: string;
let baseYaml: string;
let ports: { sftp: number; api: number };
const lines: Record<string, unknown>[] = [];

function yamlFor(extraUsers = ''): string {
  return baseYaml.replace('# extra users\n', extraUsers);
}

beforeAll(async () => {
  rx = await Receiver.start();
  dir = tempDir('events-sched-');
  for (const u of ['alice', 'bob']) mkdirSync(join(dir, 'homes', u), { recursive: true });
  mkdirSync(join(dir, 'archive'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  const hook = join(dir, 'pre-login.sh');
  writeFileSync(
    hook,
    `#!/bin/sh
case "$SFTPGO_LOGIND_USER" in
  *'"username":"erin"'*) printf '{"username":"erin","password":"${PASSWORD}","home_dir":"${dir}/homes/erin","permissions":{"/":["*"]}}' ;;
esac
exit 0
`,
  );
  chmodSync(hook, 0o755);
  ports = { sftp: await freePort(), api: await freePort() };
  const notify = (name: string, path: string, body: string, json = false) => `  - name: ${name}
    type: 1
    options:
      http_config:
        endpoint: ${rx.base}${path}
        timeout: 10
${json ? '        headers: [{ key: Content-Type, value: application/json }]\n' : ''}        body: '${body}'
`;
  baseYaml = `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]
common:
  defender:
    enabled: true
    threshold: 4
    score_invalid: 2
    observation_time: 5
data_provider:
  pre_login_hook: ${hook}
  backups_path: backups-here
  password_hashing:
    bcrypt_options:
      cost: 4
users:
  - username: alice
    password: "${PASSWORD}"
    home_dir: ${dir}/homes/alice
    public_keys: ["${readFileSync(join(dir, 'key.pub'), 'utf8').trim()}"]
    upload_data_transfer: 100
  - username: bob
    password: "${PASSWORD}"
    home_dir: ${dir}/homes/bob
    public_keys: ["${readFileSync(join(dir, 'key.pub'), 'utf8').trim()}"]
    permissions: { "/": [list, download, upload, create_dirs] }
# extra users
folders:
  - name: archive
    mapped_path: ${dir}/archive
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
event_actions:
  - name: reset-transfer
    type: 7
  - name: retention
    type: 8
    options:
      retention_config:
        folders:
          - { path: /, retention: 2, delete_empty_dirs: true }
          - { path: /keep, retention: 0 }
${notify('slow-hook', '/slow', '{{.Event}} {{.Name}}')}${notify('ban-hook', '/banned?ip={{.IP}}', '{{.Event}} {{.IP}}')}${notify(
    'provider-hook',
    '/provider',
    '{"event": "{{.Event}}", "type": "{{.ObjectType}}", "name": "{{.ObjectName}}", "by": "{{.Name}}", "ip": "{{.IP}}", "data": {{.ObjectData}}}',
    true,
  )}${notify('other-hook', '/other', '{"event": "{{.Event}}", "type": "{{.ObjectType}}", "name": "{{.ObjectName}}", "by": "{{.Name}}", "data": {{.ObjectData}}}', true)}  - name: backup
    type: 4
  - name: user-quota
    type: 5
  - name: folder-quota
    type: 6
${notify('after-backup', '/backup', '{{.FsPath}}|{{.FileSize}}|{{.ObjectName}}')}event_rules:
  - name: hourly-transfer-reset
    trigger: 3
    conditions:
      schedules: [{ hour: "*", day_of_week: "*", day_of_month: "*", month: "*" }]
      options:
        names: [{ pattern: alice }]
    actions: [{ name: reset-transfer }]
  - name: nightly-retention
    trigger: 3
    conditions:
      schedules: [{ hour: "3", day_of_week: "*", day_of_month: "*", month: "*" }]
      options:
        names: [{ pattern: bob }]
    actions: [{ name: retention }]
  - name: slow-weekly
    trigger: 3
    conditions:
      schedules: [{ hour: "5", day_of_week: "MON", day_of_month: "*", month: "*" }, { hour: "6", day_of_week: "MON", day_of_month: "*", month: "*" }]
    actions: [{ name: slow-hook }]
  - name: user-rescan
    trigger: 3
    conditions:
      schedules: [{ hour: "12", day_of_week: "*", day_of_month: "*", month: "*" }]
      options:
        names: [{ pattern: alice }]
    actions: [{ name: user-quota }]
  - name: folder-rescan
    trigger: 3
    conditions:
      schedules: [{ hour: "12", day_of_week: "*", day_of_month: "*", month: "*" }]
      options:
        names: [{ pattern: arch* }]
    actions: [{ name: folder-quota }]
  - name: banned
    trigger: 4
    actions: [{ name: ban-hook }]
  - name: users-changed
    trigger: 2
    conditions:
      provider_events: [add, update, delete]
      options:
        provider_objects: [user]
    actions: [{ name: provider-hook }]
  - name: others-changed
    trigger: 2
    conditions:
      provider_events: [add, update, delete]
      options:
        provider_objects: [admin, api_key, folder]
    actions: [{ name: other-hook }]
  - name: backup-now
    trigger: 6
    actions: [{ name: backup, order: 1 }, { name: after-backup, order: 2 }]
`;
  configFile = join(dir, 'sftpgo.yaml');
  writeFileSync(configFile, yamlFor());
  const loaded = loadConfigFile(configFile);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  server = await startServer({ loaded: loaded.value, dataDir: join(dir, 'data'), flags: { config: configFile }, logSink: keptSink('schedules', (l) => void lines.push(l)) });
});

afterAll(async () => {
  await server?.stop();
  await rx?.stop();
  removeTempDirs();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const base = `http://127.0.0.1:${ports.api}`;
  const t = await fetch(`${base}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`root:${ADMIN_PASSWORD}`).toString('base64')}` } });
  const token = ((await t.json()) as { access_token: string }).access_token;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

function sftpAs(user: string, commands: string[]) {
  const batch = join(tempDir('events-sched-batch-'), 'b');
  writeFileSync(batch, commands.join('\n') + '\n');
  return run('sftp', [...SSH_OPTS, '-i', join(dir, 'key'), '-P', String(ports.sftp), '-b', batch, `${user}@127.0.0.1`]);
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const runsOf = (rule: string) => lines.filter((l) => l.event === 'event_rule_run' && l.rule === rule);

/** A Monday at `hour`:00 UTC, `weeks` weeks after 2030-01-07. */
const monday = (hour: number, weeks = 0) => new Date(Date.UTC(2030, 0, 7 + weeks * 7, hour));

describe('scheduled rules', () => {
  test('a schedule ticked every second resets the transfer usage an sftp upload made', async () => {
    const local = join(dir, 'payload.bin');
    writeFileSync(local, Buffer.alloc(300_000, 7));
    const transferred = async () => (await api('GET', '/api/v2/users/alice')).json.used_upload_data_transfer as number;
    let at = monday(0, 1).getTime();
    for (let round = 0; round < 3; round++) {
      const r = await sftpAs('alice', [`put ${local} /up-${round}.bin`]);
      expect(r.status).toBe(0);
      await until('the upload to be counted', async () => (await transferred()) >= 300_000);
      const before = runsOf('hourly-transfer-reset').length;
      // One tick a second, each for the next hour: the fastest SFTPGo's fields can express is hourly.
      await new Promise((r) => setTimeout(r, round === 0 ? 0 : 1000));
      const tick = await server.context.scheduler.tick(new Date(at));
      expect(tick.started).toEqual(['hourly-transfer-reset']);
      await until('the reset to run', () => runsOf('hourly-transfer-reset').length > before);
      expect(runsOf('hourly-transfer-reset').at(-1)).toMatchObject({ trigger: 3, result: 'ok', actions: [{ name: 'reset-transfer', result: 'ok' }] });
      await until('the usage to read zero', async () => (await transferred()) === 0);
      at += HOUR;
    }
    // The same hour again (a second replica, or a late timer) does not run it twice.
    const again = await server.context.scheduler.tick(new Date(at - HOUR));
    expect(again).toEqual({ started: [], skipped: [{ rule: 'hourly-transfer-reset', reason: 'claimed' }] });
  });

  test('a run still going when its next tick comes is skipped, not piled up, and transfers go on meanwhile', async () => {
    rx.delayMs = 3000;
    try {
      const first = await server.context.scheduler.tick(monday(5, 2));
      expect(first.started).toContain('slow-weekly');
      const second = await server.context.scheduler.tick(monday(6, 2));
      expect(second.started).not.toContain('slow-weekly');
      expect(second.skipped).toContainEqual({ rule: 'slow-weekly', reason: 'running' });
      expect(lines).toContainEqual(expect.objectContaining({ event: 'event_schedule_skipped', rule: 'slow-weekly', reason: 'running' }));
      // The slow receiver holds a worker, not the server: an upload goes through at once.
      const t0 = Date.now();
      writeFileSync(join(dir, 'small.txt'), 'x');
      expect((await sftpAs('alice', [`put ${join(dir, 'small.txt')} /while-slow.txt`])).status).toBe(0);
      expect(Date.now() - t0).toBeLessThan(2500);
      await rx.waitFor((r) => r.url === '/slow');
      await until('the slow run to end', () => runsOf('slow-weekly').length === 1);
      // Once it has ended, the next due tick runs it again.
      rx.delayMs = 0;
      expect((await server.context.scheduler.tick(monday(5, 3))).started).toContain('slow-weekly');
      await until('the second slow run', () => runsOf('slow-weekly').length === 2);
      expect(rx.requests.filter((r) => r.url === '/slow').map((r) => r.body)).toEqual(['Schedule slow-weekly', 'Schedule slow-weekly']);
    } finally {
      rx.delayMs = 0;
    }
  });

  test('a scheduled data retention check removes the files older than its limit, keeps younger and excluded ones, and says so in the run log', async () => {
    const local = join(dir, 'ret');
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, 'f'), 'twelve bytes');
    const r = await sftpAs('bob', ['mkdir /keep', 'mkdir /sub', `put ${local}/f /old.txt`, `put ${local}/f /young.txt`, `put ${local}/f /keep/old.txt`, `put ${local}/f /sub/old.txt`]);
    expect(r.status).toBe(0);
    const home = join(dir, 'homes/bob');
    const threeHoursAgo = new Date(Date.now() - 3 * HOUR);
    for (const f of ['old.txt', 'keep/old.txt', 'sub/old.txt']) utimesSync(join(home, f), threeHoursAgo, threeHoursAgo);
    const usage = async () => (await api('GET', '/api/v2/users/bob')).json as { used_quota_files: number; used_quota_size: number };
    await until('four files counted', async () => (await usage()).used_quota_files === 4);

    // Hour 2 is not the rule's: nothing happens.
    expect((await server.context.scheduler.tick(monday(2, 4))).started).not.toContain('nightly-retention');
    expect((await server.context.scheduler.tick(monday(3, 4))).started).toContain('nightly-retention');
    await until('the retention run', () => runsOf('nightly-retention').length === 1);

    expect(existsSync(join(home, 'old.txt'))).toBe(false);
    expect(existsSync(join(home, 'young.txt'))).toBe(true);
    expect(existsSync(join(home, 'keep/old.txt'))).toBe(true);
    // Emptied by the check, so removed (delete_empty_dirs), although bob may not delete anything himself.
    expect(existsSync(join(home, 'sub'))).toBe(false);
    const run = runsOf('nightly-retention')[0]!;
    expect(run).toMatchObject({ result: 'ok', actions: [{ name: 'retention', result: 'ok' }] });
    const report = (run.actions as { retention: { username: string; folders: { path: string; deleted_files: number; deleted_size: number }[] }[] }[])[0]!.retention;
    expect(report).toHaveLength(1);
    expect(report[0]!.username).toBe('bob');
    expect(report[0]!.folders).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: '/', retention: 2, deleted_files: 1, deleted_size: 12 }),
      expect.objectContaining({ path: '/sub', retention: 2, deleted_files: 1, deleted_size: 12 }),
      expect.objectContaining({ path: '/keep', retention: 0, deleted_files: 0 }),
    ]));
    // Removed through the core: the quota follows.
    await until('the usage to drop to two files', async () => (await usage()).used_quota_files === 2);
  });
});

describe('scheduled quota resets', () => {
  test("user and folder quota resets rescan storage changed behind the server's back", async () => {
    writeFileSync(join(dir, 'homes/alice/behind-1.bin'), Buffer.alloc(1000));
    writeFileSync(join(dir, 'homes/alice/behind-2.bin'), Buffer.alloc(2000));
    writeFileSync(join(dir, 'archive/a.bin'), Buffer.alloc(4096));
    const alice = async () => (await api('GET', '/api/v2/users/alice')).json as { used_quota_files: number; used_quota_size: number };
    const before = await alice();
    expect((await api('GET', '/api/v2/folders/archive')).json).toMatchObject({ used_quota_files: 0, used_quota_size: 0 });
    const tick = await server.context.scheduler.tick(monday(12, 5));
    expect(tick.started).toEqual(expect.arrayContaining(['user-rescan', 'folder-rescan']));
    await until('both rescans', () => runsOf('user-rescan').length === 1 && runsOf('folder-rescan').length === 1);
    expect(runsOf('user-rescan')[0]).toMatchObject({ result: 'ok' });
    expect(runsOf('folder-rescan')[0]).toMatchObject({ result: 'ok' });
    const after = await alice();
    expect(after.used_quota_files).toBe(before.used_quota_files + 2);
    expect(after.used_quota_size).toBe(before.used_quota_size + 3000);
    expect((await api('GET', '/api/v2/folders/archive')).json).toMatchObject({ used_quota_files: 1, used_quota_size: 4096 });
  });
});

describe('IP blocked rules', () => {
  test('an address the defender bans after real failed logins fires the rule, with the address', async () => {
    const attempt = () =>
      new Promise<void>((resolve) => {
        const c = new Client();
        c.on('error', () => resolve());
        c.on('ready', () => (c.end(), resolve()));
        c.connect({ host: '127.0.0.1', port: ports.sftp, localAddress: '127.0.0.2', username: 'nobody', password: 'wrong', readyTimeout: 10_000, tryKeyboard: false });
      });
    for (let i = 0; i < 5 && !server.context.defender.isBanned('127.0.0.2'); i++) await attempt();
    expect(server.context.defender.isBanned('127.0.0.2')).toBe(true);
    const req = await rx.waitFor((r) => r.url.startsWith('/banned'));
    expect(req.url).toBe('/banned?ip=127.0.0.2');
    expect(req.body).toBe('IP Blocked 127.0.0.2');
    await until('the run line', () => runsOf('banned').length === 1);
    expect(runsOf('banned')[0]).toMatchObject({ trigger: 4, ip: '127.0.0.2', result: 'ok' });
  });
});

describe('provider event rules', () => {
  const providerEvents = (name: string) =>
    rx.requests.filter((r) => r.url === '/provider').map((r) => JSON.parse(r.body) as { event: string; type: string; name: string; by: string; ip: string; data: Record<string, unknown> }).filter((e) => e.name === name);

  test('a user added by the YAML reconcile fires the rule, by __system__, with no secret in the object', async () => {
    writeFileSync(configFile, yamlFor(`  - username: carol\n    password: "${PASSWORD}"\n    home_dir: ${dir}/homes/carol\n    filters: { totp_config: { enabled: false, secret: "JBSWY3DPEHPK3PXP" } }\n`));
    expect((await server.reload()).ok).toBe(true);
    await rx.waitFor((r) => r.url === '/provider' && r.body.includes('"carol"'));
    const [e] = providerEvents('carol');
    expect(e).toMatchObject({ event: 'add', type: 'user', name: 'carol', by: '__system__', ip: '' });
    expect(e!.data.username).toBe('carol');
    expect(e!.data.home_dir).toBe(`${dir}/homes/carol`);
    expect(e!.data).not.toHaveProperty('password');
    expect(e!.data).not.toHaveProperty('password_digest');
    expect((e!.data.filters as { totp_config: { secret: unknown } }).totp_config.secret).toEqual({ status: 'Redacted' });
    expect(JSON.stringify(e!.data)).not.toContain('JBSWY3DPEHPK3PXP');
    expect(JSON.stringify(e!.data)).not.toContain('$2');
  });

  test('users added, updated and deleted through the REST API fire add, update and delete by the admin, from its address', async () => {
    const created = await api('POST', '/api/v2/users', { username: 'dave', password: 'dave-Secret-1', home_dir: `${dir}/homes/dave`, permissions: { '/': ['*'] }, status: 1 });
    expect(created.status).toBe(201);
    const user = (await api('GET', '/api/v2/users/dave')).json;
    expect((await api('PUT', '/api/v2/users/dave', { ...user, description: 'changed' })).status).toBe(200);
    expect((await api('DELETE', '/api/v2/users/dave')).status).toBe(200);
    await until('three dave events', () => providerEvents('dave').length === 3);
    const events = providerEvents('dave');
    expect(events.map((e) => e.event)).toEqual(['add', 'update', 'delete']);
    for (const e of events) {
      expect(e).toMatchObject({ type: 'user', by: 'root', ip: '127.0.0.1' });
      expect(e.data).not.toHaveProperty('password');
      expect(e.data).not.toHaveProperty('password_digest');
      expect(JSON.stringify(e.data)).not.toContain('dave-Secret-1');
    }
    expect(events[1]!.data.description).toBe('changed');
    // The deleted user's data is the user as it was.
    expect(events[2]!.data.username).toBe('dave');
  });

  test('a user the web admin creates fires an add by the admin signed in', async () => {
    const cookies = new Map<string, string>();
    let csrf = '';
    const visit = async (path: string, form?: Record<string, string | string[]>) => {
      const body = form && new URLSearchParams(Object.entries(form).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])));
      const res = await fetch(`http://127.0.0.1:${ports.api}${path}`, {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        body,
      });
      for (const c of res.headers.getSetCookie()) {
        const [k, v] = c.split(';')[0]!.split('=') as [string, string];
        cookies.set(k, v);
      }
      csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? csrf;
      return res;
    };
    await visit('/web/admin/login');
    expect((await visit('/web/admin/login', { _csrf: csrf, username: 'root', password: ADMIN_PASSWORD })).headers.get('location')).toBe('/web/admin/users');
    await visit('/web/admin/users/new');
    const created = await visit('/web/admin/users', { _csrf: csrf, username: 'gina', password: 'gina-Secret-1', home_dir: `${dir}/homes/gina`, permissions: ['list', 'download'], status: '1' });
    expect(created.status).toBe(303);
    await until('the gina event', () => providerEvents('gina').length === 1);
    expect(providerEvents('gina')[0]).toMatchObject({ event: 'add', type: 'user', by: 'root', ip: '127.0.0.1' });
    expect(JSON.stringify(providerEvents('gina')[0]!.data)).not.toContain('gina-Secret-1');
  });

  test('a user the pre-login hook creates fires an add, with the login address', async () => {
    const login = await new Promise<boolean>((resolve) => {
      const c = new Client();
      c.on('error', () => resolve(false));
      c.on('ready', () => (c.end(), resolve(true)));
      c.connect({ host: '127.0.0.1', port: ports.sftp, username: 'erin', password: PASSWORD, readyTimeout: 10_000 });
    });
    expect(login).toBe(true);
    await until('the erin event', () => providerEvents('erin').length === 1);
    const [e] = providerEvents('erin');
    expect(e).toMatchObject({ event: 'add', type: 'user', by: '__system__', ip: '127.0.0.1' });
    expect(e!.data).not.toHaveProperty('password');
  });

  test('changes to other objects, and usage or login bookkeeping, fire no user rule', async () => {
    const before = rx.requests.filter((r) => r.url === '/provider').length;
    expect((await api('POST', '/api/v2/folders', { name: 'shared', mapped_path: `${dir}/shared` })).status).toBe(201);
    writeFileSync(join(dir, 'tiny.txt'), 'tiny');
    expect((await sftpAs('alice', [`put ${join(dir, 'tiny.txt')} /tiny.txt`])).status).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(rx.requests.filter((r) => r.url === '/provider').length).toBe(before);
  });
});

describe('provider events of other objects', () => {
  test('admins, API keys and folders fire their rule, with no password or key hash in the object', async () => {
    expect((await api('POST', '/api/v2/admins', { username: 'helper', password: 'helper-Secret-1', permissions: ['*'], status: 1 })).status).toBe(201);
    const key = await api('POST', '/api/v2/apikeys', { name: 'ci', scope: 1, admin: 'helper' });
    expect(key.status).toBe(201);
    expect((await api('DELETE', '/api/v2/folders/shared')).status).toBe(200);
    const other = () => rx.requests.filter((r) => r.url === '/other').map((r) => JSON.parse(r.body) as { event: string; type: string; name: string; by: string; data: Record<string, unknown> });
    await until('the admin, key and folder events', () => ['admin', 'api_key'].every((t) => other().some((e) => e.type === t)) && other().some((e) => e.type === 'folder' && e.event === 'delete'));
    // The YAML's admin was added by the first reconcile.
    expect(other().find((e) => e.type === 'admin' && e.name === 'root')).toMatchObject({ event: 'add', by: '__system__' });
    const admin = other().find((e) => e.type === 'admin' && e.name === 'helper')!;
    expect(admin).toMatchObject({ event: 'add', by: 'root' });
    for (const e of other().filter((x) => x.type === 'admin')) {
      expect(e.data).not.toHaveProperty('password');
      expect(e.data).not.toHaveProperty('password_digest');
    }
    const apiKey = other().find((e) => e.type === 'api_key')!;
    expect(apiKey).toMatchObject({ event: 'add', by: 'root' });
    expect(apiKey.data).toMatchObject({ name: 'ci' });
    expect(apiKey.data).not.toHaveProperty('key');
    expect(JSON.stringify(apiKey.data)).not.toContain(String(key.json?.key ?? 'no-key-returned'));
    expect(other().find((e) => e.type === 'folder' && e.event === 'delete')).toMatchObject({ name: 'shared', by: 'root', data: { name: 'shared' } });
    // None of them reached the user rule.
    expect(rx.requests.filter((r) => r.url === '/provider').some((r) => /"type": "(admin|api_key|folder)"/.test(r.body))).toBe(false);
  });
});

describe('backup actions', () => {
  test('writes a dump with SFTPGo file name into backups_path that loaddata accepts, and tells the next action where', async () => {
    expect((await api('POST', '/api/v2/eventrules/run/backup-now')).status).toBe(202);
    const req = await rx.waitFor((r) => r.url === '/backup');
    const [path, size, name] = req.body.split('|');
    const dirOf = join(dir, 'data', 'backups-here');
    expect(readdirSync(dirOf)).toEqual([name!]);
    expect(name).toMatch(/^backup_(Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday)_([0-9]|1[0-9]|2[0-3])\.json$/);
    expect(path).toBe(join(dirOf, name!));
    const text = readFileSync(path!, 'utf8');
    expect(Number(size)).toBe(Buffer.byteLength(text));
    const dump = JSON.parse(text) as { users: { username: string }[]; event_rules: { name: string }[] };
    expect(dump.users.map((u) => u.username)).toEqual(expect.arrayContaining(['alice', 'bob', 'carol', 'erin']));
    expect(dump.event_rules.map((r) => r.name)).toContain('nightly-retention');
    const loaded = await run(BUN, [join(ROOT, 'src/main.ts'), 'loaddata', '--input', path!, '--data-dir', join(tempDir('events-sched-load-'), 'data')]);
    expect(loaded.status).toBe(0);
  });
});

describe('plan', () => {
  test('shows the scheduled, provider and IP blocked rules and the new action types', async () => {
    const r = await run(BUN, [join(ROOT, 'src/main.ts'), 'plan', '--config', configFile, '--data-dir', join(tempDir('events-sched-plan-'), 'data')]);
    expect(r.status).toBe(0);
    for (const line of ['+ event_rule hourly-transfer-reset', '+ event_rule users-changed', '+ event_rule banned', '+ event_action retention', '+ event_action backup', '+ event_action reset-transfer'])
      expect(r.stdout).toContain(line);
  });
});

describe('SFTPGo backup import', () => {
  test('brings scheduled and provider rules with quota reset, retention and backup actions in, and they run', async () => {
    const empty = { http_config: {}, cmd_config: {}, email_config: {}, retention_config: {}, fs_config: { compress: {} }, pwd_expiration_config: {}, user_inactivity_config: {}, idp_config: {} };
    const backup = {
      version: 17,
      event_actions: [
        { id: 21, name: 'sftpgo-user-quota', type: 5, options: empty },
        { id: 22, name: 'sftpgo-retention', type: 8, options: { ...empty, retention_config: { folders: [{ path: '/', retention: 720 }] } } },
        { id: 23, name: 'sftpgo-backup', type: 4, options: empty },
      ],
      event_rules: [
        { id: 21, name: 'sftpgo-nightly', status: 1, trigger: 3, created_at: 1, updated_at: 1,
          conditions: { fs_events: [], provider_events: [], schedules: [{ hour: '9', day_of_week: '*', day_of_month: '*', month: '*' }], options: { names: [{ pattern: 'alice' }], concurrent_execution: false } },
          actions: [{ id: 21, name: 'sftpgo-user-quota', type: 5, options: {}, order: 1, relation_options: {} }, { id: 22, name: 'sftpgo-retention', type: 8, options: {}, order: 2, relation_options: {} }] },
        { id: 22, name: 'sftpgo-on-admin', status: 1, trigger: 2, conditions: { provider_events: ['add'], options: { provider_objects: ['admin'] } },
          actions: [{ id: 23, name: 'sftpgo-backup', type: 4, options: {}, order: 1, relation_options: {} }] },
      ],
    };
    const r = await api('POST', '/api/v2/loaddata?from=sftpgo', backup);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ event_actions: 3, event_rules: 2 });
    expect((await api('GET', '/api/v2/eventrules/sftpgo-nightly')).json).toMatchObject({ trigger: 3, conditions: { schedules: [{ hour: '9' }] } });
    expect((await server.context.scheduler.tick(monday(9, 10))).started).toEqual(['hourly-transfer-reset', 'sftpgo-nightly']);
    await until('the imported rule to run', () => runsOf('sftpgo-nightly').length === 1);
    expect(runsOf('sftpgo-nightly')[0]).toMatchObject({ result: 'ok', actions: [{ name: 'sftpgo-user-quota', result: 'ok' }, { name: 'sftpgo-retention', result: 'ok' }] });
  });
});

describe('scheduled rules changed at run time', () => {
  test('a rule added through the API runs at its next hour, and no more once disabled or deleted', async () => {
    const rule = { name: 'api-hourly', status: 1, trigger: 3, conditions: { schedules: [{ hour: '10-11', day_of_week: '*', day_of_month: '*', month: '*' }], options: { names: [{ pattern: 'alice' }] } }, actions: [{ name: 'reset-transfer', order: 1 }] };
    expect((await api('POST', '/api/v2/eventrules', rule)).status).toBe(201);
    expect((await server.context.scheduler.tick(monday(10, 11))).started).toContain('api-hourly');
    await until('the new rule to run', () => runsOf('api-hourly').length === 1);
    const stored = (await api('GET', '/api/v2/eventrules/api-hourly')).json;
    expect((await api('PUT', '/api/v2/eventrules/api-hourly', { ...stored, status: 0 })).status).toBe(200);
    expect((await server.context.scheduler.tick(monday(11, 11))).started).not.toContain('api-hourly');
    expect((await api('PUT', '/api/v2/eventrules/api-hourly', { ...stored, status: 1 })).status).toBe(200);
    expect((await server.context.scheduler.tick(monday(10, 12))).started).toContain('api-hourly');
    await until('the re-enabled rule to run', () => runsOf('api-hourly').length === 2);
    expect((await api('DELETE', '/api/v2/eventrules/api-hourly')).status).toBe(200);
    expect((await server.context.scheduler.tick(monday(11, 12))).started).not.toContain('api-hourly');
  });

  test('an invalid schedule is refused by the API with the field and the reason', async () => {
    const r = await api('POST', '/api/v2/eventrules', { name: 'bad', trigger: 3, conditions: { schedules: [{ hour: '*/0', day_of_week: '*', day_of_month: '*', month: '*' }] }, actions: [{ name: 'reset-transfer' }] });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain('invalid schedule: hour \\"*/0\\": bad step in \\"*/0\\"');
  });
});
