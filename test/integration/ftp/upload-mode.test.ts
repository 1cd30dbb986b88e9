// Upload modes apply to FTP as to SFTP (they live in the core): with upload_mode 1 (atomic) a
// resumed upload is still exact, and an aborted STOR leaves the old file and no temporary file.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { lftp, PASSWORD, startFtpd, type Ftpd } from './harness.ts';

let f: Ftpd;

beforeAll(async () => {
  f = await startFtpd([{ username: 'alice' }], { common: '  upload_mode: 1' });
});

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('atomic mode: lftp put -c resumes exactly; an aborted STOR keeps the old file', async () => {
  const home = f.homes.alice!;
  const data = randomBytes(1_000_000);
  const src = join(tempDir('ftp-atomic-'), 'src.bin');
  writeFileSync(src, data);
  writeFileSync(join(home, 'r.bin'), data.subarray(0, 400_000));
  const r = await lftp(f, 'alice', `put -c ${src} -o r.bin`);
  expect(r.status).toBe(0);
  expect(sha(readFileSync(join(home, 'r.bin')))).toBe(sha(data));

  writeFileSync(join(home, 'keep.bin'), 'keep');
  const c = await FtpControl.connect(f.ports.plain);
  try {
    await c.login('alice', PASSWORD);
    const { socket } = await c.passive();
    expect((await c.send('STOR keep.bin')).code).toBe(150);
    await new Promise<void>((res) => socket!.write(Buffer.alloc(100_000), () => res()));
    expect([(await c.send('ABOR')).code, (await c.read()).code]).toEqual([426, 226]);
    socket!.destroy();
  } finally {
    c.close();
  }
  await f.server.waitForLog((l) => l.event === 'logout' && l.protocol === 'FTP' && l.open_transfers === 0);
  expect(readFileSync(join(home, 'keep.bin'), 'utf8')).toBe('keep');
  expect(readdirSync(home).sort()).toEqual(['keep.bin', 'r.bin']);
});
