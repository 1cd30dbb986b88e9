// Quotas over SFTP: an upload that would pass quota_size is cut with SSH_FX_FAILURE and a "quota
// exceeded" message, the partial file follows the upload mode, quota_files refuses a new file at
// open, deletes give the space back, and usage is exact after a restart.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../../support/cli.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { sftpBatch, sftpUpload as upload, startSftpd, type Sftpd } from './harness.ts';

afterAll(removeTempDirs);

function usageOf(s: Sftpd, user: string): { used_quota_size: number; used_quota_files: number } {
  const d = JSON.parse(runCli(['dumpdata', '--data-dir', s.server.dataDir]).stdout);
  return d.usage[`user:${user}`];
}

describe('quotas over SFTP', () => {
  test('quota_size cuts an upload; atomic mode leaves no partial; usage exact after restart', async () => {
    const s = await startSftpd([{ username: 'quinn', extra: '    quota_size: 100000\n    quota_files: 3\n' }], 'common:\n  upload_mode: atomic');
    const home = s.users.quinn!.home;
    try {
      expect(await upload(s, 'quinn', '/a.bin', randomBytes(60_000))).toBeUndefined();
      const err = await upload(s, 'quinn', '/b.bin', randomBytes(60_000));
      expect(err?.code).toBe(4);
      expect(err?.message).toContain('quota exceeded');
      expect(existsSync(join(home, 'b.bin'))).toBe(false);
      expect(readdirSync(home).filter((f) => f.startsWith('.sftpgo-upload'))).toEqual([]);
      // quota_files: two more small files fit, the fourth file is refused when it is opened.
      expect(await upload(s, 'quinn', '/c.txt', Buffer.from('c'))).toBeUndefined();
      expect(await upload(s, 'quinn', '/d.txt', Buffer.from('d'))).toBeUndefined();
      const tooMany = await upload(s, 'quinn', '/e.txt', Buffer.from('e'));
      expect(tooMany?.message).toContain('quota exceeded');
      expect(existsSync(join(home, 'e.txt'))).toBe(false);
    } finally {
      await s.server.stop();
    }
    const u = usageOf(s, 'quinn');
    expect(u).toMatchObject({ used_quota_size: 60_002, used_quota_files: 3 });

    // Restart on the same data dir: usage is what the store says, and it still binds.
    const again = await startServer({ yaml: undefined, cwd: s.dir, extraArgs: ['--config', s.server.configPath], dataDir: s.server.dataDir });
    const s2 = { ...s, server: again };
    try {
      const r = await sftpBatch(s2, 'quinn', ['rm /a.bin']);
      expect(r.status).toBe(0);
      expect(await upload(s2, 'quinn', '/f.bin', randomBytes(90_000))).toBeUndefined();
    } finally {
      await again.stop();
    }
    expect(usageOf(s2, 'quinn')).toMatchObject({ used_quota_size: 90_002, used_quota_files: 3 });
  });

  test('standard upload mode keeps the cut partial file and counts it', async () => {
    const s = await startSftpd([{ username: 'rita', extra: '    quota_size: 50000\n' }]);
    try {
      const err = await upload(s, 'rita', '/big.bin', randomBytes(80_000));
      expect(err?.message).toContain('quota exceeded');
    } finally {
      await s.server.stop();
    }
    const u = usageOf(s, 'rita');
    const size = existsSync(join(s.users.rita!.home, 'big.bin')) ? (await Bun.file(join(s.users.rita!.home, 'big.bin')).size) : 0;
    expect(size).toBeLessThanOrEqual(50_000);
    expect(u.used_quota_size).toBe(size);
    expect(u.used_quota_files).toBe(size > 0 ? 1 : 0);
  });
});
