// The same source runs under Deno 2 (the FreeBSD port's runtime) with only the permissions the
// README lists: validate, plan, and serve with a real SFTP login.
import { afterAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { writeFileSync } from 'node:fs';

afterAll(removeTempDirs);

const DENO = join(ROOT, 'node_modules/.bin/deno');
const FLAGS = ['run', '--allow-ffi', '--allow-read', '--allow-write', '--allow-env', '--allow-net'];

test('validate, plan and serve under Deno 2', async () => {
  const dir = tempDir();
  const port = await freePort();
  const yaml = `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n  - { username: dina, password: dina-pw, home_dir: ${dir}/dina }\n`;
  writeFileSync(join(dir, 'sftpgo.yaml'), yaml);
  const run = (args: string[]) => spawnSync(DENO, [...FLAGS, join(ROOT, 'src/main.ts'), ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  const v = run(['validate', '--config', 'sftpgo.yaml']);
  expect(v.stdout).toContain('valid (1 users');
  expect(run(['plan', '--config', 'sftpgo.yaml']).stdout).toContain('+ user dina');

  // serve through a wrapper so the shared helper can start and stop it like any binary.
  const wrapper = join(dir, 'deno-sftpgo.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${DENO}" ${FLAGS.join(' ')} "${join(ROOT, 'src/main.ts')}" "$@"\n`, { mode: 0o755 });
  const s = await startServer({ binary: wrapper, cwd: dir, extraArgs: ['--config', 'sftpgo.yaml'], timeoutMs: 120_000 });
  try {
    const r = spawnSync(
      'sshpass',
      ['-p', 'dina-pw', 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', 'dina@127.0.0.1'],
      { input: 'mkdir from-deno\nls\n', encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('from-deno');
  } finally {
    expect(await s.stop()).toBe(0);
  }
}, 180_000);
