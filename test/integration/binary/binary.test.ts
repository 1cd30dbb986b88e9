// The compiled binary runs from an empty directory with no node_modules anywhere on its path:
// validate, plan and serve work, with the LMDB and libsodium addons loaded from inside the binary.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { ConfigRepo, startGitHttpServer } from '../../support/git-http.ts';
import { freePort } from '../../support/net.ts';
import { BUN, ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

let binary = '';
let dir = '';

beforeAll(() => {
  const buildDir = tempDir('sftpgo-build-');
  // A fixed SOURCE_DATE_EPOCH, as a reproducible build sets it: `version` must report that date.
  const r = spawnSync(BUN, [join(ROOT, 'scripts/build.ts'), '--outfile', join(buildDir, 'sftpgo')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}${r.stdout}`);
  dir = tempDir('sftpgo-empty-');
  binary = join(dir, 'sftpgo');
  copyFileSync(join(buildDir, 'sftpgo'), binary);
  spawnSync('chmod', ['+x', binary]);
}, 120_000);

describe('the compiled binary from an empty directory', () => {
  test('no node_modules is reachable from where it runs', () => {
    let d = dir;
    while (d !== '/') {
      expect(existsSync(join(d, 'node_modules'))).toBe(false);
      d = join(d, '..');
    }
  });

  test('version, validate and plan', async () => {
    const port = await freePort();
    writeFileSync(join(dir, 'sftpgo.yaml'), `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n  - { username: alice, password: pw-alice, home_dir: ${dir}/home/alice }\n`);
    expect(runCli(['version'], { binary, cwd: dir }).stdout).toMatch(/^sftpgo \d+\.\d+\.\d+ \(bun /);
    // libsodium is embedded and loads: chacha20-poly1305 does not fall back to the slow JS path
    const verbose = runCli(['version', '--verbose'], { binary, cwd: dir }).stdout;
    expect(verbose).toContain('\nssh chacha20-poly1305: sodium\n');
    // The commit and date the build baked in (a source run says `unknown (source)`)
    const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    expect(verbose).toContain(`\ncommit: ${commit}\nbuild date: 2023-11-14T22:13:20Z\nruntime: bun `);
    expect(verbose.split('\n')[0]).toEndWith(`, commit ${commit})`);
    // The packaging scripts install these from the binary
    const man = runCli(['man'], { binary, cwd: dir });
    expect(man.stdout).toStartWith('.TH SFTPGO 1 "2023-11-14" "sftpgo ');
    expect(runCli(['completion', 'bash'], { binary, cwd: dir }).stdout).toContain('complete -o filenames -F _sftpgo sftpgo');
    const v = runCli(['validate', '--config', 'sftpgo.yaml'], { binary, cwd: dir });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('valid (1 users');
    const p = runCli(['plan', '--config', 'sftpgo.yaml'], { binary, cwd: dir });
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('+ user alice');
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  test('serve applies the config into LMDB and serves SFTP (default cipher, chacha20-poly1305, aes-gcm) with the real client', async () => {
    const s = await startServer({ binary, cwd: dir, yaml: undefined, extraArgs: ['--config', 'sftpgo.yaml'], dataDir: join(dir, 'data') });
    expect(s.logs.some((l) => l.event === 'reconcile_change' && l.name === 'alice')).toBe(true);
    const port = Number((s.logs.find((l) => l.event === 'sftp_listening') as { port: number }).port);
    // Several hundred SSH packets each way, so a keystream or MAC slip cannot go unnoticed
    const data = randomBytes(3 * 1024 * 1024 + 12345);
    writeFileSync(join(dir, 'upload.bin'), data);
    // 'default': no -c, what a plain `sftp` user gets (OpenSSH's client puts chacha20-poly1305 first)
    for (const cipher of ['default', 'chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com']) {
      const r = spawnSync(
        'sshpass',
        [
          '-p', 'pw-alice', 'sftp', '-v', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
          ...(cipher === 'default' ? [] : ['-c', cipher]), '-P', String(port), '-b', '-', 'alice@127.0.0.1',
        ],
        { input: `put ${join(dir, 'upload.bin')} up-${cipher}.bin\nget up-${cipher}.bin ${join(dir, `down-${cipher}.bin`)}\n`, encoding: 'utf8', cwd: dir },
      );
      expect(r.status).toBe(0);
      const negotiated = cipher === 'default' ? 'chacha20-poly1305@openssh.com' : cipher;
      expect(r.stderr).toContain(`kex: server->client cipher: ${negotiated} `);
      expect(r.stderr).toContain(`kex: client->server cipher: ${negotiated} `);
      expect(readFileSync(join(dir, 'home/alice', `up-${cipher}.bin`)).equals(data)).toBe(true);
      expect(readFileSync(join(dir, `down-${cipher}.bin`)).equals(data)).toBe(true);
    }
    expect(await s.stop()).toBe(0);
    expect(runCli(['plan', '--config', 'sftpgo.yaml'], { binary, cwd: dir }).stdout).toContain('no changes');
  });

  test('idle, it gives back the pages its start touched (under 50 MiB resident) and still serves what they held', async () => {
    const s = await startServer({ binary, cwd: dir, yaml: undefined, extraArgs: ['--config', 'sftpgo.yaml'], dataDir: join(dir, 'data') });
    const rss = (): { total: number; file: number } => {
      const status = readFileSync(`/proc/${s.proc.pid}/status`, 'utf8');
      const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)![1]);
      return { total: kb('VmRSS'), file: kb('RssFile') };
    };
    type Released = { phase: string; rss_file_before_kb: number; rss_file_after_kb: number };
    // Once at serve_ready, so transfers that come at once find the smaller set, and again once
    // the work that follows a start has settled.
    const ready = (await s.waitForLog((l) => l.event === 'startup_pages_released' && l.phase === 'ready', 20_000)) as Released;
    expect(ready.rss_file_after_kb).toBeLessThan(ready.rss_file_before_kb / 2);
    const settled = (await s.waitForLog((l) => l.event === 'startup_pages_released' && l.phase === 'settled', 20_000)) as Released;
    expect(settled.rss_file_after_kb).toBeLessThan(settled.rss_file_before_kb);
    await new Promise((r) => setTimeout(r, 2000));
    const idle = rss();
    expect(idle.file, JSON.stringify({ ready, settled, idle })).toBeLessThan(ready.rss_file_before_kb - 20 * 1024);
    expect(idle.total, JSON.stringify({ ready, settled, idle })).toBeLessThan(50 * 1024);
    // The code paged out is read back when it runs again: a login and a transfer work.
    const port = Number((s.logs.find((l) => l.event === 'sftp_listening') as { port: number }).port);
    const data = randomBytes(1024 * 1024 + 7);
    writeFileSync(join(dir, 'after-release.bin'), data);
    const r = spawnSync('sshpass', ['-p', 'pw-alice', 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', 'alice@127.0.0.1'], {
      input: `put ${join(dir, 'after-release.bin')} after-release.bin\nget after-release.bin ${join(dir, 'after-release.down')}\n`,
      encoding: 'utf8',
      cwd: dir,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'after-release.down')).equals(data)).toBe(true);
    expect(await s.stop()).toBe(0);
  }, 60_000);

  test('a restart remembers the checked config in the data dir; an edited file is read again', async () => {
    const data = join(dir, 'data');
    const s = await startServer({ binary, cwd: dir, yaml: undefined, extraArgs: ['--config', 'sftpgo.yaml'], dataDir: data });
    // Written once the file has passed, before serve_ready.
    expect(existsSync(join(data, 'checked-config.sealed'))).toBe(true);
    await s.stop();
    const plan = (args: string[] = []) => runCli(['plan', '--config', 'sftpgo.yaml', '--data-dir', data, ...args], { binary, cwd: dir });
    expect(plan().stdout).toContain('no changes');
    const before = readFileSync(join(dir, 'sftpgo.yaml'), 'utf8');
    try {
      writeFileSync(join(dir, 'sftpgo.yaml'), `${before}  - { username: bob, password: pw-bob, home_dir: ${dir}/home/bob }\n`);
      expect(plan().stdout).toContain('+ user bob');
      writeFileSync(join(dir, 'sftpgo.yaml'), `${before}  - { username: bob, home_dir: home/bob }\n`);
      const bad = plan();
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('sftpgo.yaml:5:32: users[1].home_dir: must be an absolute path');
    } finally {
      writeFileSync(join(dir, 'sftpgo.yaml'), before);
    }
    expect(plan().stdout).toContain('no changes');
  });

  test('a temp dir that cannot hold the native addon is reported with what to set', () => {
    const r = runCli(['plan', '--config', 'sftpgo.yaml'], { binary, cwd: dir, env: { TMPDIR: join(dir, 'no-such-tmp') } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/TMPDIR/);
  });

  test('an invalid config exits 1 naming file, line and field', () => {
    mkdirSync(join(dir, 'bad'), { recursive: true });
    writeFileSync(join(dir, 'bad/sftpgo.yaml'), 'users:\n  - username: x\n    quota_size: -5\n');
    const r = runCli(['validate', '--config', 'bad/sftpgo.yaml'], { binary, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad/sftpgo.yaml:3:17: users[0].quota_size: must be >= 0');
  });

  test('reconcile.git fetches the config over HTTP with the embedded Git client (no git binary needed)', async () => {
    const gitRoot = tempDir('binary-git-');
    const git = await startGitHttpServer({ root: gitRoot, token: 'bin-token' });
    const work = join(dir, 'gitops');
    mkdirSync(work, { recursive: true });
    try {
      const port = await freePort();
      const repo = new ConfigRepo(gitRoot, 'cfg');
      const users = (names: string[]) => names.map((n) => `  - { username: ${n}, password: pw-${n}, home_dir: ${work}/${n} }\n`).join('');
      const head = `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n`;
      const c1 = repo.push({ 'sftpgo.yaml': head + users(['gina']) }, 'gina');
      const local = `reconcile:\n  git: { url: ${git.url}/cfg.git, interval: 5, token: { env: GIT_TOKEN } }\n`;
      // No PATH: the server could not run a git binary even if it tried.
      const s = await startServer({ binary, cwd: work, yaml: local, env: { GIT_TOKEN: 'bin-token', PATH: join(work, 'no-bin') } });
      try {
        expect(await s.waitForLog((l) => l.event === 'serve_ready')).toMatchObject({ source: 'git', revision: c1, create: 1 });
        const c2 = repo.push({ 'sftpgo.yaml': head + users(['gina', 'hugo']) }, 'hugo');
        expect(await s.waitForLog((l) => l.event === 'reload_applied' && l.revision === c2, 15_000)).toMatchObject({ create: 1 });
      } finally {
        expect(await s.stop()).toBe(0);
      }
    } finally {
      await git.close();
    }
  });
});
