// SIGHUP re-reads the config: a valid file is reconciled into the running server, an invalid one
// is rejected with its errors while the running state (and the store) stay as they were.
import { afterAll, expect, test } from 'bun:test';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { keepOutput } from '../../support/test-logs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { Client } from '../../../src/lib/ssh2.ts';

afterAll(removeTempDirs);

function canLogin(port: number, username: string, password: string): Promise<boolean> {
  const c = new Client();
  return new Promise((resolve) => {
    c.once('ready', () => (c.end(), resolve(true)));
    c.once('error', () => resolve(false));
    c.connect({ host: '127.0.0.1', port, username, password, readyTimeout: 10_000 });
  });
}

test('SIGHUP applies a valid file and rejects an invalid one, keeping the running state', async () => {
  const dir = tempDir();
  const port = await freePort();
  const base = `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n  - { username: ann, password: ann-pw, home_dir: ${dir}/ann }\n`;
  const s = await startServer({ yaml: base, cwd: dir });
  try {
    expect(await canLogin(port, 'ann', 'ann-pw')).toBe(true);
    expect(await canLogin(port, 'ben', 'ben-pw')).toBe(false);

    writeFileSync(s.configPath, base + `  - { username: ben, password: ben-pw, home_dir: ${dir}/ben }\n`);
    s.proc.kill('SIGHUP');
    const applied = await s.waitForLog((l) => l.event === 'reload_applied');
    expect(applied).toMatchObject({ create: 1, update: 0, delete: 0 });
    expect(await canLogin(port, 'ben', 'ben-pw')).toBe(true);

    writeFileSync(s.configPath, base + `  - { username: ben, password: ben-pw, home_dir: relative/oops }\n`);
    s.proc.kill('SIGHUP');
    const rejected = await s.waitForLog((l) => l.event === 'reload_rejected');
    expect(JSON.stringify(rejected.errors)).toContain('users[1].home_dir: must be an absolute path');
    // Still serving the last good state, ben included.
    expect(await canLogin(port, 'ben', 'ben-pw')).toBe(true);
    expect(await canLogin(port, 'ann', 'ann-pw')).toBe(true);
  } finally {
    expect(await s.stop()).toBe(0);
  }
  const d = JSON.parse(runCli(['dumpdata', '--data-dir', join(dir, 'data')]).stdout);
  expect(d.users.map((u: { username: string }) => u.username)).toEqual(['ann', 'ben']);
});

test('reconcile.watch applies an edited file without a signal, and rejects an invalid edit', async () => {
  const dir = tempDir();
  const port = await freePort();
  const base = `reconcile: { watch: true }\nsftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n  - { username: wes, password: wes-pw, home_dir: ${dir}/wes }\n`;
  const s = await startServer({ yaml: base, cwd: dir });
  try {
    await s.waitForLog((l) => l.event === 'config_watching');
    // Replace the file the way editors and git do: write a new file, rename it over the old one.
    writeFileSync(`${s.configPath}.new`, base + `  - { username: wil, password: wil-pw, home_dir: ${dir}/wil }\n`);
    renameSync(`${s.configPath}.new`, s.configPath);
    expect(await s.waitForLog((l) => l.event === 'reload_applied')).toMatchObject({ create: 1 });
    expect(await canLogin(port, 'wil', 'wil-pw')).toBe(true);
    writeFileSync(s.configPath, base + '  - { username: broken, home_dir: nope }\n');
    await s.waitForLog((l) => l.event === 'reload_rejected');
    expect(await canLogin(port, 'wil', 'wil-pw')).toBe(true);
  } finally {
    expect(await s.stop()).toBe(0);
  }
});

test('a SIGTERM that arrives while serve is starting stops it cleanly once started, with exit code 0', async () => {
  const { spawn } = await import('node:child_process');
  const { BUN, ROOT } = await import('../../support/server.ts');
  const dir = tempDir();
  const port = await freePort();
  // Ten users with clear passwords: the start hashes them, which leaves time to be signalled.
  const users = Array.from({ length: 10 }, (_, i) => `  - { username: u${i}, password: pw-${i}, home_dir: ${dir}/u${i} }`).join('\n');
  writeFileSync(join(dir, 'sftpgo.yaml'), `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n${users}\n`);
  const proc = spawn(BUN, [join(ROOT, 'src/main.ts'), 'serve', '--config', 'sftpgo.yaml', '--data-dir', 'data'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  keepOutput(proc, { kind: 'reload-serve' });
  let out = '';
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((r) => {
    const first = (d: Buffer) => {
      out += d.toString();
      // The first log line of the start (the store being created), long before serve_ready.
      if (out.includes('\n')) {
        proc.stdout.off('data', first);
        proc.stderr.off('data', first);
        r();
      }
    };
    proc.stdout.on('data', first);
    proc.stderr.on('data', first);
  });
  expect(out).not.toContain('serve_ready');
  proc.kill('SIGTERM');
  let rest = '';
  proc.stdout.on('data', (d: Buffer) => (rest += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (rest += d.toString()));
  expect(await exited).toBe(0);
  expect(rest).toContain('serve_ready');
  expect(rest).toContain('"serve_stopping"');
}, 60_000);
