// The session core passes its connection's signal to every backend call, in process over the
// in-memory backend: a spy Fs (MemoryFs recording the options of each call) shows which calls
// carried it, and closing the connection aborts it, ending a download stream still open.
import { afterAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { Connection } from '../../../src/core/connection.ts';
import { ServerContext } from '../../../src/core/context.ts';
import { coreSettings } from '../../../src/core/login.ts';
import { openUsageBook } from '../../../src/core/quota.ts';
import { FilePatterns } from '../../../src/core/patterns.ts';
import { Session } from '../../../src/core/session.ts';
import type { UserRecord } from '../../../src/model.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import type { CallOptions, FileInfo, ReadRange, WriteOptions } from '../../../src/vfs/fs.ts';
import { MemoryFs } from '../../../src/vfs/memory/memory-fs.ts';
import type { Readable } from 'node:stream';

/** A MemoryFs that records the signal every call was given. */
class SignalSpy extends MemoryFs {
  readonly seen: { op: string; signal: AbortSignal | undefined }[] = [];

  override stat(path: string, o?: CallOptions): Promise<FileInfo> {
    this.seen.push({ op: 'stat', signal: o?.signal });
    return super.stat(path, o);
  }
  override lstat(path: string, o?: CallOptions): Promise<FileInfo> {
    this.seen.push({ op: 'lstat', signal: o?.signal });
    return super.lstat(path, o);
  }
  override list(path: string, o?: CallOptions): AsyncIterable<FileInfo> {
    this.seen.push({ op: 'list', signal: o?.signal });
    return super.list(path, o);
  }
  override openRead(path: string, range?: ReadRange): Promise<Readable> {
    this.seen.push({ op: 'openRead', signal: range?.signal });
    return super.openRead(path, range);
  }
  override openWrite(path: string, opts?: WriteOptions) {
    this.seen.push({ op: 'openWrite', signal: opts?.signal });
    return super.openWrite(path, opts);
  }
  override mkdir(path: string, o?: CallOptions): Promise<void> {
    this.seen.push({ op: 'mkdir', signal: o?.signal });
    return super.mkdir(path, o);
  }
  override rename(from: string, to: string, o?: CallOptions): Promise<void> {
    this.seen.push({ op: 'rename', signal: o?.signal });
    return super.rename(from, to, o);
  }
  override remove(path: string, o?: CallOptions): Promise<void> {
    this.seen.push({ op: 'remove', signal: o?.signal });
    return super.remove(path, o);
  }
}

const dataDir = join(tempDir('core-signal-'), 'data');
const store = openLmdbStore(dataDir);
afterAll(async () => {
  await store.close();
  removeTempDirs();
});

/** One SFTP channel of a login whose only mount is `fs`. */
async function session(fs: SignalSpy): Promise<Connection> {
  const user: UserRecord = { username: 'u', status: 1, permissions: { '/': ['*'] }, home_dir: '/', id: 1, created_at: 0, updated_at: 0, source: 'runtime' };
  const context = new ServerContext({ config: {}, dataDir, store, usage: await openUsageBook(store), log: () => undefined, reload: async () => ({ ok: true }) });
  const login = new Session({
    user, protocol: 'SSH', remoteAddress: '127.0.0.1', method: 'password', mounts: [{ virtualPath: '/', fs }], patterns: new FilePatterns(undefined),
    startDirectory: '/', settings: coreSettings(undefined), context, single: false, onEnded: () => undefined,
  });
  return login.connect({ protocol: 'SFTP', disconnect: () => undefined });
}

test('every backend call made for a connection carries its signal; close() aborts it', async () => {
  const fs = new SignalSpy();
  const conn = await session(fs);
  await conn.fs.mkdir('/d');
  const up = await conn.fs.openUpload(conn, '/d/f.bin');
  await up.write(Buffer.alloc(1024 * 1024, 7));
  await up.close();
  await conn.fs.rename('/d/f.bin', '/d/g.bin', true);
  for await (const _ of await conn.fs.openDir('/d')) {
    // listing only
  }
  expect(await conn.fs.checksum('/d/g.bin', 'sha256')).toHaveLength(64);
  const down = await conn.fs.openDownload(conn, '/d/g.bin');
  expect(await down.read(new Uint8Array(10), 0)).toBe(10);
  await down.close();
  await conn.fs.remove('/d/g.bin');

  const ops = new Set(fs.seen.map((s) => s.op));
  for (const op of ['stat', 'lstat', 'list', 'openRead', 'openWrite', 'mkdir', 'rename', 'remove']) expect(ops.has(op)).toBe(true);
  expect(fs.seen.filter((s) => s.signal !== conn.signal)).toEqual([]);

  // A stream opened for the connection ends when the connection closes, with no transfer involved.
  await fs.openWrite('/big').then(async (w) => (await w.write(Buffer.alloc(8 * 1024 * 1024)), w.close()));
  const stream = await fs.openRead('/big', { signal: conn.signal });
  const ended = new Promise<unknown>((resolve) => stream.once('error', resolve));
  expect(conn.signal.aborted).toBe(false);
  await conn.close();
  expect(conn.signal.aborted).toBe(true);
  expect(String(await ended)).toContain('aborted');
  expect(stream.destroyed).toBe(true);
});
