// S3 behind a hostile peer: a fault proxy (test/support/fault-proxy.ts) between the server and
// s3rver hangs, answers garbage or HTTP 500s, resets the connection mid-stream or throttles it
// while an SFTP client uploads and downloads. Each transfer must fail within the configured part
// deadlines (upload_part_max_time, download_part_max_time: 8 s here), nothing half-written may
// appear (atomic mode; an object store shows an object only once complete), and the server must
// serve the next upload and download normally once the peer behaves again.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { startFaultProxy, type Fault, type FaultProxy } from '../../support/fault-proxy.ts';
import { freePort } from '../../support/net.ts';
import { s3ConfigFor, startS3rver, type S3rver } from '../../support/s3rver.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'hostile-Peer-1';
const MiB = 1024 * 1024;
/** Part deadlines in the config, and what a failure may take beyond them (retries, aborts, load). */
const PART_S = 8;
const BOUND_MS = 40_000;

let s3: S3rver;
let proxy: FaultProxy;
let server: RunningServer;
let port: number;
const figures: string[] = [];

beforeAll(async () => {
  s3 = await startS3rver('hostile');
  const url = new URL(s3.endpoint);
  proxy = await startFaultProxy({ host: url.hostname, port: Number(url.port) });
  const dir = tempDir('hostile-s3-');
  port = await freePort();
  const s3config = s3ConfigFor(s3, { endpoint: `http://${proxy.address}`, upload_part_size: 5, upload_part_max_time: PART_S, download_part_max_time: PART_S });
  server = await startServer({
    cwd: dir,
    yaml: `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
common:
  upload_mode: atomic
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: peer
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'home')}
    permissions: { "/": ["*"] }
    filesystem: ${JSON.stringify({ provider: 's3', s3config })}
`,
  });
});

afterAll(async () => {
  await server?.stop();
  await proxy?.close();
  await s3?.stop();
  removeTempDirs();
  console.log(`hostile peers, S3: ${figures.length} faulted transfers, each failed within its bound, server served the next ones:\n${figures.join('\n')}`);
});

function connect(): Promise<{ client: InstanceType<typeof Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, username: 'peer', password: PASSWORD, readyTimeout: 20_000 });
  });
}

const p = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> =>
  new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

async function putFile(sftp: SFTPWrapper, path: string, data: Buffer, onOpen?: () => void): Promise<void> {
  const h = await p<Buffer>((cb) => sftp.open(path, 'w', cb));
  onOpen?.();
  try {
    for (let at = 0; at < data.length; at += 256 * 1024) {
      const n = Math.min(256 * 1024, data.length - at);
      await p<void>((cb) => sftp.write(h, data, at, n, at, (err) => cb(err, undefined)));
    }
  } catch (err) {
    // The peer behaves again before the close, so the close's abort of the upload gets through.
    proxy.set({ kind: 'pass' });
    await p<void>((cb) => sftp.close(h, (e) => cb(e, undefined))).catch(() => undefined);
    throw err;
  }
  await p<void>((cb) => sftp.close(h, (err) => cb(err, undefined)));
}

async function getFile(sftp: SFTPWrapper, path: string, onOpen?: () => void): Promise<Buffer> {
  const h = await p<Buffer>((cb) => sftp.open(path, 'r', cb));
  onOpen?.();
  const chunks: Buffer[] = [];
  try {
    for (let at = 0; ; ) {
      const buf = Buffer.alloc(256 * 1024);
      const n = await new Promise<number>((res, rej) => sftp.read(h, buf, 0, buf.length, at, (err, bytes) => (err ? rej(err) : res(bytes))));
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      at += n;
    }
  } catch (err) {
    if ((err as { code?: number }).code !== 1) throw err;
  } finally {
    await p<void>((cb) => sftp.close(h, (err) => cb(err, undefined))).catch(() => undefined);
  }
  return Buffer.concat(chunks);
}

async function names(sftp: SFTPWrapper): Promise<string[]> {
  return (await p<{ filename: string }[]>((cb) => sftp.readdir('/', cb))).map((e) => e.filename).sort();
}

/** The server serves a plain upload and download again. */
async function healthy(): Promise<void> {
  proxy.set({ kind: 'pass' });
  const { client, sftp } = await connect();
  try {
    const data = Buffer.alloc(64 * 1024, 9);
    await putFile(sftp, '/health.bin', data);
    expect((await getFile(sftp, '/health.bin')).equals(data)).toBe(true);
  } finally {
    client.end();
  }
}

const faults: [string, Fault][] = [
  ['hang', { kind: 'hang' }],
  ['HTTP 500', { kind: 'http500' }],
  ['garbage', { kind: 'garbage' }],
  ['reset after 64 KiB', { kind: 'reset', afterBytes: 64 * 1024 }],
  ['throttle to 64 KiB/s', { kind: 'throttle', bytesPerSecond: 64 * 1024 }],
];

describe('S3 behind a hostile peer', () => {
  test('the server is healthy through the proxy', healthy, 60_000);

  for (const [name, fault] of faults) {
    test(`${name}: an upload fails in time and leaves nothing; the next transfers work`, async () => {
      const { client, sftp } = await connect();
      const before = await names(sftp);
      let faultedAt = 0;
      const started = Date.now();
      const err = await putFile(sftp, `/up-${fault.kind}.bin`, Buffer.alloc(11 * MiB, 3), () => {
        faultedAt = Date.now();
        proxy.set(fault);
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      const took = Date.now() - (faultedAt || started);
      proxy.set({ kind: 'pass' });
      expect(err).toBeInstanceOf(Error);
      expect(took).toBeLessThan(BOUND_MS);
      expect(await names(sftp)).toEqual(before);
      client.end();
      figures.push(`  upload, ${name}: failed after ${took} ms (${err!.message})`);
      await healthy();
    }, 120_000);

    test(`${name}: a download fails in time; the next transfers work`, async () => {
      const { client, sftp } = await connect();
      const data = Buffer.alloc(16 * MiB, 5);
      await putFile(sftp, `/down-${fault.kind}.bin`, data);
      let faultedAt = 0;
      const err = await getFile(sftp, `/down-${fault.kind}.bin`, () => {
        faultedAt = Date.now();
        proxy.set(fault);
      }).then(
        (got) => (got.equals(data) ? undefined : new Error(`short read: ${got.length} of ${data.length} bytes`)),
        (e: Error) => e,
      );
      const took = Date.now() - faultedAt;
      proxy.set({ kind: 'pass' });
      client.end();
      // A throttled peer still delivers, slowly: past the part deadline the read fails.
      expect(err).toBeInstanceOf(Error);
      expect(took).toBeLessThan(BOUND_MS);
      figures.push(`  download, ${name}: failed after ${took} ms (${err!.message})`);
      await healthy();
    }, 120_000);
  }
});
