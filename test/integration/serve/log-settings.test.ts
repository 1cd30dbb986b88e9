// The log section: log.level drops lines below it, log.file gets every line stderr gets, for a real
// `serve` driven by an FTP client (its commands are debug lines, its login an info line).
import { afterAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'pw-Log-1';
const servers: RunningServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** Serves with `level`, logs into a file, runs one FTP login with a NOOP; returns the file's lines. */
async function session(level: string): Promise<{ file: Record<string, unknown>[]; stderr: Record<string, unknown>[] }> {
  const dir = tempDir('log-');
  const port = await freePort();
  const file = join(dir, 'sftpgo.log');
  const { yaml: users } = usersYaml(dir, [{ username: 'alice' }], PASSWORD);
  const server = await startServer({
    yaml: `log:\n  level: ${level}\n  file: ${file}\nftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n${users}\n`,
    cwd: dir,
    // The config's level wins over the environment's.
    env: { SFTPGO_LOG_LEVEL: level === 'debug' ? 'info' : 'debug' },
  });
  servers.push(server);
  const c = await FtpControl.connect(port);
  expect((await c.login('alice', PASSWORD)).code).toBe(230);
  await c.send('NOOP');
  await c.send('QUIT');
  await server.waitForLog((l) => l.event === 'logout');
  // stderr is written first; the file gets the same line right after.
  const read = () => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  for (let i = 0; i < 50 && !read().some((l) => l.event === 'logout'); i++) await Bun.sleep(100);
  const lines = read();
  return { file: lines, stderr: server.logs.filter((l) => l.event !== 'raw') };
}

test('log.level info: no debug lines; log.file holds the same lines as stderr', async () => {
  const { file, stderr } = await session('info');
  expect(file.some((l) => l.event === 'serve_ready')).toBe(true);
  expect(file.some((l) => l.event === 'login' && l.username === 'alice')).toBe(true);
  expect(file.some((l) => l.level === 'debug')).toBe(false);
  expect(file.map((l) => l.event)).toEqual(stderr.map((l) => l.event));
});

test('log.level debug: the FTP commands appear', async () => {
  const { file } = await session('debug');
  expect(file.some((l) => l.event === 'ftp_command' && l.command === 'NOOP' && l.level === 'debug')).toBe(true);
});
