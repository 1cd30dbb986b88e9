// `sftpgo loaddata --from-sftpgo`: an SFTPGo backup (hand-written from SFTPGo's data model, with
// bcrypt hashes) imported through the CLI, then a login with the real OpenSSH sftp client and the
// user's original password; --emit-yaml prints a config that validates.
import { afterAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

test('import an SFTPGo backup, then log in over SFTP with the original password', async () => {
  const dir = tempDir();
  const dump = join(dir, 'sftpgo-backup.json');
  writeFileSync(dump, readFileSync(join(ROOT, 'test/fixtures/sftpgo-dump.json'), 'utf8').replaceAll('/srv/sftpgo', dir));
  const port = await freePort();
  writeFileSync(join(dir, 'sftpgo.yaml'), `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\n`);
  const data = join(dir, 'data-store');
  const r = runCli(['loaddata', '--from-sftpgo', '--input', dump, '--config', join(dir, 'sftpgo.yaml'), '--data-dir', data]);
  expect(r.stderr).not.toContain('Error');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/imported 3 users, \d+ folders, 0 groups, 1 admins/);

  // The imported records are runtime-owned: serving a config without them keeps them.
  const s = await startServer({ cwd: dir, extraArgs: ['--config', join(dir, 'sftpgo.yaml')], dataDir: data });
  try {
    const login = spawnSync(
      'sshpass',
      ['-p', 'carol-Pass-1', 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', 'carol@127.0.0.1'],
      { input: 'mkdir imported-ok\nls\n', encoding: 'utf8' },
    );
    expect(login.status).toBe(0);
    expect(login.stdout).toContain('imported-ok');
    const wrong = spawnSync(
      'sshpass',
      ['-p', 'not-her-password', 'sftp', '-o', 'BatchMode=no', '-o', 'NumberOfPasswordPrompts=1', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', 'carol@127.0.0.1'],
      { input: 'ls\n', encoding: 'utf8' },
    );
    expect(wrong.status).not.toBe(0);
  } finally {
    await s.stop();
  }

  const y = runCli(['loaddata', '--from-sftpgo', '--emit-yaml', '--input', dump]);
  expect(y.code).toBe(0);
  writeFileSync(join(dir, 'imported.yaml'), y.stdout);
  const v = runCli(['validate', '--config', join(dir, 'imported.yaml')]);
  expect(v.stderr).toBe('');
  expect(v.stdout).toContain('valid (3 users');
});
