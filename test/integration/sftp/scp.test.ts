// Legacy SCP (`scp -O`) uploads and downloads, recursive and with -p, the hash commands, and that
// no shell or unknown command ever runs.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { remote, scp, ssh, startSftpd, type Sftpd } from './harness.ts';

let s: Sftpd;
let local: string;

beforeAll(async () => {
  s = await startSftpd([{ username: 'alice' }, { username: 'ro', permissions: { '/': ['list', 'download'] } }]);
  local = tempDir('scp-local-');
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

describe('scp -O', () => {
  test('upload and download a file, with -p times', async () => {
    const data = randomBytes(2_000_000);
    writeFileSync(join(local, 'f.bin'), data);
    utimesSync(join(local, 'f.bin'), 1_500_000_000, 1_500_000_000);
    const up = await scp(s, 'alice', ['-p', join(local, 'f.bin'), `${remote(s, 'alice')}:f.bin`]);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    const home = s.users.alice!.home;
    expect(readFileSync(join(home, 'f.bin')).equals(data)).toBe(true);
    expect(Math.floor(statSync(join(home, 'f.bin')).mtimeMs / 1000)).toBe(1_500_000_000);
    const down = await scp(s, 'alice', ['-p', `${remote(s, 'alice')}:f.bin`, join(local, 'f.back')]);
    expect(down.status).toBe(0);
    expect(readFileSync(join(local, 'f.back')).equals(data)).toBe(true);
    expect(Math.floor(statSync(join(local, 'f.back')).mtimeMs / 1000)).toBe(1_500_000_000);
  });

  test('recursive upload and download, with a 0-byte file', async () => {
    const tree = join(local, 'tree');
    mkdirSync(join(tree, 'a/b'), { recursive: true });
    writeFileSync(join(tree, 'top.txt'), 'top');
    writeFileSync(join(tree, 'a/b/zero'), '');
    writeFileSync(join(tree, 'a/mid.bin'), randomBytes(100_000));
    const up = await scp(s, 'alice', ['-r', tree, `${remote(s, 'alice')}:/`]);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    const home = s.users.alice!.home;
    expect(readFileSync(join(home, 'tree/a/mid.bin')).equals(readFileSync(join(tree, 'a/mid.bin')))).toBe(true);
    expect(statSync(join(home, 'tree/a/b/zero')).size).toBe(0);
    const back = join(local, 'back');
    const down = await scp(s, 'alice', ['-r', `${remote(s, 'alice')}:tree`, back]);
    expect(down.status).toBe(0);
    expect(readFileSync(join(back, 'top.txt'), 'utf8')).toBe('top');
    expect(readFileSync(join(back, 'a/mid.bin')).equals(readFileSync(join(tree, 'a/mid.bin')))).toBe(true);
  });

  test('denied upload and missing file fail cleanly', async () => {
    writeFileSync(join(local, 'x.txt'), 'x');
    const denied = await scp(s, 'ro', [join(local, 'x.txt'), `${remote(s, 'ro')}:x.txt`]);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toContain('Permission denied');
    const missing = await scp(s, 'alice', [`${remote(s, 'alice')}:nope.txt`, join(local, 'nope')]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('No such file');
  });
});

describe('ssh commands', () => {
  test('hash commands match locally computed digests', async () => {
    const data = randomBytes(500_000);
    writeFileSync(join(s.users.alice!.home, 'h.bin'), data);
    for (const [cmd, algo] of [['md5sum', 'md5'], ['sha1sum', 'sha1'], ['sha256sum', 'sha256']] as const) {
      const r = await ssh(s, 'alice', [cmd, 'h.bin']);
      expect(r.status).toBe(0);
      expect(r.stdout.split(/\s+/)[0]).toBe(createHash(algo).update(data).digest('hex'));
    }
    const pwd = await ssh(s, 'alice', ['pwd']);
    expect(pwd.stdout.trim()).toBe('/');
  });

  test('sha512sum is off by default; unknown commands and shells are refused', async () => {
    const off = await ssh(s, 'alice', ['sha512sum', 'h.bin']);
    expect(off.status).not.toBe(0);
    const ls = await ssh(s, 'alice', ['ls', '-la', '/']);
    expect(ls.status).not.toBe(0);
    expect(ls.stderr).toContain('command not supported');
    expect(ls.stdout).toBe('');
    const shell = await ssh(s, 'alice', [], { input: 'echo pwned\n' });
    expect(shell.status).not.toBe(0);
    expect(shell.stdout).not.toContain('pwned');
    const tty = await ssh(s, 'alice', [], { tty: true, input: 'echo pwned\n' });
    expect(tty.status).not.toBe(0);
    expect(tty.stdout).not.toContain('pwned');
  });
});
