// common.idle_timeout ends a login that does nothing for that many minutes (checked every 30 s at
// most): a real minute, so this test takes one to two. Three silent logins wait side by side: a raw
// FTP control connection, an SSH login that never opened a channel (ssh -N does that), and OpenSSH
// `sftp` reading its commands from a pipe.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { Client } from '../../../src/lib/ssh2.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'pw-Idle-1';
let server: RunningServer;
let port: number;
let sftpPort: number;

beforeAll(async () => {
  const dir = tempDir('idle-');
  port = await freePort();
  sftpPort = await freePort();
  const { yaml: users } = usersYaml(dir, [{ username: 'alice' }], PASSWORD);
  server = await startServer({
    yaml: `common:\n  idle_timeout: 1\nftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nsftpd:\n  bindings: [{ address: 127.0.0.1, port: ${sftpPort} }]\nusers:\n${users}\n`,
    cwd: dir,
  });
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** An SSH login that opens no channel; resolves its close. */
async function bareSshLogin(): Promise<{ closed: () => boolean }> {
  const c = new Client();
  let closed = false;
  c.on('close', () => (closed = true));
  c.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: sftpPort, username: 'alice', password: PASSWORD });
  });
  return { closed: () => closed };
}

test('idle_timeout: 1 drops silent FTP and SSH logins after a minute, not before; sftp then fails its next command at once', async () => {
  const started = Date.now();
  const c = await FtpControl.connect(port);
  expect((await c.login('alice', PASSWORD)).code).toBe(230);
  const bare = await bareSshLogin();
  const sftp = spawn(
    'sshpass',
    ['-p', PASSWORD, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(sftpPort), '-b', '-', 'alice@127.0.0.1'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  sftp.stdout.on('data', (d: Buffer) => (out += d));
  sftp.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((resolve) => sftp.once('exit', (code) => resolve(code)));
  sftp.stdin.write('ls\n');
  while (!out.includes('sftp> ls') && Date.now() - started < 20_000) await Bun.sleep(50);
  expect(out).toContain('sftp> ls');

  await Bun.sleep(45_000 - (Date.now() - started));
  expect(c.closed).toBe(false);
  expect(bare.closed()).toBe(false);
  while (!(c.closed && bare.closed() && err.includes('Received disconnect')) && Date.now() - started < 100_000) await Bun.sleep(500);
  expect(c.closed).toBe(true);
  // The login without a channel is dropped too (before, its session ended and the client stayed).
  expect(bare.closed()).toBe(true);
  // The server sent SSH_MSG_DISCONNECT and the ssh transport under sftp exited on it; sftp itself
  // waits on its own input, as it does against OpenSSH's sshd, and fails the next command at once.
  expect(err).toContain('Received disconnect');
  const elapsed = Date.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(60_000);
  const asked = Date.now();
  sftp.stdin.write('ls\n');
  const code = await Promise.race([exited, Bun.sleep(5_000).then(() => 'still running')]);
  if (code === 'still running') sftp.kill();
  expect(code).not.toBe('still running');
  expect(code).not.toBe(0);
  expect(Date.now() - asked).toBeLessThan(5_000);
  await server.waitForLog((l) => l.event === 'logout' && l.username === 'alice' && l.protocol === 'FTP');
  await server.waitForLog((l) => l.event === 'logout' && l.username === 'alice' && l.protocol === 'SSH');
}, 130_000);
