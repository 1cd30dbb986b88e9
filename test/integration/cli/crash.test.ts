// A SIGKILL in the middle of an apply leaves the store at the old state or the new one, never a mix.
import { afterAll, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { BUN, ROOT, startServer } from '../../support/server.ts';
import { keepOutput } from '../../support/test-logs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const HASH = '$2a$04$aa0ohsxV4GQB0dfEVx1lyuKxITTwO.98o07/bmZWgx6U4f5tl8Ua6';
const N = 3000;

function config(port: number, marker: string): string {
  const users = Array.from(
    { length: N },
    (_, i) => `  - { username: u${i}, password: "${HASH}", home_dir: /srv/u${i}, description: "${marker}", quota_files: ${marker.length + i} }`,
  );
  return `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n${users.join('\n')}\n`;
}

test('SIGKILL during apply: all old or all new', async () => {
  const dir = tempDir();
  const data = join(dir, 'data');
  const port = await freePort();
  const first = await startServer({ yaml: config(port, 'old'), cwd: dir, timeoutMs: 60_000 });
  await first.stop();

  const outcomes: string[] = [];
  // Kill at the transaction start and at points inside it (3,000 updates take ~60-90 ms here).
  const delays = [0, 10, 25, 45, 500];
  for (let round = 0; round < delays.length; round++) {
    const marker = round % 2 === 0 ? 'new-value' : 'old';
    const cfg = join(dir, 'sftpgo.yaml');
    writeFileSync(cfg, config(port, marker));
    const before = JSON.parse(runCli(['dumpdata', '--data-dir', data]).stdout).users.map((u: { description: string }) => u.description)[0];
    const proc = spawn(BUN, [join(ROOT, 'src/main.ts'), 'serve', '--config', cfg, '--data-dir', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    keepOutput(proc, { kind: 'crash-serve' });
    const exited = new Promise((r) => proc.once('exit', r));
    let buf = '';
    let armed = false;
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (!armed && buf.includes('"reconcile_applying"')) {
        armed = true;
        setTimeout(() => proc.kill('SIGKILL'), delays[round]);
      }
      if (buf.includes('"serve_ready"')) proc.kill('SIGKILL');
    });
    await exited;
    const users = JSON.parse(runCli(['dumpdata', '--data-dir', data]).stdout).users as { username: string; description: string; quota_files: number }[];
    expect(users).toHaveLength(N);
    const markers = new Set(users.map((u) => u.description));
    expect(markers.size).toBe(1);
    const [m] = [...markers];
    expect([before, marker]).toContain(m!);
    // The records are internally consistent with their marker, too.
    expect(users.every((u) => u.quota_files === m!.length + Number(u.username.slice(1)))).toBe(true);
    outcomes.push(m === before ? 'old' : 'new');
  }
  // The store must still open and reconcile cleanly afterwards.
  const last = await startServer({ yaml: config(port, 'final'), cwd: dir, timeoutMs: 60_000 });
  await last.stop();
  const users = JSON.parse(runCli(['dumpdata', '--data-dir', data]).stdout).users as { description: string }[];
  expect(new Set(users.map((u) => u.description))).toEqual(new Set(['final']));
  console.log(`crash outcomes (state after SIGKILL at +${delays.join('/')} ms): ${outcomes.join(', ')}`);
}, 120_000);
