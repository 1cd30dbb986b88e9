// Virtual folders over SFTP: a folder mounted at its virtual_path is listed, read and written in
// its own storage; its mount point cannot be removed or renamed; a rename across mounts is refused
// unless common.rename_mode is 1, which copies then deletes.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { code, sftpBatch, sftpClient, startSftpd, type Sftpd } from './harness.ts';

afterAll(removeTempDirs);

async function withFolders(renameMode: 0 | 1): Promise<{ s: Sftpd; shared: string }> {
  const shared = tempDir('folder-shared-');
  const s = await startSftpd(
    [
      {
        username: 'fiona',
        extra: `    virtual_folders:\n      - { name: shared, virtual_path: /shared }\n      - { name: deep, virtual_path: /nested/deep }\n`,
      },
    ],
    `common:\n  rename_mode: ${renameMode}\nfolders:\n  - { name: shared, mapped_path: ${shared} }\n  - { name: deep, mapped_path: ${shared}-deep }`,
  );
  return { s, shared };
}

describe('virtual folders over SFTP', () => {
  test('put/get/ls inside a folder land in the folder storage, not the home', async () => {
    const { s, shared } = await withFolders(0);
    try {
      const local = join(tempDir(), 'f.txt');
      writeFileSync(local, 'in the folder\n');
      mkdirSync(join(s.users.fiona!.home, 'nested'), { recursive: true });
      const r = await sftpBatch(s, 'fiona', [`put ${local} /shared/f.txt`, 'ls /', 'ls /shared', `get /shared/f.txt ${local}.back`, `put ${local} /nested/deep/d.txt`]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('shared');
      expect(readFileSync(join(shared, 'f.txt'), 'utf8')).toBe('in the folder\n');
      expect(existsSync(join(s.users.fiona!.home, 'shared', 'f.txt'))).toBe(false);
      expect(readFileSync(`${local}.back`, 'utf8')).toBe('in the folder\n');
      expect(readFileSync(join(`${shared}-deep`, 'd.txt'), 'utf8')).toBe('in the folder\n');
    } finally {
      await s.server.stop();
    }
  });

  test('the mount point cannot be removed or renamed; a rename across mounts is refused by default', async () => {
    const { s, shared } = await withFolders(0);
    const c = await sftpClient(s, 'fiona');
    try {
      writeFileSync(join(shared, 'x.txt'), 'x');
      expect(await code((cb) => c.sftp.rmdir('/shared', cb))).toBe(3);
      expect(await code((cb) => c.sftp.rename('/shared', '/renamed', cb))).toBe(3);
      // SSH_FX_OP_UNSUPPORTED (8) for a cross-mount rename; nothing moved.
      expect(await code((cb) => c.sftp.rename('/shared/x.txt', '/x.txt', cb))).toBe(8);
      expect(existsSync(join(shared, 'x.txt'))).toBe(true);
      expect(existsSync(join(s.users.fiona!.home, 'x.txt'))).toBe(false);
    } finally {
      c.end();
      await s.server.stop();
    }
  });

  test('with rename_mode 1 a file is copied across mounts and removed from the source', async () => {
    const { s, shared } = await withFolders(1);
    const c = await sftpClient(s, 'fiona');
    try {
      writeFileSync(join(s.users.fiona!.home, 'move.txt'), 'moving');
      expect(await code((cb) => c.sftp.rename('/move.txt', '/shared/move.txt', cb))).toBe(0);
      expect(readFileSync(join(shared, 'move.txt'), 'utf8')).toBe('moving');
      expect(existsSync(join(s.users.fiona!.home, 'move.txt'))).toBe(false);
      mkdirSync(join(shared, 'adir'));
      expect(await code((cb) => c.sftp.rename('/shared/adir', '/adir', cb))).toBe(8);
    } finally {
      c.end();
      await s.server.stop();
    }
  });
});
