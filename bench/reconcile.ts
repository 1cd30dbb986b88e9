// Reconcile at scale: 10,000 users from YAML into an empty store, then a no-change second run, on
// the compiled binary; plus the binary's cold start (`sftpgo version`). Prints a Markdown table.
//   bun bench/reconcile.ts [--binary dist/sftpgo] [--users 10000]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hashPassword } from '../src/auth/passwords.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const binary = resolve(opt('--binary', join(root, 'dist/sftpgo')));
const N = Number(opt('--users', '10000'));
if (!existsSync(binary)) spawnSync(join(root, 'node_modules/.bin/bun'), [join(root, 'scripts/build.ts')], { stdio: 'inherit' });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Starts serve, waits for serve_ready, stops it; returns wall ms to ready and the apply duration. */
function serveOnce(dir: string, cfg: string): Promise<{ readyMs: number; applyMs: number; summary: string }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const p = spawn(binary, ['serve', '--config', cfg, '--data-dir', join(dir, 'data')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    let applyMs = 0;
    p.stderr.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const l = JSON.parse(line);
        if (l.event === 'reconcile_applied') applyMs = l.duration_ms;
        if (l.event === 'serve_ready') {
          const readyMs = performance.now() - t0;
          p.kill('SIGTERM');
          p.once('exit', () => res({ readyMs, applyMs, summary: `+${l.create} ~${l.update} -${l.delete}` }));
        }
      }
    });
    p.once('exit', (code) => code && rej(new Error(`serve exited ${code}`)));
  });
}

function configFor(passwordOf: (i: number) => string, extra = ''): string {
  const lines = [`sftpd:\n  bindings: [{ address: 127.0.0.1, port: 0 }]\n${extra}users:`];
  for (let i = 0; i < N; i++)
    lines.push(
      `  - username: user${i}\n    password: ${passwordOf(i)}\n    home_dir: /srv/sftp/user${i}\n    quota_size: ${1_000_000 + i}\n    permissions: { "/": ["*"], "/in": [list, upload] }\n    filters: { denied_protocols: [FTP] }`,
    );
  return lines.join('\n') + '\n';
}

const rows: string[] = [];
async function scenario(name: string, yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sftpgo-bench-'));
  const cfg = join(dir, 'sftpgo.yaml');
  writeFileSync(cfg, yaml);
  try {
    const first = await serveOnce(dir, cfg);
    const second = await serveOnce(dir, cfg);
    const t = performance.now();
    const plan = spawnSync(binary, ['plan', '--config', cfg, '--data-dir', join(dir, 'data')], { encoding: 'utf8' });
    const planMs = performance.now() - t;
    if (!plan.stdout.includes('no changes')) throw new Error('second plan was not empty');
    rows.push(`| ${name} | ${(first.readyMs / 1000).toFixed(2)} s (apply ${first.applyMs} ms, ${first.summary}) | ${(second.readyMs / 1000).toFixed(2)} s (${second.summary}) | ${(planMs / 1000).toFixed(2)} s |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hash = await hashPassword('bench-password', { bcryptCost: 10 });
await scenario(`${N} users, bcrypt hashes in the YAML`, configFor(() => `"${hash}"`));
await scenario(`${N} users, clear passwords (bcrypt cost 4 on apply)`, configFor((i) => `"clear-password-${i}"`, 'data_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\n'));

const starts: number[] = [];
for (let i = 0; i < 15; i++) {
  const t = performance.now();
  spawnSync(binary, ['version']);
  starts.push(performance.now() - t);
}

console.log(`| scenario | first run: start to serve_ready | second run (no changes) | plan (no changes) |\n|---|---|---|---|\n${rows.join('\n')}`);
console.log(`\ncold start, \`sftpgo version\`: median ${median(starts).toFixed(0)} ms of ${starts.length} (min ${Math.min(...starts).toFixed(0)} ms)`);
