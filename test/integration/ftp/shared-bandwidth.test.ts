// upload_bandwidth is one allowance per user across protocols: an SFTP upload and an FTP upload of
// the same user running at once share it, so 10 MB + 10 MB at 4096 KB/s take ~5 s, not ~2.5 s.
import { afterAll, expect, test } from 'bun:test';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';

afterAll(removeTempDirs);

const PASSWORD = 'pw-Secret-1';
const MB = 1024 * 1024;

test('an SFTP and an FTP upload of one user share upload_bandwidth', async () => {
  const dir = tempDir('shared-bw-');
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const [ssh, ftp, passive] = [await freePort(), await freePort(), await freePort()];
  const yaml = `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ssh} }]
ftpd:
  passive_port_range: { start: ${passive}, end: ${passive} }
  bindings: [{ address: 127.0.0.1, port: ${ftp} }]
users:
  - username: both
    password: "${PASSWORD}"
    home_dir: ${home}
    upload_bandwidth: 4096
    permissions: { "/": ["*"] }
`;
  const server = await startServer({ yaml, cwd: dir });
  const local = join(dir, 'ten.bin');
  const data = randomBytes(10 * MB);
  writeFileSync(local, data);
  const client = new Client();
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: ssh, username: 'both', password: PASSWORD, readyTimeout: 10_000 });
    });
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, w) => (err ? reject(err) : resolve(w))));
    const c = await FtpControl.connect(ftp);
    expect((await c.login('both', PASSWORD)).code).toBe(230);

    const t = performance.now();
    const [, stor] = await Promise.all([
      new Promise<void>((resolve, reject) => sftp.fastPut(local, '/via-sftp.bin', (err) => (err ? reject(err) : resolve()))),
      c.transfer('STOR via-ftp.bin', data),
    ]);
    const secs = (performance.now() - t) / 1000;
    console.log(`SFTP + FTP: 20 MB in ${secs.toFixed(2)} s (${((20 * 1024) / secs).toFixed(0)} KB/s together, limit 4096 KB/s)`);
    expect(stor.last?.code).toBe(226);
    expect(statSync(join(home, 'via-sftp.bin')).size).toBe(10 * MB);
    expect(statSync(join(home, 'via-ftp.bin')).size).toBe(10 * MB);
    expect(secs).toBeGreaterThan(5 * 0.85);
    expect(secs).toBeLessThan(5 * 1.15);
    await c.send('QUIT');
  } finally {
    client.end();
    await server.stop();
  }
});
