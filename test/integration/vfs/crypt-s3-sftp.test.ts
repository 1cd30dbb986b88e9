// End to end: a user whose virtual folder is encrypted storage on S3 (provider crypt,
// cryptconfig.storage: s3). The real server and the OpenSSH sftp client round-trip files through
// it, the bucket only ever holds ciphertext, and a resumed download (reget) gets the right bytes
// from the middle of the encrypted object.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptedFileSize } from '../../../src/vfs/crypt/format.ts';
import { freePort } from '../../support/net.ts';
import { s3ClientFor, type S3rver, startS3rver } from '../../support/s3rver.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'vault-Secret-7';

let s3: S3rver;
let server: RunningServer;
let port = 0;
let work = '';

beforeAll(async () => {
  s3 = await startS3rver('vaults');
  work = tempDir('crypt-s3-sftp-');
  port = await freePort();
  const yaml = `
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
folders:
  - name: vault
    filesystem:
      provider: crypt
      cryptconfig:
        passphrase: { env: VAULT_PASSPHRASE }
        storage: s3
      s3config:
        bucket: vaults
        region: us-east-1
        endpoint: "${s3.endpoint}"
        force_path_style: true
        access_key: ${s3.accessKey}
        access_secret: ${s3.secretKey}
        key_prefix: "team/"
        request_checksum_calculation: when_required
        response_checksum_validation: when_required
users:
  - username: enc
    password: ${PASSWORD}
    home_dir: ${join(work, 'home')}
    permissions: { "/": ["*"] }
    virtual_folders:
      - { name: vault, virtual_path: /vault }
`;
  server = await startServer({ yaml, cwd: work, env: { VAULT_PASSPHRASE: 'folder passphrase' } });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await s3?.stop();
  removeTempDirs();
}, 60_000);

function sftp(lines: string[]): ReturnType<typeof sftpBatchSync> {
  return sftpBatchSync({ port, user: 'enc', password: PASSWORD, dir: work, lines });
}

async function bucket(): Promise<Map<string, Buffer>> {
  const c = s3ClientFor(s3);
  try {
    const out = new Map<string, Buffer>();
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'vaults' }));
    for (const o of listed.Contents ?? []) {
      const got = await c.send(new GetObjectCommand({ Bucket: 'vaults', Key: o.Key! }));
      out.set(o.Key!, Buffer.from(await got.Body!.transformToByteArray()));
    }
    return out;
  } finally {
    c.destroy();
  }
}

describe('a user with an encrypted virtual folder on S3', () => {
  const data = randomBytes(3 * 1024 * 1024 + 4321);

  test('put, ls, rename and get round-trip through the folder; the bucket holds only ciphertext', async () => {
    const local = join(work, 'payload.bin');
    writeFileSync(local, data);
    const r = sftp([`put ${local} /vault/a.bin`, 'mkdir /vault/sub', 'rename /vault/a.bin /vault/sub/b.bin', 'ls -l /vault/sub', `get /vault/sub/b.bin ${local}.back`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The listing shows the plaintext size.
    expect(r.stdout).toMatch(new RegExp(`\\s${data.length}\\s.*b\\.bin`));
    expect(readFileSync(`${local}.back`).equals(data)).toBe(true);

    const objects = await bucket();
    expect([...objects.keys()].sort()).toEqual(['team/sub/', 'team/sub/b.bin']);
    const stored = objects.get('team/sub/b.bin')!;
    expect(stored.length).toBe(encryptedFileSize(data.length));
    for (let off = 0; off + 32 <= data.length; off += 64 * 1024 + 7) expect(stored.includes(data.subarray(off, off + 32))).toBe(false);
  }, 180_000);

  test('a resumed download (reget) gets the right bytes from the middle of the encrypted object', async () => {
    const partial = join(work, 'partial.bin');
    // Not on a package boundary, so the server must decrypt the package it starts in. The local
    // prefix is zeros: it stays as it is only if nothing before the offset was fetched again.
    const have = 1_000_003;
    writeFileSync(partial, Buffer.alloc(have));
    const r = sftp([`reget /vault/sub/b.bin ${partial}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = readFileSync(partial);
    expect(got.length).toBe(data.length);
    expect(got.subarray(0, have).equals(Buffer.alloc(have))).toBe(true);
    expect(got.subarray(have).equals(data.subarray(have))).toBe(true);
  }, 180_000);

  test('an upload replacing a file keeps it whole, and rm removes the object', async () => {
    const local = join(work, 'small.txt');
    writeFileSync(local, 'second version');
    const r = sftp([`put ${local} /vault/sub/b.bin`, `get /vault/sub/b.bin ${local}.back`, 'rm /vault/sub/b.bin', 'ls /vault/sub']);
    expect(r.status).toBe(0);
    expect(readFileSync(`${local}.back`, 'utf8')).toBe('second version');
    expect([...(await bucket()).keys()]).toEqual(['team/sub/']);
  }, 180_000);
});
