// Quota and transfer usage shared by three servers on one PostgreSQL store, through OpenSSH sftp:
// what one replica charges reaches the others within the usage book's flush interval plus the
// change's delivery (measured below one second), a quota limit holds across replicas once the
// other replicas' uploads have reached it, and after uploads, downloads and deletes made through
// all three at once, the stored counters are exact when every replica has stopped.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, startReplica, type Postgres } from '../../support/postgres.ts';
import type { RunningServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'Replica-Usage-1';
const ADMIN_PASSWORD = 'Replica-Admin-1';
const QUOTA_FILES = 4;
let pg: Postgres;
let dir: string;
interface Replica {
  proc: RunningServer;
  sftp: number;
  api: number;
}
const replicas: Replica[] = [];

function yaml(sftp: number, api: number): string {
  return `${pg.providerYaml}  users_base_dir: ${join(dir, 'homes')}
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${api} }]
users:
  - { username: ursa, password: "${PASSWORD}", permissions: { "/": ["*"] } }
  - { username: sam, password: "${PASSWORD}", permissions: { "/": ["*"] } }
  - { username: quin, password: "${PASSWORD}", permissions: { "/": ["*"] }, quota_files: ${QUOTA_FILES} }
admins:
  - { username: root, password: "${ADMIN_PASSWORD}", permissions: ["*"] }
`;
}

async function start(n: number): Promise<void> {
  const { proc, sftp, api } = await startReplica({ pg, dir, n, yaml: (p) => yaml(p.sftp, p.api) });
  replicas.push({ proc, sftp, api });
}

beforeAll(async () => {
  dir = tempDir('replica-usage-');
  pg = await startPostgres();
  await start(0);
  await Promise.all([start(1), start(2)]);
}, 120_000);

afterAll(async () => {
  for (const r of replicas) await r.proc.stop();
  await pg?.stop();
  removeTempDirs();
});

/** An sftp batch run without blocking, so several replicas are driven at once. */
function sftpBatch(r: Replica, user: string, lines: string[]): Promise<{ status: number | null; stderr: string }> {
  const batch = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, lines.join('\n') + '\n');
  const p = spawn('sshpass', ['-p', PASSWORD, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-P', String(r.sftp), '-b', batch, `${user}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => p.once('exit', (status) => res({ status, stderr })));
}

const tokens = new Map<Replica, string>();

async function usageSeenBy(r: Replica, user: string): Promise<{ used_quota_size: number; used_quota_files: number }> {
  let token = tokens.get(r);
  if (!token) {
    const t = await fetch(`http://127.0.0.1:${r.api}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
    token = ((await t.json()) as { access_token: string }).access_token;
    tokens.set(r, token);
  }
  const u = await fetch(`http://127.0.0.1:${r.api}/api/v2/users/${user}`, { headers: { authorization: `Bearer ${token}` } });
  return (await u.json()) as { used_quota_size: number; used_quota_files: number };
}

function storedUsage(user: string): Record<string, number> {
  return JSON.parse(pg.sql(`SELECT value FROM sftpgo_kv WHERE collection = 'usage' AND key = 'user:${user}'`, pg.database));
}

function localFile(name: string, size: number): string {
  const p = join(dir, 'local', name);
  mkdirSync(join(dir, 'local'), { recursive: true });
  writeFileSync(p, randomBytes(size));
  return p;
}

describe('while the replicas run', () => {
  test('an upload through one replica shows in the usage the others see within the flush interval plus delivery', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    // Every replica's API answers once first: its first requests pay for compilation, not for usage.
    for (const r of replicas) await usageSeenBy(r, 'sam');
    const lags: number[] = [];
    for (let i = 0; i < 6; i++) {
      const through = [a, b, c][i % 3]!;
      const other = [a, b, c][(i + 1) % 3]!;
      const f = localFile(`stale-${i}`, 1000 + i);
      expect(sftpBatchSync({ port: through.sftp, user: 'sam', password: PASSWORD, dir, lines: [`put ${f}`] }).status).toBe(0);
      const t0 = Date.now();
      while ((await usageSeenBy(other, 'sam')).used_quota_files < i + 1 && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 10));
      lags.push(Date.now() - t0);
    }
    console.log(`usage seen by another replica after ${lags.join(', ')} ms`);
    // The bound: the book's 200 ms flush interval plus the change's delivery, well under a second.
    for (const lag of lags) expect(lag).toBeLessThan(1000);
    expect((await usageSeenBy(c, 'sam')).used_quota_size).toBe(1000 + 1001 + 1002 + 1003 + 1004 + 1005);
  });

  test('a quota limit holds across replicas: files uploaded through A count against uploads through B', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const files = [0, 1, 2, 3, 4].map((i) => localFile(`q-${i}`, 500));
    expect((await sftpBatch(a, 'quin', [`put ${files[0]}`, `put ${files[1]}`])).status).toBe(0);
    // Past the flush interval and the change's delivery.
    await new Promise((res) => setTimeout(res, 600));
    const viaB = await sftpBatch(b, 'quin', [`-put ${files[2]}`, `-put ${files[3]}`, `-put ${files[4]}`]);
    expect(viaB.stderr).toContain('Failure');
    expect(readdirSync(join(dir, 'homes', 'quin')).filter((n) => n.startsWith('q-'))).toHaveLength(QUOTA_FILES);
    await new Promise((res) => setTimeout(res, 600));
    expect((await usageSeenBy(c, 'quin')).used_quota_files).toBe(QUOTA_FILES);
  });
});

describe('after every replica stops', () => {
  test('uploads, downloads and deletes through three replicas at once leave exact quota and transfer counters', async () => {
    const PER = 15;
    const DELETED = 5;
    const sizes = replicas.map((_, i) => Array.from({ length: PER }, (_, j) => 3000 + 7919 * i + 131 * j));
    const local = sizes.map((row, i) => row.map((s, j) => localFile(`u-${i}-${j}`, s)));
    const uploads = await Promise.all(replicas.map((r, i) => sftpBatch(r, 'ursa', [`mkdir r${i}`, ...local[i]!.map((f) => `put ${f} r${i}/`)])));
    for (const u of uploads) expect(u).toEqual({ status: 0, stderr: "" });
    // Each replica downloads the files of another that stay, and deletes some of its own, at once.
    const down = join(dir, 'down');
    mkdirSync(down, { recursive: true });
    const mixed = await Promise.all(replicas.map((r, i) => {
      const other = (i + 1) % replicas.length;
      return sftpBatch(r, 'ursa', [
        ...local[other]!.slice(DELETED).map((_, j) => `get r${other}/u-${other}-${j + DELETED} ${join(down, `${i}-${j}`)}`),
        ...Array.from({ length: DELETED }, (_, j) => `rm r${i}/u-${i}-${j}`),
      ]);
    }));
    for (const m of mixed) expect(m).toEqual({ status: 0, stderr: "" });
    for (const r of replicas) expect(await r.proc.stop()).toBe(0);

    const all = sizes.flat().reduce((x, y) => x + y, 0);
    const kept = sizes.map((row) => row.slice(DELETED)).flat();
    const row = storedUsage('ursa');
    expect(row.used_quota_files).toBe(kept.length);
    expect(row.used_quota_size).toBe(kept.reduce((x, y) => x + y, 0));
    expect(row.used_upload_data_transfer).toBe(all);
    expect(row.used_download_data_transfer).toBe(kept.reduce((x, y) => x + y, 0));
  }, 120_000);
});
