// Permissions, confinement and login rules, checked with exact SFTP status codes (ssh2 client) and
// by looking at the disk afterwards: a denied request must change nothing.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { canLogin, code, sftpClient, startSftpd, type Sftpd } from './harness.ts';

const DENIED = 3;
const NO_SUCH_FILE = 2;
let s: Sftpd;
/** A directory outside every home, which dangling links in alice's home point into. */
let outside: string;

beforeAll(async () => {
  s = await startSftpd([
    { username: 'alice' },
    { username: 'bob', permissions: { '/': ['list', 'download'], '/up': ['list', 'upload'], '/all': ['*'] } },
    { username: 'off', extra: '    status: 0\n' },
    { username: 'old', extra: '    expiration_date: 1000\n' },
    { username: 'solo', extra: '    max_sessions: 1\n' },
  ]);
  const bob = s.users.bob!.home;
  writeFileSync(join(bob, 'file.txt'), 'original');
  mkdirSync(join(bob, 'dir'));
  mkdirSync(join(bob, 'up'));
  mkdirSync(join(bob, 'all'));
  writeFileSync(join(bob, 'up/existing.txt'), 'keep');
  const alice = s.users.alice!.home;
  symlinkSync('/', join(alice, 'root-link'));
  symlinkSync('/etc/passwd', join(alice, 'pw'));
  writeFileSync(join(alice, 'inside.txt'), 'in');
  outside = tempDir('sftpgo-outside-');
  symlinkSync(join(outside, 'made.txt'), join(alice, 'dangling-out'));
  symlinkSync('made-inside.txt', join(alice, 'dangling-in'));
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

function openCode(sftp: SFTPWrapper, path: string, flags: 'r' | 'w' | 'a'): Promise<number> {
  return new Promise((resolve) =>
    sftp.open(path, flags, (err, handle) => {
      if (err) return resolve((err as Error & { code?: number }).code ?? -1);
      sftp.close(handle, () => resolve(0));
    }),
  );
}

describe('permissions', () => {
  test('every denied operation gives PERMISSION_DENIED and changes nothing', async () => {
    const { sftp, end } = await sftpClient(s, 'bob');
    const home = s.users.bob!.home;
    const before = statSync(join(home, 'file.txt'));
    try {
      expect(await openCode(sftp, '/new.txt', 'w')).toBe(DENIED);
      expect(await openCode(sftp, '/file.txt', 'w')).toBe(DENIED);
      expect(await openCode(sftp, '/file.txt', 'a')).toBe(DENIED);
      expect(await code((cb) => sftp.unlink('/file.txt', cb))).toBe(DENIED);
      expect(await code((cb) => sftp.rename('/file.txt', '/moved.txt', cb))).toBe(DENIED);
      expect(await code((cb) => sftp.rename('/file.txt', '/all/moved.txt', cb))).toBe(DENIED);
      expect(await code((cb) => sftp.mkdir('/newdir', cb))).toBe(DENIED);
      expect(await code((cb) => sftp.rmdir('/dir', cb))).toBe(DENIED);
      expect(await code((cb) => sftp.chmod('/file.txt', 0o600, cb))).toBe(DENIED);
      expect(await code((cb) => sftp.utimes('/file.txt', 1000, 1000, cb))).toBe(DENIED);
      expect(await code((cb) => sftp.setstat('/file.txt', { size: 0 } as never, cb))).toBe(DENIED);
      expect(await code((cb) => sftp.symlink('/file.txt', '/link', cb))).toBe(DENIED);
      // Upload-only directory: new files yes, overwrite and delete no.
      expect(await openCode(sftp, '/up/new.txt', 'w')).toBe(0);
      expect(await openCode(sftp, '/up/existing.txt', 'w')).toBe(DENIED);
      expect(await code((cb) => sftp.unlink('/up/existing.txt', cb))).toBe(DENIED);
      // The most specific path wins: /all grants everything.
      expect(await code((cb) => sftp.mkdir('/all/d', cb))).toBe(0);
      expect(await code((cb) => sftp.rmdir('/all/d', cb))).toBe(0);
      // Reads are allowed.
      expect(await openCode(sftp, '/file.txt', 'r')).toBe(0);
      expect(await code((cb) => sftp.readdir('/', cb))).toBe(0);
    } finally {
      end();
    }
    const after = statSync(join(home, 'file.txt'));
    expect(readFileSync(join(home, 'file.txt'), 'utf8')).toBe('original');
    expect(after.mode).toBe(before.mode);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(readFileSync(join(home, 'up/existing.txt'), 'utf8')).toBe('keep');
    expect(readdirSync(home).sort()).toEqual(['all', 'dir', 'file.txt', 'up']);
    expect(readdirSync(join(home, 'up')).sort()).toEqual(['existing.txt', 'new.txt']);
  });
});

describe('confinement', () => {
  test('.., absolute paths and symlinks out of the home all fail', async () => {
    const { sftp, end } = await sftpClient(s, 'alice');
    try {
      // ".." stops at the home root: these name files inside the home, which do not exist.
      expect(await openCode(sftp, '../../../../etc/passwd', 'r')).toBe(NO_SUCH_FILE);
      expect(await openCode(sftp, '/etc/passwd', 'r')).toBe(NO_SUCH_FILE);
      expect(await code((cb) => sftp.stat('/../../etc', cb))).toBe(NO_SUCH_FILE);
      const real = await new Promise<string>((r) => sftp.realpath('../../..', (_e, p) => r(p)));
      expect(real).toBe('/');
      // Symlinks placed in the home pointing outside it.
      expect(await openCode(sftp, '/root-link/etc/passwd', 'r')).toBe(DENIED);
      expect(await code((cb) => sftp.stat('/root-link/etc/passwd', cb))).toBe(DENIED);
      expect(await code((cb) => sftp.readdir('/root-link', cb))).toBe(DENIED);
      expect(await openCode(sftp, '/pw', 'r')).toBe(DENIED);
      expect(await openCode(sftp, '/root-link/tmp/escape.txt', 'w')).toBe(DENIED);
      expect(await code((cb) => sftp.mkdir('/root-link/tmp/escape-dir', cb))).toBe(DENIED);
      // A NUL byte is refused outright.
      expect(await openCode(sftp, '/inside.txt\0.jpg', 'r')).not.toBe(0);
      // The link itself can still be inspected and removed.
      expect(await code((cb) => sftp.lstat('/root-link', cb))).toBe(0);
    } finally {
      end();
    }
    expect(existsSync('/tmp/escape.txt')).toBe(false);
    expect(existsSync('/tmp/escape-dir')).toBe(false);
  });

  test('a dangling link is followed to a new file inside the home, never outside', async () => {
    const { sftp, end } = await sftpClient(s, 'alice');
    try {
      expect(await openCode(sftp, '/dangling-out', 'w')).toBe(DENIED);
      expect(await openCode(sftp, '/dangling-in', 'w')).toBe(0);
    } finally {
      end();
    }
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(s.users.alice!.home, 'made-inside.txt'))).toBe(true);
  });
});

describe('login rules', () => {
  test('disabled and expired users cannot log in, with a stable log line', async () => {
    expect(await canLogin(s, 'off')).toBe(false);
    expect(await canLogin(s, 'old')).toBe(false);
    expect(await canLogin(s, 'alice', 'wrong')).toBe(false);
    expect(await canLogin(s, 'alice')).toBe(true);
    await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'off' && l.reason === 'user_disabled');
    await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'old' && l.reason === 'user_expired');
    const bad = await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'alice');
    expect(bad).toMatchObject({ ip: '127.0.0.1', protocol: 'SSH', method: 'password', reason: 'invalid_credentials' });
  });

  test('max_sessions is enforced', async () => {
    const first = await sftpClient(s, 'solo');
    expect(await canLogin(s, 'solo')).toBe(false);
    await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'solo' && l.reason === 'max_sessions');
    first.end();
    await s.server.waitForLog((l) => l.event === 'logout' && l.username === 'solo');
    expect(await canLogin(s, 'solo')).toBe(true);
  });
});
