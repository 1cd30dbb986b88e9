// One SFTP user whose home is on S3, with virtual folders on Azure Blob, on another SFTP server and
// on encrypted local storage: the real OpenSSH sftp client puts, lists, renames, gets and removes
// across all of them, and every object is read back directly with the SDKs (or from disk).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCryptFs } from '../../../src/vfs/crypt/crypt-fs.ts';
import { startAzurite, type Azurite } from '../../support/azurite.ts';
import { freePort } from '../../support/net.ts';
import { s3ClientFor, type S3rver, startS3rver } from '../../support/s3rver.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { startSshd, type Sshd } from '../../support/sshd.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { readAll } from './suite.ts';

const PASSWORD = 'mixed-Secret-9';
const PASSPHRASE = 'vault passphrase';

let s3: S3rver;
let az: Azurite;
let sshd: Sshd;
let server: RunningServer;
let port = 0;
let work = '';
let vaultDir = '';

beforeAll(async () => {
  [s3, az, sshd] = await Promise.all([startS3rver('homes'), startAzurite(), startSshd()]);
  await az.createContainer('archive');
  work = tempDir('mixed-');
  vaultDir = join(work, 'vault');
  const keyFile = join(work, 'backend_key');
  writeFileSync(keyFile, sshd.clientKey, { mode: 0o600 });
  mkdirSync(join(sshd.dir, 'remote'), { recursive: true });
  port = await freePort();
  const yaml = `
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
common:
  rename_mode: 1
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
folders:
  - name: archive
    filesystem:
      provider: azblob
      azblobconfig: { container: archive, account_name: ${az.account}, account_key: "${az.key}", endpoint: "${az.endpoint}", key_prefix: "team/" }
  - name: remote
    filesystem:
      provider: sftp
      sftpconfig: { endpoint: "${sshd.endpoint}", username: ${sshd.user}, private_key: { file: ${keyFile} }, fingerprints: ["${sshd.hostFingerprint}"], prefix: ${join(sshd.dir, 'remote')} }
  - name: vault
    mapped_path: ${vaultDir}
    filesystem:
      provider: crypt
      cryptconfig: { passphrase: "${PASSPHRASE}" }
users:
  - username: mix
    password: ${PASSWORD}
    home_dir: ${join(work, 'home')}
    filesystem:
      provider: s3
      s3config:
        bucket: homes
        region: us-east-1
        endpoint: "${s3.endpoint}"
        force_path_style: true
        access_key: ${s3.accessKey}
        access_secret: ${s3.secretKey}
        key_prefix: "mix/"
        request_checksum_calculation: when_required
        response_checksum_validation: when_required
    virtual_folders:
      - { name: archive, virtual_path: /archive }
      - { name: remote, virtual_path: /remote }
      - { name: vault, virtual_path: /vault }
`;
  server = await startServer({ yaml, cwd: work });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await Promise.allSettled([s3?.stop(), az?.stop(), sshd?.stop()]);
  removeTempDirs();
}, 60_000);

function sftp(lines: string[]): ReturnType<typeof sftpBatchSync> {
  return sftpBatchSync({ port, user: 'mix', password: PASSWORD, dir: work, lines });
}

const s3client = () =>
  s3ClientFor(s3);

describe('a user on S3 with folders on Azure, SFTP and encrypted local', () => {
  test('put, ls, rename, get and rm across all mounts, checked with the SDKs', async () => {
    const local = join(work, 'payload.bin');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(local, data);
    const r = sftp([
      `put ${local} /home.bin`,
      `put ${local} /archive/a.bin`,
      `put ${local} /remote/r.bin`,
      `put ${local} /vault/v.bin`,
      'mkdir /archive/sub',
      'rename /archive/a.bin /archive/sub/a2.bin',
      'rename /remote/r.bin /remote/r2.bin',
      'rename /vault/v.bin /vault/v2.bin',
      'rename /home.bin /h2.bin',
      'ls /',
      'ls /archive/sub',
      'ls /remote',
      'ls /vault',
      `get /archive/sub/a2.bin ${local}.a`,
      `get /remote/r2.bin ${local}.r`,
      `get /vault/v2.bin ${local}.v`,
      `get /h2.bin ${local}.h`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const name of ['archive', 'remote', 'vault', 'h2.bin']) expect(r.stdout).toContain(name);
    for (const ext of ['a', 'r', 'v', 'h']) expect(readFileSync(`${local}.${ext}`).equals(data)).toBe(true);

    // S3: the home's object sits under the user's key prefix.
    const c = s3client();
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'homes', Prefix: 'mix/' }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toContain('mix/h2.bin');
    const got = await c.send(new GetObjectCommand({ Bucket: 'homes', Key: 'mix/h2.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    c.destroy();

    // Azure: under the folder's key prefix.
    const blob = az.service.getContainerClient('archive').getBlobClient('team/sub/a2.bin');
    expect((await blob.downloadToBuffer()).equals(data)).toBe(true);

    // The SFTP backend: a plain file on the remote server, below the folder's prefix.
    expect(readFileSync(join(sshd.dir, 'remote', 'r2.bin')).equals(data)).toBe(true);

    // Encrypted local: ciphertext on disk, plaintext only through the crypt backend.
    const onDisk = readFileSync(join(vaultDir, 'v2.bin'));
    expect(onDisk.includes(data.subarray(1000, 1032))).toBe(false);
    const vault = await openCryptFs(vaultDir, { passphrase: PASSPHRASE });
    expect((await readAll(await vault.openRead('/v2.bin'))).equals(data)).toBe(true);
  }, 180_000);

  test('a cross-mount rename copies (rename_mode 1) and removes; rm works everywhere', async () => {
    const r = sftp(['rename /archive/sub/a2.bin /remote/moved.bin', 'rm /remote/r2.bin', 'rm /vault/v2.bin', 'rm /h2.bin', 'ls /remote']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(sshd.dir, 'remote', 'moved.bin')).length).toBe(3 * 1024 * 1024 + 17);
    expect(await az.service.getContainerClient('archive').getBlobClient('team/sub/a2.bin').exists()).toBe(false);
    expect(existsSync(join(sshd.dir, 'remote', 'r2.bin'))).toBe(false);
    expect(existsSync(join(vaultDir, 'v2.bin'))).toBe(false);
    const c = s3client();
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'homes', Prefix: 'mix/' }));
    expect((listed.Contents ?? []).map((o) => o.Key)).not.toContain('mix/h2.bin');
    c.destroy();
  }, 180_000);
});
