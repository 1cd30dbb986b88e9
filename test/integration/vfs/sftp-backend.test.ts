// The SFTP backend against a real OpenSSH sshd: the shared backend suite, then what is particular
// to SFTP: host key pinning, confinement below the prefix (`..` and symlinks), reconnecting after
// the connection drops, key and password authentication, pipelined transfers, released handles.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SFTPFsConfig } from '../../../src/config/schema-types.ts';
import { isAppError } from '../../../src/errors.ts';
import type { Fs } from '../../../src/vfs/fs.ts';
import { parseEndpoint } from '../../../src/vfs/sftp/config.ts';
import { normalizeFingerprint } from '../../../src/vfs/sftp/connection.ts';
import { openSftpFs, type SftpFsOptions } from '../../../src/vfs/sftp/sftp-fs.ts';
import { tempUploadPath } from '../../../src/vfs/temp-names.ts';
import { resolveSecret } from '../../../src/config/secrets.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import { startSshd, type Sshd } from '../../support/sshd.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { names, readAll, readFile, runFsSuite, writeFile } from './suite.ts';

const PASSWORD = 'pw-' + randomBytes(6).toString('hex');

// One sshd for the whole file (password login needs a private mount namespace; without `unshare`
// it runs key-only and the password test is skipped). Reconnect tests use their own.
let shared: Promise<{ sshd: Sshd; password: boolean }> | undefined;
function sshdOnce(): Promise<{ sshd: Sshd; password: boolean }> {
  shared ??= startSshd({ password: PASSWORD }).then(
    (sshd) => ({ sshd, password: true }),
    async () => ({ sshd: await startSshd(), password: false }),
  );
  return shared;
}

const opened: Fs[] = [];
async function open(sshd: Sshd, prefix: string, extra: Partial<SFTPFsConfig> = {}, opts: SftpFsOptions = {}): Promise<Fs> {
  const fs = await openSftpFs(
    { endpoint: sshd.endpoint, username: sshd.user, private_key: sshd.clientKey, fingerprints: [sshd.hostFingerprint], prefix, ...extra },
    { resolveSecret: (s) => resolveSecret(s, process.cwd(), NO_SECRETS), ...opts },
  );
  opened.push(fs);
  return fs;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw new Error(`expected an AppError ${code}, got ${String(err)}`);
  expect(err.code).toBe(code as never);
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

afterAll(async () => {
  for (const fs of opened.splice(0)) await fs.close?.();
  if (shared) await (await shared).sshd.stop();
  removeTempDirs();
});

runFsSuite('sftp (OpenSSH sshd)', async () => {
  const { sshd } = await sshdOnce();
  const home = join(tempDir('sftpgo-sftp-suite-'), 'home');
  // The prefix does not exist yet: the backend creates it, as a local home is created at first login.
  const fs = await open(sshd, home);
  return { fs, cleanup: async () => fs.close?.() };
}, { cancellation: true });

test('endpoint and fingerprint forms', () => {
  expect(parseEndpoint('example.com:2022')).toEqual({ host: 'example.com', port: 2022 });
  expect(parseEndpoint('example.com')).toEqual({ host: 'example.com', port: 22 });
  expect(parseEndpoint('[::1]:2222')).toEqual({ host: '::1', port: 2222 });
  expect(() => parseEndpoint('host:99999')).toThrow();
  expect(normalizeFingerprint(' SHA256:abc= ')).toBe('SHA256:abc');
  expect(normalizeFingerprint('abc')).toBe('SHA256:abc');
});

describe('sftp backend', () => {
  let sshd: Sshd;
  let hasPassword = false;
  let base: string;
  let home: string;
  beforeAll(async () => {
    ({ sshd, password: hasPassword } = await sshdOnce());
    base = tempDir('sftpgo-sftp-');
    home = join(base, 'home');
    mkdirSync(join(base, 'outside'), { recursive: true });
    mkdirSync(join(home, 'sub'), { recursive: true });
    writeFileSync(join(base, 'outside', 'secret.txt'), 'secret');
    symlinkSync('../outside', join(home, 'escape'));
    symlinkSync(join(base, 'outside', 'secret.txt'), join(home, 'file-link'));
    symlinkSync('../outside/missing', join(home, 'dangling'));
    symlinkSync('sub', join(home, 'inner'));
  }, 60_000);

  test('host key pinning: the right fingerprint connects, a wrong one is refused with a clear error', async () => {
    const fs = await open(sshd, home, {}, { connect: true });
    expect((await fs.stat('/')).type).toBe('dir');
    expect(fs.capabilities.atomicRename).toBe(true); // OpenSSH offers posix-rename@openssh.com

    const wrong = 'SHA256:' + createHash('sha256').update('not the key').digest('base64').replace(/=+$/, '');
    const bad = await open(sshd, home, { fingerprints: [wrong] });
    const err = await bad.stat('/').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAppError(err, 'permission_denied')).toBe(true);
    expect((err as Error).message).toContain(sshd.hostFingerprint);
    expect((err as Error).message).toContain('does not match');
  });

  test('prefix confinement: ".." stays inside, symlinks out of the prefix are refused', async () => {
    const fs = await open(sshd, home);
    // ".." is resolved against the backend root, so it names a (missing) path inside the prefix.
    await expectCode(fs.stat('../outside/secret.txt'), 'not_found');
    await expectCode(fs.openRead('/../../outside/secret.txt'), 'not_found');
    // Links that lead out are refused for every operation that would follow them.
    await expectCode(fs.stat('/escape'), 'permission_denied');
    await expectCode(fs.stat('/escape/secret.txt'), 'permission_denied');
    await expectCode(fs.openRead('/file-link'), 'permission_denied');
    await expectCode(names(fs, '/escape'), 'permission_denied');
    await expectCode(fs.openWrite('/escape/new.txt'), 'permission_denied');
    await expectCode(fs.openWrite('/dangling'), 'permission_denied');
    await expectCode(fs.mkdir('/escape/d'), 'permission_denied');
    await expectCode(fs.remove('/escape/secret.txt'), 'permission_denied');
    await expectCode(fs.rename('/escape/secret.txt', '/stolen.txt'), 'permission_denied');
    await expectCode(fs.setTimes('/file-link', 0, 0), 'permission_denied');
    expect(existsSync(join(base, 'outside', 'new.txt'))).toBe(false);
    expect(existsSync(join(base, 'outside', 'missing'))).toBe(false);
    expect(readFileSync(join(base, 'outside', 'secret.txt'), 'utf8')).toBe('secret');
    // The links themselves can be seen and managed, and a link that stays inside works.
    expect((await fs.lstat('/escape')).type).toBe('symlink');
    await writeFile(fs, '/inner/x.txt', Buffer.from('via link'));
    expect(readFileSync(join(home, 'sub', 'x.txt'), 'utf8')).toBe('via link');
    await fs.remove('/escape');
    expect(existsSync(join(base, 'outside', 'secret.txt'))).toBe(true);
  });

  test('private key with a passphrase, and secrets given by reference', async () => {
    const keyPath = join(sshd.dir, 'protected_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-f', keyPath]);
    writeFileSync(join(sshd.dir, 'authorized_keys'), readFileSync(`${keyPath}.pub`), { flag: 'a' });
    process.env.SFTPGO_TEST_KEY_PASSPHRASE = 'open sesame';
    const fs = await open(sshd, home, { private_key: { file: keyPath }, key_passphrase: { env: 'SFTPGO_TEST_KEY_PASSPHRASE' } });
    expect((await fs.stat('/sub')).type).toBe('dir');
    const wrong = await open(sshd, home, { private_key: { file: keyPath }, key_passphrase: 'not it' });
    await expectCode(wrong.stat('/'), 'config');
    delete process.env.SFTPGO_TEST_KEY_PASSPHRASE;
  });

  test('password authentication (sshd in a private mount namespace with its own /etc/shadow)', async () => {
    if (!hasPassword) {
      console.warn('skipped: sshd could not run with a private /etc/shadow (unshare unavailable)');
      return;
    }
    const fs = await open(sshd, home, { private_key: undefined, password: PASSWORD });
    expect((await fs.stat('/sub')).type).toBe('dir');
    const wrong = await open(sshd, home, { private_key: undefined, password: 'wrong' });
    await expectCode(wrong.stat('/'), 'permission_denied');
  });

  test('pipelined transfers (buffer_size, disable_concurrent_reads) move identical bytes', async () => {
    const data = randomBytes(6 * 1024 * 1024 + 12_345);
    for (const extra of [{ buffer_size: 4 }, { buffer_size: 0 }, { buffer_size: 1, disable_concurrent_reads: true }]) {
      const fs = await open(sshd, home, extra);
      const name = `/pipe-${extra.buffer_size}.bin`;
      // Odd-sized pieces, so requests straddle chunk boundaries.
      const w = await fs.openWrite(name);
      for (let off = 0; off < data.length; off += 100_003) await w.write(data.subarray(off, off + 100_003));
      expect(w.size).toBe(data.length);
      await w.close();
      expect(readFileSync(join(home, name)).equals(data)).toBe(true);
      expect((await readFile(fs, name)).equals(data)).toBe(true);
      expect((await readFile(fs, name, { start: 70_000, end: 3_000_000 })).equals(data.subarray(70_000, 3_000_001))).toBe(true);

      // Writes out of order land where they belong.
      const parts = 24;
      const size = Math.ceil(data.length / parts);
      const rw = await fs.openWrite(`${name}.rev`);
      for (let i = parts - 1; i >= 0; i--) await rw.write(data.subarray(i * size, (i + 1) * size), i * size);
      await rw.close();
      expect(readFileSync(join(home, `${name}.rev`)).equals(data)).toBe(true);

      // Positional reads, including one larger than the window and one past the end.
      const r = await fs.openReader!(name);
      const big = Buffer.alloc(5 * 1024 * 1024);
      expect(await r.read(big, 1000)).toBe(big.length);
      expect(big.equals(data.subarray(1000, 1000 + big.length))).toBe(true);
      const tail = Buffer.alloc(100_000);
      expect(await r.read(tail, data.length - 10)).toBe(10);
      expect(tail.subarray(0, 10).equals(data.subarray(data.length - 10))).toBe(true);
      expect(await r.read(tail, data.length + 5)).toBe(0);
      await r.close();
    }
  }, 120_000);

  test('resume, append, exclusive create, truncate, statvfs and server-side copy', async () => {
    const fs = await open(sshd, home);
    await writeFile(fs, '/res.txt', Buffer.from('hello'));
    const a = await fs.openWrite('/res.txt', { append: true });
    expect(a.size).toBe(5);
    await a.write(Buffer.from(' world'));
    await a.close();
    const o = await fs.openWrite('/res.txt', { offset: 6 });
    await o.write(Buffer.from('WORLD'));
    await o.close();
    expect((await readFile(fs, '/res.txt')).toString()).toBe('hello WORLD');
    await expectCode(fs.openWrite('/res.txt', { exclusive: true }), 'exists');
    const x = await fs.openWrite('/excl.txt', { exclusive: true });
    await x.write(Buffer.from('x'));
    await x.abort();
    await expectCode(fs.stat('/excl.txt'), 'not_found');
    await fs.truncate('/res.txt', 5);
    expect((await readFile(fs, '/res.txt')).toString()).toBe('hello');
    await expectCode(fs.mkdir('/sub'), 'exists');
    await expectCode(names(fs, '/res.txt'), 'not_dir');
    await expectCode(fs.rmdir('/res.txt'), 'not_dir');
    await expectCode(fs.openRead('/sub'), 'is_dir');
    const usage = await fs.statvfs('/');
    expect(usage.blocks).toBeGreaterThan(0);
    expect(fs.copy).toBeDefined(); // OpenSSH 9 offers copy-data
    await fs.copy!('/res.txt', '/copy.txt');
    expect(readFileSync(join(home, 'copy.txt'), 'utf8')).toBe('hello');
  });

  test('handles and connections are released: early stream end, abort, close()', async () => {
    const fs = await open(sshd, home);
    await writeFile(fs, '/held.bin', randomBytes(4 * 1024 * 1024));
    const stream = await fs.openRead('/held.bin');
    for await (const _ of stream) {
      // The check below is only meaningful if an open handle shows up here.
      expect(sshd.openFiles(home)).toContain(join(home, 'held.bin'));
      break; // destroys the stream after the first chunk
    }
    const w = await fs.openWrite('/held-up.bin');
    await w.write(randomBytes(100_000));
    await w.abort();
    const listing = fs.list('/')[Symbol.asyncIterator]();
    await listing.next();
    await listing.return?.();
    await until(() => sshd.openFiles(home).length === 0, `no open handles under ${home}: ${sshd.openFiles(home)}`);
    expect(await names(fs, '/')).not.toContain('held-up.bin');
    expect((await names(fs, '/')).filter((n) => n.startsWith('.sftpgo-upload'))).toEqual([]);
  });
});

describe('sftp backend: temporary upload names', () => {
  test("the core's atomic-upload names travel as backend staging names (a server of ours reserves the core's names)", async () => {
    const { sshd } = await sshdOnce();
    const home = join(tempDir('sftpgo-sftp-temp-'), 'home');
    mkdirSync(home, { recursive: true });
    const fs = await open(sshd, home);
    const temp = tempUploadPath('/up.txt');
    await writeFile(fs, temp, Buffer.from('atomic'));
    // On the remote: the staging pattern, the same name for every request on that path.
    const remote = readdirSync(home);
    expect(remote).toHaveLength(1);
    expect(remote[0]).toMatch(/^\.sftpgo-upload-[0-9a-f]{16}$/);
    expect((await fs.stat(temp)).size).toBe(6);
    await fs.rename(temp, '/up.txt');
    expect(readdirSync(home)).toEqual(['up.txt']);
    expect(readFileSync(join(home, 'up.txt'), 'utf8')).toBe('atomic');
  });
});

describe('sftp backend: reconnect', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  test('the next operation after a dropped connection or an sshd restart succeeds; close() ends the session', async () => {
    const home = join(tempDir('sftpgo-sftp-rc-'), 'home');
    const fs = await open(sshd, home);
    await writeFile(fs, '/a.txt', Buffer.from('before'));
    expect(sshd.connections()).toBe(1);

    await sshd.dropConnections();
    expect((await fs.stat('/a.txt')).size).toBe(6);
    expect((await readAll(await fs.openRead('/a.txt'))).toString()).toBe('before');
    await writeFile(fs, '/b.txt', Buffer.from('after drop'));

    await sshd.restart();
    expect(await names(fs, '/')).toEqual(['a.txt', 'b.txt']);
    await fs.mkdir('/d');
    expect((await fs.stat('/d')).type).toBe('dir');
    expect(sshd.connections()).toBe(1);

    await fs.close?.();
    await until(() => sshd.connections() === 0, 'sshd to see the connection closed');
    await expectCode(fs.stat('/'), 'invalid');
  }, 60_000);

  test('an idle connection is closed, and the next operation opens a new one', async () => {
    const home = join(tempDir('sftpgo-sftp-idle-'), 'home');
    const fs = await open(sshd, home, {}, { idleTimeoutMs: 300 });
    await writeFile(fs, '/a.txt', Buffer.from('idle'));
    const r = await fs.openReader!('/a.txt');
    // An open file keeps the connection: only an unused one idles out.
    await new Promise((res) => setTimeout(res, 600));
    expect(sshd.connections()).toBe(1);
    await r.close();
    await until(() => sshd.connections() === 0, 'the idle connection to close');
    expect((await readFile(fs, '/a.txt')).toString()).toBe('idle');
    await fs.close?.();
  }, 30_000);
});
