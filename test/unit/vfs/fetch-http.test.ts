// The fetch plumbing object store clients use under Bun (src/vfs/object/fetch-http.ts), against a
// real node:http server on loopback: bodies go out whole and as views of the caller's buffer,
// response bodies come back chunk by chunk with backpressure, and destroying one ends its request.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyOf, readableOf, requestHeaders, Slots } from '../../../src/vfs/object/fetch-http.ts';

const MiB = 2 ** 20;
let server: Server;
let base = '';
/** Bytes the server wrote of its last streamed answer, and whether that answer's socket closed early. */
const streamed = { written: 0, aborted: false };

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/echo-hash') {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => (h.update(c), (n += c.length)));
      req.on('end', () => res.end(JSON.stringify({ n, sha: h.digest('hex'), te: req.headers['transfer-encoding'] ?? '', ae: req.headers['accept-encoding'] ?? '', expect: req.headers.expect ?? '' })));
      return;
    }
    // /stream: 256 MiB, written only as fast as the client reads.
    streamed.written = 0;
    streamed.aborted = false;
    const chunk = Buffer.alloc(MiB, 7);
    res.writeHead(200, { 'content-length': String(256 * MiB) });
    res.on('close', () => (streamed.aborted = !res.writableFinished));
    const pump = (): void => {
      while (streamed.written < 256 * MiB && !res.destroyed) {
        streamed.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => void server.close());

describe('fetch plumbing for object stores', () => {
  test('a body goes out as views of the buffer, with its Content-Length, exactly', async () => {
    const buf = randomBytes(5 * MiB + 123);
    const res = await fetch(`${base}/echo-hash`, { method: 'PUT', body: bodyOf(buf), duplex: 'half', headers: requestHeaders({ 'Content-Length': String(buf.length), Expect: '100-continue' }) } as RequestInit);
    const got = (await res.json()) as { n: number; sha: string; te: string; ae: string; expect: string };
    expect(got.n).toBe(buf.length);
    expect(got.sha).toBe(createHash('sha256').update(buf).digest('hex'));
    // Not chunked (S3 and Azure want the length), nothing compressed asked for, no 100-continue.
    expect(got.te).toBe('');
    expect(got.ae).toBe('identity');
    expect(got.expect).toBe('');
  });

  test('a response body is read only as fast as it is consumed, and destroying it ends the request', async () => {
    let ended = 0;
    const res = await fetch(`${base}/stream`);
    const body = readableOf(res.body, () => ended++);
    const first = await new Promise<Buffer>((r) => body.once('data', (c: Buffer) => (body.pause(), r(c))));
    expect(first.length).toBeGreaterThan(0);
    // Each chunk owns its memory, so a reader may free it once used.
    expect(first.byteOffset).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    // Paused: the server is held back by TCP, far from the whole 256 MiB.
    expect(streamed.written).toBeLessThan(64 * MiB);
    body.destroy();
    for (let i = 0; i < 100 && !streamed.aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(streamed.aborted).toBe(true);
    expect(ended).toBe(1);
  });

  test('slots: at most max open at once, the next waits for a release, an aborted wait gives up', async () => {
    const slots = new Slots(2);
    const a = await slots.take();
    const b = await slots.take();
    let third = false;
    const c = slots.take().then((release) => ((third = true), release));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    a();
    a(); // a second release of the same slot frees nothing more
    const release = await c;
    expect(third).toBe(true);
    const ac = new AbortController();
    const waiting = slots.take(ac.signal);
    ac.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    b();
    release();
    (await slots.take())();
  });
});
