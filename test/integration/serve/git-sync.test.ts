// reconcile.git: `serve` follows a config file in a Git repository served over smart HTTP (git
// http-backend behind Basic auth). A pushed commit is applied within the interval and its user logs
// in with OpenSSH sftp; a broken commit is refused while the last good revision keeps serving; a fix
// applies; the revision shows in status, metrics, `version --server` and the apply's log line; a
// wrong token is refused with a line saying so.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { ConfigRepo, startGitHttpServer, type GitHttpServer } from '../../support/git-http.ts';
import { freePort } from '../../support/net.ts';
import { run, type RunResult } from '../../support/run.ts';
import { BUN, ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { ConfigRepository, gitErrorMessage, type GitSource } from '../../../src/reconcile/git-repo.ts';

const TOKEN = 'git-token-1234';
const ADMIN_PASSWORD = 'Admin-Secret-1';

let root: string;
let git: GitHttpServer;

beforeAll(async () => {
  root = tempDir('git-sync-');
  git = await startGitHttpServer({ root, token: TOKEN });
});

afterAll(async () => {
  await git?.close();
  removeTempDirs();
});

/** OpenSSH sftp with a password (sshpass), run without blocking: the Git server shares this process. */
function sftpLogin(port: number, user: string, password: string, dir: string): Promise<RunResult> {
  const batch = join(dir, `batch-${user}-${Date.now()}`);
  writeFileSync(batch, 'pwd\n');
  const opts = ['-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
  return run('sshpass', ['-p', password, 'sftp', ...opts, '-P', String(port), '-b', batch, `${user}@127.0.0.1`]);
}

/** The CLI in `cwd` with one more variable, without blocking (the Git server shares this process). */
function cli(cwd: string, env: string, args: string[]): Promise<RunResult> {
  return run('env', ['-C', cwd, env, BUN, join(ROOT, 'src/main.ts'), ...args]);
}

interface Ports {
  sftp: number;
  api: number;
  telemetry: number;
}

/** The repository's config: the listeners, an admin, and one user per name. */
function repoConfig(dir: string, ports: Ports, users: string[], extra = ''): string {
  return `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]
telemetry:
  bind_port: ${ports.telemetry}
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
admins:
  - { username: root, password: "${ADMIN_PASSWORD}", permissions: ["*"] }
users:
${users.map((u) => `  - { username: ${u}, password: ${u}-pw, home_dir: ${join(dir, 'homes', u)}, permissions: { "/": ["*"] } }\n`).join('')}${extra}`;
}

function localConfig(url: string, extra = ''): string {
  return `reconcile:\n  git:\n    url: ${url}\n    branch: main\n    path: config/sftpgo.yaml\n    interval: 5\n    username: deploy\n    token: { env: GIT_SYNC_TOKEN }\n${extra}`;
}

async function status(apiPort: number): Promise<{ config: Record<string, unknown> }> {
  const t = await fetch(`http://127.0.0.1:${apiPort}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
  const { access_token } = (await t.json()) as { access_token: string };
  const r = await fetch(`http://127.0.0.1:${apiPort}/api/v2/status`, { headers: { authorization: `Bearer ${access_token}` } });
  expect(r.status).toBe(200);
  return (await r.json()) as { config: Record<string, unknown> };
}

test('a pushed commit applies within the interval; a broken one is refused and the last good revision serves', async () => {
  const dir = tempDir('git-sync-serve-');
  mkdirSync(join(dir, 'homes'), { recursive: true });
  const ports = { sftp: await freePort(), api: await freePort(), telemetry: await freePort() };
  const repo = new ConfigRepo(root, 'serve');
  const c1 = repo.push({ 'config/sftpgo.yaml': repoConfig(dir, ports, ['ann']) }, 'ann');
  const s = await startServer({ yaml: localConfig(`${git.url}/serve.git`), cwd: dir, env: { GIT_SYNC_TOKEN: TOKEN } });
  try {
    expect(await s.waitForLog((l) => l.event === 'serve_ready')).toMatchObject({ source: 'git', revision: c1, create: 2 });
    expect((await sftpLogin(ports.sftp, 'ann', 'ann-pw', dir)).status).toBe(0);
    expect((await sftpLogin(ports.sftp, 'ben', 'ben-pw', dir)).status).not.toBe(0);

    // A new commit adds ben: applied by the next check, without a signal.
    const pushedAt = Date.now();
    const c2 = repo.push({ 'config/sftpgo.yaml': repoConfig(dir, ports, ['ann', 'ben']) }, 'ben');
    const applied = await s.waitForLog((l) => l.event === 'reload_applied' && l.revision === c2, 15_000);
    expect(Date.now() - pushedAt).toBeLessThan(5_000 + 3_000);
    expect(applied).toMatchObject({ source: 'git', create: 1, update: 0, delete: 0 });
    const ben = await sftpLogin(ports.sftp, 'ben', 'ben-pw', dir);
    expect(ben.status).toBe(0);
    expect(ben.stdout).toContain('Remote working directory: /');

    let st = await status(ports.api);
    expect(st.config).toMatchObject({ source: 'git', revision: c2, last_error: '' });
    expect(st.config.applied_at as number).toBeGreaterThanOrEqual(pushedAt);

    // A broken commit (a relative home dir) is refused; SIGHUP checks at once.
    const c3 = repo.push({ 'config/sftpgo.yaml': repoConfig(dir, ports, ['ann', 'ben']) + '  - { username: cid, password: cid-pw, home_dir: relative/oops }\n' }, 'broken');
    s.proc.kill('SIGHUP');
    const rejected = await s.waitForLog((l) => l.event === 'git_sync_rejected' && l.revision === c3);
    expect(rejected.serving).toBe(c2);
    expect(JSON.stringify(rejected.errors)).toContain('users[2].home_dir: must be an absolute path');
    expect((await sftpLogin(ports.sftp, 'ben', 'ben-pw', dir)).status).toBe(0);
    st = await status(ports.api);
    expect(st.config).toMatchObject({ source: 'git', revision: c2 });
    expect(st.config.last_error).toContain(`revision ${c3} refused`);
    expect(st.config.last_error).toContain('must be an absolute path');

    const metrics = await (await fetch(`http://127.0.0.1:${ports.telemetry}/metrics`)).text();
    expect(metrics).toContain(`sftpgo_config_revision_info{revision="${c2}"} 1`);
    expect(metrics).toContain('sftpgo_config_apply_failures_total{stage="invalid"} 1');
    expect(metrics).toMatch(/\nsftpgo_config_last_apply_timestamp_seconds \d{10}\n/);

    // The fix applies; the refused commit is not retried in between.
    const c4 = repo.push({ 'config/sftpgo.yaml': repoConfig(dir, ports, ['ann', 'ben', 'cid']) }, 'fixed');
    expect(await s.waitForLog((l) => l.event === 'reload_applied' && l.revision === c4, 15_000)).toMatchObject({ create: 1 });
    expect(s.logs.filter((l) => l.event === 'git_sync_rejected')).toHaveLength(1);
    expect((await sftpLogin(ports.sftp, 'cid', 'cid-pw', dir)).status).toBe(0);
    expect((await status(ports.api)).config).toMatchObject({ revision: c4, last_error: '' });

    // Read beside the running server, from its store.
    const v = runCli(['version', '--server', '--data-dir', s.dataDir], { cwd: dir });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`config: git revision ${c4} applied `);
    expect(v.stdout).toContain(`(${git.url}/serve.git branch main, config/sftpgo.yaml)`);
  } finally {
    expect(await s.stop()).toBe(0);
  }

  // A restart while the Git server refuses us starts from the last applied revision.
  const restarted = await startServer({ yaml: localConfig(`${git.url}/serve.git`), cwd: dir, env: { GIT_SYNC_TOKEN: 'wrong' } });
  try {
    const failed = await restarted.waitForLog((l) => l.event === 'git_sync_failed');
    expect(failed.error).toContain('the server refused the credentials (HTTP 401)');
    expect(await restarted.waitForLog((l) => l.event === 'serve_ready')).toMatchObject({ revision: repo.head() });
    expect((await sftpLogin(ports.sftp, 'cid', 'cid-pw', dir)).status).toBe(0);
    expect((await status(ports.api)).config.last_error).toContain('refused the credentials');
  } finally {
    expect(await restarted.stop()).toBe(0);
  }
}, 120_000);

test('a wrong token with nothing applied before is refused at start, with a line saying why', async () => {
  const dir = tempDir('git-sync-token-');
  const ports = { sftp: await freePort(), api: await freePort(), telemetry: await freePort() };
  const repo = new ConfigRepo(root, 'token');
  repo.push({ 'config/sftpgo.yaml': repoConfig(dir, ports, ['ann']) }, 'ann');
  const refusedBefore = git.refused();
  writeFileSync(join(dir, 'sftpgo.yaml'), localConfig(`${git.url}/token.git`));
  const r = await cli(dir, 'GIT_SYNC_TOKEN=not-the-token', ['serve', '--config', join(dir, 'sftpgo.yaml'), '--data-dir', join(dir, 'data')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('"event":"git_sync_failed"');
  expect(r.stderr).toContain(`${git.url}/token.git: the server refused the credentials (HTTP 401): check reconcile.git.token and username`);
  expect(r.stderr).toContain('reconcile.git: no config to start with');
  expect(git.refused()).toBeGreaterThan(refusedBefore);
});

test('the local file holds only reconcile.git (and the data dir); the repository file may not carry it', async () => {
  const dir = tempDir('git-sync-local-');
  writeFileSync(join(dir, 'local.yaml'), localConfig('https://git.example.com/cfg.git', 'users:\n  - { username: x, password: y }\n'));
  const v = runCli(['validate', '--config', join(dir, 'local.yaml')], { cwd: dir, env: { GIT_SYNC_TOKEN: TOKEN } });
  expect(v.code).toBe(1);
  expect(v.stderr).toContain("users: with reconcile.git set this key belongs in the repository's config file");
  writeFileSync(join(dir, 'gen.yaml'), localConfig('https://git.example.com/cfg.git').replace('{ env: GIT_SYNC_TOKEN }', '{ generate: true }'));
  const g = runCli(['validate', '--config', join(dir, 'gen.yaml')], { cwd: dir });
  expect(g.code).toBe(1);
  expect(g.stderr).toContain('reconcile.git.token: a token is issued by the Git server, it cannot be generated');
  writeFileSync(join(dir, 'bare.yaml'), localConfig('https://git.example.com/cfg.git'));
  const p = runCli(['plan', '--config', join(dir, 'bare.yaml'), '--data-dir', join(dir, 'data')], { cwd: dir, env: { GIT_SYNC_TOKEN: TOKEN } });
  expect(p.code).toBe(2);
  expect(p.stderr).toContain('only says where the config is (reconcile.git): run plan on a checkout of config/sftpgo.yaml');

  const ports = { sftp: await freePort(), api: await freePort(), telemetry: await freePort() };
  const repo = new ConfigRepo(root, 'nested');
  repo.push({ 'config/sftpgo.yaml': repoConfig(dir, ports, ['ann'], `reconcile:\n  git: { url: ${git.url}/other.git }\n`) }, 'nested');
  writeFileSync(join(dir, 'sftpgo.yaml'), localConfig(`${git.url}/nested.git`, 'data_provider:\n  data_dir: ./store\n'));
  const r = await cli(dir, `GIT_SYNC_TOKEN=${TOKEN}`, ['serve', '--config', join(dir, 'sftpgo.yaml')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('reconcile.git: reconcile.git belongs in the local config file, not in the repository');

  // Keys read from the local file before any fetch are refused in the repository's file.
  const local = new ConfigRepo(root, 'local-keys');
  local.push({ 'config/sftpgo.yaml': repoConfig(dir, ports, ['ann'], 'reconcile: { watch: true }\n').replace('data_provider:\n', 'data_provider:\n  data_dir: /tmp/elsewhere\n') }, 'local keys');
  writeFileSync(join(dir, 'sftpgo.yaml'), localConfig(`${git.url}/local-keys.git`));
  const k = await cli(dir, `GIT_SYNC_TOKEN=${TOKEN}`, ['serve', '--config', join(dir, 'sftpgo.yaml')]);
  expect(k.status).toBe(1);
  expect(k.stderr).toContain('reconcile.watch: there is no local file to watch');
  expect(k.stderr).toContain('data_provider.data_dir: the data dir is opened before the repository is read');
});

test('the repository client says what is wrong: no branch, no file, no token, nobody listening', async () => {
  const repo = new ConfigRepo(root, 'client');
  const c1 = repo.push({ 'sftpgo.yaml': 'users: []\n' }, 'one');
  const dir = tempDir('git-sync-client-');
  const client = (source: Partial<GitSource>) =>
    new ConfigRepository({ source: { url: `${git.url}/client.git`, branch: 'main', path: 'sftpgo.yaml', interval: 5, username: 'u', token: TOKEN, ...source }, dir });
  const failure = async (p: Promise<unknown>, source: Partial<GitSource> = {}) => {
    try {
      await p;
    } catch (err) {
      return gitErrorMessage(err, { url: `${git.url}/client.git`, ...source });
    }
    throw new Error('expected a failure');
  };
  const signal = AbortSignal.timeout(30_000);

  expect(await client({}).head(signal)).toBe(c1);
  expect(await client({}).fetch(signal)).toEqual({ commit: c1, text: 'users: []\n' });
  expect(await failure(client({ branch: 'prod' }).head(signal))).toContain('no branch "prod"');
  expect(await failure(client({ path: 'missing.yaml' }).fetch(signal))).toContain(`missing.yaml is not in commit ${c1.slice(0, 12)}`);
  const anonymous = { url: `${git.url}/client.git` };
  const noToken = new ConfigRepository({ source: { ...anonymous, branch: 'main', path: 'sftpgo.yaml', interval: 5, username: 'git' }, dir });
  expect(await failure(noToken.head(signal), {})).toContain('the server refused the credentials (HTTP 401): set reconcile.git.token');
  const nobody = `http://127.0.0.1:${await freePort()}/x.git`;
  expect(await failure(client({ url: nobody }).head(signal), { url: nobody })).toStartWith(`${nobody}: `);
  // Nothing is left behind by the fetches: only what an apply keeps would stay.
  expect(readdirSync(dir)).toEqual([]);
});
