// common.upload_mode applied by the core, in process over in-memory storage: what a completed and
// an aborted upload leave on the backend in standard (0), atomic (1) and atomic-with-resume (2)
// modes, that the temporary name of an atomic upload never shows in a listing, and where a resumed
// upload continues.
import { afterEach, describe, expect, test } from 'bun:test';
import { backendNames, backendText, openCore, seed, type CoreHarness, type CoreLogin } from '../../support/core.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

/** A login of a user with every permission on a server running `upload_mode`. */
async function loginWithMode(mode: 0 | 1 | 2): Promise<CoreLogin> {
  const core = await openCore({
    yaml: `
common:
  upload_mode: ${mode}
users:
  - username: up
    permissions: { "/": ["*"] }
`,
  });
  opened.push(core);
  const u = await core.login({ username: 'up' });
  await seed(u.home, { '/f.txt': 'previous' });
  return u;
}

/** Starts an upload of `vpath`, writes `data`, and leaves it open. */
async function started(u: CoreLogin, vpath: string, data: string, opts = {}) {
  const up = await u.fs.openUpload(u.conn, vpath, opts);
  await up.write(Buffer.from(data));
  return up;
}

describe('upload_mode 0 (standard)', () => {
  test('writes in place: an aborted upload leaves what arrived under the real name', async () => {
    const u = await loginWithMode(0);
    const up = await started(u, '/f.txt', 'part');
    expect(await backendNames(u.home)).toEqual(['f.txt']);
    await up.abort();
    expect(await backendText(u.home, '/f.txt')).toBe('part');
  });

  test('a resumed upload continues at the offset it is given', async () => {
    const u = await loginWithMode(0);
    await (await started(u, '/f.txt', 'first-')).abort();
    const size = (await u.fs.stat('/f.txt')).size;
    expect(size).toBe(6);
    const up = await u.fs.openUpload(u.conn, '/f.txt', { offset: size });
    await up.write(Buffer.from('second'), size);
    await up.close();
    expect(await backendText(u.home, '/f.txt')).toBe('first-second');
  });
});

describe('upload_mode 1 (atomic)', () => {
  test('the previous file stays until the upload completes; the temp name is never listed', async () => {
    const u = await loginWithMode(1);
    const up = await started(u, '/f.txt', 'new content');
    // The data goes to a temporary name beside the target...
    const onBackend = await backendNames(u.home);
    expect(onBackend).toHaveLength(2);
    expect(onBackend.find((n) => n !== 'f.txt')).toMatch(/^\.sftpgo-upload\..*\.f\.txt$/);
    expect(await backendText(u.home, '/f.txt')).toBe('previous');
    // ...which clients never see.
    expect(await u.names('/')).toEqual(['f.txt']);
    await up.close();
    expect(await backendNames(u.home)).toEqual(['f.txt']);
    expect(await backendText(u.home, '/f.txt')).toBe('new content');
  });

  test('an aborted upload leaves the previous file and no temp file', async () => {
    const u = await loginWithMode(1);
    await (await started(u, '/f.txt', 'half')).abort();
    expect(await backendNames(u.home)).toEqual(['f.txt']);
    expect(await backendText(u.home, '/f.txt')).toBe('previous');
    // A new file aborted leaves nothing at all.
    await (await started(u, '/g.txt', 'half')).abort();
    expect(await backendNames(u.home)).toEqual(['f.txt']);
  });

  test('resuming starts from a copy: the original is intact until the commit', async () => {
    const u = await loginWithMode(1);
    const up = await u.fs.openUpload(u.conn, '/f.txt', { offset: 8 });
    await up.write(Buffer.from('+more'), 8);
    expect(await backendText(u.home, '/f.txt')).toBe('previous');
    await up.close();
    expect(await backendText(u.home, '/f.txt')).toBe('previous+more');
    expect(await backendNames(u.home)).toEqual(['f.txt']);
  });
});

describe('upload_mode 2 (atomic with resume)', () => {
  test('an aborted upload keeps what arrived under the real name, to be resumed', async () => {
    const u = await loginWithMode(2);
    await (await started(u, '/g.txt', 'partial')).abort();
    expect(await backendNames(u.home)).toEqual(['f.txt', 'g.txt']);
    expect((await u.fs.stat('/g.txt')).size).toBe(7);

    const up = await u.fs.openUpload(u.conn, '/g.txt', { offset: 7 });
    await up.write(Buffer.from('+rest'), 7);
    await up.close();
    expect(await backendText(u.home, '/g.txt')).toBe('partial+rest');
    expect(await backendNames(u.home)).toEqual(['f.txt', 'g.txt']);
  });

  test('an aborted upload with nothing written leaves the previous file', async () => {
    const u = await loginWithMode(2);
    await (await u.fs.openUpload(u.conn, '/f.txt')).abort();
    expect(await backendNames(u.home)).toEqual(['f.txt']);
    expect(await backendText(u.home, '/f.txt')).toBe('previous');
  });

  test('closing the connection aborts its upload like the client leaving', async () => {
    const u = await loginWithMode(2);
    await started(u, '/h.txt', 'cut');
    expect(u.conn.transfers.size).toBe(1);
    await u.conn.close();
    expect(u.conn.transfers.size).toBe(0);
    expect(await backendNames(u.home)).toEqual(['f.txt', 'h.txt']);
    expect(await backendText(u.home, '/h.txt')).toBe('cut');
  });
});

describe('temporary names are not files', () => {
  /** The code a request fails with, or 'ok'. */
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (err: { code?: string }) => err.code ?? String(err));

  test('a client that guesses an upload in progress by name finds nothing there', async () => {
    const u = await loginWithMode(1);
    const up = await started(u, '/f.txt', 'new content');
    const temp = `/${(await backendNames(u.home)).find((n) => n !== 'f.txt')}`;
    expect(await outcome(u.fs.stat(temp))).toBe('not_found');
    expect(await outcome(u.fs.openDownload(u.conn, temp))).toBe('not_found');
    expect(await outcome(u.fs.remove(temp))).toBe('not_found');
    expect(await outcome(u.fs.rename(temp, '/stolen.txt', true))).toBe('not_found');
    expect(await outcome(u.fs.rename('/f.txt', temp, true))).toBe('not_found');
    expect(await outcome(u.fs.openUpload(u.conn, temp))).toBe('not_found');
    expect(await outcome(u.fs.setAttrs(temp, { size: 0 }))).toBe('not_found');
    expect(await outcome(u.fs.checksum(temp, 'md5'))).toBe('not_found');
    await up.close();
    expect(await backendText(u.home, '/f.txt')).toBe('new content');
  });

  test("a user's own file whose name merely starts with .sftpgo-upload is an ordinary file", async () => {
    const u = await loginWithMode(1);
    for (const name of ['.sftpgo-upload', '.sftpgo-upload.txt', '.sftpgo-upload.0123.f', '.sftpgo-upload-abc']) {
      await (await started(u, `/${name}`, name)).close();
      expect((await u.fs.stat(`/${name}`)).size).toBe(name.length);
    }
    expect((await u.names('/')).sort()).toEqual(['.sftpgo-upload', '.sftpgo-upload-abc', '.sftpgo-upload.0123.f', '.sftpgo-upload.txt', 'f.txt']);
  });

  test('an SFTP client staging its own upload under the backend pattern is served, and its file not listed', async () => {
    // What this project's SFTP backend does when the server it talks to is one of ours.
    const u = await loginWithMode(1);
    const staged = '/.sftpgo-upload-0123456789abcdef';
    await (await started(u, staged, 'whole file')).close();
    expect(await u.names('/')).toEqual(['f.txt']);
    expect((await u.fs.stat(staged)).size).toBe(10);
    await u.fs.rename(staged, '/g.txt', true);
    expect(await backendText(u.home, '/g.txt')).toBe('whole file');
  });
});
