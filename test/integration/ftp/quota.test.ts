// Quotas over FTP: a STOR that would pass quota_size is cut with 552, the upload mode decides what
// remains (atomic: nothing), and usage in the store is exact afterwards and binds after a restart.
import { afterAll, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FtpControl } from '../../support/ftp-client.ts';
import { runCli } from '../../support/cli.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { PASSWORD, startFtpd } from './harness.ts';

afterAll(removeTempDirs);

test('STOR over quota_size gets 552 and leaves nothing in atomic mode', async () => {
  const f = await startFtpd([{ username: 'quota', extra: '    quota_size: 100000\n' }], { common: '  upload_mode: atomic' });
  const home = f.homes.quota!;
  try {
    const c = await FtpControl.connect(f.ports.plain);
    expect((await c.login('quota', PASSWORD)).code).toBe(230);
    const ok = await c.transfer('STOR fits.bin', randomBytes(60_000));
    expect(ok.last?.code).toBe(226);
    const cut = await c.transfer('STOR toobig.bin', randomBytes(200_000));
    expect([cut.first.code, cut.last?.code]).toContain(552);
    expect(existsSync(join(home, 'toobig.bin'))).toBe(false);
    expect(readdirSync(home).filter((n) => n.startsWith('.sftpgo'))).toEqual([]);
    // The session lives on after the refusal.
    expect((await c.send('NOOP')).code).toBe(200);
    await c.send('QUIT');
  } finally {
    await f.server.stop();
  }
  const d = JSON.parse(runCli(['dumpdata', '--data-dir', f.server.dataDir]).stdout);
  expect(d.usage['user:quota']).toMatchObject({ used_quota_size: 60_000, used_quota_files: 1 });

  // After a restart the stored usage still counts: 50,000 more would pass 100,000, 30,000 fits.
  const again = await startServer({ yaml: readFileSync(f.server.configPath, 'utf8'), cwd: f.dir, dataDir: f.server.dataDir });
  try {
    const c = await FtpControl.connect(f.ports.plain);
    expect((await c.login('quota', PASSWORD)).code).toBe(230);
    const cut = await c.transfer('STOR after.bin', randomBytes(50_000));
    expect([cut.first.code, cut.last?.code]).toContain(552);
    expect((await c.transfer('STOR small.bin', randomBytes(30_000))).last?.code).toBe(226);
    await c.send('QUIT');
  } finally {
    await again.stop();
  }
  const d2 = JSON.parse(runCli(['dumpdata', '--data-dir', f.server.dataDir]).stdout);
  expect(d2.usage['user:quota']).toMatchObject({ used_quota_size: 90_000, used_quota_files: 2 });
});
