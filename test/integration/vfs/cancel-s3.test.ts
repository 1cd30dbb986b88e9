// A client that leaves cancels its backend work. A TCP proxy between the server and s3rver (rate
// limited, so a large object takes seconds) records every backend request and sees when its
// connection closes. An SFTP client downloading a large object drops mid-download; an SSH client
// asking for the object's checksum (no transfer involved, so only the closing connection can stop
// it: its signal, and the release of its S3 client) drops mid-read. Each time the backend GET must
// be closed before its body was complete; without cancellation it stays open (paused by
// backpressure, or running to the end and kept alive). core-signal.test.ts checks in process that
// every call made for a connection carries its signal.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { s3ClientFor, type S3rver, startS3rver } from '../../support/s3rver.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { PASSWORD, startSftpd, type Sftpd } from '../sftp/harness.ts';

const OBJECT_BYTES = 64 * 1024 * 1024;
const KEY = 'c/big.bin';

/** One connection the server opened to s3rver through the proxy. */
interface Upstream {
  /** The request lines the server sent on it (keep-alive carries several). */
  requests: string[];
  /** Bytes s3rver sent back on it. */
  bytesDown: number;
  closed: boolean;
}

/** s3rver → server bytes per second through the proxy. */
const PROXY_RATE = 16 * 1024 * 1024;

/**
 * Forwards loopback TCP to `target`, recording what each connection carried and when it closed,
 * and pacing each connection's download to PROXY_RATE.
 */
async function startProxy(targetPort: number): Promise<{ port: number; conns: Upstream[]; close: () => Promise<void> }> {
  const conns: Upstream[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const rec: Upstream = { requests: [], bytesDown: 0, closed: false };
    conns.push(rec);
    const up = connect(targetPort, '127.0.0.1');
    sockets.add(down).add(up);
    down.on('data', (d: Buffer) => {
      const line = d.toString('latin1', 0, Math.min(d.length, 512)).split('\r\n', 1)[0]!;
      if (/^[A-Z]+ \S+ HTTP\/1\.1$/.test(line)) rec.requests.push(line);
    });
    const started = Date.now();
    up.on('data', (d: Buffer) => {
      rec.bytesDown += d.length;
      const ahead = (rec.bytesDown / PROXY_RATE) * 1000 - (Date.now() - started);
      if (ahead > 20) {
        up.pause();
        setTimeout(() => up.resume(), ahead);
      }
    });
    down.pipe(up);
    up.pipe(down);
    const end = (): void => {
      rec.closed = true;
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    conns,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let s3: S3rver;
let proxy: Awaited<ReturnType<typeof startProxy>>;
let sftpd: Sftpd;

beforeAll(async () => {
  s3 = await startS3rver('cancel');
  const sdk = s3ClientFor(s3);
  try {
    await sdk.send(new PutObjectCommand({ Bucket: 'cancel', Key: KEY, Body: randomBytes(OBJECT_BYTES) }));
  } finally {
    sdk.destroy();
  }
  proxy = await startProxy(Number(new URL(s3.endpoint).port));
  // One GET for the whole object (download_concurrency 1), so "ended before its body was complete"
  // is about that one request.
  const extra = `    filesystem:
      provider: s3
      s3config: { bucket: cancel, region: us-east-1, endpoint: "http://127.0.0.1:${proxy.port}", force_path_style: true, access_key: ${s3.accessKey}, access_secret: ${s3.secretKey}, key_prefix: "c/", download_concurrency: 1, request_checksum_calculation: when_required, response_checksum_validation: when_required }
`;
  sftpd = await startSftpd([{ username: 'leaver', extra }]);
}, 120_000);

afterAll(async () => {
  await sftpd?.server.stop();
  await proxy?.close();
  await s3?.stop();
  removeTempDirs();
});

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(50);
  }
  return true;
}

test('a client that drops mid-download ends the backend GET before its body is complete', async () => {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: sftpd.port, username: 'leaver', password: PASSWORD, readyTimeout: 10_000 });
  });
  client.on('error', () => undefined); // the socket is destroyed below on purpose
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, w) => (err ? reject(err) : resolve(w))));
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open('/big.bin', 'r', (err, h) => (err ? reject(err) : resolve(h))));
  // Read the first 4 MiB in order, then vanish without closing anything.
  const chunk = Buffer.alloc(32 * 1024);
  let got = 0;
  while (got < 4 * 1024 * 1024) {
    got += await new Promise<number>((resolve, reject) => sftp.read(handle, chunk, 0, chunk.length, got, (err, n) => (err ? reject(err) : resolve(n))));
  }
  // The first read (not yet known to be sequential) is a ranged GET of its own; the read-ahead
  // stream that follows is the last GET of the object.
  const get = proxy.conns.findLast((c) => c.requests.some((r) => r.startsWith('GET /cancel/c/big.bin')));
  expect(get).toBeDefined();
  expect(get!.closed).toBe(false); // still streaming (or paused) while the client reads
  client.destroy();

  // The server notices the client is gone, closes the connection, and its signal ends the GET.
  expect(await until(() => get!.closed, 15_000)).toBe(true);
  expect(get!.bytesDown).toBeGreaterThan(4 * 1024 * 1024);
  expect(get!.bytesDown).toBeLessThan(OBJECT_BYTES);
}, 60_000);

test('a client that drops during a checksum command ends the backend GET', async () => {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: sftpd.port, username: 'leaver', password: PASSWORD, readyTimeout: 10_000 });
  });
  client.on('error', () => undefined);
  const seen = proxy.conns.length;
  client.exec('sha256sum /big.bin', (err, stream) => {
    if (!err) stream.on('data', () => undefined).stderr.on('data', () => undefined);
  });
  const reading = (): Upstream | undefined =>
    proxy.conns.slice(seen).findLast((c) => c.requests.some((r) => r.startsWith('GET /cancel/c/big.bin')) && c.bytesDown > 2 * 1024 * 1024);
  expect(await until(() => reading() !== undefined, 15_000)).toBe(true);
  const get = reading()!;
  expect(get.closed).toBe(false);
  client.destroy();

  expect(await until(() => get.closed, 15_000)).toBe(true);
  expect(get.bytesDown).toBeLessThan(OBJECT_BYTES);
}, 60_000);
