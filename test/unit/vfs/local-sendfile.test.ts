// The local backend's sendTo (sendfile under Bun on Linux): bytes go from the file to a socket in
// the kernel, from any position; 0 at the end of the file; -1, nothing sent, while the socket is
// full; a closed reader refuses.
import { afterAll, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { socketFd } from '../../../src/runtime.ts';
import { openLocalFs } from '../../../src/vfs/local/local-fs.ts';
import { patternBytes, socketPair } from '../../support/net.ts';
import { evictFromPageCache } from '../../support/page-cache.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  removeTempDirs();
});

async function pair(): Promise<{ server: Socket; client: Socket }> {
  const { server, client, listener } = await socketPair();
  servers.push(listener);
  return { server, client };
}

test('sendTo copies the file to a socket from any position, and says when the socket is full and when the file ends', async () => {
  const root = tempDir('sendfile-');
  const data = patternBytes(24 * 1024 * 1024);
  writeFileSync(join(root, 'f.bin'), data);
  const fs = await openLocalFs(root);
  const reader = await fs.openReader('/f.bin');
  // Bun on Linux: present; elsewhere the backend leaves it out and callers read instead.
  expect(typeof reader.sendTo).toBe(process.platform === 'linux' && typeof Bun !== 'undefined' ? 'function' : 'undefined');
  if (!reader.sendTo) return;
  const { server, client } = await pair();
  const fd = socketFd(server)!;
  expect(typeof fd).toBe('number');
  client.pause();
  // The client reads nothing: the kernel's buffers fill and sendTo answers -1, having sent nothing.
  const start = 1000;
  let pos = start;
  let n: number;
  while ((n = reader.sendTo(fd, pos, 1024 * 1024)) > 0) pos += n;
  expect(n).toBe(-1);
  expect(pos).toBeGreaterThan(start);
  expect(pos).toBeLessThan(data.length);
  const got: Buffer[] = [];
  let bytes = 0;
  const all = new Promise<void>((resolve) =>
    client.on('data', (d: Buffer) => {
      got.push(d);
      bytes += d.length;
      if (bytes === data.length - start) resolve();
    }),
  );
  client.resume();
  // Send the rest as the client drains the socket.
  for (;;) {
    n = reader.sendTo(fd, pos, 1024 * 1024);
    if (n === 0) break;
    if (n > 0) pos += n;
    else await Bun.sleep(1);
  }
  expect(pos).toBe(data.length);
  await all;
  expect(Buffer.concat(got).equals(data.subarray(start))).toBe(true);
  await reader.close();
  expect(() => reader.sendTo!(fd, 0, 1)).toThrow('read after close');
  server.destroy();
  client.destroy();
});

test('a range not in the page cache is not sent (-2: sendfile would wait for the disk), and is once it was read', async () => {
  const root = tempDir('sendfile-cold-');
  const data = patternBytes(8 * 1024 * 1024);
  const path = join(root, 'cold.bin');
  writeFileSync(path, data);
  const fs = await openLocalFs(root);
  const reader = await fs.openReader('/cold.bin');
  if (!reader.sendTo) return;
  expect(await evictFromPageCache(path)).toBe(true);
  const { server, client } = await pair();
  const fd = socketFd(server)!;
  expect(reader.sendTo(fd, 4 * 1024 * 1024, 1024 * 1024)).toBe(-2);
  // A read through the thread pool brings the range in; then it goes by sendfile.
  const into = Buffer.alloc(1024 * 1024);
  expect(await reader.read(into, 4 * 1024 * 1024)).toBe(into.length);
  expect(into.equals(data.subarray(4 * 1024 * 1024, 5 * 1024 * 1024))).toBe(true);
  const got: Buffer[] = [];
  let bytes = 0;
  const all = new Promise<void>((resolve) =>
    client.on('data', (d: Buffer) => {
      got.push(d);
      if ((bytes += d.length) === 1024 * 1024) resolve();
    }),
  );
  client.resume();
  expect(reader.sendTo(fd, 4 * 1024 * 1024, 1024 * 1024)).toBe(1024 * 1024);
  await all;
  expect(Buffer.concat(got).equals(data.subarray(4 * 1024 * 1024, 5 * 1024 * 1024))).toBe(true);
  await reader.close();
  server.destroy();
  client.destroy();
});
