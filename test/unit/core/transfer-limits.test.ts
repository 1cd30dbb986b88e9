// Per-user transfer limits enforced by the core, in process over in-memory storage:
// filters.max_upload_file_size, and the upload, download and total data transfer allowances (MB)
// counted in the usage book: a transfer crossing one is cut, the next one is refused when opened,
// and a change to the user's record applies to the next transfer.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openCore, seed, type CoreHarness, type CoreLogin } from '../../support/core.ts';

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;

let core: CoreHarness;

beforeAll(async () => {
  core = await openCore({
    yaml: `
users:
  - { username: size, permissions: { "/": ["*"] }, filters: { max_upload_file_size: 100 } }
  - { username: up, permissions: { "/": ["*"] }, upload_data_transfer: 1 }
  - { username: down, permissions: { "/": ["*"] }, download_data_transfer: 1 }
  - { username: total, permissions: { "/": ["*"] }, total_data_transfer: 1 }
`,
  });
});

afterAll(() => core.close());

/** Uploads `chunks` chunks of 64 KiB; the error code it ended with, if any. */
async function upload(u: CoreLogin, vpath: string, chunks: number, chunk = CHUNK): Promise<string | undefined> {
  let up;
  try {
    up = await u.fs.openUpload(u.conn, vpath);
    for (let i = 0; i < chunks; i++) await up.write(Buffer.alloc(chunk, 1));
    await up.close();
    return undefined;
  } catch (err) {
    await up?.close().catch(() => undefined);
    return (err as { code?: string }).code;
  }
}

/** Downloads `vpath` whole; the bytes read and the error code it ended with, if any. */
async function download(u: CoreLogin, vpath: string): Promise<{ bytes: number; code?: string }> {
  let bytes = 0;
  let down;
  try {
    down = await u.fs.openDownload(u.conn, vpath);
    for (let n; (n = await down.read(new Uint8Array(CHUNK), bytes)) > 0; ) bytes += n;
    await down.close();
    return { bytes };
  } catch (err) {
    await down?.abort();
    return { bytes, code: (err as { code?: string }).code };
  }
}

describe('max_upload_file_size', () => {
  test('a file may reach the limit, not pass it, whatever the chunks', async () => {
    const u = await core.login({ username: 'size' });
    expect(await upload(u, '/ok', 1, 100)).toBeUndefined();
    expect(await upload(u, '/big', 2, 60)).toBe('quota_exceeded');
    expect((await u.home.stat('/big')).size).toBe(60);
    // A resume counts from its offset: 60 + 41 passes the limit.
    const up = await u.fs.openUpload(u.conn, '/big', { offset: 60 });
    await expect(up.write(Buffer.alloc(41), 60)).rejects.toMatchObject({ code: 'quota_exceeded' });
    await up.abort();
  });
});

describe('data transfer allowances', () => {
  test('upload: the upload crossing 1 MB is cut, the next is refused at open', async () => {
    const u = await core.login({ username: 'up' });
    expect(await upload(u, '/a', 12)).toBeUndefined();
    expect(await upload(u, '/b', 8)).toBe('quota_exceeded');
    // Exactly the allowance went through: 12 + 4 chunks.
    expect(core.usage.transferred('user:up')).toEqual({ upload: MB, download: 0 });
    expect((await u.home.stat('/b')).size).toBe(4 * CHUNK);
    expect(await upload(u, '/c', 1)).toBe('quota_exceeded');
    // Downloads are not limited by an upload allowance.
    expect((await download(u, '/a')).bytes).toBe(12 * CHUNK);
  });

  test('download: cut with read_quota_exceeded once 1 MB was read, then refused at open', async () => {
    const u = await core.login({ username: 'down' });
    await seed(u.home, { '/f': 'x'.repeat(12 * CHUNK) });
    expect(await download(u, '/f')).toEqual({ bytes: 12 * CHUNK });
    expect(await download(u, '/f')).toEqual({ bytes: 4 * CHUNK, code: 'read_quota_exceeded' });
    expect(await download(u, '/f')).toEqual({ bytes: 0, code: 'read_quota_exceeded' });
    expect(await upload(u, '/up', 20)).toBeUndefined();
  });

  test('total: uploads and downloads share one allowance', async () => {
    const u = await core.login({ username: 'total' });
    expect(await upload(u, '/a', 12)).toBeUndefined();
    expect(await download(u, '/a')).toEqual({ bytes: 4 * CHUNK, code: 'read_quota_exceeded' });
    expect(await upload(u, '/b', 1)).toBe('quota_exceeded');
    expect(core.usage.transferred('user:total')).toEqual({ upload: 12 * CHUNK, download: 4 * CHUNK });
  });

  test('a raised allowance applies to the next transfer of a session already open', async () => {
    const u = await core.login({ username: 'up' });
    expect(await upload(u, '/d', 1)).toBe('quota_exceeded');
    await core.ctx.records.write((tx) => tx.edit('user', 'up', { fields: { upload_data_transfer: 2 }, cleared: [], by: 'admin' }));
    expect(await upload(u, '/d', 16)).toBeUndefined();
    expect(core.usage.transferred('user:up').upload).toBe(2 * MB);
  });
});
