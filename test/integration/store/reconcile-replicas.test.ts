// Three servers (separate processes and data dirs) started at once on one PostgreSQL store with the
// same new config: exactly one applies it, the others find nothing to change. Then the revision
// rule: a replica whose file is older (other content, modified before the recorded one) says so,
// reconciles nothing and serves the store's newer state, and status and `plan` show it; a newer
// file applied on one replica is not reverted by another still holding the old one. And one set of
// SSH host keys, kept in the store, for every replica: OpenSSH checking host keys strictly against
// a known_hosts made from one replica logs in on the others.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const ADMIN_PASSWORD = 'Replica-Admin-1';
let pg: Postgres;
let dir: string;
let key: string;
const replicas: { proc: RunningServer; api: number; sftp: number }[] = [];
/** The config file of the replica that applied the first revision. */
let appliedFile = '';

function yaml(api: number, users: string[], sftp = 0): string {
  return `${pg.providerYaml}  users_base_dir: ${join(dir, 'homes')}
  password_hashing: { bcrypt_options: { cost: 4 } }
httpd:
  bindings: [{ address: 127.0.0.1, port: ${api} }]
${sftp ? `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${sftp} }]\n` : ''}admins:
  - { username: root, password: "${ADMIN_PASSWORD}", permissions: ["*"] }
users:
${users.map((u) => `  - { username: ${u}, password: ${u}-Secret-1, permissions: { "/": ["*"] } }\n`).join('')}`;
}

/** A replica's data dir holding the shared secrets key (as an operator copies it). */
function dataDir(n: number): string {
  const d = join(dir, `data${n}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'secrets.key'), key + '\n', { mode: 0o600 });
  return d;
}

async function start(n: number, users: string[]): Promise<{ proc: RunningServer; api: number; sftp: number }> {
  const api = await freePort();
  const sftp = await freePort();
  const proc = await startServer({ yaml: yaml(api, users, sftp), cwd: tempDir(`rev-replica${n}-`), dataDir: dataDir(n), env: { PG_PASSWORD: pg.password } });
  return { proc, api, sftp };
}

async function admin(api: number, path: string): Promise<Response> {
  const t = await fetch(`http://127.0.0.1:${api}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
  const { access_token } = (await t.json()) as { access_token: string };
  return fetch(`http://127.0.0.1:${api}${path}`, { headers: { authorization: `Bearer ${access_token}` } });
}

async function usernames(api: number): Promise<string[]> {
  const r = await admin(api, '/api/v2/users');
  expect(r.status).toBe(200);
  return ((await r.json()) as { username: string }[]).map((u) => u.username).sort();
}

beforeAll(async () => {
  dir = tempDir('rev-replicas-');
  key = randomBytes(32).toString('base64');
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const r of replicas) await r.proc.stop();
  await pg?.stop();
  removeTempDirs();
});

test('three replicas started at once with the same new file: exactly one applies it', async () => {
  replicas.push(...(await Promise.all([0, 1, 2].map((n) => start(n, ['ann', 'ben'])))));
  // root, ann and ben: three records created, all by one replica.
  const changes = replicas.map((r) => r.proc.logs.filter((l) => l.event === 'reconcile_change').length);
  expect(changes.sort()).toEqual([0, 0, 3]);
  const applier = replicas.find((r) => r.proc.logs.some((l) => l.event === 'reconcile_change'))!;
  appliedFile = applier.proc.configPath;
  for (const r of replicas) {
    const ready = r.proc.logs.find((l) => l.event === 'serve_ready')!;
    expect(ready).toMatchObject(r === applier ? { create: 3 } : { create: 0, update: 0, delete: 0 });
    expect(await usernames(r.api)).toEqual(['ann', 'ben']);
  }
  const status = (await (await admin(applier.api, '/api/v2/status')).json()) as { config: Record<string, unknown> };
  expect(status.config).toMatchObject({ source: 'file', revision_check: 'first', stored_revision: { source: 'file', file: applier.proc.configPath } });
  const stored = status.config.stored_revision as { node: string; hash: string };
  // The node's name: by default the host name and the port of its first API binding.
  expect(stored.node).toEndWith(`:${applier.api}`);
  expect(stored.hash).toMatch(/^[\w-]{43}$/);
}, 120_000);

test('a replica started with an older file serves the newer state, says so, and plan shows it', async () => {
  const api = await freePort();
  const cwd = tempDir('rev-old-');
  // Other content (no ben, a cid) in a file modified an hour before the one recorded.
  const configPath = join(cwd, 'sftpgo.yaml');
  writeFileSync(configPath, yaml(api, ['ann', 'cid']));
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(configPath, hourAgo, hourAgo);
  const old = await startServer({ cwd, dataDir: dataDir(3), extraArgs: ['--config', configPath], env: { PG_PASSWORD: pg.password } });
  replicas.push({ proc: old, api, sftp: 0 });
  const warning = old.logs.find((l) => l.event === 'config_revision_older')!;
  expect(warning).toBeDefined();
  expect(warning.level).toBe('warn');
  expect(String(warning.ours)).toContain(configPath);
  expect(String(warning.store)).toContain(appliedFile);
  expect(String(warning.store_node)).toMatch(/:\d+$/);
  expect(old.logs.filter((l) => l.event === 'reconcile_change')).toHaveLength(0);
  // ben stays, cid is not made: the store's state serves here too.
  expect(await usernames(api)).toEqual(['ann', 'ben']);
  const status = (await (await admin(api, '/api/v2/status')).json()) as { config: Record<string, unknown> };
  expect(status.config.revision_check).toBe('older');
  expect(String(status.config.warning)).toContain('is older than the revision the store has');

  const plan = runCli(['plan', '--config', configPath, '--data-dir', join(dir, 'data3')], { cwd, env: { PG_PASSWORD: pg.password } });
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('not applied: this config');
  expect(plan.stdout).toContain('is older than the revision the store has');
  const json = JSON.parse(runCli(['plan', '--json', '--config', configPath, '--data-dir', join(dir, 'data3')], { cwd, env: { PG_PASSWORD: pg.password } }).stdout);
  expect(json.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
  expect(json.older).toContain('before the recorded one');
}, 120_000);

test('a newer file applied on one replica is not reverted by a reload of another still holding the old file', async () => {
  const [a, b] = [replicas[0]!, replicas[1]!];
  // The deploy reaches b first: its file gains dan (modified now, after the recorded file).
  writeFileSync(b.proc.configPath, yaml(b.api, ['ann', 'ben', 'dan'], b.sftp));
  b.proc.proc.kill('SIGHUP');
  expect(await b.proc.waitForLog((l) => l.event === 'reload_applied')).toMatchObject({ create: 1, update: 0, delete: 0 });
  // a still has the file without dan, modified before b's: a reload there changes nothing.
  a.proc.proc.kill('SIGHUP');
  const older = await a.proc.waitForLog((l) => l.event === 'config_revision_older');
  expect(String(older.store)).toContain(b.proc.configPath);
  expect(a.proc.logs.some((l) => l.event === 'reload_applied')).toBe(false);
  for (const r of replicas) expect(await usernames(r.api)).toEqual(['ann', 'ben', 'dan']);
  // The deploy reaches a: the same content as recorded, nothing to change, and a is current again.
  writeFileSync(a.proc.configPath, yaml(a.api, ['ann', 'ben', 'dan'], a.sftp));
  a.proc.proc.kill('SIGHUP');
  expect(await a.proc.waitForLog((l) => l.event === 'reload_applied')).toMatchObject({ create: 0, update: 0, delete: 0 });
  const status = (await (await admin(a.api, '/api/v2/status')).json()) as { config: Record<string, unknown> };
  expect(status.config.revision_check).toBe('same');
  expect(status.config.warning).toBeUndefined();
}, 120_000);

/** The host key lines a replica's SSH server offers, named `alias` (as known_hosts holds them). */
function keyscan(port: number, alias: string): string[] {
  const r = spawnSync('ssh-keyscan', ['-p', String(port), '-t', 'ed25519,ecdsa,rsa', '127.0.0.1'], { encoding: 'utf8', timeout: 30_000 });
  const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
  return lines.map((l) => l.replace(/^\S+/, alias)).sort();
}

test('every replica presents the one set of host keys the store keeps; OpenSSH with strict checking accepts each', () => {
  const sshReplicas = replicas.filter((r) => r.sftp > 0);
  const first = keyscan(sshReplicas[0]!.sftp, 'replicas');
  expect(first).toHaveLength(3);
  for (const r of sshReplicas) {
    expect(keyscan(r.sftp, 'replicas')).toEqual(first);
    // Nothing generated per replica.
    expect(existsSync(join(r.proc.dataDir, 'host_keys'))).toBe(false);
  }
  // Kept once in the store, private keys sealed.
  const kept = pg.sql(`SELECT value FROM sftpgo_kv WHERE collection = 'meta' AND key = 'sftpd_host_keys'`, pg.database);
  expect(kept).toContain('ssh-ed25519');
  expect(kept).not.toContain('PRIVATE KEY');

  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, first.join('\n') + '\n');
  for (const r of sshReplicas) {
    const batch = join(dir, `batch-${r.sftp}`);
    writeFileSync(batch, 'pwd\n');
    const opts = ['-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'HostKeyAlias=replicas', '-o', 'LogLevel=ERROR'];
    const login = spawnSync('sshpass', ['-p', 'ann-Secret-1', 'sftp', ...opts, '-P', String(r.sftp), '-b', batch, 'ann@127.0.0.1'], { encoding: 'utf8', timeout: 60_000 });
    expect(login.stderr).not.toContain('HOST IDENTIFICATION HAS CHANGED');
    expect(login.status).toBe(0);
  }
  // A key the file does not hold is refused: the check is real.
  writeFileSync(knownHosts, first.map((l) => l.replace(/\S+$/, 'AAAAC3NzaC1lZDI1NTE5AAAAIJ8bXo2hK0oXkQdOQj6t3B9mK8Rj1cAkhH2xvB0D9vQ7')).join('\n') + '\n');
  const refused = spawnSync('sshpass', ['-p', 'ann-Secret-1', 'sftp', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'HostKeyAlias=replicas', '-P', String(sshReplicas[1]!.sftp), '-b', join(dir, `batch-${sshReplicas[1]!.sftp}`), 'ann@127.0.0.1'], { encoding: 'utf8', timeout: 60_000 });
  expect(refused.status).not.toBe(0);
}, 120_000);

test('configured host_keys files win over the keys the store keeps', async () => {
  const api = await freePort();
  const sftp = await freePort();
  const cwd = tempDir('rev-ownkey-');
  const keyFile = join(cwd, 'own_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  const text = yaml(api, ['ann', 'ben', 'dan'], sftp).replace(`port: ${sftp} }]\n`, `port: ${sftp} }]\n  host_keys: [${keyFile}]\n`);
  const own = await startServer({ yaml: text, cwd, dataDir: dataDir(4), env: { PG_PASSWORD: pg.password } });
  replicas.push({ proc: own, api, sftp: 0 });
  const offered = keyscan(sftp, 'replicas');
  expect(offered).toHaveLength(1);
  expect(offered[0]!.split(' ')[2]).toBe(readFileSync(`${keyFile}.pub`, 'utf8').split(' ')[1]);
  expect(keyscan(replicas[0]!.sftp, 'replicas')).not.toContain(offered[0]);
}, 60_000);
