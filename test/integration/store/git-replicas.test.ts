// Two servers following one config repository (reconcile.git) on one PostgreSQL store: a commit
// is applied by exactly one of them; a replica that can only start from its kept, older commit
// (the Git server refuses it) serves the newer state the store has instead of reverting it; a
// commit the recorded one descends from is older, and a force-push that rewinds the branch is
// followed (the branch wins).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigRepo, startGitHttpServer, type GitHttpServer } from '../../support/git-http.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { ConfigRepository } from '../../../src/reconcile/git-repo.ts';

const TOKEN = 'git-replicas-token';
let pg: Postgres;
let git: GitHttpServer;
let dir: string;
let key: string;
let repo: ConfigRepo;
const running: RunningServer[] = [];

/** The repository's file: the shared store and one user per name, no listeners (the replicas share a host). */
function repoConfig(users: string[]): string {
  return `${pg.providerYaml}  users_base_dir: ${join(dir, 'homes')}
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
${users.map((u) => `  - { username: ${u}, password: ${u}-Secret-1, permissions: { "/": ["*"] } }\n`).join('')}`;
}

const localConfig = () => `reconcile:\n  git:\n    url: ${git.url}/replicas.git\n    branch: main\n    path: sftpgo.yaml\n    interval: 3600\n    username: deploy\n    token: { env: GIT_SYNC_TOKEN }\n`;

async function start(n: number, token = TOKEN): Promise<RunningServer> {
  const dataDir = join(dir, `data${n}`);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'secrets.key'), key + '\n', { mode: 0o600 });
  const s = await startServer({ yaml: localConfig(), cwd: join(dir, `replica${n}`), dataDir, env: { PG_PASSWORD: pg.password, GIT_SYNC_TOKEN: token } });
  running.push(s);
  return s;
}

function storedUsers(): string[] {
  return pg.sql(`SELECT key FROM sftpgo_kv WHERE collection = 'users' ORDER BY key`, pg.database).split('\n').filter(Boolean);
}

const changes = (s: RunningServer, user: string) => s.logs.filter((l) => l.event === 'reconcile_change' && l.name === user).length;

beforeAll(async () => {
  dir = tempDir('git-replicas-');
  for (const n of [0, 1]) mkdirSync(join(dir, `replica${n}`), { recursive: true });
  key = randomBytes(32).toString('base64');
  git = await startGitHttpServer({ root: dir, token: TOKEN });
  pg = await startPostgres();
  repo = new ConfigRepo(dir, 'replicas');
}, 60_000);

afterAll(async () => {
  for (const s of running) await s.stop();
  await git?.close();
  await pg?.stop();
  removeTempDirs();
});

test('each commit is applied by one replica; a replica started from an older kept commit serves the newer state', async () => {
  const c1 = repo.push({ 'sftpgo.yaml': repoConfig(['ann']) }, 'ann');
  const [a, b] = await Promise.all([start(0), start(1)]);
  expect(changes(a, 'ann') + changes(b, 'ann')).toBe(1);
  for (const s of [a, b]) expect(s.logs.find((l) => l.event === 'serve_ready')).toMatchObject({ source: 'git', revision: c1 });

  // Both check the branch at once: one applies ben, the other finds nothing to change.
  const c2 = repo.push({ 'sftpgo.yaml': repoConfig(['ann', 'ben']) }, 'ben');
  a.proc.kill('SIGHUP');
  b.proc.kill('SIGHUP');
  for (const s of [a, b]) await s.waitForLog((l) => l.event === 'reload_applied' && l.revision === c2);
  expect(changes(a, 'ben') + changes(b, 'ben')).toBe(1);
  expect(storedUsers()).toEqual(['ann', 'ben']);

  // b stops; cid is pushed and applied by a.
  await b.stop();
  const c3 = repo.push({ 'sftpgo.yaml': repoConfig(['ann', 'ben', 'cid']) }, 'cid');
  a.proc.kill('SIGHUP');
  await a.waitForLog((l) => l.event === 'reload_applied' && l.revision === c3);

  // b comes back while the Git server refuses it: it starts from its kept c2, which cannot be
  // compared with c3 without the server, so the store's c3 serves and nothing is reverted.
  const back = await start(1, 'wrong-token');
  expect(back.logs.find((l) => l.event === 'git_sync_fallback')).toMatchObject({ revision: c2 });
  const older = back.logs.find((l) => l.event === 'config_revision_older')!;
  expect(String(older.ours)).toContain(c2);
  expect(String(older.store)).toContain(c3);
  expect(changes(back, 'cid')).toBe(0);
  expect(storedUsers()).toEqual(['ann', 'ben', 'cid']);
  await back.stop();

  // A force-push rewinds the branch to c1: the recorded c3 is no longer on it, so the branch wins.
  repo.rewind(c1);
  a.proc.kill('SIGHUP');
  expect(await a.waitForLog((l) => l.event === 'reload_applied' && l.revision === c1)).toMatchObject({ delete: 2 });
  expect(storedUsers()).toEqual(['ann']);
}, 180_000);

test('the repository answers where a commit stands against a recorded one on the branch now', async () => {
  const r = new ConfigRepo(dir, 'ancestry');
  const d1 = r.push({ 'sftpgo.yaml': 'users: []\n' }, 'one');
  const d2 = r.push({ 'sftpgo.yaml': 'users: []\n# two\n' }, 'two');
  const d3 = r.push({ 'sftpgo.yaml': 'users: []\n# three\n' }, 'three');
  const client = new ConfigRepository({
    source: { url: `${git.url}/ancestry.git`, branch: 'main', path: 'sftpgo.yaml', interval: 60, username: 'deploy', token: TOKEN },
    dir: join(dir, 'ancestry-client'),
  });
  const signal = AbortSignal.timeout(30_000);
  expect(await client.ancestry(d1, d2, signal)).toBe('stale');
  expect(await client.ancestry(d3, d2, signal)).toBe('descendant');
  expect(await client.ancestry(d2, d2, signal)).toBe('descendant');
  r.rewind(d1);
  const d4 = r.push({ 'sftpgo.yaml': 'users: []\n# four\n' }, 'four');
  // d3 was dropped by the force-push: a commit recorded from it yields to the branch.
  expect(await client.ancestry(d4, d3, signal)).toBe('off-branch');
  // d3 is recorded nowhere now; against d2 (also dropped) d4 wins too, and d1 is still stale against d4.
  expect(await client.ancestry(d1, d4, signal)).toBe('stale');
  expect(await client.ancestry(d3, d4, signal)).toBe('stale');
}, 60_000);
