// SFTPGo's `copy` permission (2.6): the server-side copy of the `sftpgo-copy` SSH command needs it
// where each file comes from and where it goes ("*" includes it, so configs with "*" keep copying),
// on top of the download, upload and create_dirs every transfer needs. WebDAV COPY is authorized as
// a download and an upload, as in SFTPGo, so configs written before `copy` existed keep working there.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { PASSWORD, ssh, startSftpd, type Sftpd } from './harness.ts';

let s: Sftpd;
let davPort: number;
const data = randomBytes(700_000);

beforeAll(async () => {
  davPort = await freePort();
  s = await startSftpd(
    [
      { username: 'star' },
      { username: 'copier', permissions: { '/': ['list', 'download', 'upload', 'create_dirs', 'copy'] } },
      { username: 'older', permissions: { '/': ['list', 'download', 'upload', 'overwrite', 'create_dirs'] } },
      { username: 'partial', permissions: { '/': ['list', 'download', 'upload', 'create_dirs', 'copy'], '/locked': ['list', 'download', 'upload', 'create_dirs'] } },
      { username: 'readonly', permissions: { '/': ['list', 'download', 'copy'] } },
    ],
    `  enabled_ssh_commands: ["*"]\nwebdavd:\n  bindings:\n    - address: 127.0.0.1\n      port: ${davPort}\n`,
  );
  for (const u of Object.values(s.users)) {
    mkdirSync(join(u.home, 'tree/sub'), { recursive: true });
    mkdirSync(join(u.home, 'locked'), { recursive: true });
    writeFileSync(join(u.home, 'f.bin'), data);
    writeFileSync(join(u.home, 'tree/a.txt'), 'a');
    writeFileSync(join(u.home, 'tree/sub/b.txt'), 'b');
  }
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

describe('sftpgo-copy', () => {
  test('"*" and an explicit copy permission copy files and trees', async () => {
    for (const user of ['star', 'copier']) {
      const home = s.users[user]!.home;
      const f = await ssh(s, user, ['sftpgo-copy', '/f.bin', '/g.bin']);
      expect([user, f.status, f.stdout]).toEqual([user, 0, 'OK\n']);
      expect(readFileSync(join(home, 'g.bin')).equals(data)).toBe(true);
      const t = await ssh(s, user, ['sftpgo-copy', '/tree', '/copy']);
      expect(t.status).toBe(0);
      expect(readFileSync(join(home, 'copy/sub/b.txt'), 'utf8')).toBe('b');
      // Into an existing directory, as cp does.
      expect((await ssh(s, user, ['sftpgo-copy', '/f.bin', '/tree/sub'])).status).toBe(0);
      expect(readFileSync(join(home, 'tree/sub/f.bin')).equals(data)).toBe(true);
    }
  });

  test('without copy (a permission list written before it existed) the copy is refused and nothing is written', async () => {
    const r = await ssh(s, 'older', ['sftpgo-copy', '/f.bin', '/g.bin']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('copy not allowed');
    expect(existsSync(join(s.users.older!.home, 'g.bin'))).toBe(false);
  });

  test('copy is checked at the target too, and download/upload still apply', async () => {
    const p = await ssh(s, 'partial', ['sftpgo-copy', '/f.bin', '/locked/g.bin']);
    expect(p.status).toBe(1);
    expect(p.stderr).toContain('copy not allowed');
    expect(existsSync(join(s.users.partial!.home, 'locked/g.bin'))).toBe(false);
    expect((await ssh(s, 'partial', ['sftpgo-copy', '/f.bin', '/g.bin'])).status).toBe(0);
    const ro = await ssh(s, 'readonly', ['sftpgo-copy', '/f.bin', '/g.bin']);
    expect(ro.status).toBe(1);
    expect(ro.stderr).toContain('upload not allowed');
    expect(existsSync(join(s.users.readonly!.home, 'g.bin'))).toBe(false);
  });

  test('bad requests fail cleanly', async () => {
    for (const args of [['/f.bin'], ['/f.bin', '/f.bin'], ['/tree', '/tree/sub/x'], ['/nope', '/x']]) {
      const r = await ssh(s, 'star', ['sftpgo-copy', ...args]);
      expect([args, r.status]).toEqual([args, 1]);
    }
    expect(existsSync(join(s.users.star!.home, 'x'))).toBe(false);
  });
});

describe('WebDAV COPY', () => {
  const davCopy = (user: string, from: string, to: string) =>
    run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'COPY', '-u', `${user}:${PASSWORD}`, '-H', `Destination: http://127.0.0.1:${davPort}${to}`, `http://127.0.0.1:${davPort}${from}`]);

  test('is a download and an upload: a user without copy may, a user without upload may not', async () => {
    const ok = await davCopy('older', '/f.bin', '/dav.bin');
    expect(ok.stdout).toBe('201');
    expect(readFileSync(join(s.users.older!.home, 'dav.bin')).equals(data)).toBe(true);
    const ro = await davCopy('readonly', '/f.bin', '/dav.bin');
    expect(ro.stdout).toBe('403');
    expect(existsSync(join(s.users.readonly!.home, 'dav.bin'))).toBe(false);
  });
});
