// Reconcile at scale: 10,000 users from YAML into an empty store, then no-change runs (`serve` to
// `serve_ready`, and `plan`), on the compiled binary; plus the binary's cold start (`sftpgo
// version`). Prints Markdown tables: wall ms and the child's CPU ms (user + system), median of the
// rounds with every round listed.
//   bun bench/reconcile.ts [--binary dist/sftpgo] [--baseline BINARY] [--users 10000] [--rounds 5]
//                          [--scenarios hash,clear]
// --baseline BINARY runs another compiled build (say, of the previous commit) on the same files,
// interleaved round by round with --binary, each build on its own store, so both see the same
// machine load. Scenarios: `hash` (bcrypt hashes in the YAML) and `clear` (clear passwords, hashed
// at cost 4 on the first run only: slow, ~1 min per build).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hashPassword } from '../src/auth/passwords.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const binary = resolve(opt('--binary', join(root, 'dist/sftpgo')));
const baseline = opt('--baseline', '');
const N = Number(opt('--users', '10000'));
const ROUNDS = Number(opt('--rounds', '5'));
const SCENARIOS = opt('--scenarios', 'hash,clear').split(',');
if (!existsSync(binary)) spawnSync(join(root, 'node_modules/.bin/bun'), [join(root, 'scripts/build.ts')], { stdio: 'inherit' });
if (baseline && !existsSync(baseline)) throw new Error(`--baseline ${baseline}: no such binary`);

interface Build {
  name: string;
  bin: string;
}
const builds: Build[] = [{ name: 'this tree', bin: binary }, ...(baseline ? [{ name: `baseline (${baseline})`, bin: resolve(baseline) }] : [])];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const TICK_MS = 1000 / 100; // USER_HZ

/** CPU ms (user + system) a live process has used so far. */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

interface Run {
  ms: number;
  cpuMs: number;
  applyMs: number;
  summary: string;
}

/** Starts serve, waits for serve_ready, stops it: wall and CPU ms to ready, the apply duration. */
async function serveOnce(bin: string, dir: string, cfg: string): Promise<Run> {
  const t0 = performance.now();
  const p = Bun.spawn([bin, 'serve', '--config', cfg, '--data-dir', join(dir, 'data')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let buf = '';
  let applyMs = 0;
  const decoder = new TextDecoder();
  for await (const chunk of p.stderr) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const l = JSON.parse(line);
      if (l.event === 'reconcile_applied') applyMs = l.duration_ms;
      if (l.event === 'serve_ready') {
        const ms = performance.now() - t0;
        const cpuMs = cpuMsOf(p.pid);
        p.kill('SIGTERM');
        await p.exited;
        return { ms, cpuMs, applyMs, summary: `+${l.create} ~${l.update} -${l.delete}` };
      }
    }
  }
  throw new Error(`serve exited ${await p.exited} before serve_ready`);
}

function planOnce(bin: string, dir: string, cfg: string): Run {
  const t = performance.now();
  const r = Bun.spawnSync([bin, 'plan', '--config', cfg, '--data-dir', join(dir, 'data')]);
  const ms = performance.now() - t;
  if (!r.stdout.toString().includes('no changes')) throw new Error(`plan with nothing to change printed: ${r.stdout.toString().slice(0, 300)}`);
  return { ms, cpuMs: Number(r.resourceUsage.cpuTime.total) / 1000, applyMs: 0, summary: '' };
}

function configFor(passwordOf: (i: number) => string, extra = ''): string {
  const lines = [`sftpd:\n  bindings: [{ address: 127.0.0.1, port: 0 }]\n${extra}users:`];
  for (let i = 0; i < N; i++)
    lines.push(
      `  - username: user${i}\n    password: ${passwordOf(i)}\n    home_dir: /srv/sftp/user${i}\n    quota_size: ${1_000_000 + i}\n    permissions: { "/": ["*"], "/in": [list, upload] }\n    filters: { denied_protocols: [FTP] }`,
    );
  return lines.join('\n') + '\n';
}

const fmt = (runs: Run[], key: 'ms' | 'cpuMs') => `${(median(runs.map((r) => r[key])) / 1000).toFixed(2)} s`;
const all = (runs: Run[]) => runs.map((r) => `${(r.ms / 1000).toFixed(2)}/${(r.cpuMs / 1000).toFixed(2)}`).join(', ');
const rows: string[] = [];

async function scenario(name: string, yaml: string) {
  const top = mkdtempSync(join(tmpdir(), 'sftpgo-bench-'));
  try {
    const dirs = builds.map((_, i) => {
      const d = join(top, String(i));
      mkdirSync(d);
      writeFileSync(join(d, 'sftpgo.yaml'), yaml);
      return d;
    });
    const first: Run[] = [];
    for (const [i, b] of builds.entries()) first.push(await serveOnce(b.bin, dirs[i]!, join(dirs[i]!, 'sftpgo.yaml')));
    const serves: Run[][] = builds.map(() => []);
    const plans: Run[][] = builds.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which build goes first, so neither always runs right after the other's exit.
      const order = r % 2 === 0 ? [...builds.keys()] : [...builds.keys()].reverse();
      for (const i of order) {
        const s = await serveOnce(builds[i]!.bin, dirs[i]!, join(dirs[i]!, 'sftpgo.yaml'));
        if (s.summary !== '+0 ~0 -0') throw new Error(`${builds[i]!.name}: a no-change run changed ${s.summary}`);
        serves[i]!.push(s);
        plans[i]!.push(planOnce(builds[i]!.bin, dirs[i]!, join(dirs[i]!, 'sftpgo.yaml')));
      }
    }
    for (const [i, b] of builds.entries()) {
      const f = first[i]!;
      rows.push(
        `| ${name} | ${b.name} | ${(f.ms / 1000).toFixed(2)} s (apply ${f.applyMs} ms, ${f.summary}) | ${fmt(serves[i]!, 'ms')} / ${fmt(serves[i]!, 'cpuMs')} | ${fmt(plans[i]!, 'ms')} / ${fmt(plans[i]!, 'cpuMs')} |`,
      );
      rows.push(`|  | rounds (wall/CPU s) |  | ${all(serves[i]!)} | ${all(plans[i]!)} |`);
    }
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}

if (SCENARIOS.includes('hash')) {
  const hash = await hashPassword('bench-password', { bcryptCost: 10 });
  await scenario(`${N} users, bcrypt hashes in the YAML`, configFor(() => `"${hash}"`));
}
if (SCENARIOS.includes('clear'))
  await scenario(`${N} users, clear passwords (bcrypt cost 4 on apply)`, configFor((i) => `"clear-password-${i}"`, 'data_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\n'));

const starts: number[][] = builds.map(() => []);
for (let r = 0; r < 15; r++)
  for (const [i, b] of builds.entries()) {
    const t = performance.now();
    spawnSync(b.bin, ['version']);
    starts[i]!.push(performance.now() - t);
  }

console.log(
  `| scenario | build | first run: start to serve_ready | no change: serve_ready, wall / CPU (median of ${ROUNDS}) | plan, wall / CPU |\n|---|---|---|---|---|\n${rows.join('\n')}`,
);
for (const [i, b] of builds.entries())
  console.log(`\ncold start, \`sftpgo version\`, ${b.name}: median ${median(starts[i]!).toFixed(0)} ms of ${starts[i]!.length} (min ${Math.min(...starts[i]!).toFixed(0)} ms)`);
