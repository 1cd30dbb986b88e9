// Per-user transfer limits over FTP: data transfer allowances cut a STOR with 552 and a RETR with
// 550, refuse the next RETR, and the counters are exact after a restart; download_bandwidth holds
// RETR to the configured rate; max_upload_file_size cuts a STOR with 552.
import { afterAll, expect, test } from 'bun:test';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FtpControl } from '../../support/ftp-client.ts';
import { runCli } from '../../support/cli.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { PASSWORD, startFtpd } from './harness.ts';

afterAll(removeTempDirs);

const MB = 1024 * 1024;

async function login(port: number, user: string): Promise<FtpControl> {
  const c = await FtpControl.connect(port);
  expect((await c.login(user, PASSWORD)).code).toBe(230);
  return c;
}

test('data transfer allowances: STOR cut with 552, RETR cut with 550 then refused; exact after restart', async () => {
  const f = await startFtpd([{ username: 'ftd', extra: '    upload_data_transfer: 1\n    download_data_transfer: 1\n' }]);
  const home = f.homes.ftd!;
  writeFileSync(join(home, 'big.bin'), randomBytes(2 * MB));
  let received = 0;
  try {
    const c = await login(f.ports.plain, 'ftd');
    expect((await c.transfer('STOR a.bin', randomBytes(700_000))).last?.code).toBe(226);
    const cut = await c.transfer('STOR b.bin', randomBytes(500_000));
    expect([cut.first.code, cut.last?.code]).toContain(552);
    expect(cut.last?.text ?? cut.first.text).toContain('quota exceeded');

    const get = await c.transfer('RETR big.bin');
    expect(get.first.code).toBe(150);
    expect(get.last?.code).toBe(550);
    expect(get.last?.text).toContain('denying read due to quota limits');
    received = get.data.length;
    expect(received).toBe(MB);
    const again = await c.transfer('RETR big.bin');
    expect(again.first.code).toBe(550);
    expect(again.data.length).toBe(0);
    expect((await c.send('NOOP')).code).toBe(200);
    await c.send('QUIT');
  } finally {
    await f.server.stop();
  }
  const partial = existsSync(join(home, 'b.bin')) ? statSync(join(home, 'b.bin')).size : 0;
  expect(partial).toBeLessThan(500_000);
  const usage = JSON.parse(runCli(['dumpdata', '--data-dir', f.server.dataDir]).stdout).usage['user:ftd'];
  expect(usage).toMatchObject({ used_upload_data_transfer: 700_000 + partial, used_download_data_transfer: received });

  const again = await startServer({ cwd: f.dir, extraArgs: ['--config', f.server.configPath], dataDir: f.server.dataDir });
  try {
    const c = await login(f.ports.plain, 'ftd');
    expect((await c.transfer('RETR a.bin')).first.code).toBe(550);
    await c.send('QUIT');
  } finally {
    await again.stop();
  }
});

test('download_bandwidth holds RETR to the rate; max_upload_file_size cuts STOR with 552', async () => {
  const f = await startFtpd([{ username: 'slow', extra: '    download_bandwidth: 2048\n    filters:\n      max_upload_file_size: 300000\n' }], { common: '  upload_mode: atomic' });
  const home = f.homes.slow!;
  writeFileSync(join(home, 'eight.bin'), randomBytes(8 * MB));
  try {
    const c = await login(f.ports.plain, 'slow');
    const t = performance.now();
    const get = await c.transfer('RETR eight.bin');
    const secs = (performance.now() - t) / 1000;
    console.log(`FTP RETR 8 MB in ${secs.toFixed(2)} s: ${((8 * 1024) / secs).toFixed(0)} KB/s (limit 2048 KB/s)`);
    expect(get.last?.code).toBe(226);
    expect(get.data.length).toBe(8 * MB);
    expect(secs).toBeGreaterThan(4 * 0.85);
    expect(secs).toBeLessThan(4 * 1.15);

    expect((await c.transfer('STOR fits.bin', randomBytes(300_000))).last?.code).toBe(226);
    const cut = await c.transfer('STOR toobig.bin', randomBytes(400_000));
    expect([cut.first.code, cut.last?.code]).toContain(552);
    expect(existsSync(join(home, 'toobig.bin'))).toBe(false);
    await c.send('QUIT');
  } finally {
    await f.server.stop();
  }
});
