// Upload modes, writes far beyond 4 GiB, and that every handle and transfer is released when
// clients go away (the server reports its live counts in the `logout` log line).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { sftpClient, startSftpd, type Sftpd } from './harness.ts';

let standard: Sftpd;
let atomic: Sftpd;

beforeAll(async () => {
  [standard, atomic] = await Promise.all([
    startSftpd([{ username: 'alice' }]),
    startSftpd([{ username: 'alice' }], 'common:\n  upload_mode: atomic\n'),
  ]);
});

afterAll(async () => {
  await Promise.all([standard?.server.stop(), atomic?.server.stop()]);
  removeTempDirs();
});

function open(sftp: SFTPWrapper, path: string, flags: 'r' | 'w'): Promise<Buffer> {
  return new Promise((resolve, reject) => sftp.open(path, flags, (err, h) => (err ? reject(err) : resolve(h))));
}
function write(sftp: SFTPWrapper, h: Buffer, data: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => sftp.write(h, data, 0, data.length, pos, (err) => (err ? reject(err) : resolve())));
}
function close(sftp: SFTPWrapper, h: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sftp.close(h, (err) => (err ? reject(err) : resolve())));
}

async function lastLogout(s: Sftpd, count: number): Promise<Record<string, unknown>> {
  await s.server.waitForLog(() => s.server.logs.filter((l) => l.event === 'logout').length >= count);
  return s.server.logs.filter((l) => l.event === 'logout').at(-1)!;
}

describe('uploads', () => {
  test('a write at 5 GiB makes a sparse file of the right size and content', async () => {
    const { sftp, end } = await sftpClient(standard, 'alice');
    const at = 5 * 1024 ** 3;
    const h = await open(sftp, '/sparse.bin', 'w');
    await write(sftp, h, Buffer.from('far away'), at);
    await write(sftp, h, Buffer.from('start'), 0);
    await close(sftp, h);
    const attrs = await new Promise<{ size: number }>((r, j) => sftp.stat('/sparse.bin', (e, a) => (e ? j(e) : r(a))));
    end();
    const path = join(standard.users.alice!.home, 'sparse.bin');
    expect(attrs.size).toBe(at + 8);
    expect(statSync(path).size).toBe(at + 8);
    const fd = openSync(path, 'r');
    const buf = Buffer.alloc(8);
    readSync(fd, buf, 0, 8, at);
    const head = Buffer.alloc(5);
    readSync(fd, head, 0, 5, 0);
    closeSync(fd);
    expect(buf.toString()).toBe('far away');
    expect(head.toString()).toBe('start');
  });

  test('atomic mode: an aborted upload leaves the old file intact and no temp file', async () => {
    const home = atomic.users.alice!.home;
    writeFileSync(join(home, 'good.txt'), 'the good version');
    const { sftp, end } = await sftpClient(atomic, 'alice');
    const h = await open(sftp, '/good.txt', 'w');
    await write(sftp, h, Buffer.alloc(100_000, 1), 0);
    end(); // gone without CLOSE
    const logout = await lastLogout(atomic, 1);
    expect(logout).toMatchObject({ open_transfers: 0, open_handles: 0, live_connections: 0 });
    expect(readFileSync(join(home, 'good.txt'), 'utf8')).toBe('the good version');
    expect(readdirSync(home)).toEqual(['good.txt']);
  });

  test('atomic mode: a completed upload replaces the file', async () => {
    const home = atomic.users.alice!.home;
    const { sftp, end } = await sftpClient(atomic, 'alice');
    const h = await open(sftp, '/good.txt', 'w');
    await write(sftp, h, Buffer.from('new'), 0);
    // Before the close the old content is still what readers see.
    expect(readFileSync(join(home, 'good.txt'), 'utf8')).toBe('the good version');
    await close(sftp, h);
    end();
    expect(readFileSync(join(home, 'good.txt'), 'utf8')).toBe('new');
    expect(readdirSync(home)).toEqual(['good.txt']);
  });

  test('standard mode: handles left open by a vanished client are all released', async () => {
    const before = standard.server.logs.filter((l) => l.event === 'logout').length;
    const { sftp, end } = await sftpClient(standard, 'alice');
    await open(sftp, '/sparse.bin', 'r');
    await open(sftp, '/w1', 'w');
    await new Promise((r) => sftp.opendir('/', r));
    end();
    const logout = await lastLogout(standard, before + 1);
    expect(logout).toMatchObject({ open_transfers: 0, open_handles: 0, live_connections: 0 });
  });
});
