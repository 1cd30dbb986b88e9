// Shared usage under load: three servers on one PostgreSQL store, several OpenSSH sftp clients per
// replica uploading, downloading and deleting one user's files at once. When the last client is
// done every replica must show the final counters within a second, and after all stop the stored
// quota and transfer counters must equal what the clients did. Prints the figures for RESULTS.md.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/net.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { removeTempDirs, tempDir } from '../support/tmp.ts';

const PASSWORD = 'Replica-Load-1';
const ADMIN_PASSWORD = 'Replica-Admin-1';
const REPLICAS = 3;
const CLIENTS_PER_REPLICA = 3;
const FILES_PER_CLIENT = 150;
const DELETED_PER_CLIENT = 50;
let pg: Postgres;
let dir: string;
interface Replica {
  proc: RunningServer;
  sftp: number;
  api: number;
  token: string;
}
const replicas: Replica[] = [];

async function start(n: number): Promise<void> {
  const sftp = await freePort();
  const api = await freePort();
  const dataDir = join(dir, `data${n}`);
  mkdirSync(dataDir, { recursive: true });
  if (n > 0) copyFileSync(join(dir, 'data0', 'secrets.key'), join(dataDir, 'secrets.key'));
  const yaml = `${pg.providerYaml}  users_base_dir: ${join(dir, 'homes')}
common: { max_per_host_connections: 0 }
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${api} }]
users:
  - { username: lola, password: "${PASSWORD}", permissions: { "/": ["*"] } }
admins:
  - { username: root, password: "${ADMIN_PASSWORD}", permissions: ["*"] }
`;
  const proc = await startServer({ yaml, cwd: tempDir(`load${n}-`), dataDir, env: { PG_PASSWORD: pg.password } });
  const t = await fetch(`http://127.0.0.1:${api}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
  replicas.push({ proc, sftp, api, token: ((await t.json()) as { access_token: string }).access_token });
}

beforeAll(async () => {
  dir = tempDir('replica-load-');
  pg = await startPostgres();
  await start(0);
  for (let n = 1; n < REPLICAS; n++) await start(n);
}, 300_000);

afterAll(async () => {
  for (const r of replicas) await r.proc.stop();
  await pg?.stop();
  removeTempDirs();
});

function sftpBatch(r: Replica, lines: string[]): Promise<number | null> {
  const batch = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, lines.join('\n') + '\n');
  const p = spawn('sshpass', ['-p', PASSWORD, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-P', String(r.sftp), '-b', batch, 'lola@127.0.0.1'], { stdio: 'ignore' });
  return new Promise((res) => p.once('exit', (status) => res(status)));
}

async function filesSeenBy(r: Replica): Promise<number> {
  const u = await fetch(`http://127.0.0.1:${r.api}/api/v2/users/lola`, { headers: { authorization: `Bearer ${r.token}` } });
  return ((await u.json()) as { used_quota_files: number }).used_quota_files;
}

function stored(): Record<string, number> {
  return JSON.parse(pg.sql(`SELECT value FROM sftpgo_kv WHERE collection = 'usage' AND key = 'user:lola'`, pg.database));
}

test('concurrent uploads, downloads and deletes through three replicas: every replica shows the final counts within a second, the stored counters are exact', async () => {
  const clients = replicas.flatMap((r, i) => Array.from({ length: CLIENTS_PER_REPLICA }, (_, k) => ({ r, id: `${i}-${k}` })));
  const sizes = new Map(clients.map((c, ci) => [c.id, Array.from({ length: FILES_PER_CLIENT }, (_, j) => 1000 + 977 * ci + 53 * j)]));
  mkdirSync(join(dir, 'local'), { recursive: true });
  mkdirSync(join(dir, 'down'), { recursive: true });
  for (const c of clients) sizes.get(c.id)!.forEach((s, j) => writeFileSync(join(dir, 'local', `${c.id}-${j}`), randomBytes(s)));

  const t0 = Date.now();
  const statuses = await Promise.all(clients.map((c) => {
    const mine = sizes.get(c.id)!;
    const lines = [
      `mkdir c${c.id}`,
      ...mine.map((_, j) => `put ${join(dir, 'local', `${c.id}-${j}`)} c${c.id}/`),
      ...mine.map((_, j) => `get c${c.id}/${c.id}-${j} ${join(dir, 'down', `${c.id}-${j}`)}`),
      ...Array.from({ length: DELETED_PER_CLIENT }, (_, j) => `rm c${c.id}/${c.id}-${j}`),
    ];
    return sftpBatch(c.r, lines);
  }));
  const elapsed = Date.now() - t0;
  for (const s of statuses) expect(s).toBe(0);

  const all = [...sizes.values()].flat();
  const kept = [...sizes.values()].flatMap((row) => row.slice(DELETED_PER_CLIENT));
  const t1 = Date.now();
  for (const r of replicas) while ((await filesSeenBy(r)) !== kept.length) {
    expect(Date.now() - t1).toBeLessThan(1000);
    await new Promise((res) => setTimeout(res, 10));
  }
  const settled = Date.now() - t1;

  for (const r of replicas) expect(await r.proc.stop()).toBe(0);
  const row = stored();
  expect(row.used_quota_files).toBe(kept.length);
  expect(row.used_quota_size).toBe(kept.reduce((x, y) => x + y, 0));
  expect(row.used_upload_data_transfer).toBe(all.reduce((x, y) => x + y, 0));
  expect(row.used_download_data_transfer).toBe(all.reduce((x, y) => x + y, 0));
  console.log(`${clients.length} clients, ${all.length} uploads, ${all.length} downloads, ${clients.length * DELETED_PER_CLIENT} deletes in ${elapsed} ms; every replica showed the final count ${settled} ms after the last client; stored counters exact`);
}, 600_000);
