// The S3 backend against a real s3rver: the shared Fs suite, then what only S3 has (key prefix
// confinement, multipart abort and failed completion leaving nothing, parallel ranged downloads,
// bounded directory renames, mtime metadata as the raw SDK sees it).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { isAppError } from '../../../src/errors.ts';
import { resolveSecret } from '../../../src/config/secrets.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import type { S3Config } from '../../../src/config/schema-types.ts';
import { MTIME_METADATA_KEY } from '../../../src/vfs/object/client.ts';
import type { ObjectFs } from '../../../src/vfs/object/objectfs.ts';
import { openS3Fs, s3ClientOptions } from '../../../src/vfs/s3/s3fs.ts';
import { FAIL_COMPLETE_MARKER, s3ClientFor, s3ConfigFor, startS3rver, type S3rver } from '../../support/s3rver.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { names, readAll, readFile, runFsSuite, writeFile } from './suite.ts';

async function allKeys(raw: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }));
    for (const c of r.Contents ?? []) keys.push(c.Key!);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** ListMultipartUploads (served by the test helper's addition to s3rver). */
async function pendingUploads(srv: S3rver): Promise<string[]> {
  const res = await fetch(`${srv.endpoint}/${srv.bucket}?uploads`);
  const xml = await res.text();
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAppError(err) ? err.code : String(err)).toBe(code);
}

let srv: S3rver;
beforeAll(async () => {
  srv = await startS3rver();
}, 60_000);
afterAll(async () => {
  await srv?.stop();
  removeTempDirs();
}, 60_000);

runFsSuite('s3', async () => {
  const fs = await openS3Fs(s3ConfigFor(srv, { key_prefix: 'suite/' }), { renameDirs: true });
  return { fs, cleanup: () => fs.close() };
}, { cancellation: true });

describe('S3 backend', () => {
  let raw: S3Client;
  const opened: ObjectFs[] = [];
  const open = async (extra: Partial<S3Config>, opts: Parameters<typeof openS3Fs>[1] = {}): Promise<ObjectFs> => {
    const fs = await openS3Fs(s3ConfigFor(srv, extra), opts);
    opened.push(fs);
    return fs;
  };
  beforeAll(() => {
    raw = s3ClientFor(srv);
  });
  afterAll(async () => {
    for (const fs of opened) await fs.close();
    raw?.destroy();
  });

  test('the key prefix confines the user: objects land under it, nothing outside is visible', async () => {
    const fs = await open({ key_prefix: 'alice' });
    const outside = await open({ key_prefix: '' });
    await writeFile(outside, '/outside.txt', Buffer.from('o'));
    await writeFile(outside, '/alice-other/x.txt', Buffer.from('x'));
    await writeFile(fs, '/in.txt', Buffer.from('i'));
    await writeFile(fs, '/../../escape.txt', Buffer.from('e'));
    await fs.mkdir('/sub');
    expect(await allKeys(raw, srv.bucket, 'alice')).toEqual(['alice-other/x.txt', 'alice/escape.txt', 'alice/in.txt', 'alice/sub/']);
    expect(await names(fs, '/')).toEqual(['escape.txt', 'in.txt', 'sub']);
    expect(await names(fs, '/..')).toEqual(['escape.txt', 'in.txt', 'sub']);
    await expectCode(fs.stat('/../outside.txt'), 'not_found');
    await expectCode(fs.openRead('/../alice-other/x.txt'), 'not_found');
  });

  test('an aborted multipart upload leaves no upload and no object', async () => {
    const fs = await open({ key_prefix: 'mp-abort/', upload_part_size: 5 });
    const w = await fs.openWrite('/big-aborted.bin');
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < 12; i++) await w.write(chunk);
    // Parts are in flight once the first 5 MiB were cut; wait for the multipart upload to exist.
    const deadline = Date.now() + 30_000;
    while ((await pendingUploads(srv)).length === 0) {
      if (Date.now() > deadline) throw new Error('multipart upload never started');
      await new Promise((r) => setTimeout(r, 20)); // poll interval
    }
    expect(await pendingUploads(srv)).toEqual(['mp-abort/big-aborted.bin']);
    await w.abort();
    expect(await pendingUploads(srv)).toEqual([]);
    expect(await allKeys(raw, srv.bucket, 'mp-abort/')).toEqual([]);
    await expectCode(fs.stat('/big-aborted.bin'), 'not_found');
  });

  test('a failed completion aborts the multipart upload and leaves no object', async () => {
    const fs = await open({ key_prefix: 'mp-fail/' });
    const name = `/x${FAIL_COMPLETE_MARKER}.bin`;
    const w = await fs.openWrite(name);
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < 11; i++) await w.write(chunk);
    await expectCode(w.close(), 'invalid');
    await w.abort(); // what the core does after a failed close: harmless
    expect(await pendingUploads(srv)).toEqual([]);
    expect(await allKeys(raw, srv.bucket, 'mp-fail/')).toEqual([]);
  });

  test('large reads fetch ranges in parallel and return exact bytes', async () => {
    const fs = await open({ key_prefix: 'ranges/', download_part_size: 5, download_concurrency: 3 });
    const data = randomBytes(23 * 2 ** 20 + 12_345);
    await writeFile(fs, '/multi.bin', [data.subarray(0, 9 * 2 ** 20), data.subarray(9 * 2 ** 20)]);
    const whole = await fs.openRead('/multi.bin');
    expect(whole.constructor.name).toBe('ParallelRangeReader');
    const h = createHash('sha256');
    for await (const c of whole) h.update(c);
    expect(h.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const start = 4 * 2 ** 20 + 123;
    const end = 17 * 2 ** 20 + 7;
    expect((await readFile(fs, '/multi.bin', { start, end })).equals(data.subarray(start, end + 1))).toBe(true);
    expect((await readFile(fs, '/multi.bin', { start: data.length - 10 })).equals(data.subarray(data.length - 10))).toBe(true);
    // Dropping a stream midway cancels what is in flight and ends cleanly.
    const partial = await fs.openRead('/multi.bin');
    for await (const _ of partial) break;
    expect(partial.destroyed).toBe(true);
  }, 120_000);

  test('a directory rename is refused when disabled, and over the bound, before anything is copied', async () => {
    const off = await open({ key_prefix: 'ren/' }, { renameDirs: false });
    await off.mkdir('/d');
    await writeFile(off, '/d/a', Buffer.from('a'));
    await writeFile(off, '/d/b', Buffer.from('b'));
    await writeFile(off, '/d/c', Buffer.from('c'));
    await expectCode(off.rename('/d', '/e'), 'unsupported');
    const bounded = await open({ key_prefix: 'ren/' }, { renameDirs: true, renameDirMaxObjects: 3 });
    await expectCode(bounded.rename('/d', '/e'), 'unsupported'); // marker + 3 files = 4 objects
    expect(await allKeys(raw, srv.bucket, 'ren/')).toEqual(['ren/d/', 'ren/d/a', 'ren/d/b', 'ren/d/c']);
    const enough = await open({ key_prefix: 'ren/' }, { renameDirs: true, renameDirMaxObjects: 4 });
    await enough.rename('/d', '/e');
    expect(await allKeys(raw, srv.bucket, 'ren/')).toEqual(['ren/e/', 'ren/e/a', 'ren/e/b', 'ren/e/c']);
  });

  test('mtime is kept in object metadata, read back with the raw SDK, and carried by a rename', async () => {
    const fs = await open({ key_prefix: 'mtime/' });
    await writeFile(fs, '/t.txt', Buffer.from('payload'));
    const mtime = Date.UTC(2019, 5, 6, 7, 8, 9, 0);
    await fs.setTimes('/t.txt', mtime, mtime);
    const head = await raw.send(new HeadObjectCommand({ Bucket: srv.bucket, Key: 'mtime/t.txt' }));
    expect(head.Metadata?.[MTIME_METADATA_KEY]).toBe(String(mtime));
    const body = await raw.send(new GetObjectCommand({ Bucket: srv.bucket, Key: 'mtime/t.txt' }));
    expect(await body.Body!.transformToString()).toBe('payload'); // the self-copy kept the bytes
    await fs.rename('/t.txt', '/u.txt');
    expect((await fs.stat('/u.txt')).mtimeMs).toBe(mtime);
    expect((await readAll(await fs.openRead('/u.txt'))).toString()).toBe('payload');
  });

  test('an object stored gzip-encoded reads back as stored: no inflating, ranges count stored bytes', async () => {
    const fs = await open({ key_prefix: 'gz/' });
    const stored = gzipSync(randomBytes(300_000));
    await raw.send(new PutObjectCommand({ Bucket: srv.bucket, Key: 'gz/f.gz', Body: stored, ContentEncoding: 'gzip' }));
    expect((await fs.stat('/f.gz')).size).toBe(stored.length);
    expect(Buffer.compare(await readAll(await fs.openRead('/f.gz')), stored)).toBe(0);
    expect(Buffer.compare(await readAll(await fs.openRead('/f.gz', { start: 1000, end: 1999 })), stored.subarray(1000, 2000))).toBe(0);
  });

  test('truncate: to 0 empties the object, any other size is unsupported', async () => {
    const fs = await open({ key_prefix: 'trunc/' });
    await writeFile(fs, '/f', Buffer.from('0123456789'));
    await expectCode(fs.truncate('/f', 4), 'unsupported');
    await fs.truncate('/f', 0);
    expect((await fs.stat('/f')).size).toBe(0);
  });

  test('an unknown access key is permission_denied, a dead endpoint is io', async () => {
    // s3rver does not check V4 signatures, only that the access key exists.
    const bad = await open({ key_prefix: 'x/', access_key: 'nobody', access_secret: 'wrong' });
    await expectCode(bad.stat('/f'), 'permission_denied');
    const dead = await open({ endpoint: 'http://127.0.0.1:1' });
    await expectCode(dead.stat('/f'), 'io');
  });
});

/** Client-side ESTABLISHED TCP connections to `port` on loopback (Linux /proc/net/tcp). */
function connectionsTo(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const f = line.trim().split(/\s+/);
      return f[2]?.endsWith(`:${hexPort}`) && f[3] === '01';
    }).length;
}

describe('S3 backend resources', () => {
  test('close() releases every socket, including those of a dropped parallel read and an aborted upload', async () => {
    const own = await startS3rver('release');
    try {
      const port = Number(new URL(own.endpoint).port);
      const fs = await openS3Fs(s3ConfigFor(own, { download_part_size: 5, download_concurrency: 3 }));
      await writeFile(fs, '/f.bin', [randomBytes(12 * 2 ** 20)]);
      const r = await fs.openRead('/f.bin');
      for await (const _ of r) break;
      const w = await fs.openWrite('/g.bin');
      await w.write(randomBytes(6 * 2 ** 20));
      await w.abort();
      expect(await names(fs, '/')).toEqual(['f.bin']);
      expect(connectionsTo(port)).toBeGreaterThan(0); // keep-alive sockets are pooled while open
      await fs.close();
      // Under Bun the requests go through the runtime's fetch, whose pool closes an idle socket
      // after ~6 s (measured, bun 1.4.5) and offers no way to close them sooner.
      const deadline = Date.now() + 20_000;
      while (connectionsTo(port) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20)); // poll
      expect(connectionsTo(port)).toBe(0);
    } finally {
      await own.stop();
    }
  }, 60_000);
});

describe('S3Config mapping', () => {
  test('SFTPGo defaults: 5 MB parts (minimum 5), 2 in flight, us-east-1, default credential chain', () => {
    const o = s3ClientOptions({ bucket: 'b' });
    expect(o.region).toBe('us-east-1');
    expect(o.credentials).toBeUndefined();
    expect([o.uploadPartSize, o.uploadConcurrency, o.downloadPartSize, o.downloadConcurrency]).toEqual([5 * 2 ** 20, 2, 5 * 2 ** 20, 2]);
    expect(s3ClientOptions({ bucket: 'b', upload_part_size: 2, download_part_size: 64 }).uploadPartSize).toBe(5 * 2 ** 20);
    expect(s3ClientOptions({ bucket: 'b', download_part_size: 64 }).downloadPartSize).toBe(64 * 2 ** 20);
  });
  test('secrets resolve from env and the SFTPGo plain form; SSE-C is carried', () => {
    process.env.SFTPGO_TEST_S3_SECRET = 'from-env';
    const o = s3ClientOptions({
      bucket: 'b',
      access_key: 'AK',
      access_secret: { env: 'SFTPGO_TEST_S3_SECRET' },
      session_token: { status: 'Plain', payload: 'tok' },
      sse_customer_key: 'k'.repeat(32),
    }, (s) => resolveSecret(s, process.cwd(), NO_SECRETS));
    expect(o.credentials).toEqual({ accessKeyId: 'AK', secretAccessKey: 'from-env', sessionToken: 'tok' });
    expect(o.sseCustomerKey).toBe('k'.repeat(32));
    delete process.env.SFTPGO_TEST_S3_SECRET;
  });
  test('refused: role_arn (not yet supported), an access key without secret, a KMS key without aws:kms', () => {
    const code = (c: S3Config): string | undefined => {
      try {
        s3ClientOptions(c);
      } catch (e) {
        return isAppError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(code({ bucket: 'b', role_arn: 'arn:aws:iam::1:role/x' })).toBe('unsupported');
    expect(code({ bucket: 'b', access_key: 'AK' })).toBe('config');
    expect(code({ bucket: 'b', sse_kms_key_id: 'k', server_side_encryption: 'AES256' })).toBe('config');
    expect(code({ bucket: '' })).toBe('config');
  });
});
