// The GCS backend against the GCS JSON API test server (test/support/gcs-server.ts): the shared
// Fs suite through openGcsFs, plus what is specific to GCS (the ObjectClient itself, key prefix
// confinement, resumable-session cleanup, mtime metadata as the raw SDK sees it).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Storage } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { isAppError } from '../../../src/errors.ts';
import { resolveSecret } from '../../../src/config/secrets.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import { failWhenSilent, GcsClient } from '../../../src/vfs/gcs/client.ts';
import { gcsTarget } from '../../../src/vfs/gcs/config.ts';
import { openGcsFs } from '../../../src/vfs/gcs/gcs-fs.ts';
import { MTIME_METADATA_KEY } from '../../../src/vfs/object/client.ts';
import { type GcsServer, startGcsServer } from '../../support/gcs-server.ts';
import { readAll, runFsSuite, writeFile } from './suite.ts';

let srv: GcsServer;
let raw: Storage;
let buckets = 0;

beforeAll(async () => {
  srv = await startGcsServer();
  raw = new Storage({ apiEndpoint: srv.endpoint, projectId: 'test' });
});

afterAll(async () => {
  await srv?.close();
});

function newBucket(): string {
  const name = `bucket-${++buckets}`;
  srv.createBucket(name);
  return name;
}

/** Polls `cond` (no fixed sleeps): for server-side effects of requests the client sends on its own. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return err.code;
    throw err;
  }
  return 'no error';
}

runFsSuite(
  'gcs',
  async () => {
    const fs = openGcsFs({ bucket: newBucket(), endpoint: srv.endpoint, upload_part_size: 4 }, { renameDirs: true });
    return { fs, cleanup: async () => fs.close?.() };
  },
  { cancellation: true },
);

describe('gcsconfig', () => {
  test('credentials, endpoint, chunk size, acl and key prefix', () => {
    process.env.GCS_TEST_CREDS = JSON.stringify({ type: 'service_account', project_id: 'p1', client_email: 'a@b', private_key: 'k' });
    try {
      const t = gcsTarget({ bucket: 'b', credentials: { env: 'GCS_TEST_CREDS' }, key_prefix: '/home/alice', acl: 'bucketOwnerRead' }, process.cwd(), (s) => resolveSecret(s, process.cwd(), NO_SECRETS));
      expect(t.storageOptions).toMatchObject({ projectId: 'p1', credentials: { client_email: 'a@b' } });
      expect(t.storageOptions.apiEndpoint).toBeUndefined();
      expect(t).toMatchObject({ keyPrefix: 'home/alice/', acl: 'bucketOwnerRead', chunkBytes: 16 * 2 ** 20 });
    } finally {
      delete process.env.GCS_TEST_CREDS;
    }
    const emu = gcsTarget({ bucket: 'b', endpoint: 'http://127.0.0.1:1/', upload_part_size: 2 }, process.cwd());
    expect(emu.storageOptions).toEqual({ apiEndpoint: 'http://127.0.0.1:1' });
    expect(emu.chunkBytes).toBe(2 * 2 ** 20);
    // upload_part_max_time: 0 means 32 s, as SFTPGo (the Go client's default chunk deadline).
    expect(emu.chunkMaxMs).toBe(32_000);
    expect(gcsTarget({ bucket: 'b', endpoint: 'http://127.0.0.1:1/', upload_part_max_time: 7 }, '/').chunkMaxMs).toBe(7000);
    expect(gcsTarget({ bucket: 'b', automatic_credentials: 1 }, '/cfg').storageOptions).toEqual({});
    expect(gcsTarget({ bucket: 'b', credentials_file: 'sa.json' }, '/cfg').storageOptions).toEqual({ keyFilename: '/cfg/sa.json' });
    expect(() => gcsTarget({ bucket: 'b' }, '/')).toThrow(/credentials/);
    expect(() => gcsTarget({ bucket: 'b', automatic_credentials: 1, acl: 'public-read' }, '/')).toThrow(/acl/);
    expect(() => gcsTarget({ bucket: 'b', automatic_credentials: 1, key_prefix: 'a/../b' }, '/')).toThrow(/key_prefix/);
    expect(() => gcsTarget({ bucket: 'b', credentials: 'not json' }, '/')).toThrow(/JSON/);
  });
});

describe('GcsClient', () => {
  let client: GcsClient;
  beforeAll(() => {
    client = new GcsClient(gcsTarget({ bucket: newBucket(), endpoint: srv.endpoint, upload_part_size: 1 }, process.cwd()));
  });
  afterAll(() => client.close());

  async function put(key: string, data: Buffer, metadata?: Record<string, string>): Promise<void> {
    const u = client.put(key, { metadata, contentType: 'application/octet-stream' });
    for (let off = 0; off < data.length; off += 100_000) await u.write(data.subarray(off, off + 100_000));
    await u.complete();
  }

  test('put, head, get; metadata keys come back lower-case', async () => {
    const data = randomBytes(250_000);
    await put('a/b.bin', data, { 'X-Custom': 'v' });
    const info = await client.head('a/b.bin');
    expect(info).toMatchObject({ key: 'a/b.bin', size: data.length, metadata: { 'x-custom': 'v' } });
    expect(info!.lastModifiedMs).toBeGreaterThan(Date.now() - 60_000);
    expect((await readAll(await client.get('a/b.bin'))).equals(data)).toBe(true);
    expect((await readAll(await client.get('a/b.bin', { start: 1000, end: 1999 }))).equals(data.subarray(1000, 2000))).toBe(true);
    expect((await readAll(await client.get('a/b.bin', { start: 249_000 }))).equals(data.subarray(249_000))).toBe(true);
    expect((await readAll(await client.get('a/b.bin', { start: 250_000 }))).length).toBe(0);
    expect(await client.head('a/missing')).toBeUndefined();
    expect(await codeOf(client.get('a/missing'))).toBe('not_found');
  });

  test('an upload bigger than the chunk goes up in upload_part_size chunks', async () => {
    const before = srv.counts.get('upload.resumable.put') ?? 0;
    const data = randomBytes(3 * 2 ** 20 + 10);
    await put('chunked.bin', data);
    expect((srv.counts.get('upload.resumable.put') ?? 0) - before).toBe(4);
    expect((await readAll(await client.get('chunked.bin'))).equals(data)).toBe(true);
  });

  test('chunks from reused buffers: exact bytes across chunk boundaries, an exact multiple of the chunk in as many PUTs', async () => {
    const before = srv.counts.get('upload.resumable.put') ?? 0;
    // 3 chunks exactly, written in pieces that straddle every boundary.
    const data = randomBytes(3 * 2 ** 20);
    const u = client.put('multiple.bin');
    for (let off = 0; off < data.length; off += 300_007) await u.write(data.subarray(off, off + 300_007));
    await u.complete();
    expect((srv.counts.get('upload.resumable.put') ?? 0) - before).toBe(3);
    expect((await readAll(await client.get('multiple.bin'))).equals(data)).toBe(true);
    // Empty: one session, one PUT naming the total.
    const empty = client.put('empty.bin');
    await empty.complete();
    expect((await client.head('empty.bin'))?.size).toBe(0);
  });

  test('the caller\'s signal mid-upload cancels it: no object, no open session, writes refused', async () => {
    const ac = new AbortController();
    const u = client.put('cancelled.bin', { signal: ac.signal });
    await u.write(randomBytes(2.5 * 2 ** 20)); // two chunks sent or on their way, half a chunk held
    ac.abort();
    await until(() => srv.openSessions() === 0);
    expect(await codeOf(u.write(Buffer.from('x')))).not.toBe('no error');
    await u.abort();
    expect(await client.head('cancelled.bin')).toBeUndefined();
  });

  test('abort: no object, the resumable session is cancelled, the old object stays', async () => {
    await put('kept.bin', Buffer.from('old'));
    const u = client.put('kept.bin');
    await u.write(randomBytes(1.5 * 2 ** 20));
    await until(() => srv.openSessions() === 1); // the SDK opens the session in the background

    await u.abort();
    expect(srv.openSessions()).toBe(0);
    expect((await readAll(await client.get('kept.bin'))).toString()).toBe('old');
    const never = client.put('never.bin');
    await never.write(Buffer.from('x'));
    await never.abort();
    await never.abort(); // idempotent
    expect(await client.head('never.bin')).toBeUndefined();
    expect(await codeOf(never.write(Buffer.from('y')))).toBe('invalid');
    const empty = client.put('unused.bin');
    await empty.abort(); // nothing written, no session ever opened
    expect(srv.openSessions()).toBe(0);
  });

  test('an upload the server refuses fails with a classified error, not a hang', async () => {
    const nowhere = new GcsClient(gcsTarget({ bucket: 'no-such-bucket', endpoint: srv.endpoint }, process.cwd()));
    const u = nowhere.put('x');
    const code = await codeOf(
      (async () => {
        await u.write(Buffer.from('data'));
        await u.complete();
      })(),
    );
    expect(code).toBe('not_found');
    await u.abort(); // harmless after a failure
    expect(await codeOf(nowhere.list(''))).toBe('not_found');
  });

  test('list: delimiter, prefixes, pages', async () => {
    for (const k of ['l/1', 'l/2', 'l/3', 'l/d/x', 'l/e/']) await put(k, Buffer.from('z'));
    const objects: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.list('l/', { delimiter: '/', maxKeys: 2, token });
      objects.push(...page.objects.map((o) => o.key));
      prefixes.push(...page.prefixes);
      token = page.nextToken;
      pages++;
    } while (token);
    expect(objects).toEqual(['l/1', 'l/2', 'l/3']);
    expect(prefixes).toEqual(['l/d/', 'l/e/']);
    expect(pages).toBe(3);
    const flat = await client.list('l/');
    expect(flat.objects.map((o) => o.key)).toEqual(['l/1', 'l/2', 'l/3', 'l/d/x', 'l/e/']);
    expect(flat.nextToken).toBeUndefined();
  });

  test('copy keeps or replaces metadata; delete of a missing key is fine', async () => {
    await put('c/src', Buffer.from('copy me'), { a: '1' });
    await client.copy('c/src', 'c/same');
    expect((await client.head('c/same'))?.metadata).toEqual({ a: '1' });
    await client.copy('c/src', 'c/new', { b: '2' });
    expect((await client.head('c/new'))?.metadata).toEqual({ b: '2' });
    expect((await readAll(await client.get('c/new'))).toString()).toBe('copy me');
    expect(await codeOf(client.copy('c/missing', 'c/x'))).toBe('not_found');
    await client.delete('c/src');
    await client.delete('c/src');
    expect(await client.head('c/src')).toBeUndefined();
  });
});

describe('GCS Fs specifics', () => {
  test('key_prefix confines the Fs to its prefix', async () => {
    const bucket = newBucket();
    await raw.bucket(bucket).file('outside.txt').save('outside', { resumable: false });
    const fs = openGcsFs({ bucket, endpoint: srv.endpoint, key_prefix: 'users/alice' }, {});
    try {
      await writeFile(fs, '/inside.txt', Buffer.from('in'));
      await fs.mkdir('/sub');
      const [files] = await raw.bucket(bucket).getFiles();
      const names = files.map((f) => f.name).sort();
      expect(names.filter((n) => n !== 'outside.txt').every((n) => n.startsWith('users/alice/'))).toBe(true);
      expect(names).toContain('users/alice/inside.txt');
      const listed: string[] = [];
      for await (const e of fs.list('/')) listed.push(e.name);
      expect(listed.sort()).toEqual(['inside.txt', 'sub']);
      expect(await codeOf(fs.stat('/outside.txt'))).toBe('not_found');
    } finally {
      await fs.close?.();
    }
  });

  test('storage_class is the class of what the Fs uploads; without it the bucket default applies', async () => {
    const bucket = newBucket();
    const cold = openGcsFs({ bucket, endpoint: srv.endpoint, storage_class: 'COLDLINE' }, {});
    const plain = openGcsFs({ bucket, endpoint: srv.endpoint }, {});
    try {
      await writeFile(cold, '/cold.txt', Buffer.from('c'));
      await writeFile(plain, '/plain.txt', Buffer.from('p'));
      const [c] = await raw.bucket(bucket).file('cold.txt').getMetadata();
      const [p] = await raw.bucket(bucket).file('plain.txt').getMetadata();
      expect([c.storageClass, p.storageClass]).toEqual(['COLDLINE', 'STANDARD']);
    } finally {
      await cold.close?.();
      await plain.close?.();
    }
  });

  test('an aborted upload leaves no object and no open resumable session', async () => {
    const bucket = newBucket();
    const fs = openGcsFs({ bucket, endpoint: srv.endpoint, upload_part_size: 1 }, {});
    try {
      const w = await fs.openWrite('/partial.bin');
      await w.write(randomBytes(1.5 * 2 ** 20));
      await w.abort();
      expect(srv.openSessions()).toBe(0);
      const [files] = await raw.bucket(bucket).getFiles();
      expect(files.map((f) => f.name)).toEqual([]);
    } finally {
      await fs.close?.();
    }
  });

  test('setTimes: the mtime is kept in object metadata, readable with the raw SDK', async () => {
    const bucket = newBucket();
    const fs = openGcsFs({ bucket, endpoint: srv.endpoint }, {});
    try {
      await writeFile(fs, '/t.txt', Buffer.from('t'));
      const mtime = Date.UTC(2021, 5, 6, 7, 8, 9);
      await fs.setTimes('/t.txt', mtime, mtime);
      const [m] = await raw.bucket(bucket).file('t.txt').getMetadata();
      expect(Number(m.metadata?.[MTIME_METADATA_KEY])).toBe(mtime);
      expect((await fs.stat('/t.txt')).mtimeMs).toBe(mtime);
    } finally {
      await fs.close?.();
    }
  });
});

describe('download silence deadline', () => {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  test('a peer that stops sending fails the read; a reader that pauses, or a finished body, does not', async () => {
    // The peer sends one chunk, then nothing.
    const silent = new PassThrough();
    const cut = failWhenSilent(silent, 200, 'k');
    silent.write(Buffer.alloc(1000));
    const [err] = (await once(cut, 'error')) as [Error];
    expect(err.message).toContain('nothing received for 0.2 s');

    // The peer fills every buffer (and has more to send) while the reader reads nothing for five
    // deadlines; then the reader reads all.
    const busy = new PassThrough();
    const paused = failWhenSilent(busy, 200, 'k');
    const data = Buffer.alloc(1024 * 1024, 1);
    busy.write(data);
    await sleep(1000);
    expect(paused.destroyed).toBe(false);
    busy.end();
    const got: Buffer[] = [];
    for await (const c of paused) got.push(c as Buffer);
    expect(Buffer.concat(got).equals(data)).toBe(true);

    // A small body, all arrived, left unread past the deadline.
    const small = new PassThrough();
    const done = failWhenSilent(small, 200, 'k');
    small.end(Buffer.from('abc'));
    await sleep(600);
    expect(done.destroyed).toBe(false);
    expect(String(await done.toArray().then((b) => Buffer.concat(b)))).toBe('abc');
  });
});
