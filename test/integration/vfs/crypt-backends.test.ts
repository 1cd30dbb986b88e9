// Crypt over the other backends cryptconfig.storage can name (GCS, Azure Blob, SFTP), each opened
// through openFs from its usual block beside cryptconfig and run through the shared backend suite
// (smaller listing and big file than the backends' own runs: the backend is already covered, this
// checks the wrapping). Local and S3 have their own files: crypt.test.ts and crypt-s3.test.ts.
import { afterAll, expect, test } from 'bun:test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Filesystem } from '../../../src/config/schema-types.ts';
import { encryptedFileSize } from '../../../src/vfs/crypt/format.ts';
import { openFs } from '../../../src/vfs/open.ts';
import { resolveSecret } from '../../../src/config/secrets.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';

/** The config's own resolver, as the core passes it. */
const OPEN = { resolveSecret: (s: Parameters<typeof resolveSecret>[0]) => resolveSecret(s, process.cwd(), NO_SECRETS) };
import { startAzurite, type Azurite } from '../../support/azurite.ts';
import { startGcsServer, type GcsServer } from '../../support/gcs-server.ts';
import { startSshd, type Sshd } from '../../support/sshd.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { runFsSuite, writeFile } from './suite.ts';

const SMALL = { listingSize: 300, bigFileBytes: 12 * 2 ** 20 };
const CRYPT = { passphrase: 'over any backend' };

let gcs: Promise<GcsServer> | undefined;
let azurite: Promise<Azurite> | undefined;
let sshd: Promise<Sshd> | undefined;
afterAll(async () => {
  await Promise.allSettled([gcs?.then((s) => s.close()), azurite?.then((a) => a.stop()), sshd?.then((s) => s.stop())]);
  removeTempDirs();
}, 60_000);

runFsSuite(
  'crypt over gcs',
  async () => {
    const srv = await (gcs ??= startGcsServer());
    srv.createBucket('crypt-suite');
    const fs = await openFs(
      { provider: 'crypt', cryptconfig: { ...CRYPT, storage: 'gcs' }, gcsconfig: { bucket: 'crypt-suite', endpoint: srv.endpoint, upload_part_size: 4 }, rename_dirs: true },
      '/nonexistent', OPEN,
    );
    return { fs, cleanup: async () => fs.close?.() };
  },
  SMALL,
);

runFsSuite(
  'crypt over azblob',
  async () => {
    const az = await (azurite ??= startAzurite());
    await az.createContainer('crypt-suite');
    const fs = await openFs(
      {
        provider: 'crypt',
        cryptconfig: { ...CRYPT, storage: 'azblob' },
        azblobconfig: { container: 'crypt-suite', account_name: az.account, account_key: az.key, endpoint: az.endpoint },
        rename_dirs: true,
      },
      '/nonexistent', OPEN,
    );
    return { fs, cleanup: async () => fs.close?.() };
  },
  SMALL,
);

function overSftp(s: Sshd, prefix: string): Filesystem {
  return {
    provider: 'crypt',
    cryptconfig: { ...CRYPT, storage: 'sftp' },
    sftpconfig: { endpoint: s.endpoint, username: s.user, private_key: s.clientKey, fingerprints: [s.hostFingerprint], prefix },
  };
}

runFsSuite(
  'crypt over sftp',
  async () => {
    const s = await (sshd ??= startSshd());
    const fs = await openFs(overSftp(s, join(tempDir('crypt-over-sftp-'), 'home')), '/nonexistent', OPEN);
    return { fs, cleanup: async () => fs.close?.() };
  },
  SMALL,
);

test('crypt over sftp: the remote server stores only ciphertext, and positional reads pass through', async () => {
  const s = await (sshd ??= startSshd());
  const dir = tempDir('crypt-over-sftp-');
  const fs = await openFs(overSftp(s, dir), '/nonexistent', OPEN);
  try {
    const plain = Buffer.from('a line the remote server must never see\n'.repeat(5000));
    await writeFile(fs, '/secret.txt', plain);
    expect(readdirSync(dir)).toEqual(['secret.txt']);
    const remote = readFileSync(join(dir, 'secret.txt'));
    expect(remote.length).toBe(encryptedFileSize(plain.length));
    expect(remote.includes('must never see')).toBe(false);
    // The SFTP backend reads at offsets, so the crypt layer offers positional reads on top of it.
    expect(fs.openReader).toBeDefined();
    const r = await fs.openReader!('/secret.txt');
    try {
      const buf = new Uint8Array(100);
      expect(await r.read(buf, 70_000)).toBe(100);
      expect(Buffer.from(buf).equals(plain.subarray(70_000, 70_100))).toBe(true);
    } finally {
      await r.close();
    }
  } finally {
    await fs.close?.();
  }
}, 60_000);
