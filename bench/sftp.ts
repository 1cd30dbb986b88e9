// SFTP side by side: this server (compiled binary under Bun, and the same source bundled for Node)
// against OpenSSH sshd (internal-sftp) and `rclone serve sftp`, driven by the same OpenSSH sftp
// client with the same cipher, interleaved, median of N rounds. Prints Markdown tables.
//
//   bun bench/sftp.ts [--rounds 3] [--size-mb 256] [--servers bun,node,sshd,rclone] [--ciphers default,aes128-gcm@openssh.com,chacha20-poly1305@openssh.com]
//
// The cipher `default` runs the client with no -c at all: what a plain `sftp` user gets (OpenSSH's
// client lists chacha20-poly1305@openssh.com first).
//
// --baseline BINARY adds the server `base`: another compiled build (say, of the previous commit),
// run like `bun` and interleaved with it, to check a change for regressions in the same run.
//
// --only idle,transfers,small,list runs a subset (default: all four). The small-file and listing
// rows also give the server's CPU time for the run (user+sys from /proc, sshd's session processes
// included), which a busy machine disturbs far less than wall time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '../src/lib/ssh2.ts';
import { freePort } from '../test/support/net.ts';
import { cpuSecs, cpuSplit, processTree, rssMiB } from './proc.ts';
import { clientKey, roomInShm, writeBigFile } from './fixtures.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const ROUNDS = Number(opt('--rounds', '3'));
const SIZE_MB = Number(opt('--size-mb', '256'));
const SERVERS = opt('--servers', 'bun,node,sshd,rclone').split(',');
const CIPHERS = opt('--ciphers', 'default,aes128-gcm@openssh.com,chacha20-poly1305@openssh.com').split(',');
/** The client's -c option for a cipher row; none for `default`. */
const cipherArgs = (cipher: string) => (cipher === 'default' ? [] : ['-c', cipher]);
const SMALL_FILES = Number(opt('--small-files', '1000'));
const LIST_ENTRIES = Number(opt('--list-entries', '10000'));
const IDLE_SESSIONS = Number(opt('--idle-sessions', '200'));
const BASELINE = opt('--baseline', '');
const ONLY = new Set(opt('--only', 'idle,transfers,small,list').split(','));
if (BASELINE && !SERVERS.includes('base')) SERVERS.splice(SERVERS.indexOf('bun') + 1, 0, 'base');

const work = join(tmpdir(), `sftpgo-bench-sftp-${process.pid}`);
mkdirSync(work, { recursive: true });
// Downloads land in memory (tmpfs) where the machine has one with room for four: the client's writes to disk and their
// writeback are not the server's work (the single download row of one build read ×0.92 and ×1.53
// of sshd's in two quiet runs an hour apart, written to disk).
const sink = roomInShm(4 * SIZE_MB * 2 ** 20) ? mkdtempSync('/dev/shm/sftpgo-bench-sftp-') : work;
const BUN = join(root, 'node_modules/.bin/bun');

function sh(cmd: string, argv: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

// ---------- fixtures ----------
const { key, pub } = clientKey(work);
const big = join(work, 'big.bin');
writeBigFile(big, SIZE_MB);
const bigSha = createHash('sha256').update(readFileSync(big)).digest('hex');
const smallDir = join(work, 'small');
mkdirSync(smallDir, { recursive: true });
for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(smallDir, `s${i}.bin`), Buffer.alloc(4096, i % 251));

// ---------- servers ----------
/**
 * Files the download and listing tests read, put in place before a server starts: rclone's VFS
 * caches directory listings, so files created behind its back would stay invisible.
 */
function seed(home: string): void {
  if (ONLY.has('transfers')) for (let i = 0; i < 4; i++) sh('cp', [big, join(home, `down${i}.bin`)]);
  mkdirSync(join(home, 'many'));
  for (let i = 0; i < LIST_ENTRIES; i++) writeFileSync(join(home, 'many', `entry-${i}`), '');
}

interface Server {
  name: string;
  port: number;
  /** Directory the login lands in (where files appear on disk). */
  home: string;
  /** Path prefix the client uses for remote files. */
  remoteDir: string;
  user: string;
  proc: ChildProcess;
  pid(): number;
  stop(): Promise<void>;
}

function waitPort(port: number, proc: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  return new Promise((res, rej) => {
    const tick = () => {
      if (proc.exitCode !== null) return rej(new Error(`${name} exited with ${proc.exitCode}`));
      // A bare TCP connect (no SSH banner): servers may log it as a failed handshake, harmlessly.
      const r = spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
      if (r.status === 0) return res();
      if (Date.now() > deadline) return rej(new Error(`${name} did not listen on ${port}`));
      setTimeout(tick, 100);
    };
    tick();
  });
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((r) => {
      if (proc.exitCode !== null) return r();
      proc.once('exit', () => r());
      proc.kill('SIGTERM');
    });
}

let nodeBundle = '';
async function startOurs(runtime: 'bun' | 'node' | 'base'): Promise<Server> {
  const dir = join(work, `ours-${runtime}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'home'), { recursive: true });
  seed(join(dir, 'home'));
  const port = await freePort();
  // Every bench client is 127.0.0.1: the per-host cap (20 by default) would refuse the idle sessions.
  writeFileSync(
    join(dir, 'sftpgo.yaml'),
    `common:\n  max_per_host_connections: 0\nsftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\n  ciphers: [aes128-gcm@openssh.com, chacha20-poly1305@openssh.com, aes128-ctr]\nlog: { level: warn }\nusers:\n  - username: bench\n    public_keys: ["${pub}"]\n    home_dir: ${join(dir, 'home')}\n    max_sessions: 0\n`,
  );
  let cmd: string;
  let argv: string[];
  const env: Record<string, string> = { ...process.env } as Record<string, string>;
  if (runtime === 'bun' || runtime === 'base') {
    const bin = runtime === 'base' ? resolve(BASELINE) : join(root, 'dist/sftpgo');
    if (runtime === 'base' && !existsSync(bin)) throw new Error(`--baseline ${BASELINE}: no such binary`);
    if (!existsSync(bin)) sh(BUN, [join(root, 'scripts/build.ts')]);
    cmd = bin;
    argv = [];
    // Nothing set here: serve re-executes itself with its allocator and JIT variables
    // (src/runtime.ts), and setting MIMALLOC_PURGE_DELAY would skip that.
  } else {
    if (!nodeBundle) {
      nodeBundle = join(work, 'node/sftpgo.mjs');
      const r = sh(BUN, ['build', join(root, 'src/main.ts'), '--target', 'node', '--packages', 'external', '--outfile', nodeBundle]);
      if (r.status !== 0) throw new Error(`node bundle failed: ${r.stderr}`);
      // Resolve external packages from the project's node_modules.
      sh('ln', ['-sfn', join(root, 'node_modules'), join(work, 'node/node_modules')]);
      sh('ln', ['-sfn', join(root, 'vendor'), join(work, 'vendor')]);
    }
    cmd = process.env.NODE ?? 'node';
    argv = [nodeBundle];
  }
  const proc = spawn(cmd, [...argv, 'serve', '--config', join(dir, 'sftpgo.yaml'), '--data-dir', join(dir, 'data')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitPort(port, proc, `ours-${runtime}`);
  const name = { bun: 'this server (compiled, Bun)', base: 'baseline build (compiled, Bun)', node: 'this server (Node 20)' }[runtime];
  return { name, port, home: join(dir, 'home'), remoteDir: '', user: 'bench', proc, pid: () => proc.pid!, stop: stopper(proc) };
}

async function startSshd(): Promise<Server> {
  const dir = join(work, 'sshd');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'home'), { recursive: true });
  seed(join(dir, 'home'));
  mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  writeFileSync(join(dir, 'authorized_keys'), pub + '\n');
  const user = process.env.USER || 'root';
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'Subsystem sftp internal-sftp',
      // The idle-session test opens 200 sessions; sshd's default MaxStartups (10:30:100) would drop them.
      'MaxStartups 500',
      'MaxSessions 500',
      `ForceCommand internal-sftp -d ${join(dir, 'home')}`,
      'LogLevel ERROR',
    ].join('\n') + '\n',
  );
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitPort(port, proc, 'sshd');
  return { name: 'OpenSSH sshd (internal-sftp)', port, home: join(dir, 'home'), remoteDir: join(dir, 'home'), user, proc, pid: () => proc.pid!, stop: stopper(proc) };
}

async function startRclone(): Promise<Server> {
  const dir = join(work, 'rclone');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'home'), { recursive: true });
  seed(join(dir, 'home'));
  const port = await freePort();
  writeFileSync(join(dir, 'authorized_keys'), pub + '\n');
  const proc = spawn('rclone', ['serve', 'sftp', join(dir, 'home'), '--addr', `127.0.0.1:${port}`, '--authorized-keys', join(dir, 'authorized_keys'), '--user', 'bench', '--config', '/dev/null', '-q'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitPort(port, proc, 'rclone');
  return { name: 'rclone serve sftp', port, home: join(dir, 'home'), remoteDir: '', user: 'bench', proc, pid: () => proc.pid!, stop: stopper(proc) };
}

// ---------- measurements ----------
/** The process and all its descendants (sshd forks per session, and again for privilege separation). */
// utime+stime (+ reaped children's) over the process tree: sshd's per-session children count too.
const cpuSeconds = (pid: number) => cpuSecs(processTree(pid), true);

function sftp(s: Server, cipher: string, batch: string): { ok: boolean; ms: number; err: string } {
  const file = join(work, `batch-${process.hrtime.bigint()}`);
  writeFileSync(file, batch);
  const t = performance.now();
  const r = sh('sftp', [
    '-q', '-b', file, ...cipherArgs(cipher), '-i', key, '-P', String(s.port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-F', '/dev/null',
    `${s.user}@127.0.0.1`,
  ]);
  const ms = performance.now() - t;
  rmSync(file, { force: true });
  return { ok: r.status === 0, ms, err: r.stderr };
}

function remote(s: Server, name: string): string {
  return s.remoteDir ? `${s.remoteDir}/${name}` : name;
}

interface Sample {
  mbps: number;
  cpuPerGB: number;
  /** Largest resident memory of the server's process tree seen during the transfer (sampled every 100 ms). */
  peakMiB: number;
}

/** `streams` parallel sftp clients each moving the big file; MB/s is total bytes over wall time. */
async function transfer(s: Server, cipher: string, dir: 'up' | 'down', streams: number): Promise<Sample> {
  // The previous transfer's writeback is done before this one starts, as for the small files below.
  spawnSync('sync');
  const cpu0 = cpuSeconds(s.pid());
  let peakMiB = rssMiB(processTree(s.pid()));
  const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, rssMiB(processTree(s.pid())))), 100);
  const t = performance.now();
  await Promise.all(
    Array.from({ length: streams }, (_, i) =>
      new Promise<void>((res, rej) => {
        const batch = dir === 'up' ? `put ${big} ${remote(s, `up${i}.bin`)}\n` : `get ${remote(s, `down${i}.bin`)} ${join(sink, `got-${i}.bin`)}\n`;
        const file = join(work, `batch-${i}-${Date.now()}`);
        writeFileSync(file, batch);
        const p = spawn('sftp', [
          '-q', '-b', file, ...cipherArgs(cipher), '-i', key, '-P', String(s.port),
          '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-F', '/dev/null',
          `${s.user}@127.0.0.1`,
        ], { stdio: 'ignore' });
        p.once('exit', (code) => (rmSync(file, { force: true }), code === 0 ? res() : rej(new Error(`${s.name}: sftp ${dir} exited ${code}`))));
      }),
    ),
  ).finally(() => clearInterval(sampler));
  const secs = (performance.now() - t) / 1000;
  const cpu = cpuSeconds(s.pid()) - cpu0;
  const bytes = SIZE_MB * 2 ** 20 * streams;
  // Spot-check integrity of one transfer per measurement.
  const check = dir === 'up' ? join(s.home, 'up0.bin') : join(sink, 'got-0.bin');
  if (createHash('sha256').update(readFileSync(check)).digest('hex') !== bigSha) throw new Error(`${s.name}: ${dir} corrupted the file`);
  return { mbps: bytes / 1e6 / secs, cpuPerGB: cpu / (bytes / 1e9), peakMiB };
}

/** Waits (up to 2 s) until the server has no session processes left, so their CPU is counted. */
async function settled(s: Server): Promise<void> {
  for (const deadline = Date.now() + 2000; processTree(s.pid()).length > 1 && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 20));
}

interface Timed {
  secs: number;
  /** The server's user and system CPU seconds over the batch, login included. */
  user: number;
  sys: number;
}

/** One sftp batch, timed. */
async function timed(s: Server, cipher: string, what: string, batch: string): Promise<Timed> {
  await settled(s);
  const cpu0 = cpuSplit(processTree(s.pid()), true);
  const r = sftp(s, cipher, batch);
  if (!r.ok) throw new Error(`${s.name}: ${what} failed: ${r.err}`);
  await settled(s);
  const cpu1 = cpuSplit(processTree(s.pid()), true);
  return { secs: r.ms / 1000, user: cpu1.user - cpu0.user, sys: cpu1.sys - cpu0.sys };
}

function smallFiles(s: Server, cipher: string): Promise<Timed> {
  const dir = `small-${Date.now()}`;
  return timed(s, cipher, 'small files', `mkdir ${remote(s, dir)}\nput -r ${smallDir}/* ${remote(s, dir)}\n`);
}

function listing(s: Server, cipher: string): Promise<Timed> {
  return timed(s, cipher, 'listing', `ls -l ${remote(s, 'many')}\n`);
}

async function idleSessions(s: Server): Promise<{ before: number; after: number }> {
  const before = rssMiB(processTree(s.pid()));
  const clients: InstanceType<typeof Client>[] = [];
  for (let i = 0; i < IDLE_SESSIONS; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, IDLE_SESSIONS - i) }, () =>
        new Promise<void>((res, rej) => {
          const c = new Client();
          c.once('ready', () => c.sftp((err) => (err ? rej(err) : (clients.push(c), res()))));
          c.once('error', rej);
          c.connect({ host: '127.0.0.1', port: s.port, username: s.user, privateKey: readFileSync(key), readyTimeout: 60_000 });
        }),
      ),
    );
  }
  await new Promise((r) => setTimeout(r, 1500));
  const after = rssMiB(processTree(s.pid()));
  for (const c of clients) c.end();
  process.stderr.write(`${s.name}: RSS ${before.toFixed(0)} MiB idle, ${after.toFixed(0)} MiB with ${clients.length} sessions\n`);
  return { before, after };
}

function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
}

// ---------- run ----------
const starters: Record<string, () => Promise<Server>> = {
  bun: () => startOurs('bun'),
  node: () => startOurs('node'),
  base: () => startOurs('base'),
  sshd: startSshd,
  rclone: startRclone,
};
const servers: Server[] = [];
for (const name of SERVERS) servers.push(await starters[name]!());

type Key = string;
const results = new Map<Key, number[]>();
const add = (k: Key, v: number) => results.set(k, [...(results.get(k) ?? []), v]);

try {
  // Memory with idle sessions is measured first, on freshly started servers: after the transfers
  // the allocators (Bun's especially, with MIMALLOC_PURGE_DELAY=-1) hold on to what they used.
  // Idle means settled: this server releases the pages its start touched 10 s after it is ready.
  if (ONLY.has('idle')) await new Promise((r) => setTimeout(r, 12_000));
  for (const s of ONLY.has('idle') ? servers : []) {
    try {
      const { before, after } = await idleSessions(s);
      add(`${s.name}|idle0`, before);
      add(`${s.name}|idle`, after);
    } catch (err) {
      process.stderr.write(`${s.name}: idle sessions failed: ${(err as Error).message}\n`);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const cipher of ONLY.has('transfers') ? CIPHERS : []) {
      // Interleave servers within each round so drift in machine load hits all of them alike.
      for (const s of servers) {
        for (const [dir, streams] of [['up', 1], ['down', 1], ['up', 4], ['down', 4]] as const) {
          const r = await transfer(s, cipher, dir, streams);
          add(`${s.name}|${cipher}|${dir}${streams}|mbps`, r.mbps);
          add(`${s.name}|${cipher}|${dir}${streams}|cpu`, r.cpuPerGB);
          if (streams === 4) add(`${s.name}|peak4`, r.peakMiB);
        }
        process.stderr.write(`round ${round + 1} ${cipher} ${s.name}: done\n`);
      }
    }
    // Servers take turns going first (round by round), and the disk has written out what the
    // transfers left dirty before each run: otherwise the first server's small files share the
    // disk with the writeback of the 200 MiB files (measured: 0.90 s against sshd's 0.74 s for
    // 1,000 files that way, while the same server took about half sshd's time run after it).
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      for (const [what, run] of [['small', smallFiles], ['list', listing]] as const) {
        if (!ONLY.has(what)) continue;
        spawnSync('sync');
        const r = await run(s, CIPHERS[0]!);
        add(`${s.name}|${what}`, r.secs);
        add(`${s.name}|${what}user`, r.user);
        add(`${s.name}|${what}sys`, r.sys);
      }
    }
  }
} finally {
  for (const s of servers) await s.stop();
  if (sink !== work) rmSync(sink, { recursive: true, force: true });
}

const ref = servers.find((s) => s.name.startsWith('OpenSSH'));
const m = (k: string) => median(results.get(k) ?? [NaN]);
const out: string[] = [];
if (ONLY.has('transfers'))
  out.push(`SFTP, ${SIZE_MB} MiB file, OpenSSH sftp client, median of ${ROUNDS} interleaved rounds, \`sync\` before each, downloads into ${sink === work ? 'the work directory' : 'tmpfs'}. MB/s (server CPU s/GB); ratio = this row / sshd.`);
for (const cipher of ONLY.has('transfers') ? CIPHERS : []) {
  out.push('', `### ${cipher}`, '', '| server | up ×1 | down ×1 | up ×4 | down ×4 |', '|---|---|---|---|---|');
  for (const s of servers) {
    const cells = ['up1', 'down1', 'up4', 'down4'].map((t) => {
      const v = m(`${s.name}|${cipher}|${t}|mbps`);
      const c = m(`${s.name}|${cipher}|${t}|cpu`);
      const r = ref && ref !== s ? ` ×${(v / m(`${ref.name}|${cipher}|${t}|mbps`)).toFixed(2)}` : '';
      return `${v.toFixed(0)} (${c.toFixed(2)})${r}`;
    });
    out.push(`| ${s.name} | ${cells.join(' | ')} |`);
  }
}
/** Wall seconds (server CPU seconds, user + system). */
const timedCell = (s: Server, what: string) =>
  `${m(`${s.name}|${what}`).toFixed(2)} s (${m(`${s.name}|${what}user`).toFixed(2)} + ${m(`${s.name}|${what}sys`).toFixed(2)})`;
const max = (k: string) => Math.max(...(results.get(k) ?? [NaN]));
// Only the columns of what ran (--only).
const columns = [
  { what: 'small', title: `${SMALL_FILES} × 4 KiB upload`, cell: (s: Server) => timedCell(s, 'small') },
  { what: 'list', title: `ls -l of ${LIST_ENTRIES} entries`, cell: (s: Server) => timedCell(s, 'list') },
  { what: 'idle', title: 'RSS idle', cell: (s: Server) => `${m(`${s.name}|idle0`).toFixed(0)} MiB` },
  { what: 'idle', title: `RSS with ${IDLE_SESSIONS} idle sessions`, cell: (s: Server) => `${m(`${s.name}|idle`).toFixed(0)} MiB` },
  { what: 'transfers', title: 'peak RSS over the run, 4 transfers at once (largest; after the idle sessions)', cell: (s: Server) => `${max(`${s.name}|peak4`).toFixed(0)} MiB` },
].filter((c) => ONLY.has(c.what));
if (ONLY.has('small') || ONLY.has('list'))
  out.push('', `Small files and listing: wall seconds (server CPU seconds, user + system), median of ${ROUNDS}.`);
out.push('', `| server | ${columns.map((c) => c.title).join(' | ')} |`, `|---|${columns.map(() => '---|').join('')}`);
for (const s of servers) out.push(`| ${s.name} | ${columns.map((c) => c.cell(s)).join(' | ')} |`);
console.log(out.join('\n'));
rmSync(work, { recursive: true, force: true });
