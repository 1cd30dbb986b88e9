// Password and key login, put/get/ls/mkdir/rm/rename/chmod with the real OpenSSH sftp client.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { sftpBatch, startSftpd, type Sftpd } from './harness.ts';

let s: Sftpd;
let local: string;

beforeAll(async () => {
  s = await startSftpd([{ username: 'alice' }]);
  local = tempDir('sftp-local-');
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

describe('sftp(1) against the server', () => {
  test('password login, put, get, ls', async () => {
    const data = randomBytes(300_000);
    writeFileSync(join(local, 'a.bin'), data);
    writeFileSync(join(local, 'empty'), '');
    const r = await sftpBatch(s, 'alice', [`put ${join(local, 'a.bin')} a.bin`, `put ${join(local, 'empty')} empty`, 'ls -l', `get a.bin ${join(local, 'back.bin')}`, `get empty ${join(local, 'empty.back')}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('a.bin');
    expect(r.stdout).toMatch(/-rw-r--r--\s+1\s+\d+\s+\d+\s+300000 /);
    expect(readFileSync(join(s.users.alice!.home, 'a.bin')).equals(data)).toBe(true);
    expect(readFileSync(join(local, 'back.bin')).equals(data)).toBe(true);
    expect(statSync(join(local, 'empty.back')).size).toBe(0);
  });

  test('key login, mkdir, rename, chmod, rm, rmdir, unicode names', async () => {
    writeFileSync(join(local, 'u.txt'), 'hello');
    const r = await sftpBatch(
      s,
      'alice',
      ['mkdir dir', `put ${join(local, 'u.txt')} "dir/ünï 名.txt"`, 'rename "dir/ünï 名.txt" dir/r.txt', 'chmod 600 dir/r.txt', 'ls dir', 'mkdir gone', 'rmdir gone', 'put ' + join(local, 'u.txt') + ' x', 'rm x'],
      { auth: 'key' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const home = s.users.alice!.home;
    expect(readFileSync(join(home, 'dir/r.txt'), 'utf8')).toBe('hello');
    expect(statSync(join(home, 'dir/r.txt')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(home, 'gone'))).toBe(false);
    expect(existsSync(join(home, 'x'))).toBe(false);
  });

  test('unicode names round-trip', async () => {
    writeFileSync(join(local, 'ü.txt'), 'u');
    const r = await sftpBatch(s, 'alice', [`put "${join(local, 'ü.txt')}" "Ωmega ✓.txt"`, 'ls']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Ωmega ✓.txt');
    expect(existsSync(join(s.users.alice!.home, 'Ωmega ✓.txt'))).toBe(true);
  });

  test('recursive put/get of a tree, df, symlink, reput/reget', async () => {
    const tree = join(local, 'tree');
    mkdirSync(join(tree, 'sub/deeper'), { recursive: true });
    writeFileSync(join(tree, 'one'), '1');
    writeFileSync(join(tree, 'sub/two'), randomBytes(70_000));
    writeFileSync(join(tree, 'sub/deeper/zero'), '');
    const big = randomBytes(1_000_000);
    writeFileSync(join(local, 'big'), big);
    const home = s.users.alice!.home;
    // A partial remote copy to resume from.
    writeFileSync(join(home, 'big'), big.subarray(0, 400_000));
    writeFileSync(join(local, 'partial'), big.subarray(0, 123_456));
    const r = await sftpBatch(s, 'alice', [
      `put -r ${tree} tree`,
      `get -r tree ${join(local, 'treeback')}`,
      'df -h',
      'symlink tree/one link-one',
      `reput ${join(local, 'big')} big`,
      `reget big ${join(local, 'partial')}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(home, 'tree/sub/two')).equals(readFileSync(join(tree, 'sub/two')))).toBe(true);
    expect(statSync(join(home, 'tree/sub/deeper/zero')).size).toBe(0);
    expect(readFileSync(join(local, 'treeback/sub/two')).equals(readFileSync(join(tree, 'sub/two')))).toBe(true);
    expect(readFileSync(join(home, 'link-one'), 'utf8')).toBe('1');
    expect(readFileSync(join(home, 'big')).equals(big)).toBe(true);
    expect(readFileSync(join(local, 'partial')).equals(big)).toBe(true);
  });
});
