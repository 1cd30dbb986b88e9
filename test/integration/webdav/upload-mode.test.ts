// A PUT cut off mid-body with upload_mode atomic: the Upload is aborted, the old file is intact and
// no temporary file is left; then the server stops cleanly (exit 0) with the client sessions open.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { removeTempDirs } from '../../support/tmp.ts';
import { DAV_PASSWORD, startDavd, type Davd } from '../../support/webdav.ts';

let d: Davd;

beforeAll(async () => {
  d = await startDavd([{ username: 'alice' }], { common: '  upload_mode: 1' });
  writeFileSync(join(d.homes.alice!, 'keep.bin'), 'the old content');
});

afterAll(async () => {
  await d?.server.stop();
  removeTempDirs();
});

test('an interrupted PUT leaves the old file and no temporary file', async () => {
  const auth = Buffer.from(`alice:${DAV_PASSWORD}`).toString('base64');
  const sock = connect(d.ports.http, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(`PUT /keep.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\nContent-Length: 10000000\r\n\r\n`);
  sock.write(Buffer.alloc(1_000_000, 1));
  // Let the server start the upload, then vanish.
  const home = d.homes.alice!;
  for (let i = 0; i < 100 && !readdirSync(home).some((n) => n.startsWith('.sftpgo-upload.')); i++) await Bun.sleep(20);
  sock.destroy();
  for (let i = 0; i < 100 && readdirSync(home).some((n) => n.startsWith('.sftpgo-upload.')); i++) await Bun.sleep(20);
  expect(readdirSync(home).sort()).toEqual(['keep.bin']);
  expect(readFileSync(join(home, 'keep.bin'), 'utf8')).toBe('the old content');
  expect(d.server.logs.filter((l) => l.level === 'error')).toEqual([]);
});

test('the server stops cleanly', async () => {
  expect(await d.server.stop()).toBe(0);
  expect(d.server.logs.some((l) => l.event === 'serve_stopped')).toBe(true);
});
