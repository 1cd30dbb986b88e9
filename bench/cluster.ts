// What the shared store costs: the same server as 1 replica on LMDB, 1 replica on PostgreSQL, and
// 3 replicas on PostgreSQL behind HAProxy (TCP, PROXY v2), plus 1 replica on PostgreSQL behind
// HAProxy to tell the balancer's hop from the store's cost. The user's files live in one local
// directory every replica of this machine shares, so storage is the same in every row and the
// differences are the store's (and the balancer's). The figure is latency, not speed-up: one
// client at a time, OpenSSH's sftp with its default settings (public key login). Rounds are
// interleaved across the setups, which all run at once, so a busy machine slows each alike.
//
//   bun bench/cluster.ts [--rounds 3] [--logins 100] [--small-files 1000] [--size-mb 256] [--binary dist/sftpgo]
//
// --logins is per round (300 in all by default). Prints a Markdown table with ratios of times
// against the 1-replica LMDB row (a transfer's time is its session's wall time less a login), and
// one of CPU per operation, the replicas' and PostgreSQL's apart: on a busy machine the steadier.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCluster, type Cluster } from '../test/support/cluster.ts';
import { cpuSecs, processTree } from './proc.ts';
import { removeTempDirs, tempDir } from '../test/support/tmp.ts';
import { clientKey, writeBigFile } from './fixtures.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const ROUNDS = Number(opt('--rounds', '3'));
const LOGINS = Number(opt('--logins', '100'));
const SMALL_FILES = Number(opt('--small-files', '1000'));
const SIZE_MB = Number(opt('--size-mb', '256'));
const defaultBinary = join(root, 'dist/sftpgo');
const binaryOpt = opt('--binary', existsSync(defaultBinary) ? defaultBinary : '');
const BINARY = binaryOpt ? resolve(binaryOpt) : undefined;

const work = tempDir('bench-cluster-');
const { key, pub } = clientKey(work);
const big = join(work, 'big.bin');
writeBigFile(big, SIZE_MB);
const smallDir = join(work, 'small');
mkdirSync(smallDir);
for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(smallDir, `s${i}.bin`), Buffer.alloc(4096, i % 251));

interface Setup {
  name: string;
  cluster: Cluster;
  /** Where clients connect: the balancer, or the single replica. */
  port: number;
  home: string;
  login: number[];
  small: number[];
  put: number[];
  get: number[];
  /** CPU seconds spent in each phase: the replicas', and PostgreSQL's (backends included). */
  cpu: Record<'login' | 'small' | 'put' | 'get', { server: number; store: number }>;
}

/** CPU seconds so far of the setup's replicas and of its PostgreSQL server with all its backends. */
function cpuNow(s: Setup): { server: number; store: number } {
  const server = cpuSecs(s.cluster.replicas.flatMap((r) => (r.server?.proc.pid ? [r.server.proc.pid] : [])));
  if (!s.cluster.pg) return { server, store: 0 };
  const postmaster = Number(readFileSync(join(s.cluster.pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  // Reaped children count too: the postmaster waits for every backend that ended.
  return { server, store: cpuSecs(processTree(postmaster), true) };
}

/** Runs `work`, adding the CPU it cost the setup's processes to `phase`. */
async function metered<T>(s: Setup, phase: keyof Setup['cpu'], work: () => Promise<T>): Promise<T> {
  const before = cpuNow(s);
  const out = await work();
  const after = cpuNow(s);
  s.cpu[phase].server += after.server - before.server;
  s.cpu[phase].store += after.store - before.store;
  return out;
}

const body = (home: string) => `users:
  - username: bench
    home_dir: ${home}
    public_keys: ["${pub}"]
    permissions: { "/": ["*"] }
`;

async function setup(name: string, opts: { replicas: number; driver: 'lmdb' | 'postgresql'; balancer: boolean }): Promise<Setup> {
  const home = join(work, `home-${name}`);
  mkdirSync(home);
  const cluster = await startCluster({ ...opts, s3: false, binary: BINARY, body: () => body(home) });
  const port = opts.balancer ? cluster.balancer.sftp : cluster.replicas[0]!.sftp;
  const zero = () => ({ server: 0, store: 0 });
  return { name, cluster, port, home, login: [], small: [], put: [], get: [], cpu: { login: zero(), small: zero(), put: zero(), get: zero() } };
}

/** Runs OpenSSH's sftp with a batch (none: log in and leave), resolving with wall milliseconds. */
function sftp(port: number, batch: string[] | undefined): Promise<number> {
  const file = join(work, `batch-${port}`);
  writeFileSync(file, (batch ?? []).join('\n') + '\n');
  const t0 = performance.now();
  // Asynchronous on purpose: the replicas' log pipes must keep draining while the client runs.
  const child = spawn('sftp', ['-q', '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-P', String(port), '-b', file, 'bench@127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((res, rej) =>
    child.once('exit', (code) => (code === 0 ? res(performance.now() - t0) : rej(new Error(`sftp exited ${code}: ${err}`)))),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? NaN;

const setups: Setup[] = [];
try {
  setups.push(await setup('1 replica, LMDB', { replicas: 1, driver: 'lmdb', balancer: false }));
  setups.push(await setup('1 replica, PostgreSQL', { replicas: 1, driver: 'postgresql', balancer: false }));
  setups.push(await setup('1 replica, PostgreSQL, HAProxy', { replicas: 1, driver: 'postgresql', balancer: true }));
  setups.push(await setup('3 replicas, PostgreSQL, HAProxy', { replicas: 3, driver: 'postgresql', balancer: true }));
  // One login each to warm the caches (the store's user cache, the page cache for the binary).
  for (const s of setups) await sftp(s.port, undefined);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of setups) await metered(s, 'login', async () => {
      for (let i = 0; i < LOGINS; i++) s.login.push(await sftp(s.port, undefined));
    });
    for (const s of setups) {
      const dir = `r${round}`;
      s.small.push(await metered(s, 'small', () => sftp(s.port, [`mkdir ${dir}`, `put ${smallDir}/* ${dir}/`])));
    }
    for (const s of setups) {
      s.put.push(await metered(s, 'put', () => sftp(s.port, [`put ${big} big.bin`])));
      if (statSync(join(s.home, 'big.bin')).size !== SIZE_MB << 20) throw new Error(`${s.name}: the upload is not whole`);
      const back = join(work, 'back.bin');
      s.get.push(await metered(s, 'get', () => sftp(s.port, [`get big.bin ${back}`])));
      if (statSync(back).size !== SIZE_MB << 20) throw new Error(`${s.name}: the download is not whole`);
      rmSync(back);
    }
    console.error(`round ${round + 1}/${ROUNDS} done`);
  }
} finally {
  for (const s of setups) await s.cluster.stop();
  removeTempDirs();
}

const base = setups[0]!;
const mbps = (ms: number) => (SIZE_MB / (ms / 1000)).toFixed(0);
const ratio = (x: number, b: number) => (x / b).toFixed(2);
console.log(
  `${BINARY ? `binary ${BINARY}` : 'source under bun'}; ${ROUNDS} rounds; ${ROUNDS * LOGINS} logins, ${SMALL_FILES} × 4 KiB and ${SIZE_MB} MiB per round; ` +
    'medians; transfers without their login; ratios are of times against the first row (above 1: slower)\n',
);
console.log(`| setup | login median | login p95 | ${SMALL_FILES} × 4 KiB upload (per file) | ${SIZE_MB} MiB put | ${SIZE_MB} MiB get | ratios (login, small, put, get) |`);
console.log('|---|---|---|---|---|---|---|');
// A transfer's time counts without its session's login (that setup's login median).
const net = (xs: number[], s: Setup) => median(xs) - median(s.login);
for (const s of setups) {
  const [l, l95, sm, pt, gt] = [median(s.login), p95(s.login), net(s.small, s), net(s.put, s), net(s.get, s)];
  console.log(
    `| ${s.name} | ${l.toFixed(0)} ms | ${l95.toFixed(0)} ms | ${(sm / 1000).toFixed(2)} s (${(sm / SMALL_FILES).toFixed(2)} ms) | ${mbps(pt)} MB/s | ${mbps(gt)} MB/s | ` +
      `${ratio(l, median(base.login))}, ${ratio(sm, net(base.small, base))}, ${ratio(pt, net(base.put, base))}, ${ratio(gt, net(base.get, base))} |`,
  );
}

// CPU per operation: what a busy machine disturbs far less than wall time. A small-file session
// and a transfer include their one login.
const per = (secs: number, n: number) => ((secs * 1000) / n).toFixed(2);
console.log('\nCPU per operation, replicas + PostgreSQL (its backends included), in ms:\n');
console.log(`| setup | per login | per 4 KiB upload | per ${SIZE_MB} MiB put | per ${SIZE_MB} MiB get |`);
console.log('|---|---|---|---|---|');
for (const s of setups) {
  const c = s.cpu;
  const cell = (x: { server: number; store: number }, n: number) => `${per(x.server, n)} + ${per(x.store, n)}`;
  console.log(`| ${s.name} | ${cell(c.login, ROUNDS * LOGINS)} | ${cell(c.small, ROUNDS * SMALL_FILES)} | ${cell(c.put, ROUNDS)} | ${cell(c.get, ROUNDS)} |`);
}
