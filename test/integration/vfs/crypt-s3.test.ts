// Crypt over S3 (s3rver): the shared backend suite through openFs with cryptconfig.storage, then
// what the wrapping must show: the bucket holds only ciphertext in the DARE format (readable by
// crypt over local from the same bytes), a ranged read fetches only the packages under the range,
// an aborted overwrite keeps the previous object, and optional operations follow the inner Fs.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Filesystem } from '../../../src/config/schema-types.ts';
import { cryptFsOver, openCryptFs } from '../../../src/vfs/crypt/crypt-fs.ts';
import { encryptedFileSize, FILE_HEADER_SIZE, MAX_PACKAGE, MAX_PAYLOAD, packageOffset } from '../../../src/vfs/crypt/format.ts';
import type { Fs, ReadRange } from '../../../src/vfs/fs.ts';
import { openFs } from '../../../src/vfs/open.ts';
import { resolveSecret } from '../../../src/config/secrets.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';

/** The config's own resolver, as the core passes it. */
const OPEN = { resolveSecret: (s: Parameters<typeof resolveSecret>[0]) => resolveSecret(s, process.cwd(), NO_SECRETS) };
import { openS3Fs } from '../../../src/vfs/s3/s3fs.ts';
import { s3ClientFor, s3ConfigFor, type S3rver, startS3rver } from '../../support/s3rver.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { readFile, runFsSuite, writeFile } from './suite.ts';

const PASSPHRASE = 'crypt over s3';

let srv: S3rver;
beforeAll(async () => {
  srv = await startS3rver('vault');
}, 60_000);
afterAll(async () => {
  await srv?.stop();
  removeTempDirs();
}, 60_000);

function filesystem(keyPrefix: string): Filesystem {
  return { provider: 'crypt', cryptconfig: { passphrase: PASSPHRASE, storage: 's3' }, s3config: s3ConfigFor(srv, { key_prefix: keyPrefix }), rename_dirs: true };
}

async function object(raw: S3Client, key: string): Promise<Buffer> {
  const r = await raw.send(new GetObjectCommand({ Bucket: srv.bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

runFsSuite(
  'crypt over s3',
  async () => {
    // No local root: the path given for local storage must not be touched.
    const fs = await openFs(filesystem('suite/'), '/nonexistent/crypt-over-s3', OPEN);
    return { fs, cleanup: async () => fs.close?.() };
  },
  { bigFileBytes: 24 * 2 ** 20, cancellation: true },
);

/** The inner S3 Fs, recording every ranged read asked of it. */
function recording(inner: Fs): { fs: Fs; reads: ReadRange[] } {
  const reads: ReadRange[] = [];
  const fs = new Proxy(inner, {
    get(target, key) {
      if (key === 'openRead')
        return (path: string, range: ReadRange = {}) => {
          reads.push(range);
          return target.openRead(path, range);
        };
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { fs, reads };
}

describe('crypt over S3', () => {
  let raw: S3Client;
  const opened: Fs[] = [];
  beforeAll(() => {
    raw = s3ClientFor(srv);
  });
  afterAll(async () => {
    for (const fs of opened) await fs.close?.();
    raw?.destroy();
  });
  const open = async (keyPrefix: string): Promise<Fs> => {
    const fs = await openFs(filesystem(keyPrefix), '/nonexistent', OPEN);
    opened.push(fs);
    return fs;
  };

  const PLAIN = randomBytes(5 * MAX_PAYLOAD + 100);

  test('the bucket holds DARE ciphertext under the plaintext name, never the plaintext', async () => {
    const fs = await open('cipher/');
    await fs.mkdir('/docs');
    await writeFile(fs, '/docs/report.bin', PLAIN);
    const listed = await raw.send(new ListObjectsV2Command({ Bucket: srv.bucket, Prefix: 'cipher/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['cipher/docs/', 'cipher/docs/report.bin']);
    const stored = await object(raw, 'cipher/docs/report.bin');
    expect(stored.length).toBe(encryptedFileSize(PLAIN.length));
    expect(stored[0]).toBe(0x10);
    for (let off = 0; off + 16 <= PLAIN.length; off += 4096) expect(stored.indexOf(PLAIN.subarray(off, off + 16))).toBe(-1);
    expect((await fs.stat('/docs/report.bin')).size).toBe(PLAIN.length);
    expect(existsSync('/nonexistent')).toBe(false); // the local root is not used
    // The same bytes on local disk read back through crypt over local: one format everywhere.
    const dir = tempDir();
    writeFileSync(join(dir, 'report.bin'), stored);
    expect((await readFile(await openCryptFs(dir, { passphrase: PASSPHRASE }), '/report.bin')).equals(PLAIN)).toBe(true);
  });

  test('a ranged read fetches only the packages under the range', async () => {
    const s3 = await openS3Fs(s3ConfigFor(srv, { key_prefix: 'ranges/' }));
    opened.push(s3);
    const { fs: inner, reads } = recording(s3);
    const fs = cryptFsOver(inner, { passphrase: PASSPHRASE });
    await writeFile(fs, '/r.bin', PLAIN);

    const start = 2 * MAX_PAYLOAD + 10;
    const end = 3 * MAX_PAYLOAD + 5;
    reads.length = 0;
    expect((await readFile(fs, '/r.bin', { start, end })).equals(PLAIN.subarray(start, end + 1))).toBe(true);
    // The file header for the key, then packages 2 and 3 in one request.
    expect(reads).toEqual([
      { start: 0, end: FILE_HEADER_SIZE - 1 },
      { start: packageOffset(2), end: packageOffset(4) - 1 },
    ]);

    reads.length = 0;
    expect((await readFile(fs, '/r.bin', { start: 100, end: 200 })).equals(PLAIN.subarray(100, 201))).toBe(true);
    // In the first package: header and package in the same request.
    expect(reads).toEqual([{ start: 0, end: FILE_HEADER_SIZE + MAX_PACKAGE - 1 }]);

    reads.length = 0;
    const tail = PLAIN.length - 50;
    expect((await readFile(fs, '/r.bin', { start: tail })).equals(PLAIN.subarray(tail))).toBe(true);
    expect(reads).toEqual([
      { start: 0, end: FILE_HEADER_SIZE - 1 },
      { start: packageOffset(5), end: encryptedFileSize(PLAIN.length) - 1 },
    ]);
  });

  test('an aborted overwrite keeps the previous object; an aborted new file leaves none', async () => {
    const fs = await open('abort/');
    await writeFile(fs, '/keep.bin', PLAIN);
    const w = await fs.openWrite('/keep.bin');
    await w.write(randomBytes(300_000)); // several packages already sealed and sent
    await w.abort();
    expect((await readFile(fs, '/keep.bin')).equals(PLAIN)).toBe(true);
    const n = await fs.openWrite('/new.bin');
    await n.write(randomBytes(300_000));
    await n.abort();
    const listed = await raw.send(new ListObjectsV2Command({ Bucket: srv.bucket, Prefix: 'abort/' }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual(['abort/keep.bin']);
  });

  test("capabilities and optional operations are the inner's, minus what DARE cannot do", async () => {
    const fs = await open('caps/');
    expect(fs.capabilities).toMatchObject({ randomWrites: false, resume: false, checksums: [] });
    expect(fs.copy).toBeDefined();
    expect(fs.openReader).toBeUndefined();
    expect(fs.chmod).toBeUndefined();
    expect(fs.symlink).toBeUndefined();
    // A server-side copy of the ciphertext is a valid encrypted file.
    await writeFile(fs, '/a.bin', PLAIN);
    await fs.copy!('/a.bin', '/b.bin');
    expect((await readFile(fs, '/b.bin')).equals(PLAIN)).toBe(true);
    await expect(fs.openWrite('/a.bin', { append: true })).rejects.toMatchObject({ code: 'unsupported' });
  });

  test('a wrong passphrase over the same bucket fails the read, not the listing', async () => {
    const fs = await open('wrong/');
    await writeFile(fs, '/s.bin', PLAIN);
    const wrong = await openFs({ ...filesystem('wrong/'), cryptconfig: { passphrase: 'not it', storage: 's3' } }, '/nonexistent', OPEN);
    opened.push(wrong);
    expect((await wrong.stat('/s.bin')).size).toBe(PLAIN.length);
    await expect(readFile(wrong, '/s.bin', { start: 3 * MAX_PAYLOAD })).rejects.toMatchObject({ code: 'io' });
  });
});
