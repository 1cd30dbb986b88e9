// SFTP throughput per cipher: starts the tiny test server in this process and times the real
// OpenSSH `sftp` client getting and putting one big file through it.
//
//   bun bench/ssh-cipher.ts                       # the project's ssh2 (src/lib/ssh2.ts)
//   SSH2_IMPL=upstream bun bench/ssh-cipher.ts    # node_modules/ssh2 as published, for "before"
//   BENCH_MIB=200 BENCH_RUNS=3 CIPHERS=chacha20-poly1305@openssh.com bun bench/ssh-cipher.ts
//   bun bench/ssh-cipher.ts --serve               # just run the server (compiled-binary smoke test)
//
// Each figure is the best of BENCH_RUNS runs of a whole `sftp` invocation (so it includes the
// ~50 ms handshake); it is the server side's cipher work that differs between builds. The "cpu"
// figure divides by the server process's CPU time instead of wall time, which stays comparable
// when other work shares the machine.
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateKeys, opensshArgs, startCipherTestServer, TEST_USER, type Ssh2Impl, type SshKeys,
} from '../test/support/ssh-cipher-server.ts';

interface CipherCase {
  cipher: string;
  mac?: string;
}

const DEFAULT_CASES: CipherCase[] = [
  { cipher: 'chacha20-poly1305@openssh.com' },
  { cipher: 'aes128-gcm@openssh.com' },
  { cipher: 'aes256-ctr', mac: 'hmac-sha2-256-etm@openssh.com' },
];

async function loadImpl(): Promise<Ssh2Impl | undefined> {
  if (process.env.SSH2_IMPL !== 'upstream') return undefined;
  const mod = (await import('ssh2')).default as unknown as Ssh2Impl;
  return { Server: mod.Server, utils: mod.utils };
}

function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (let left = bytes; left > 0; left -= chunk.length) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  }
  closeSync(fd);
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

interface RunResult {
  wallMs: number;
  /** CPU time of this process (the server) during the run: robust against other load on the box. */
  cpuMs: number;
}

function runSftp(keys: SshKeys, port: number, c: CipherCase, batch: string): Promise<RunResult> {
  const args = [
    ...opensshArgs(keys), '-q', '-b', '-', '-P', String(port), '-c', c.cipher,
    ...(c.mac ? ['-o', `MACs=${c.mac}`] : []), `${TEST_USER}@127.0.0.1`,
  ];
  return new Promise((resolveRun, reject) => {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const child = spawn('sftp', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const cpu = process.cpuUsage(cpuStart);
      if (code === 0) resolveRun({ wallMs: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000 });
      else reject(new Error(`sftp ${c.cipher} exited ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(batch);
  });
}

async function bench(): Promise<void> {
  const mib = Number(process.env.BENCH_MIB ?? 200);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const cases = process.env.CIPHERS
    ? process.env.CIPHERS.split(',').map((cipher) => DEFAULT_CASES.find((c) => c.cipher === cipher) ?? { cipher })
    : DEFAULT_CASES;
  const impl = await loadImpl();
  const keys = generateKeys();
  const root = mkdtempSync(join(tmpdir(), 'ssh-cipher-root-'));
  const local = mkdtempSync(join(tmpdir(), 'ssh-cipher-local-'));
  const bytes = mib * 1024 * 1024;
  writeRandomFile(join(root, 'big.bin'), bytes);
  writeRandomFile(join(local, 'up.bin'), bytes);
  const server = await startCipherTestServer(keys, root, impl);
  const runtime = process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.versions.node}`;
  console.log(`${runtime}, ssh2=${process.env.SSH2_IMPL ?? 'project'}, ${mib} MiB, best of ${runs}, `
    + `MIMALLOC_PURGE_DELAY=${process.env.MIMALLOC_PURGE_DELAY ?? '(unset)'}`);
  try {
    for (const c of cases) {
      const label = c.mac ? `${c.cipher}+${c.mac}` : c.cipher;
      try {
        const best = (a: RunResult, b: RunResult): RunResult => ({
          wallMs: Math.min(a.wallMs, b.wallMs), cpuMs: Math.min(a.cpuMs, b.cpuMs),
        });
        let get: RunResult = { wallMs: Infinity, cpuMs: Infinity };
        let put: RunResult = { wallMs: Infinity, cpuMs: Infinity };
        for (let i = 0; i < runs; i++) {
          rmSync(join(local, 'got.bin'), { force: true });
          get = best(get, await runSftp(keys, server.port, c, `get /big.bin ${join(local, 'got.bin')}\n`));
          put = best(put, await runSftp(keys, server.port, c, `put ${join(local, 'up.bin')} /put.bin\n`));
        }
        if (statSync(join(local, 'got.bin')).size !== bytes || statSync(join(root, 'put.bin')).size !== bytes)
          throw new Error('size mismatch');
        if (process.env.BENCH_VERIFY === '1'
            && (sha256File(join(local, 'got.bin')) !== sha256File(join(root, 'big.bin'))
              || sha256File(join(root, 'put.bin')) !== sha256File(join(local, 'up.bin'))))
          throw new Error('content mismatch');
        const mbps = (ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(0).padStart(5);
        // "cpu" = bytes per second of server CPU time: what the server could do on an idle core
        console.log(`${label.padEnd(52)} get ${mbps(get.wallMs)} MB/s (cpu ${mbps(get.cpuMs)})`
          + `   put ${mbps(put.wallMs)} MB/s (cpu ${mbps(put.cpuMs)})`);
      } catch (err) {
        console.log(`${label.padEnd(52)} n/a (${(err as Error).message.split('\n')[0]})`);
      }
    }
  } finally {
    await server.close();
    for (const dir of [root, local, keys.dir]) rmSync(dir, { recursive: true, force: true });
  }
}

async function serve(): Promise<void> {
  // Used for the `bun build --compile` smoke test: prints where to connect, runs until killed.
  const keys = generateKeys();
  const root = mkdtempSync(join(tmpdir(), 'ssh-cipher-root-'));
  const server = await startCipherTestServer(keys, root, await loadImpl());
  // `chacha`: what runs chacha20-poly1305 in this process (SSH2_DISABLE_SODIUM=1 selects the fallback)
  const { chachaImplementation: chacha } = await import('../src/lib/ssh2.ts');
  console.log(JSON.stringify({ port: server.port, root, clientKey: keys.clientKeyPath, chacha }));
}

if (process.argv.includes('--serve')) await serve();
else await bench();
