// The Azure Blob backend against azurite: the shared Fs suite, then what is Azure-specific (key
// prefix confinement, SAS auth, metadata names, block uploads and parallel ranged reads), checked
// with the raw SDK where the point is what lands in the container.
import { afterAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
  generateBlobSASQueryParameters,
  type BlobClient,
  type BlockBlobClient,
} from '@azure/storage-blob';
import { isAppError } from '../../../src/errors.ts';
import { resolveSecret } from '../../../src/config/secrets.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import type { AzBlobConfig } from '../../../src/config/schema-types.ts';
import { openAzBlobFs } from '../../../src/vfs/azblob/azblob-fs.ts';
import { AzBlobClient } from '../../../src/vfs/azblob/client.ts';
import { azTarget, sasContainerUrl, serviceUrl } from '../../../src/vfs/azblob/config.ts';
import { openDownload } from '../../../src/vfs/azblob/download.ts';
import { BlockUpload } from '../../../src/vfs/azblob/upload.ts';
import { MTIME_METADATA_KEY, type ObjectUpload } from '../../../src/vfs/object/client.ts';
import { startAzurite, type Azurite } from '../../support/azurite.ts';
import { removeTempDirs } from '../../support/tmp.ts';

/** Secrets as the core reads them (env and file references included). */
const secrets = (s: Parameters<typeof resolveSecret>[0]): string | undefined => resolveSecret(s, process.cwd(), NO_SECRETS);
import { names, readFile, runFsSuite, writeFile } from './suite.ts';

const MiB = 1024 * 1024;

// One azurite for the whole file, started by whichever test needs it first.
let started: Promise<Azurite> | undefined;
function azurite(): Promise<Azurite> {
  return (started ??= startAzurite());
}
afterAll(async () => {
  if (started) await (await started).stop();
  removeTempDirs();
}, 30_000);

let containers = 0;
async function freshContainer(az: Azurite): Promise<string> {
  const name = `c${process.pid}x${++containers}`;
  await az.createContainer(name);
  return name;
}

function sharedKeyConfig(az: Azurite, container: string, extra: Partial<AzBlobConfig> = {}): AzBlobConfig {
  return { container, account_name: az.account, account_key: az.key, endpoint: az.endpoint, ...extra };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function putBytes(upload: ObjectUpload, data: Buffer, chunk = 100_000): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) await upload.write(data.subarray(off, off + chunk));
  await upload.complete();
}

runFsSuite('azblob', async () => {
  const az = await azurite();
  const container = await freshContainer(az);
  // Small parts so the big file goes up as many blocks and comes down as parallel ranges.
  const fs = openAzBlobFs(
    sharedKeyConfig(az, container, { upload_part_size: 4, upload_concurrency: 2, download_part_size: 4, download_concurrency: 3 }),
    {
      renameDirs: true,
    },
  );
  return {
    fs,
    async cleanup() {
      await fs.close();
      await az.service.getContainerClient(container).delete();
    },
  };
}, { cancellation: true });

describe('azblob Fs', () => {
  test('a blob stored gzip-encoded reads back as stored: no inflating, ranges count stored bytes', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const stored = gzipSync(randomBytes(300_000));
    await az.service.getContainerClient(container).getBlockBlobClient('f.gz').upload(stored, stored.length, { blobHTTPHeaders: { blobContentEncoding: 'gzip' } });
    const fs = openAzBlobFs(sharedKeyConfig(az, container));
    expect((await fs.stat('/f.gz')).size).toBe(stored.length);
    expect(Buffer.compare(await readFile(fs, '/f.gz'), stored)).toBe(0);
    expect(Buffer.compare(await readFile(fs, '/f.gz', { start: 1000, end: 1999 }), stored.subarray(1000, 2000))).toBe(0);
    await fs.close();
  });

  test('a key prefix confines the Fs: its keys land under it, nothing outside is visible', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const raw = az.service.getContainerClient(container);
    await raw.getBlockBlobClient('outside.txt').upload('o', 1);
    await raw.getBlockBlobClient('tenant-b/secret.txt').upload('s', 1);
    const fs = openAzBlobFs(sharedKeyConfig(az, container, { key_prefix: 'tenant-a/' }));
    await fs.mkdir('/docs');
    await writeFile(fs, '/docs/a.txt', Buffer.from('a'));
    await writeFile(fs, '/../../tenant-b/x.txt', Buffer.from('x'));
    const keys: string[] = [];
    for await (const b of raw.listBlobsFlat()) keys.push(b.name);
    expect(keys.sort()).toEqual(['outside.txt', 'tenant-a/docs/', 'tenant-a/docs/a.txt', 'tenant-a/tenant-b/x.txt', 'tenant-b/secret.txt']);
    expect(await names(fs, '/')).toEqual(['docs', 'tenant-b']);
    expect(await names(fs, '/tenant-b')).toEqual(['x.txt']);
    await expect(fs.stat('/outside.txt')).rejects.toMatchObject({ code: 'not_found' });
    await fs.close();
  }, 60_000);

  test('use_emulator: a bare host:port endpoint is the emulator over HTTP with the account in the path', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const bare = new URL(az.endpoint).host;
    const emulated = openAzBlobFs(sharedKeyConfig(az, container, { endpoint: bare, use_emulator: true }));
    await writeFile(emulated, '/e.txt', Buffer.from('emulated'));
    expect(await names(emulated, '/')).toEqual(['e.txt']);
    await emulated.close();
    // The same endpoint without it means https://<account>.<host>, which is not there.
    const asCloud = async () => {
      const cloud = openAzBlobFs(sharedKeyConfig(az, container, { endpoint: bare }));
      try {
        await writeFile(cloud, '/c.txt', Buffer.from('c'));
      } finally {
        await cloud.close();
      }
    };
    await expect(asCloud()).rejects.toBeDefined();
  }, 60_000);

  test('setTimes keeps the mtime in blob metadata, readable with the raw SDK', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const raw = az.service.getContainerClient(container);
    const fs = openAzBlobFs(sharedKeyConfig(az, container, { key_prefix: 'p' }));
    await writeFile(fs, '/t.txt', Buffer.from('time'));
    const mtime = Date.UTC(2021, 5, 6, 7, 8, 9, 123);
    await fs.setTimes('/t.txt', mtime, mtime);
    expect((await raw.getBlobClient('p/t.txt').getProperties()).metadata).toEqual({ sftpgo_mtime: String(mtime) });
    expect((await fs.stat('/t.txt')).mtimeMs).toBe(mtime);
    expect((await readFile(fs, '/t.txt')).toString()).toBe('time');
    // The mtime survives a rename (a server-side copy with metadata).
    await fs.rename('/t.txt', '/u.txt');
    expect((await raw.getBlobClient('p/u.txt').getProperties()).metadata).toEqual({ sftpgo_mtime: String(mtime) });
    const listed: number[] = [];
    for await (const e of fs.list('/')) listed.push(e.mtimeMs);
    expect(listed).toEqual([mtime]);
    await fs.close();
  }, 60_000);

  test('names Azure cannot store (backslash) are refused, never stored as something else', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const fs = openAzBlobFs(sharedKeyConfig(az, container, { key_prefix: 'jail' }));
    for (const name of ['/a\\b', '/..\\..\\escape', '/d\\']) {
      await expect(writeFile(fs, name, Buffer.from('x'))).rejects.toMatchObject({ code: 'invalid' });
      await expect(fs.stat(name)).rejects.toMatchObject({ code: 'not_found' });
    }
    let listed = 0;
    for await (const _ of az.service.getContainerClient(container).listBlobsFlat()) listed++;
    expect(listed).toBe(0);
    await fs.close();
  }, 60_000);

  test('an aborted multi-block upload through the Fs leaves no blob', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const fs = openAzBlobFs(sharedKeyConfig(az, container, { upload_part_size: 1 }));
    const w = await fs.openWrite('/aborted.bin');
    for (let i = 0; i < 3; i++) await w.write(randomBytes(MiB));
    await w.abort();
    expect(await az.service.getContainerClient(container).getBlobClient('aborted.bin').exists()).toBe(false);
    await expect(fs.stat('/aborted.bin')).rejects.toMatchObject({ code: 'not_found' });
    await fs.close();
  }, 60_000);
});

describe('azblob config', () => {
  test('service URLs: public cloud, endpoint suffix, full URL, emulator forms', () => {
    expect(serviceUrl('acct', undefined, false)).toBe('https://acct.blob.core.windows.net');
    expect(serviceUrl('acct', 'blob.core.chinacloudapi.cn', false)).toBe('https://acct.blob.core.chinacloudapi.cn');
    expect(serviceUrl('acct', 'https://acct.example.net/', false)).toBe('https://acct.example.net');
    expect(serviceUrl('devstoreaccount1', 'http://127.0.0.1:10000/devstoreaccount1', true)).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(serviceUrl('devstoreaccount1', 'http://127.0.0.1:10000', true)).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(serviceUrl('devstoreaccount1', '127.0.0.1:10000', true)).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(serviceUrl('devstoreaccount1', undefined, true)).toBe('http://127.0.0.1:10000/devstoreaccount1');
  });

  test('SAS URLs: container SAS names the container, account SAS needs one configured', () => {
    expect(sasContainerUrl('https://acct.blob.core.windows.net/data?sv=1&sig=x', undefined, false)).toEqual({
      containerUrl: 'https://acct.blob.core.windows.net/data?sv=1&sig=x',
      container: 'data',
      endpoint: 'https://acct.blob.core.windows.net',
    });
    expect(sasContainerUrl('http://127.0.0.1:1/devstoreaccount1/data?sig=x', 'data', false).container).toBe('data');
    expect(sasContainerUrl('http://127.0.0.1:1/devstoreaccount1?sig=x', 'other', false).containerUrl).toBe(
      'http://127.0.0.1:1/devstoreaccount1/other?sig=x',
    );
    expect(() => sasContainerUrl('https://acct.blob.core.windows.net/?sig=x', undefined, false)).toThrow(/container is required/);
    expect(() => sasContainerUrl('https://acct.blob.core.windows.net/data?sig=x', 'other', false)).toThrow(/does not match/);
  });

  test('secrets, defaults and limits', () => {
    process.env.AZ_TEST_KEY = 'a2V5';
    const t = azTarget({ container: 'x', account_name: 'acct', account_key: { env: 'AZ_TEST_KEY' } }, secrets);
    expect(t.auth).toEqual({ kind: 'shared-key', accountName: 'acct', accountKey: 'a2V5' });
    expect([t.uploadPartBytes, t.uploadConcurrency, t.downloadPartBytes, t.downloadConcurrency]).toEqual([5 * MiB, 5, 5 * MiB, 5]);
    expect(() => azTarget({ container: 'x', account_name: 'acct' }, secrets)).toThrow(/account_key or sas_url/);
    expect(() => azTarget({ account_name: 'acct', account_key: 'k' }, secrets)).toThrow(/container is required/);
    expect(() => azTarget({ container: 'x', account_name: 'a', account_key: 'k', upload_part_size: 5000 }, secrets)).toThrow(
      /at most/,
    );
  });
});

describe('azblob client against azurite', () => {
  test('block upload: multi-block blob, committed blocks, exact bytes via parallel ranged reads', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const client = new AzBlobClient(
      azTarget(
        sharedKeyConfig(az, container, { upload_part_size: 1, upload_concurrency: 2, download_part_size: 1, download_concurrency: 3 }),
        secrets,
      ),
    );
    const data = randomBytes(5 * MiB + 12345);
    await putBytes(client.put('multi.bin'), data, 300_000);
    const raw = az.service.getContainerClient(container).getBlockBlobClient('multi.bin');
    const blocks = await raw.getBlockList('committed');
    expect(blocks.committedBlocks?.map((b) => b.size)).toEqual([MiB, MiB, MiB, MiB, MiB, 12345]);
    expect((await readAll(await client.get('multi.bin'))).equals(data)).toBe(true);
    for (const [start, end] of [
      [0, 0],
      [MiB - 1, MiB],
      [123, 4 * MiB + 7],
      [3 * MiB + 5, undefined],
      [5 * MiB, 10 * MiB],
    ] as const) {
      const got = await readAll(await client.get('multi.bin', { start, ...(end === undefined ? {} : { end }) }));
      expect(got.equals(data.subarray(start, end === undefined ? undefined : end + 1))).toBe(true);
    }
    expect((await readAll(await client.get('multi.bin', { start: data.length + 10 }))).length).toBe(0);
    // A reader that stops early releases its parts without hanging.
    const early = await client.get('multi.bin');
    for await (const _ of early) break;
    expect(early.destroyed).toBe(true);
    await client.close();
  }, 60_000);

  test('an aborted multi-block upload leaves no blob, and keeps a previous one', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const client = new AzBlobClient(azTarget(sharedKeyConfig(az, container, { upload_part_size: 1 }), secrets));
    const raw = az.service.getContainerClient(container);
    const never = client.put('never.bin');
    await never.write(randomBytes(3 * MiB + 1));
    await never.abort();
    expect(await raw.getBlobClient('never.bin').exists()).toBe(false);
    expect(await client.head('never.bin')).toBeUndefined();

    await putBytes(client.put('keep.txt'), Buffer.from('good'));
    const over = client.put('keep.txt');
    await over.write(randomBytes(2 * MiB));
    await over.abort();
    expect((await readAll(await client.get('keep.txt'))).toString()).toBe('good');
    let listed = 0;
    for await (const _ of raw.listBlobsFlat()) listed++;
    expect(listed).toBe(1);
    await client.close();
  }, 60_000);

  test('metadata: the contract key is stored as a valid Azure name and read back', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const client = new AzBlobClient(azTarget(sharedKeyConfig(az, container), secrets));
    const raw = az.service.getContainerClient(container);
    await putBytes(
      client.put('m.txt', { metadata: { [MTIME_METADATA_KEY]: '1577934245000' }, contentType: 'text/plain' }),
      Buffer.from('m'),
    );
    const props = await raw.getBlobClient('m.txt').getProperties();
    expect(props.metadata).toEqual({ sftpgo_mtime: '1577934245000' });
    expect(props.contentType).toBe('text/plain');
    expect((await client.head('m.txt'))?.metadata).toEqual({ [MTIME_METADATA_KEY]: '1577934245000' });
    const page = await client.list('', { delimiter: '/' });
    expect(page.objects.map((o) => o.metadata)).toEqual([{ [MTIME_METADATA_KEY]: '1577934245000' }]);
    // Written by another tool through the raw SDK: still seen under the contract's key.
    await raw.getBlockBlobClient('n.txt').upload('n', 1, { metadata: { sftpgo_mtime: '42' } });
    expect((await client.head('n.txt'))?.metadata?.[MTIME_METADATA_KEY]).toBe('42');
    // Copy replaces metadata when given, keeps the source's otherwise.
    await client.copy('m.txt', 'm2.txt', { [MTIME_METADATA_KEY]: '7' });
    expect((await raw.getBlobClient('m2.txt').getProperties()).metadata).toEqual({ sftpgo_mtime: '7' });
    await client.copy('m.txt', 'm3.txt');
    expect((await client.head('m3.txt'))?.metadata).toEqual({ [MTIME_METADATA_KEY]: '1577934245000' });
    await client.close();
  }, 60_000);

  test('listing: delimiter pages with prefixes, flat listing, continuation tokens', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const client = new AzBlobClient(azTarget(sharedKeyConfig(az, container), secrets));
    for (const k of ['a/1', 'a/2', 'a/b/3', 'a/c/', 'z']) await putBytes(client.put(k), Buffer.from(k));
    const top = await client.list('a/', { delimiter: '/' });
    expect(top.objects.map((o) => o.key)).toEqual(['a/1', 'a/2']);
    expect(top.prefixes).toEqual(['a/b/', 'a/c/']);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.list('a/', { maxKeys: 2, ...(token ? { token } : {}) });
      expect(page.objects.length).toBeLessThanOrEqual(2);
      keys.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
    } while (token);
    expect(keys).toEqual(['a/1', 'a/2', 'a/b/3', 'a/c/']);
    await client.delete('z');
    await client.delete('z');
    expect(await client.head('z')).toBeUndefined();
    await client.close();
  }, 60_000);

  test('access tier is set on upload and copy', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const client = new AzBlobClient(azTarget(sharedKeyConfig(az, container, { access_tier: 'Cool' }), secrets));
    const raw = az.service.getContainerClient(container);
    await putBytes(client.put('t.txt'), Buffer.from('t'));
    expect((await raw.getBlobClient('t.txt').getProperties()).accessTier).toBe('Cool');
    await raw.getBlockBlobClient('hot.txt').upload('h', 1, { tier: 'Hot' });
    await client.copy('hot.txt', 'cool.txt');
    expect((await raw.getBlobClient('cool.txt').getProperties()).accessTier).toBe('Cool');
    await client.close();
  }, 60_000);

  test('SAS URLs: container SAS and account SAS both authorize every operation', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const cred = new StorageSharedKeyCredential(az.account, az.key);
    const expiresOn = new Date(Date.now() + 3600_000);
    const containerSas = generateBlobSASQueryParameters(
      { containerName: container, permissions: ContainerSASPermissions.parse('racwdl'), expiresOn },
      cred,
    ).toString();
    const accountSas = generateAccountSASQueryParameters(
      {
        services: AccountSASServices.parse('b').toString(),
        resourceTypes: AccountSASResourceTypes.parse('co').toString(),
        permissions: AccountSASPermissions.parse('racwdl'),
        expiresOn,
      },
      cred,
    ).toString();
    for (const config of [
      { sas_url: `${az.endpoint}/${container}?${containerSas}` },
      { sas_url: { env: 'AZ_TEST_SAS' }, container },
    ] as AzBlobConfig[]) {
      process.env.AZ_TEST_SAS = `${az.endpoint}?${accountSas}`;
      const client = new AzBlobClient(azTarget(config, secrets));
      expect(client.location).toEqual({ bucket: container, endpoint: az.endpoint });
      await putBytes(client.put('s.txt'), Buffer.from('sas'));
      await client.copy('s.txt', 's2.txt');
      expect((await readAll(await client.get('s2.txt'))).toString()).toBe('sas');
      expect((await client.list('')).objects.map((o) => o.key)).toEqual(['s.txt', 's2.txt']);
      await client.delete('s.txt');
      await client.delete('s2.txt');
      await client.close();
    }
    // A SAS without write permission is refused as permission_denied, not as a generic failure.
    const readOnly = generateBlobSASQueryParameters(
      { containerName: container, permissions: ContainerSASPermissions.parse('rl'), expiresOn },
      cred,
    ).toString();
    const client = new AzBlobClient(azTarget({ sas_url: `${az.endpoint}/${container}?${readOnly}` }, secrets));
    const err = await putBytes(client.put('ro.txt'), Buffer.from('x')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAppError(err, 'permission_denied')).toBe(true);
    await client.close();
  }, 60_000);

  test('close() aborts in-flight uploads and refuses further use', async () => {
    const az = await azurite();
    const container = await freshContainer(az);
    const client = new AzBlobClient(azTarget(sharedKeyConfig(az, container, { upload_part_size: 1 }), secrets));
    const up = client.put('open.bin');
    await up.write(randomBytes(2 * MiB));
    await client.close();
    await expect(up.complete()).rejects.toThrow();
    expect(await az.service.getContainerClient(container).getBlobClient('open.bin').exists()).toBe(false);
    expect(() => client.put('x')).toThrow(/closed/);
  }, 60_000);
});

describe('azblob block upload backpressure', () => {
  test('at most `concurrency` blocks in flight; write() waits for a free slot', async () => {
    const pending: (() => void)[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const fake = {
      stageBlock: () =>
        new Promise<void>((resolve) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          pending.push(() => (inFlight--, resolve()));
        }),
      commitBlockList: async (ids: string[]) => expect(ids.length).toBe(4),
    } as unknown as BlockBlobClient;
    const up = new BlockUpload(fake, 'k', {}, { partBytes: 1024, concurrency: 2, live: new Set() });
    await up.write(new Uint8Array(2048)); // two parts: both slots taken
    let third = false;
    const w = up.write(new Uint8Array(1024)).then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    pending.shift()!();
    await w;
    expect(third).toBe(true);
    let done = false;
    const rest = up
      .write(new Uint8Array(1024))
      .then(() => up.complete())
      .then(() => (done = true));
    while (!done) {
      await new Promise((r) => setImmediate(r));
      pending.shift()?.();
    }
    await rest;
    expect(maxInFlight).toBe(2);
  });
});

describe('azblob parallel download', () => {
  test('parts come out in order, at most `concurrency` fetched ahead of the reader, all after the first If-Match', async () => {
    // Parts larger than the stream's high-water mark, so a paused reader stops the fetching.
    const part = 100_000;
    const blob = randomBytes(10 * part);
    const calls: { offset: number; count: number; ifMatch?: string }[] = [];
    const fake = {
      download: async (offset: number, count: number, opts: { conditions?: { ifMatch?: string } }) => {
        calls.push({ offset, count, ...(opts.conditions?.ifMatch ? { ifMatch: opts.conditions.ifMatch } : {}) });
        const end = Math.min(offset + count, blob.length);
        return {
          contentLength: end - offset,
          contentRange: `bytes ${offset}-${end - 1}/${blob.length}`,
          etag: '"v1"',
          readableStreamBody: Readable.from([blob.subarray(offset, end)]),
        };
      },
    } as unknown as BlobClient;
    const start = 5;
    const end = blob.length - 6;
    const stream = await openDownload(fake, 'k', { start, end }, { partBytes: part, concurrency: 3, live: new Set() });
    const chunks: Buffer[] = [];
    const it = stream[Symbol.asyncIterator]();
    chunks.push((await it.next()).value as Buffer);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // One part taken by the reader: the parts fetched are that one, the next in the stream's buffer,
    // and `concurrency - 1` ahead of it. The paused reader holds the rest back.
    expect(calls.length).toBeLessThanOrEqual(4);
    for (let r = await it.next(); !r.done; r = await it.next()) chunks.push(r.value as Buffer);
    expect(Buffer.concat(chunks).equals(blob.subarray(start, end + 1))).toBe(true);
    expect(calls.map((c) => c.offset)).toEqual(Array.from({ length: 10 }, (_, i) => start + i * part));
    expect(calls.at(-1)!.count).toBe(part - 10);
    expect(calls.slice(1).every((c) => c.ifMatch === '"v1"')).toBe(true);
  });
});
