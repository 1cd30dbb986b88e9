// Transfer peak memory of the compiled server: four concurrent OpenSSH `sftp` puts of one file,
// then four gets, on a fresh server per cipher so each row starts from the same idle process.
// RSS is sampled every 25 ms (the 100 ms of bench/sftp.ts misses short spikes); MB/s and server
// CPU s/GB come with it, so a memory change can be checked for its cost in the same run.
//
//   bun bench/peak.ts [--size-mb 200] [--rounds 3] [--ciphers default,aes128-gcm@openssh.com]
//                     [--baseline BINARY] [--env NAME=VALUE,...] [--settle SECONDS]
//
// --settle waits that long after a server starts before its transfers, as they come to a server
// that has been up a while (this server releases the pages its start touched 10 s after it is
// ready); 0 starts them at once, as runs before this option did.
//
// --baseline runs another compiled build interleaved with this tree's `dist/sftpgo` (round by
// round, same ciphers). --env passes variables to every server (SFTPGO_GC_PACE_MB=12, say),
// --base-env to the baseline's only (the baseline may be the same binary: a setting against none).
// --trace DIR has each server write its memory samples (SFTPGO_MEM_TRACE, src/core/mem-trace.ts)
// to DIR, one file per server, and prints what the largest sample was made of.
// Medians over rounds, and the largest peak seen.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { freePort } from '../test/support/net.ts';
import { cpuSecs, rssMiB } from './proc.ts';
import { clientKey, writeBigFile } from './fixtures.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const SIZE_MB = Number(opt('--size-mb', '200'));
const ROUNDS = Number(opt('--rounds', '3'));
const CIPHERS = opt('--ciphers', 'default,aes128-gcm@openssh.com').split(',');
const BASELINE = opt('--baseline', '');
const envOpt = (name: string): Record<string, string> =>
  Object.fromEntries(
    opt(name, '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
const EXTRA_ENV = envOpt('--env');
const BASE_ENV = envOpt('--base-env');
const TRACE = opt('--trace', '');
const SETTLE_S = Number(opt('--settle', '0'));
const STREAMS = 4;
if (TRACE) mkdirSync(TRACE, { recursive: true });

const work = join(tmpdir(), `sftpgo-bench-peak-${process.pid}`);
mkdirSync(work, { recursive: true });
const { key, pub } = clientKey(work);
const big = join(work, 'big.bin');
writeBigFile(big, SIZE_MB);
const bigSha = createHash('sha256').update(readFileSync(big)).digest('hex');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

interface Server {
  proc: ChildProcess;
  port: number;
  home: string;
}

async function start(bin: string, tag: string, env: Record<string, string>, trace?: string): Promise<Server> {
  const dir = join(work, tag);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'home'), { recursive: true });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sftpgo.yaml'),
    `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\n  ciphers: [aes128-gcm@openssh.com, chacha20-poly1305@openssh.com, aes128-ctr]\nlog: { level: warn }\nusers:\n  - username: bench\n    public_keys: ["${pub}"]\n    home_dir: ${join(dir, 'home')}\n    max_sessions: 0\n`,
  );
  const proc = spawn(bin, ['serve', '--config', join(dir, 'sftpgo.yaml'), '--data-dir', join(dir, 'data')], {
    // No runtime variables of our own: serve sets its allocator and JIT ones (src/runtime.ts), as a
    // user gets them; --env overrides them.
    env: { ...process.env, ...env, ...(trace ? { SFTPGO_MEM_TRACE: trace } : {}) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (const deadline = Date.now() + 30_000; ; ) {
    if (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0) break;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${tag}: server did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, port, home: join(dir, 'home') };
}

function sftp(s: Server, cipher: string, batch: string): Promise<void> {
  const file = join(work, `batch-${process.hrtime.bigint()}`);
  writeFileSync(file, batch);
  const argv = ['-q', '-b', file, ...(cipher === 'default' ? [] : ['-c', cipher]), '-i', key, '-P', String(s.port)];
  argv.push('-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-F', '/dev/null', 'bench@127.0.0.1');
  return new Promise((res, rej) => {
    const p = spawn('sftp', argv, { stdio: 'ignore' });
    p.once('exit', (code) => (rmSync(file, { force: true }), code === 0 ? res() : rej(new Error(`sftp exited ${code}`))));
  });
}

interface Cell {
  mbps: number;
  cpuPerGB: number;
  peakMiB: number;
}

async function phase(s: Server, cipher: string, dir: 'up' | 'down'): Promise<Cell> {
  const pid = s.proc.pid!;
  const cpu0 = cpuSecs([pid]);
  let peakMiB = rssMiB([pid]);
  const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, rssMiB([pid]))), 25);
  const t = performance.now();
  await Promise.all(
    Array.from({ length: STREAMS }, (_, i) =>
      sftp(s, cipher, dir === 'up' ? `put ${big} up${i}.bin\n` : `get up${i}.bin ${join(work, `got${i}.bin`)}\n`),
    ),
  ).finally(() => clearInterval(sampler));
  const secs = (performance.now() - t) / 1000;
  const gb = (SIZE_MB * 2 ** 20 * STREAMS) / 1e9;
  for (let i = 0; i < STREAMS; i++)
    if (sha(dir === 'up' ? join(s.home, `up${i}.bin`) : join(work, `got${i}.bin`)) !== bigSha) throw new Error(`${dir} ${i} corrupted`);
  return { mbps: (gb * 1000) / secs, cpuPerGB: (cpuSecs([pid]) - cpu0) / gb, peakMiB };
}

const builds: [string, string][] = [['this tree', join(root, 'dist/sftpgo')]];
if (BASELINE) builds.push(['baseline', resolve(BASELINE)]);
for (const [, bin] of builds) if (!existsSync(bin)) throw new Error(`${bin}: no such binary (npm run build)`);

const results = new Map<string, Cell[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const cipher of CIPHERS) {
    for (const [name, bin] of builds) {
      const tag = name.replace(/\W/g, '-');
      const trace = TRACE ? join(resolve(TRACE), `${tag}-${cipher.replace(/\W/g, '-')}-${round + 1}.jsonl`) : undefined;
      if (trace) rmSync(trace, { force: true });
      const s = await start(bin, tag, name === 'baseline' ? { ...EXTRA_ENV, ...BASE_ENV } : EXTRA_ENV, trace);
      try {
        if (SETTLE_S > 0) await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
        const idle = rssMiB([s.proc.pid!]);
        for (const dir of ['up', 'down'] as const) {
          const c = await phase(s, cipher, dir);
          const k = `${name}|${cipher}|${dir}`;
          results.set(k, [...(results.get(k) ?? []), c]);
          process.stderr.write(`round ${round + 1} ${name} ${cipher} ${dir}: idle ${idle.toFixed(0)} MiB, peak ${c.peakMiB.toFixed(0)} MiB, ${c.mbps.toFixed(0)} MB/s, ${c.cpuPerGB.toFixed(2)} s/GB\n`);
        }
      } finally {
        await new Promise<void>((r) => (s.proc.once('exit', () => r()), s.proc.kill('SIGTERM')));
      }
      if (trace && existsSync(trace)) {
        const samples = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
        const top = samples.filter((l) => l.rss !== undefined).reduce((a, b) => (b.rss! > a.rss! ? b : a));
        const allocator = samples.filter((l) => l.mallocPeak !== undefined).at(-1);
        process.stderr.write(`  largest sample: ${JSON.stringify(top)}\n  allocator at the end: ${JSON.stringify(allocator)}\n`);
        const bins = samples.at(-1)?.bins;
        if (bins) process.stderr.write(`  largest size classes: ${JSON.stringify(bins)}\n`);
      }
    }
  }
}
rmSync(work, { recursive: true, force: true });

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};
console.log(`| build | cipher | up ×${STREAMS}: peak RSS (largest / median), MB/s (CPU s/GB) | down ×${STREAMS}: peak RSS, MB/s (CPU s/GB) |`);
console.log('|---|---|---|---|');
for (const cipher of CIPHERS)
  for (const [name] of builds) {
    const cell = (dir: string) => {
      const cs = results.get(`${name}|${cipher}|${dir}`) ?? [];
      const peaks = cs.map((c) => c.peakMiB);
      return `${Math.max(...peaks).toFixed(0)} / ${median(peaks).toFixed(0)} MiB, ${median(cs.map((c) => c.mbps)).toFixed(0)} (${median(cs.map((c) => c.cpuPerGB)).toFixed(2)})`;
    };
    console.log(`| ${name} | ${cipher} | ${cell('up')} | ${cell('down')} |`);
  }
