// common.idle_timeout ends a login that does nothing for that many minutes (checked every 30 s at
// most), over FTP with a raw control connection: a real minute, so this test takes one to two.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'pw-Idle-1';
let server: RunningServer;
let port: number;

beforeAll(async () => {
  const dir = tempDir('idle-');
  port = await freePort();
  const { yaml: users } = usersYaml(dir, [{ username: 'alice' }], PASSWORD);
  server = await startServer({
    yaml: `common:\n  idle_timeout: 1\nftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n${users}\n`,
    cwd: dir,
  });
});

afterAll(async () => {
  await server?.stop();
});

test('idle_timeout: 1 drops a silent login after a minute, not before', async () => {
  const started = Date.now();
  const c = await FtpControl.connect(port);
  expect((await c.login('alice', PASSWORD)).code).toBe(230);
  await Bun.sleep(45_000);
  expect(c.closed).toBe(false);
  while (!c.closed && Date.now() - started < 100_000) await Bun.sleep(500);
  expect(c.closed).toBe(true);
  const elapsed = Date.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(60_000);
  await server.waitForLog((l) => l.event === 'logout' && l.username === 'alice');
}, 120_000);
