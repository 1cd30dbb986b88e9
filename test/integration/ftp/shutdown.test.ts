// SIGTERM with FTP clients still logged in: serve ends their sessions and exits at once, instead of
// waiting for them to leave.
import { expect, test } from 'bun:test';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

test('serve stops promptly with a logged-in FTP client, which sees its connection closed', async () => {
  const dir = tempDir('ftp-stop-');
  const port = await freePort();
  const { yaml } = usersYaml(dir, [{ username: 'alice' }], 'pw-Stop-1');
  const server = await startServer({ yaml: `ftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n${yaml}\n`, cwd: dir });
  const c = await FtpControl.connect(port);
  expect((await c.login('alice', 'pw-Stop-1')).code).toBe(230);
  const started = Date.now();
  expect(await server.stop()).toBe(0);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect((await c.read()).code).toBe(0); // connection closed
}, 30_000);
