// rclone's SFTP backend (Go's pkg/sftp, not OpenSSH) against the server: copy a tree, check it
// byte for byte, and use the md5sum/sha1sum commands rclone runs over SSH for checksums.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { startSftpd, type Sftpd } from './harness.ts';

let s: Sftpd;

beforeAll(async () => {
  s = await startSftpd([{ username: 'alice' }]);
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

function rclone(args: string[]): Promise<{ status: number | null; out: string }> {
  const env = {
    ...process.env,
    RCLONE_CONFIG_T_TYPE: 'sftp',
    RCLONE_CONFIG_T_HOST: '127.0.0.1',
    RCLONE_CONFIG_T_PORT: String(s.port),
    RCLONE_CONFIG_T_USER: 'alice',
    RCLONE_CONFIG_T_KEY_FILE: s.users.alice!.keyPath,
    RCLONE_CONFIG_T_KNOWN_HOSTS_FILE: '',
    RCLONE_CONFIG_T_MD5SUM_COMMAND: 'md5sum',
    RCLONE_CONFIG_T_SHA1SUM_COMMAND: 'sha1sum',
    RCLONE_CONFIG_T_SHELL_TYPE: 'unix',
    RCLONE_CONFIG: '/dev/null',
  };
  return new Promise((resolve) => {
    const p = spawn('rclone', args, { env });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (status) => resolve({ status, out }));
  });
}

describe('rclone sftp backend', () => {
  test('copy a tree up and back, then check it (content and md5)', async () => {
    const src = tempDir('rclone-src-');
    mkdirSync(join(src, 'a/b'), { recursive: true });
    writeFileSync(join(src, 'one.bin'), randomBytes(3_000_000));
    writeFileSync(join(src, 'a/zero'), '');
    writeFileSync(join(src, 'a/b/ünï.txt'), 'unicode');
    const up = await rclone(['copy', src, 't:tree']);
    expect(up.out).toBe('');
    expect(up.status).toBe(0);
    const check = await rclone(['check', '--download', src, 't:tree']);
    expect(check.status).toBe(0);
    const md5 = await rclone(['check', src, 't:tree']);
    expect(md5.status).toBe(0);
    expect(md5.out).not.toContain('hash');
    const back = tempDir('rclone-back-');
    const down = await rclone(['copy', 't:tree', back]);
    expect(down.status).toBe(0);
    const again = await rclone(['check', '--download', src, back]);
    expect(again.status).toBe(0);
    const ren = await rclone(['moveto', 't:tree/one.bin', 't:tree/moved.bin']);
    expect(ren.status).toBe(0);
    const ls = await rclone(['lsf', '-R', 't:tree']);
    expect(ls.out.split('\n').sort().filter(Boolean)).toEqual(['a/', 'a/b/', 'a/b/ünï.txt', 'a/zero', 'moved.bin']);
  });
});
