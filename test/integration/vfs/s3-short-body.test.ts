// A download whose connection is cut part way must fail, never end short: an object read in one
// request (smaller than a download part) behind a peer that resets after 64 KiB, on S3 (s3rver).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { openS3Fs } from '../../../src/vfs/s3/s3fs.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { s3ConfigFor, startS3rver, type S3rver } from '../../support/s3rver.ts';

let s3: S3rver;
let proxy: FaultProxy;

beforeAll(async () => {
  s3 = await startS3rver('shortbody');
  const url = new URL(s3.endpoint);
  proxy = await startFaultProxy({ host: url.hostname, port: Number(url.port) });
});

afterAll(async () => {
  await proxy?.close();
  await s3?.stop();
});

test('a body cut after 64 KiB is an error, not a short file', async () => {
  const fs = await openS3Fs(s3ConfigFor(s3, { endpoint: `http://${proxy.address}` }));
  const data = Buffer.alloc(1024 * 1024, 7);
  const w = await fs.openWrite('/one.bin');
  await w.write(data);
  await w.close();
  for (let i = 0; i < 5; i++) {
    proxy.set({ kind: 'reset', afterBytes: 64 * 1024 });
    const outcome = await (async () => {
      const chunks: Buffer[] = [];
      try {
        for await (const c of await fs.openRead('/one.bin')) chunks.push(c as Buffer);
        return `ended with ${Buffer.concat(chunks).length} bytes`;
      } catch (err) {
        return `failed: ${(err as Error).message}`;
      }
    })();
    proxy.set({ kind: 'pass' });
    expect(outcome).toStartWith('failed');
  }
}, 60_000);
