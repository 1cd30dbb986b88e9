// The GCS JSON API test server (test/support/gcs-server.ts), exercised only through the real
// @google-cloud/storage SDK: if the SDK is happy with it, backend tests against it mean something.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ApiError, type Bucket, CRC32C, type File, Storage } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { crc32cBase64, crc32cUpdate } from '../support/gcs-crc32c.ts';
import { type GcsServer, startGcsServer } from '../support/gcs-server.ts';

let srv: GcsServer;
let storage: Storage;
let bucket: Bucket;

beforeAll(async () => {
  srv = await startGcsServer();
  storage = new Storage({ apiEndpoint: srv.endpoint, projectId: 'test', retryOptions: { autoRetry: false } });
  [bucket] = await storage.createBucket('server-test');
});

afterAll(async () => {
  await srv?.close();
});

/** A raw JSON API call through the SDK's own request path (for endpoints it has no method for). */
function rawRequest(opts: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) =>
    (storage as unknown as { request(o: unknown, cb: (e: Error | null, body: unknown) => void): void }).request(opts, (e, body) => (e ? reject(e) : resolve(body))),
  );
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function errorOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected an error');
}

/** Writes `data` in 64 KiB pieces, honouring backpressure, then waits for the upload to finish. */
async function writeAll(ws: Writable, data: Buffer): Promise<void> {
  for (let off = 0; off < data.length; off += 65536) {
    if (!ws.write(data.subarray(off, off + 65536))) await new Promise((r) => ws.once('drain', r));
  }
  ws.end();
  await finished(ws);
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');
const sdkCrc = (b: Buffer): string => {
  const c = new CRC32C();
  c.update(b);
  return c.toString();
};
const puts = (): number => srv.counts.get('upload.resumable.put') ?? 0;

describe('crc32c', () => {
  test('known vectors', () => {
    expect(crc32cUpdate(0, Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cBase64(crc32cUpdate(0, Buffer.alloc(0)))).toBe('AAAAAA==');
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros
    expect(crc32cUpdate(0, Buffer.alloc(32))).toBe(0x8a9136aa);
  });

  test('incremental, and the same as the SDK computes', () => {
    for (const n of [1, 7, 8, 9, 100, 65_537]) {
      const d = randomBytes(n);
      const split = crc32cUpdate(crc32cUpdate(0, d.subarray(0, n >> 1)), d.subarray(n >> 1));
      expect(split).toBe(crc32cUpdate(0, d));
      expect(crc32cBase64(split)).toBe(sdkCrc(d));
    }
  });
});

describe('buckets', () => {
  test('insert, get, conflict, missing, delete', async () => {
    const [b] = await storage.createBucket('other-bucket');
    const [meta] = await b.getMetadata();
    expect(meta.name).toBe('other-bucket');
    expect((await b.exists())[0]).toBe(true);
    expect((await errorOf(storage.createBucket('other-bucket'))).code).toBe(409);
    expect((await errorOf(storage.bucket('no-such-bucket').getMetadata())).code).toBe(404);
    await b.file('x').save('x', { resumable: false });
    expect((await errorOf(b.delete())).code).toBe(409);
    await b.file('x').delete();
    await b.delete();
    expect((await storage.bucket('other-bucket').exists())[0]).toBe(false);
  });
});

describe('uploads', () => {
  test('media upload (uploadType=media)', async () => {
    const body = await rawRequest({
      method: 'POST',
      uri: `${srv.endpoint}/upload/storage/v1/b/server-test/o`,
      qs: { uploadType: 'media', name: 'media.txt' },
      body: Buffer.from('media body'),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(body).toMatchObject({ name: 'media.txt', size: '10', contentType: 'text/plain', md5Hash: md5(Buffer.from('media body')) });
    expect((await bucket.file('media.txt').download())[0].toString()).toBe('media body');
  });

  test('multipart upload with metadata; md5 and crc32c as Google computes them', async () => {
    const data = randomBytes(200_000);
    const f = bucket.file('dir/multi part.bin');
    await f.save(data, { resumable: false, contentType: 'application/x-test', metadata: { metadata: { a: '1' } } });
    const [m] = await f.getMetadata();
    expect(m).toMatchObject({ size: '200000', contentType: 'application/x-test', metadata: { a: '1' }, md5Hash: md5(data), crc32c: sdkCrc(data), metageneration: '1' });
    expect(Number(m.generation)).toBeGreaterThan(0);
    // Full downloads are validated by the SDK (crc32c by default, md5 on request).
    expect((await f.download())[0].equals(data)).toBe(true);
    expect((await readAll(f.createReadStream({ validation: 'md5' }))).equals(data)).toBe(true);
  });

  test('resumable upload of a few MiB in several chunks', async () => {
    const data = randomBytes(5 * 2 ** 20 + 123);
    const before = puts();
    const f = bucket.file('resumable.bin');
    await writeAll(f.createWriteStream({ resumable: true, chunkSize: 2 ** 20, metadata: { metadata: { k: 'v' } } }), data);
    expect(puts() - before).toBe(6);
    const [m] = await f.getMetadata();
    expect(m).toMatchObject({ size: String(data.length), md5Hash: md5(data), crc32c: sdkCrc(data), metadata: { k: 'v' } });
    expect((await f.download())[0].equals(data)).toBe(true);
    expect(srv.openSessions()).toBe(0);
  });

  test('resumable upload of an empty object', async () => {
    const f = bucket.file('empty');
    await writeAll(f.createWriteStream({ resumable: true, chunkSize: 256 * 1024 }), Buffer.alloc(0));
    expect((await f.getMetadata())[0].size).toBe('0');
    expect((await f.download())[0].length).toBe(0);
  });

  test('resumable upload resumed in a new stream: status query, then the rest', async () => {
    const data = randomBytes(1024 * 1024);
    const f = bucket.file('resumed.bin');
    const [uri] = await f.createResumableUpload();
    // First half as a partial upload: the session stays open, no object yet.
    await writeAll(f.createWriteStream({ uri, resumable: true, isPartialUpload: true, chunkSize: 256 * 1024 }), data.subarray(0, 512 * 1024));
    expect((await f.exists())[0]).toBe(false);
    expect(srv.openSessions()).toBe(1);
    // A new stream on the same URI asks the server where it is (`bytes */*` → 308 + Range),
    // skips what the server has and sends the rest.
    const before = puts();
    await writeAll(f.createWriteStream({ uri, resumable: true, chunkSize: 256 * 1024 }), data);
    expect(puts() - before).toBe(3);
    expect((await f.download())[0].equals(data)).toBe(true);
    expect(srv.openSessions()).toBe(0);
  });

  test('resumable session cancelled with DELETE → 499; the session is gone and no object appears', async () => {
    const f = bucket.file('cancelled.bin');
    const [uri] = await f.createResumableUpload();
    await writeAll(f.createWriteStream({ uri, resumable: true, isPartialUpload: true, chunkSize: 256 * 1024 }), randomBytes(512 * 1024));
    expect(srv.openSessions()).toBe(1);
    expect((await errorOf(rawRequest({ method: 'DELETE', uri }))).code).toBe(499);
    expect(srv.openSessions()).toBe(0);
    const ws = f.createWriteStream({ uri, resumable: true, chunkSize: 256 * 1024 });
    const err = await errorOf(writeAll(ws, randomBytes(1024)));
    // Session requests fail with gaxios errors: the HTTP status is in `status`, not `code`.
    expect((err as unknown as { status: unknown }).status).toBe(404);
    expect((await f.exists())[0]).toBe(false);
  });

  test('a destroyed resumable stream leaves no object', async () => {
    const f = bucket.file('destroyed.bin');
    const ws = f.createWriteStream({ resumable: true, chunkSize: 256 * 1024 });
    ws.on('error', () => {});
    const uri = new Promise<string>((r) => ws.once('uri', r));
    for (let i = 0; i < 10; i++) if (!ws.write(randomBytes(65536))) await new Promise((r) => ws.once('drain', r));
    await uri;
    ws.destroy();
    await new Promise((r) => setImmediate(r));
    expect((await f.exists())[0]).toBe(false);
  });

  test('preconditions: ifGenerationMatch=0 on an existing object → 412', async () => {
    const f = bucket.file('pre.txt');
    await f.save('one', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const err = await errorOf(f.save('two', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }));
    expect(err.code).toBe(412);
    expect(err.errors?.[0]?.reason).toBe('conditionNotMet');
    const [m] = await f.getMetadata();
    expect((await errorOf(f.delete({ ifGenerationMatch: Number(m.generation) + 1 }))).code).toBe(412);
    await f.save('three', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(m.generation) } });
    expect(Number((await f.getMetadata())[0].generation)).toBeGreaterThan(Number(m.generation));
  });
});

describe('downloads', () => {
  let data: Buffer;
  let f: File;
  beforeAll(async () => {
    data = randomBytes(100_000);
    f = bucket.file('ranged.bin');
    await f.save(data, { resumable: false });
  });

  test('ranges: 206 with the right bytes; tail; past the end is 416', async () => {
    expect((await readAll(f.createReadStream({ start: 10, end: 19 }))).equals(data.subarray(10, 20))).toBe(true);
    expect((await readAll(f.createReadStream({ start: 99_990 }))).equals(data.subarray(99_990))).toBe(true);
    expect((await readAll(f.createReadStream({ start: 50_000, end: 1_000_000 }))).equals(data.subarray(50_000))).toBe(true);
    expect((await readAll(f.createReadStream({ end: -5 }))).equals(data.subarray(-5))).toBe(true);
    expect((await errorOf(readAll(f.createReadStream({ start: 100_000 })))).code).toBe(416);
  });

  test('a missing object is a 404 with a JSON error body', async () => {
    const err = await errorOf(readAll(bucket.file('nope').createReadStream()));
    expect(err.code).toBe(404);
    const meta = await errorOf(bucket.file('nope').getMetadata());
    expect(meta.code).toBe(404);
    expect(meta.errors?.[0]?.reason).toBe('notFound');
  });
});

describe('listing', () => {
  beforeAll(async () => {
    for (const n of ['l/a', 'l/b', 'l/c/1', 'l/c/2', 'l/d/', 'l/e', 'l/f/x/y', 'lz']) await bucket.file(n).save('x', { resumable: false });
  });

  async function listAll(query: Record<string, unknown>): Promise<{ names: string[]; prefixes: string[]; pages: number }> {
    const names: string[] = [];
    const prefixes: string[] = [];
    let pages = 0;
    let q: Record<string, unknown> | null = { ...query, autoPaginate: false };
    while (q) {
      const [files, next, resp] = (await bucket.getFiles(q)) as unknown as [File[], Record<string, unknown> | null, { prefixes?: string[] }];
      pages++;
      names.push(...files.map((x) => x.name));
      prefixes.push(...(resp.prefixes ?? []));
      q = next;
    }
    return { names, prefixes, pages };
  }

  test('prefix + delimiter, paged by maxResults: every entry once', async () => {
    const r = await listAll({ prefix: 'l/', delimiter: '/', maxResults: 2 });
    expect(r.names).toEqual(['l/a', 'l/b', 'l/e']);
    expect(r.prefixes).toEqual(['l/c/', 'l/d/', 'l/f/']);
    expect(r.pages).toBe(3);
  });

  test('flat listing with a prefix, one page and several', async () => {
    const all = ['l/a', 'l/b', 'l/c/1', 'l/c/2', 'l/d/', 'l/e', 'l/f/x/y'];
    expect((await listAll({ prefix: 'l/' })).names).toEqual(all);
    const paged = await listAll({ prefix: 'l/', maxResults: 3 });
    expect(paged.names).toEqual(all);
    expect(paged.pages).toBe(3);
  });
});

describe('metadata, copy, delete', () => {
  test('rewriteTo copies bytes; metadata given replaces the source metadata', async () => {
    const src = bucket.file('src.txt');
    await src.save('source', { resumable: false, contentType: 'text/plain', metadata: { metadata: { a: '1', b: '2' } } });
    await src.copy(bucket.file('copy-same.txt'));
    expect((await bucket.file('copy-same.txt').getMetadata())[0]).toMatchObject({ metadata: { a: '1', b: '2' }, contentType: 'text/plain' });
    await src.copy(bucket.file('copy-new.txt'), { metadata: { c: '3' } });
    const [m] = await bucket.file('copy-new.txt').getMetadata();
    expect(m.metadata).toEqual({ c: '3' });
    expect(m.contentType).toBe('text/plain');
    expect((await bucket.file('copy-new.txt').download())[0].toString()).toBe('source');
    expect(srv.counts.get('objects.rewriteTo')).toBeGreaterThanOrEqual(2);
    expect((await errorOf(bucket.file('no-src').copy(bucket.file('x')))).code).toBe(404);
  });

  test('copyTo', async () => {
    const body = (await rawRequest({ method: 'POST', uri: `/b/server-test/o/${encodeURIComponent('src.txt')}/copyTo/b/server-test/o/${encodeURIComponent('dir/copied.txt')}`, json: { metadata: { z: '9' } } })) as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'dir/copied.txt', metadata: { z: '9' }, size: '6' });
    expect((await bucket.file('dir/copied.txt').download())[0].toString()).toBe('source');
  });

  test('PATCH merges metadata, null removes a key, metageneration grows', async () => {
    const f = bucket.file('patched.txt');
    await f.save('p', { resumable: false, metadata: { metadata: { keep: '1', drop: '2' } } });
    await f.setMetadata({ metadata: { drop: null, add: '3' }, contentType: 'text/x-patched' });
    const [m] = await f.getMetadata();
    expect(m.metadata).toEqual({ keep: '1', add: '3' });
    expect(m).toMatchObject({ contentType: 'text/x-patched', metageneration: '2' });
  });

  test('delete; deleting again is 404 unless ignoreNotFound', async () => {
    const f = bucket.file('to-delete.txt');
    await f.save('d', { resumable: false });
    await f.delete();
    expect((await f.exists())[0]).toBe(false);
    expect((await errorOf(f.delete())).code).toBe(404);
    await f.delete({ ignoreNotFound: true });
  });
});
