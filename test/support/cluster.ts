// A cluster of real server processes for tests and benchmarks: PostgreSQL (the shared store),
// s3rver (users' files on S3, so every replica sees the same objects), N replicas with their own
// data dirs and ports but one YAML body and one set of host keys, and HAProxy in TCP mode in front
// of their SFTP and API listeners (round robin, health checks on /healthz, PROXY v2 to SFTP so the
// replicas see the clients' addresses). Replicas can be killed and restarted on their data dirs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { startPostgres, type Postgres } from './postgres.ts';
import { startS3rver, type S3rver } from './s3rver.ts';
import { startServer, type RunningServer } from './server.ts';
import { keepLog, newLogFile } from './test-logs.ts';
import { tempDir } from './tmp.ts';

export const HAPROXY = '/usr/sbin/haproxy';

export interface ClusterParts {
  s3: S3rver | undefined;
  /** A directory of the cluster's own, for homes on a shared local directory. */
  dir: string;
}

export interface ClusterOptions {
  replicas: number;
  /** `postgresql` (default) shares one store; `lmdb` gives each replica its own (one replica only). */
  driver?: 'postgresql' | 'lmdb';
  /** Start s3rver (default true). */
  s3?: boolean;
  /** Put HAProxy in front (default true). */
  balancer?: boolean;
  /** Lines under `common:` besides the PROXY protocol settings, each indented by two spaces. */
  common?: string;
  /** Top-level YAML appended to every replica's config (users, admins, ...). */
  body: (parts: ClusterParts) => string;
  /** Run this compiled binary instead of the source. */
  binary?: string;
  /** Extra environment for the replicas. */
  env?: Record<string, string>;
}

export interface Replica {
  readonly index: number;
  readonly sftp: number;
  readonly api: number;
  readonly dataDir: string;
  /** Its config file (for CLI commands such as dumpdata against the same store). */
  readonly configPath: string;
  /** The running process, or undefined while killed. */
  server: RunningServer | undefined;
}

export interface Cluster {
  readonly dir: string;
  readonly pg: Postgres | undefined;
  readonly s3: S3rver | undefined;
  readonly replicas: Replica[];
  /** HAProxy's front ports (0 without a balancer). */
  readonly balancer: { sftp: number; api: number };
  /** The replicas' shared host key (its public half is `hostKey + '.pub'`). */
  readonly hostKey: string;
  /** SIGKILL one replica and wait for its exit. */
  kill(index: number): Promise<void>;
  /** Start a killed (or stopped) replica again on its data dir and ports. */
  restart(index: number): Promise<void>;
  /** HAProxy's view of the SFTP backend's servers: name → status (UP, DOWN, ...). */
  balancerStates(): Promise<Record<string, string>>;
  /** Resolves once HAProxy reports every SFTP server in `want` (default: all UP). */
  waitBalanced(want?: (states: Record<string, string>) => boolean, timeoutMs?: number): Promise<void>;
  /** Stop every replica cleanly (SIGTERM), leaving the store, s3rver and HAProxy up. */
  stopReplicas(): Promise<void>;
  /** Stop the replicas (SIGTERM), HAProxy, s3rver and PostgreSQL. */
  stop(): Promise<void>;
}

function replicaYaml(opts: ClusterOptions, c: { pg: Postgres | undefined; parts: ClusterParts; hostKey: string; sftp: number; api: number }): string {
  const provider = c.pg
    ? `  driver: postgresql
  host: ${c.pg.host}
  port: ${c.pg.port}
  name: ${c.pg.database}
  username: ${c.pg.username}
  password: { env: PG_PASSWORD }
`
    : '';
  // HAProxy connects from 127.0.0.1 and sends a PROXY v2 header; direct clients from other loopback
  // addresses send none and are seen as they are (mode 1 accepts both).
  const proxy = opts.balancer === false ? '' : '  proxy_protocol: 1\n  proxy_allowed: [127.0.0.1]\n';
  const common = proxy + (opts.common ?? '');
  return `data_provider:
${provider}  password_hashing: { bcrypt_options: { cost: 4 } }
${common ? `common:\n${common}\n` : ''}sftpd:
  bindings: [{ address: 127.0.0.1, port: ${c.sftp} }]
  host_keys: [${c.hostKey}]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${c.api} }]
${opts.body(c.parts)}`;
}

function haproxyConfig(c: { sock: string; sftp: number; api: number; replicas: Replica[] }): string {
  const servers = (port: (r: Replica) => number, extra: (r: Replica) => string) =>
    c.replicas.map((r) => `  server r${r.index} 127.0.0.1:${port(r)} ${extra(r)}\n`).join('');
  // Health checks ask each replica's API for /healthz every 300 ms; three failures take it out
  // (a dead one refuses at once: out within a second), two successes put it back. The 5 s check
  // timeout keeps a replica that is merely slow on a busy machine in. A connect refused by a dead
  // replica before that is retried at once on another one (redispatch on every retry, not only
  // the last: roundrobin alone may hand the retry to the dead replica again).
  return `global
  maxconn 2000
  stats socket ${c.sock} mode 600 level admin
defaults
  mode tcp
  timeout connect 2s
  timeout client 10m
  timeout server 10m
  timeout check 5s
  retries 3
  option redispatch 1
  default-server inter 300 fall 3 rise 2
frontend sftp
  bind 127.0.0.1:${c.sftp}
  default_backend sftp
backend sftp
  balance roundrobin
  option httpchk GET /healthz
${servers((r) => r.sftp, (r) => `send-proxy-v2 source 127.0.0.1 check port ${r.api}`)}frontend api
  bind 127.0.0.1:${c.api}
  default_backend api
backend api
  balance roundrobin
  option httpchk GET /healthz
${servers((r) => r.api, () => 'check')}`;
}

/** Sends one command to HAProxy's stats socket and returns its answer. */
function haproxyCommand(sock: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(sock);
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('error', reject);
    s.on('end', () => resolve(out));
    s.write(`${command}\n`);
  });
}

async function waitListening(port: number, why: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
    });
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error(`haproxy did not listen on ${port}: ${why()}`);
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const driver = opts.driver ?? 'postgresql';
  if (driver === 'lmdb' && opts.replicas > 1) throw new Error('replicas on LMDB share nothing: use postgresql for more than one');
  // What started before a failure is stopped before the error goes up: nobody else holds it.
  const started: { pg?: Postgres; s3?: S3rver; cluster?: Cluster } = {};
  try {
    return await launch(opts, driver, started);
  } catch (err) {
    if (started.cluster) await started.cluster.stop();
    else await Promise.allSettled([started.s3?.stop(), started.pg?.stop()]);
    throw err;
  }
}

async function launch(opts: ClusterOptions, driver: 'lmdb' | 'postgresql', started: { pg?: Postgres; s3?: S3rver; cluster?: Cluster }): Promise<Cluster> {
  const dir = tempDir('cluster-');
  const pg = (started.pg = driver === 'postgresql' ? await startPostgres() : undefined);
  const s3 = (started.s3 = opts.s3 === false ? undefined : await startS3rver('cluster'));
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const keygen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  if (keygen.status !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr}`);
  const parts: ClusterParts = { s3, dir };
  const replicas: Replica[] = [];
  for (let i = 0; i < opts.replicas; i++) {
    const dataDir = join(dir, `data${i}`);
    mkdirSync(dataDir, { recursive: true });
    const configPath = join(dir, `replica${i}`, 'sftpgo.yaml');
    replicas.push({ index: i, sftp: await freePort(), api: await freePort(), dataDir, configPath, server: undefined });
  }
  const env = { ...opts.env, ...(pg ? { PG_PASSWORD: pg.password } : {}) };
  const start = async (r: Replica): Promise<void> => {
    r.server = await startServer({
      yaml: replicaYaml(opts, { pg, parts, hostKey, sftp: r.sftp, api: r.api }),
      cwd: join(dir, `replica${r.index}`),
      dataDir: r.dataDir,
      env,
      binary: opts.binary,
      timeoutMs: 60_000,
    });
  };
  for (const r of replicas) mkdirSync(join(dir, `replica${r.index}`), { recursive: true });
  const balancer = { sftp: 0, api: 0 };
  const sock = join(dir, 'haproxy.sock');
  let haproxy: ChildProcess | undefined;
  let haproxyErr = '';
  const cluster: Cluster = {
    dir,
    pg,
    s3,
    replicas,
    balancer,
    hostKey,
    async kill(index) {
      const r = replicas[index]!;
      const s = r.server;
      r.server = undefined;
      await s?.stop('SIGKILL');
    },
    async restart(index) {
      const r = replicas[index]!;
      if (r.server) throw new Error(`replica ${index} is running`);
      await start(r);
    },
    async balancerStates() {
      // `show stat` is CSV: proxy name, server name, ..., status in the 18th column.
      const csv = await haproxyCommand(sock, 'show stat');
      const states: Record<string, string> = {};
      for (const line of csv.split('\n')) {
        const f = line.split(',');
        if (f[0] === 'sftp' && f[1]?.startsWith('r')) states[f[1]] = f[17] ?? '';
      }
      return states;
    },
    async waitBalanced(want = (s) => Object.values(s).length === replicas.length && Object.values(s).every((v) => v === 'UP'), timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Record<string, string> = {};
      while (Date.now() < deadline) {
        last = await cluster.balancerStates();
        if (want(last)) return;
        await Bun.sleep(50);
      }
      throw new Error(`HAProxy's servers stayed ${JSON.stringify(last)}`);
    },
    async stopReplicas() {
      await Promise.all(replicas.map(async (r) => {
        const s = r.server;
        r.server = undefined;
        await s?.stop();
      }));
    },
    async stop() {
      await cluster.stopReplicas();
      if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
        const exited = new Promise((res) => haproxy!.once('exit', res));
        haproxy.kill('SIGTERM');
        await exited;
      }
      await s3?.stop();
      await pg?.stop();
    },
  };
  // From here on, a failure stops whatever is running through cluster.stop().
  started.cluster = cluster;
  // The first replica makes the shared store's secrets key; the others start with a copy of it.
  await start(replicas[0]!);
  for (const r of replicas.slice(1)) copyFileSync(join(replicas[0]!.dataDir, 'secrets.key'), join(r.dataDir, 'secrets.key'));
  // One after the other: replicas reconciling the same YAML at the same moment collide on their
  // optimistic check, and the loser exits asking for a retry.
  for (const r of replicas.slice(1)) await start(r);

  if (opts.balancer !== false) {
    balancer.sftp = await freePort();
    balancer.api = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig({ sock, ...balancer, replicas }));
    haproxy = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    const logFile = newLogFile('haproxy');
    haproxy.stderr!.on('data', (d: Buffer) => (keepLog(logFile, d), (haproxyErr = (haproxyErr + d.toString()).slice(-16384))));
    await waitListening(balancer.sftp, () => haproxyErr);
    await waitListening(balancer.api, () => haproxyErr);
  }
  if (haproxy) await cluster.waitBalanced();
  return cluster;
}
