// The same source runs under Deno 2 (the FreeBSD port's runtime) with exactly the permissions the
// port's rc.d script grants: the script itself (packaging/freebsd/files/sftpgo.in, reading
// packaging/freebsd/deno-flags) is run with rc.subr stubbed out to print the command it would
// start, and that command validates, plans and serves a real SFTP login. A home dir outside the
// granted dirs is refused.
import { afterAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const DENO = join(ROOT, 'node_modules/.bin/deno');
const PORT_DIR = join(ROOT, 'packaging/freebsd');

/** The rc.d script as the port installs it, with rc.subr replaced by stubs that print what `start` would run. */
function renderRcScript(dir: string): string {
  const stubs = 'load_rc_config() { :; }\nrun_rc_command() { printf "%s\\n" "${sftpgo_env}" "${command_args}"; }';
  const text = readFileSync(join(PORT_DIR, 'files/sftpgo.in'), 'utf8')
    .replace('. /etc/rc.subr', stubs)
    .replaceAll('%%PREFIX%%/libexec/sftpgo-ts', ROOT)
    .replaceAll('%%DATADIR%%', PORT_DIR)
    .replaceAll('%%LOCALBASE%%/bin/deno', DENO)
    .replaceAll('%%ETCDIR%%', join(dir, 'etc'));
  const file = join(dir, 'sftpgo.rc');
  writeFileSync(file, text);
  return file;
}

test('validate, plan and serve under Deno 2 with the rc.d permissions', async () => {
  const dir = tempDir();
  const [etc, data, users] = [join(dir, 'etc'), join(dir, 'data'), join(dir, 'data/users')];
  mkdirSync(etc);
  const port = await freePort();
  const config = join(etc, 'sftpgo.yaml');
  writeFileSync(
    config,
    `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n` +
      `  - { username: dina, password: dina-pw, home_dir: ${users}/dina }\n  - { username: otto, password: otto-pw, home_dir: ${dir}/outside/otto }\n`,
  );
  // A worktree may share its node_modules through a symlink; Deno checks the real path
  const nodeModules = realpathSync(join(ROOT, 'node_modules'));
  const extra = nodeModules === join(ROOT, 'node_modules') ? '' : `--allow-read=${nodeModules} --allow-ffi=${nodeModules}`;
  const rc = spawnSync('sh', [renderRcScript(dir), 'start'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH!, sftpgo_config: config, sftpgo_data_dir: data, sftpgo_users_dir: users, sftpgo_deno_extra_flags: extra },
  });
  expect(rc.status).toBe(0);
  const [env, commandArgs] = rc.stdout.trimEnd().split('\n');
  expect(env).toBe(`DENO_DIR=${data}/deno-cache DENO_NO_UPDATE_CHECK=1`);
  const argv = commandArgs!.trim().split(/\s+/);
  expect(argv.slice(0, 6)).toEqual(['-f', '-S', '-T', 'sftpgo', '-p', '/var/run/sftpgo/sftpgo.pid']);
  expect(argv[6]).toBe(DENO);
  const main = join(ROOT, 'src/main.ts');
  const flags = argv.slice(8, argv.indexOf(main));
  expect(argv.slice(7, 8)).toEqual(['run']);
  expect(argv.slice(argv.indexOf(main) + 1)).toEqual(['serve', '--config', config, '--data-dir', data]);
  expect(flags).toContain(`--allow-write=${data},${users}`);
  expect(flags.some((f) => f === '--allow-all' || f === '-A' || f === '--allow-read' || f === '--allow-write' || f === '--allow-ffi' || f.startsWith('--allow-run'))).toBe(false);

  // run through a wrapper so the shared helpers run, start and stop it like any binary (and keep
  // what it prints for the leak check)
  const wrapper = join(dir, 'deno-sftpgo.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${DENO}" run ${flags.join(' ')} "${main}" "$@"\n`, { mode: 0o755 });
  const run = (args: string[]) => runCli(args, { binary: wrapper, cwd: dir, timeoutMs: 120_000 });
  const v = run(['validate', '--config', config]);
  expect(v.stdout).toContain('valid (2 users');
  expect(run(['plan', '--config', config, '--data-dir', data]).stdout).toContain('+ user dina');

  const s = await startServer({ binary: wrapper, cwd: dir, dataDir: data, extraArgs: ['--config', config], timeoutMs: 120_000 });
  const sftp = (user: string, input: string) =>
    spawnSync(
      'sshpass',
      ['-p', `${user}-pw`, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', `${user}@127.0.0.1`],
      { input, encoding: 'utf8' },
    );
  try {
    const r = sftp('dina', 'mkdir from-deno\nls\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('from-deno');
    // otto's home lies outside the dirs Deno may write: nothing is created there
    const o = sftp('otto', 'mkdir from-deno\n');
    expect(o.status).not.toBe(0);
    expect((await s.waitForLog((l) => l.event === 'login_failed' && l.username === 'otto')).reason).toBe('io');
    expect(spawnSync('test', ['-e', join(dir, 'outside')]).status).toBe(1);
  } finally {
    expect(await s.stop()).toBe(0);
  }
}, 180_000);
