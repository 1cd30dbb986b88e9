// The crypt backend has no temp file of its own: an interrupted upload is kept from damaging the
// previous version by the core's atomic upload mode, through the Fs, as for any backend. An FTP
// user on encrypted local storage with upload_mode 1: a STOR aborted after several packages keeps
// the old file readable and leaves no temporary file; a complete upload decrypts exactly.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCryptFs } from '../../../src/vfs/crypt/crypt-fs.ts';
import { MAX_PACKAGE } from '../../../src/vfs/crypt/format.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { lftp, PASSWORD, startFtpd, type Ftpd } from '../ftp/harness.ts';
import { readFile, writeFile } from './suite.ts';

const PASSPHRASE = 'atomic crypt';

let f: Ftpd;

beforeAll(async () => {
  f = await startFtpd([{ username: 'enc', extra: `    filesystem: { provider: crypt, cryptconfig: { passphrase: "${PASSPHRASE}" } }\n` }], { common: '  upload_mode: 1' });
}, 60_000);

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

test('atomic mode over crypt: an aborted STOR keeps the old file and leaves nothing; a full upload decrypts', async () => {
  const home = f.homes.enc!;
  const vault = await openCryptFs(home, { passphrase: PASSPHRASE });
  await writeFile(vault, '/keep.bin', Buffer.from('keep'));

  const c = await FtpControl.connect(f.ports.plain);
  try {
    await c.login('enc', PASSWORD);
    const { socket } = await c.passive();
    expect((await c.send('STOR keep.bin')).code).toBe(150);
    await new Promise<void>((res) => socket!.write(randomBytes(400_000), () => res()));
    // Abort only once sealed packages have reached the disk, under the core's temporary name.
    const deadline = Date.now() + 30_000;
    const written = (): number => readdirSync(home).filter((n) => n !== 'keep.bin').reduce((sum, n) => sum + statSync(join(home, n)).size, 0);
    while (written() < 3 * MAX_PACKAGE) {
      if (Date.now() > deadline) throw new Error('the upload never reached the disk');
      await new Promise((r) => setTimeout(r, 20)); // poll interval
    }
    expect([(await c.send('ABOR')).code, (await c.read()).code]).toEqual([426, 226]);
    socket!.destroy();
  } finally {
    c.close();
  }
  await f.server.waitForLog((l) => l.event === 'logout' && l.protocol === 'FTP' && l.open_transfers === 0);
  expect((await readFile(vault, '/keep.bin')).toString()).toBe('keep');
  expect(readdirSync(home)).toEqual(['keep.bin']);

  const data = randomBytes(1_000_000);
  const src = join(tempDir('crypt-atomic-'), 'src.bin');
  writeFileSync(src, data);
  const r = await lftp(f, 'enc', `put ${src} -o keep.bin`);
  expect(r.status).toBe(0);
  expect((await readFile(vault, '/keep.bin')).equals(data)).toBe(true);
  expect(readFileSync(join(home, 'keep.bin')).includes(data.subarray(0, 32))).toBe(false);
  expect(readdirSync(home)).toEqual(['keep.bin']);
}, 120_000);
