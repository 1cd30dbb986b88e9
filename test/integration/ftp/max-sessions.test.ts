// max_sessions counts a user's live connections across every protocol: with one SFTP session open
// an FTP login is refused (530) and a WebDAV request gets 401, each logged with reason
// max_sessions; once the session ends, the other protocols may log in.
import { afterAll, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { freeProtocolPorts, protocolsYaml } from '../../support/protocols.ts';
import { run } from '../../support/run.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { Client } from '../../../src/lib/ssh2.ts';

afterAll(removeTempDirs);

const PASSWORD = 'pw-Secret-1';

test('max_sessions spans SFTP, FTP and WebDAV', async () => {
  const dir = tempDir('sessions-');
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const ports = await freeProtocolPorts({ passive: true });
  const { sftp: ssh, ftp, dav } = ports;
  const yaml = `${protocolsYaml(ports)}
users:
  - username: solo
    password: "${PASSWORD}"
    home_dir: ${home}
    max_sessions: 1
    permissions: { "/": ["*"] }
`;
  const server = await startServer({ yaml, cwd: dir });
  const davStatus = async () =>
    (await run('curl', ['-s', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code}', '-u', `solo:${PASSWORD}`, '-X', 'PROPFIND', '-H', 'Depth: 0', `http://127.0.0.1:${dav}/`])).stdout.trim();
  try {
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: ssh, username: 'solo', password: PASSWORD, readyTimeout: 10_000 });
    });
    const ended = new Promise<void>((resolve) => client.once('close', () => resolve()));

    const c = await FtpControl.connect(ftp);
    expect((await c.login('solo', PASSWORD)).code).toBe(530);
    await server.waitForLog((l) => l.event === 'login_failed' && l.protocol === 'FTP' && l.reason === 'max_sessions');
    expect(await davStatus()).toBe('401');
    await server.waitForLog((l) => l.event === 'login_failed' && l.protocol === 'DAV' && l.reason === 'max_sessions');

    client.end();
    await ended;
    // The SSH session is released when the server sees the close: poll the FTP login.
    let code = 0;
    for (let i = 0; i < 100 && code !== 230; i++) {
      const again = await FtpControl.connect(ftp);
      code = (await again.login('solo', PASSWORD)).code;
      if (code === 230) {
        // While FTP holds the one session, WebDAV is refused; after QUIT it is let in.
        expect(await davStatus()).toBe('401');
        await again.send('QUIT');
      } else {
        again.close();
        await Bun.sleep(50);
      }
    }
    expect(code).toBe(230);
    c.close();
    let status = '';
    for (let i = 0; i < 100 && status !== '207'; i++) {
      status = await davStatus();
      if (status !== '207') await Bun.sleep(50);
    }
    expect(status).toBe('207');
  } finally {
    await server.stop();
  }
});
