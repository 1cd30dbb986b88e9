// The FTP data connection's pumps over real loopback sockets: receiveAll (socket -> storage
// writes, joined while a write runs) and sendAll (storage chunks -> socket).
import { afterEach, expect, test } from 'bun:test';
import type { Server, Socket } from 'node:net';
import { AppError } from '../../../src/errors.ts';
import { DataError, receiveAll, sendAll } from '../../../src/protocols/ftp/data.ts';
import { patternBytes, socketPair } from '../../support/net.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function pair(): Promise<{ server: Socket; client: Socket }> {
  const { server, client, listener } = await socketPair();
  servers.push(listener);
  return { server, client };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('receiveAll writes the first chunk at once, joins what arrives during a write, in order and intact', async () => {
  const { server, client } = await pair();
  const sent = patternBytes(8 * 1024 * 1024);
  const batch = 256 * 1024;
  const calls: number[] = [];
  const got: Buffer[] = [];
  let running = 0;
  const done = receiveAll(
    server,
    async (data) => {
      expect(++running).toBe(1);
      calls.push(data.byteLength);
      // Copied: the pump frees the memory once the call has resolved.
      got.push(Buffer.from(data));
      await sleep(3);
      running--;
    },
    batch,
  );
  for (let off = 0; off < sent.length; off += 64 * 1024) client.write(sent.subarray(off, off + 64 * 1024));
  client.end();
  await done;
  expect(Buffer.concat(got).equals(sent)).toBe(true);
  // Joined under load: far fewer storage calls than 64 KiB pieces sent.
  expect(calls.length).toBeLessThan(sent.length / (64 * 1024) / 2);
  // Never more than the batch plus one socket read (Bun reads up to 512 KiB at once).
  for (const n of calls) expect(n).toBeLessThanOrEqual(batch + 512 * 1024);
  server.destroy();
});

test('receiveAll rejects with the storage error, once the failing write has returned', async () => {
  const { server, client } = await pair();
  let n = 0;
  let running = false;
  const outcome = receiveAll(server, async () => {
    running = true;
    await sleep(2);
    running = false;
    if (++n === 3) throw new AppError('quota_exceeded', 'quota exceeded');
  }, 64 * 1024).then(() => undefined, (e: unknown) => e);
  const block = patternBytes(64 * 1024);
  // Written slowly enough that each piece is a storage call of its own.
  for (let i = 0; i < 6 && !client.destroyed; i++) {
    client.write(block);
    await sleep(10);
  }
  const err = await outcome;
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('quota_exceeded');
  expect(running).toBe(false);
  client.destroy();
  server.destroy();
});

test('receiveAll: a connection we close (ABOR, timeout) is a DataError, never an end of file, after the running write', async () => {
  const { server, client } = await pair();
  let running = false;
  let calls = 0;
  const outcome = receiveAll(server, async () => {
    calls++;
    running = true;
    await sleep(30);
    running = false;
  }).then(() => undefined, (e: unknown) => e);
  client.write(patternBytes(4096));
  await sleep(5);
  // ABOR closes the data connection from our side.
  server.destroy();
  const err = await outcome;
  expect(err).toBeInstanceOf(DataError);
  expect(running).toBe(false);
  expect(calls).toBe(1);
  client.destroy();
});

test('sendAll sends every chunk in order and frees each once the socket is done with it', async () => {
  const { server, client } = await pair();
  const chunks = [patternBytes(1024 * 1024), patternBytes(1024 * 1024).reverse(), patternBytes(777)];
  const expected = Buffer.concat(chunks);
  const received: Buffer[] = [];
  const ended = new Promise<void>((r) => client.once('end', r));
  client.on('data', (d: Buffer) => received.push(Buffer.from(d)));
  async function* source() {
    for (const c of chunks) yield c;
  }
  await sendAll(server, source());
  server.end();
  await ended;
  expect(Buffer.concat(received).equals(expected)).toBe(true);
  // Detached (ES2024 ArrayBuffer#transfer): the memory went back when the write completed.
  for (const c of chunks) expect(c.byteLength).toBe(0);
  client.destroy();
});

test('receiveAll: a client reset is a DataError', async () => {
  const { server, client } = await pair();
  const outcome = receiveAll(server, async () => undefined).then(() => undefined, (e: unknown) => e);
  client.write(patternBytes(4096));
  await sleep(5);
  client.resetAndDestroy();
  expect(await outcome).toBeInstanceOf(DataError);
  server.destroy();
});

test('sendAll rejects with a DataError when the connection is gone', async () => {
  const { server, client } = await pair();
  client.destroy();
  server.destroy();
  async function* source() {
    yield patternBytes(1024);
  }
  const err = await sendAll(server, source()).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DataError);
});
