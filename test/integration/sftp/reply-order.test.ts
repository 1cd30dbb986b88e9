// Replies leave in the order requests arrived, as OpenSSH's sftp-server sends them. OpenSSH 9.2's
// scp (SFTP mode, the default, writing in place) truncates a file at the highest offset it saw
// acknowledged in order, so a server that answers pipelined WRITEs or READs out of order leaves
// short files behind: these tests drive that client, and check the order itself with ssh2's.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { remote, scpOverSftp, sftpClient, startSftpd, type Sftpd } from './harness.ts';

let s: Sftpd;
let local: string;

beforeAll(async () => {
  s = await startSftpd([{ username: 'alice' }]);
  local = tempDir('scp-sftp-');
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

describe('scp in SFTP mode (OpenSSH default)', () => {
  test('a 24 MB file goes up and comes back whole, twice over the same name', async () => {
    const home = s.users.alice!.home;
    for (const round of [1, 2]) {
      const data = randomBytes(24_000_000 + round);
      writeFileSync(join(local, 'big.bin'), data);
      const up = await scpOverSftp(s, 'alice', [join(local, 'big.bin'), `${remote(s, 'alice')}:big.bin`]);
      expect(up.stderr).toBe('');
      expect(up.status).toBe(0);
      expect(readFileSync(join(home, 'big.bin')).equals(data)).toBe(true);
      const down = await scpOverSftp(s, 'alice', [`${remote(s, 'alice')}:big.bin`, join(local, 'back.bin')]);
      expect(down.stderr).toBe('');
      expect(down.status).toBe(0);
      expect(readFileSync(join(local, 'back.bin')).equals(data)).toBe(true);
    }
  });

  test('a recursive copy with -p', async () => {
    const tree = join(local, 'tree');
    mkdirSync(join(tree, 'a'), { recursive: true });
    writeFileSync(join(tree, 'a/one.bin'), randomBytes(3_000_000));
    writeFileSync(join(tree, 'empty'), '');
    const up = await scpOverSftp(s, 'alice', ['-r', '-p', tree, `${remote(s, 'alice')}:/`]);
    expect(up.status).toBe(0);
    const back = join(local, 'tree-back');
    const down = await scpOverSftp(s, 'alice', ['-r', `${remote(s, 'alice')}:tree`, back]);
    expect(down.status).toBe(0);
    expect(readFileSync(join(back, 'a/one.bin')).equals(readFileSync(join(tree, 'a/one.bin')))).toBe(true);
    expect(readFileSync(join(back, 'empty')).length).toBe(0);
  });
});

describe('reply order', () => {
  test('pipelined READs, STATs and a failing request are answered in the order sent', async () => {
    writeFileSync(join(s.users.alice!.home, 'ordered.bin'), randomBytes(2_000_000));
    const c = await sftpClient(s, 'alice');
    try {
      const handle = await new Promise<Buffer>((res, rej) => c.sftp.open('ordered.bin', 'r', (e, h) => (e ? rej(e) : res(h))));
      const answered: number[] = [];
      const sent: Promise<void>[] = [];
      for (let i = 0; i < 48; i++) {
        const n = i;
        sent.push(
          new Promise<void>((res) => {
            if (n % 3 === 0) c.sftp.stat(n % 2 ? 'missing' : 'ordered.bin', () => (answered.push(n), res()));
            else c.sftp.read(handle, Buffer.alloc(16384), 0, 16384, (n * 40_000) % 1_900_000, () => (answered.push(n), res()));
          }),
        );
      }
      await Promise.all(sent);
      expect(answered).toEqual(Array.from({ length: 48 }, (_, i) => i));
    } finally {
      c.end();
    }
  });
});
