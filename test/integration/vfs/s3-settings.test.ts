// S3 settings proven against a real s3rver through a recording proxy in front of it: storage_class
// and acl on the upload requests, upload_concurrency as the parts in flight, download_part_max_time
// as a part that answers too slowly, skip_tls_verify against a self-signed HTTPS endpoint, and
// rename_dir_max_objects through the filesystem block the config gives (vfs/open.ts).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttp, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isAppError } from '../../../src/errors.ts';
import type { S3Config } from '../../../src/config/schema-types.ts';
import type { Fs } from '../../../src/vfs/fs.ts';
import { openFs } from '../../../src/vfs/open.ts';
import { openS3Fs } from '../../../src/vfs/s3/s3fs.ts';
import { s3ClientFor, s3ConfigFor, startS3rver, type S3rver } from '../../support/s3rver.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { readFile, writeFile } from './suite.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/** Forwards to s3rver, records every request and the most part uploads in flight at once. */
class RecordingProxy {
  readonly seen: Seen[] = [];
  inFlightParts = 0;
  maxInFlightParts = 0;
  /** Milliseconds to hold each ranged GET and each part upload before forwarding it. */
  delayRanges = 0;
  delayParts = 0;
  server!: Server;

  constructor(readonly target: URL) {}

  async listen(tls: { cert: string; key: string } | undefined): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#forward(req, res);
    this.server = tls ? createHttps({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler) : createHttp(handler);
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    return `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const part = req.method === 'PUT' && /[?&]partNumber=/.test(req.url!);
    if (part) this.maxInFlightParts = Math.max(this.maxInFlightParts, ++this.inFlightParts);
    const wait = part ? this.delayParts : req.method === 'GET' && req.headers.range ? this.delayRanges : 0;
    if (wait) await Bun.sleep(wait);
    const up = request({ host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
      answer.on('end', () => part && this.inFlightParts--);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  }

  close(): void {
    this.server.closeAllConnections?.();
    this.server.close();
  }
}

let srv: S3rver;
let raw: S3Client;
const proxies: RecordingProxy[] = [];
const opened: Fs[] = [];

async function proxy(tls?: { cert: string; key: string }): Promise<{ p: RecordingProxy; endpoint: string }> {
  const p = new RecordingProxy(new URL(srv.endpoint));
  proxies.push(p);
  return { p, endpoint: await p.listen(tls) };
}

async function open(extra: Partial<S3Config>): Promise<Fs> {
  const fs = await openS3Fs(s3ConfigFor(srv, extra));
  opened.push(fs);
  return fs;
}

async function codeOf(op: Promise<unknown>): Promise<string | undefined> {
  return op.then(
    () => undefined,
    (e: unknown) => (isAppError(e) ? e.code : String(e)),
  );
}

beforeAll(async () => {
  srv = await startS3rver();
  raw = s3ClientFor(srv);
}, 60_000);

afterAll(async () => {
  for (const fs of opened) await fs.close?.();
  for (const p of proxies) p.close();
  raw?.destroy();
  await srv?.stop();
  removeTempDirs();
}, 60_000);

describe('S3 settings', () => {
  test('storage_class and acl go with the upload; the stored object has the class', async () => {
    const { p, endpoint } = await proxy();
    const fs = await open({ endpoint, key_prefix: 'class/', storage_class: 'STANDARD_IA', acl: 'public-read' });
    await writeFile(fs, '/a.txt', Buffer.from('classy'));
    const put = p.seen.find((s) => s.method === 'PUT' && s.url.includes('class/a.txt'));
    expect(put?.headers['x-amz-storage-class']).toBe('STANDARD_IA');
    expect(put?.headers['x-amz-acl']).toBe('public-read');
    const head = await raw.send(new HeadObjectCommand({ Bucket: srv.bucket, Key: 'class/a.txt' }));
    expect(head.StorageClass).toBe('STANDARD_IA');
  });

  test('upload_concurrency bounds the parts in flight', async () => {
    const data = randomBytes(21 * 2 ** 20); // five 5 MiB parts
    for (const concurrency of [1, 3]) {
      const { p, endpoint } = await proxy();
      p.delayParts = 150;
      const fs = await open({ endpoint, key_prefix: `conc${concurrency}/`, upload_part_size: 5, upload_concurrency: concurrency });
      await writeFile(fs, '/big.bin', data);
      expect(p.maxInFlightParts).toBe(concurrency);
    }
  }, 120_000);

  test('download_part_max_time fails a part that answers too slowly; 0 waits for it', async () => {
    const data = randomBytes(11 * 2 ** 20);
    await writeFile(await open({ key_prefix: 'slow/' }), '/big.bin', data);
    const { p, endpoint } = await proxy();
    p.delayRanges = 2_500;
    const strict = await open({ endpoint, key_prefix: 'slow/', download_part_size: 5, download_concurrency: 3, download_part_max_time: 1 });
    expect(await codeOf(readFile(strict, '/big.bin'))).toBeDefined();
    const patient = await open({ endpoint, key_prefix: 'slow/', download_part_size: 5, download_concurrency: 3, download_part_max_time: 0 });
    expect((await readFile(patient, '/big.bin')).equals(data)).toBe(true);
  }, 60_000);

  test('skip_tls_verify: a self-signed HTTPS endpoint is refused unless set', async () => {
    const cert = makeSelfSignedCert(tempDir('s3-tls-'), 'proxy');
    const { endpoint } = await proxy(cert);
    const checked = await open({ endpoint, key_prefix: 'tls/' });
    expect(await codeOf(writeFile(checked, '/a.txt', Buffer.from('x')))).toBeDefined();
    const trusting = await open({ endpoint, key_prefix: 'tls/', skip_tls_verify: true });
    await writeFile(trusting, '/a.txt', Buffer.from('over tls'));
    expect((await readFile(trusting, '/a.txt')).toString()).toBe('over tls');
  });

  test('rename_dir_max_objects from the filesystem block bounds a directory rename', async () => {
    const block = (max: number) => ({ provider: 's3' as const, s3config: s3ConfigFor(srv, { key_prefix: 'bound/' }), rename_dirs: true, rename_dir_max_objects: max });
    const small = await openFs(block(2), '/unused', { resolveSecret: (s) => (typeof s === 'string' ? s : undefined) });
    opened.push(small);
    await small.mkdir('/d');
    for (const n of ['a', 'b', 'c']) await writeFile(small, `/d/${n}`, Buffer.from(n));
    expect(await codeOf(small.rename('/d', '/e'))).toBe('unsupported');
    const enough = await openFs(block(10), '/unused', { resolveSecret: (s) => (typeof s === 'string' ? s : undefined) });
    opened.push(enough);
    await enough.rename('/d', '/e');
    expect((await readFile(enough, '/e/c')).toString()).toBe('c');
  });
});
