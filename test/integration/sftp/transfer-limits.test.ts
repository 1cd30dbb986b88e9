// Per-user transfer limits over SFTP: upload_bandwidth / download_bandwidth hold a 20 MB transfer
// to the configured rate and are shared by all sessions of the user; the data transfer allowances
// cut a running transfer and refuse new ones, with counters exact after a restart;
// filters.max_upload_file_size cuts an upload like a quota overflow.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../../support/cli.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { remote, scp, sftpClient, sftpUpload as upload, startSftpd, type Sftpd } from './harness.ts';
import type { SFTPWrapper } from '../../../src/lib/ssh2.ts';

afterAll(removeTempDirs);

const MB = 1024 * 1024;

function dump(s: Sftpd): Record<string, Record<string, number>> {
  return JSON.parse(runCli(['dumpdata', '--data-dir', s.server.dataDir]).stdout).usage;
}

function fastPut(sftp: SFTPWrapper, local: string, remotePath: string): Promise<void> {
  return new Promise((resolve, reject) => sftp.fastPut(local, remotePath, (err) => (err ? reject(err) : resolve())));
}

function fastGet(sftp: SFTPWrapper, remotePath: string, local: string): Promise<void> {
  return new Promise((resolve, reject) => sftp.fastGet(remotePath, local, (err) => (err ? reject(err) : resolve())));
}

async function download(s: Sftpd, user: string, path: string): Promise<{ bytes: number; err?: Error & { code?: number } }> {
  const c = await sftpClient(s, user);
  try {
    return await new Promise((resolve) => {
      let bytes = 0;
      const r = c.sftp.createReadStream(path);
      r.on('data', (d: Buffer) => (bytes += d.length));
      // on, not once: reads still in flight may fail too after the first error.
      r.on('error', (err: Error) => resolve({ bytes, err }));
      r.once('end', () => resolve({ bytes }));
    });
  } finally {
    c.end();
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

describe('bandwidth limits over SFTP', () => {
  // 4096 KB/s: a 20 MB file takes 5 s; the transfer itself is timed, not the SSH handshake.
  const RATE_KB = 4096;
  const EXPECTED_S = (20 * MB) / (RATE_KB * 1024);

  test('a 20 MB upload and download run within 15% of the configured rate', async () => {
    const s = await startSftpd([{ username: 'bw', extra: `    upload_bandwidth: ${RATE_KB}\n    download_bandwidth: ${RATE_KB}\n` }]);
    const local = join(tempDir('bw-'), 'src.bin');
    writeFileSync(local, randomBytes(20 * MB));
    try {
      const c = await sftpClient(s, 'bw');
      try {
        const up = await timed(() => fastPut(c.sftp, local, '/up.bin'));
        const down = await timed(() => fastGet(c.sftp, '/up.bin', `${local}.back`));
        console.log(`upload ${((20 * 1024) / up).toFixed(0)} KB/s in ${up.toFixed(2)} s; download ${((20 * 1024) / down).toFixed(0)} KB/s in ${down.toFixed(2)} s (limit ${RATE_KB} KB/s)`);
        expect(statSync(join(s.users.bw!.home, 'up.bin')).size).toBe(20 * MB);
        expect(statSync(`${local}.back`).size).toBe(20 * MB);
        expect(up).toBeGreaterThan(EXPECTED_S * 0.85);
        expect(up).toBeLessThan(EXPECTED_S * 1.15);
        expect(down).toBeGreaterThan(EXPECTED_S * 0.85);
        expect(down).toBeLessThan(EXPECTED_S * 1.15);
      } finally {
        c.end();
      }
    } finally {
      await s.server.stop();
    }
  });

  test('two sessions of one user share the limit', async () => {
    const s = await startSftpd([{ username: 'bw2', extra: `    upload_bandwidth: ${RATE_KB}\n` }]);
    const local = join(tempDir('bw2-'), 'half.bin');
    writeFileSync(local, randomBytes(10 * MB));
    try {
      const [a, b] = await Promise.all([sftpClient(s, 'bw2'), sftpClient(s, 'bw2')]);
      try {
        // Two 10 MB uploads at once: together 20 MB, so ~5 s, not the 2.5 s of one session.
        const both = await timed(() => Promise.all([fastPut(a.sftp, local, '/a.bin'), fastPut(b.sftp, local, '/b.bin')]));
        console.log(`two sessions: 20 MB in ${both.toFixed(2)} s (${((20 * 1024) / both).toFixed(0)} KB/s together, limit ${RATE_KB} KB/s)`);
        expect(both).toBeGreaterThan(EXPECTED_S * 0.85);
        expect(both).toBeLessThan(EXPECTED_S * 1.15);
      } finally {
        a.end();
        b.end();
      }
    } finally {
      await s.server.stop();
    }
  });
});

describe('bandwidth settings follow the user record', () => {
  test('a reload changing upload_bandwidth applies to the next transfer of an open session', async () => {
    const s = await startSftpd([{ username: 'rl', extra: '    upload_bandwidth: 8192\n' }]);
    const local = join(tempDir('rl-'), 'five.bin');
    writeFileSync(local, randomBytes(5 * MB));
    try {
      const c = await sftpClient(s, 'rl');
      try {
        const before = await timed(() => fastPut(c.sftp, local, '/one.bin'));
        const yaml = readFileSync(s.server.configPath, 'utf8');
        writeFileSync(s.server.configPath, yaml.replace('upload_bandwidth: 8192', 'upload_bandwidth: 2048'));
        s.server.proc.kill('SIGHUP');
        await s.server.waitForLog((l) => l.event === 'reload_applied');
        const after = await timed(() => fastPut(c.sftp, local, '/two.bin'));
        console.log(`5 MB at 8192 KB/s: ${before.toFixed(2)} s; after the reload to 2048 KB/s: ${after.toFixed(2)} s`);
        // 4x the rate before: at least twice as fast even on a loaded machine.
        expect(before * 2).toBeLessThan(after);
        expect(after).toBeGreaterThan(2.5 * 0.85);
        expect(after).toBeLessThan(2.5 * 1.15);
      } finally {
        c.end();
      }
    } finally {
      await s.server.stop();
    }
  });
});

describe('shutdown with throttled transfers', () => {
  test('serve stops promptly while uploads wait for bandwidth, and the atomic upload leaves nothing', async () => {
    const s = await startSftpd([{ username: 'slowpoke', extra: '    upload_bandwidth: 16\n' }], 'common:\n  upload_mode: atomic');
    const local = join(tempDir('slow-'), 'one.bin');
    writeFileSync(local, randomBytes(MB));
    const c = await sftpClient(s, 'slowpoke');
    // fastPut keeps 64 writes of 32 KB in flight: at 16 KB/s the last one is due in ~2 minutes.
    void fastPut(c.sftp, local, '/one.bin').catch(() => undefined);
    await s.server.waitForLog((l) => l.event === 'login' && l.username === 'slowpoke');
    // The upload is under way (its temporary file exists) before the server is told to stop.
    for (let i = 0; i < 500 && readdirSync(s.users.slowpoke!.home).length === 0; i++) await Bun.sleep(10);
    expect(readdirSync(s.users.slowpoke!.home).length).toBe(1);
    const t = performance.now();
    const code = await s.server.stop();
    const secs = (performance.now() - t) / 1000;
    expect(code).toBe(0);
    expect(secs).toBeLessThan(15);
    c.end();
    expect(readdirSync(s.users.slowpoke!.home)).toEqual([]);
  });
});

describe('data transfer limits over SFTP', () => {
  test('an upload past upload_data_transfer is cut, a download past download_data_transfer is refused; counters exact after restart', async () => {
    const s = await startSftpd([{ username: 'dt', extra: '    upload_data_transfer: 1\n    download_data_transfer: 1\n' }]);
    const home = s.users.dt!.home;
    writeFileSync(join(home, 'one-mb.bin'), randomBytes(MB));
    try {
      expect(await upload(s, 'dt', '/a.bin', randomBytes(700_000))).toBeUndefined();
      const cut = await upload(s, 'dt', '/b.bin', randomBytes(500_000));
      expect(cut?.code).toBe(4);
      expect(cut?.message).toContain('quota exceeded');
      // Exactly 1 MB may be read; the next download is refused when it opens.
      expect(await download(s, 'dt', '/one-mb.bin')).toEqual({ bytes: MB });
      const refused = await download(s, 'dt', '/one-mb.bin');
      expect(refused.bytes).toBe(0);
      expect(refused.err?.code).toBe(4);
      expect(refused.err?.message).toContain('denying read due to quota limits');
    } finally {
      await s.server.stop();
    }
    // Standard upload mode keeps what arrived of the cut upload: exactly what was counted.
    const partial = existsSync(join(home, 'b.bin')) ? statSync(join(home, 'b.bin')).size : 0;
    expect(partial).toBeLessThan(500_000);
    const usage = dump(s)['user:dt']!;
    expect(usage.used_upload_data_transfer).toBe(700_000 + partial);
    expect(usage.used_download_data_transfer).toBe(MB);

    // After a restart the counters still bind: downloads refused, the upload allowance left is small.
    const again = await startServer({ cwd: s.dir, extraArgs: ['--config', s.server.configPath], dataDir: s.server.dataDir });
    const s2 = { ...s, server: again };
    try {
      expect((await download(s2, 'dt', '/a.bin')).err?.message).toContain('denying read due to quota limits');
      const left = MB - 700_000 - partial;
      expect((await upload(s2, 'dt', '/c.bin', randomBytes(left + 1)))?.message).toContain('quota exceeded');
    } finally {
      await again.stop();
    }
  });

  test('total_data_transfer counts both directions', async () => {
    const s = await startSftpd([{ username: 'tot', extra: '    total_data_transfer: 1\n' }]);
    writeFileSync(join(s.users.tot!.home, 'f.bin'), randomBytes(600_000));
    try {
      expect(await upload(s, 'tot', '/up.bin', randomBytes(600_000))).toBeUndefined();
      // 600,000 bytes uploaded: only 448,576 bytes are left for this 600,000-byte download.
      const r = await download(s, 'tot', '/f.bin');
      expect(r.err?.message).toContain('denying read due to quota limits');
      expect(r.bytes).toBeLessThan(600_000);
    } finally {
      await s.server.stop();
    }
  });
});

describe('max_upload_file_size over SFTP', () => {
  test('an upload growing past the limit is cut with the quota error; atomic mode leaves nothing', async () => {
    const s = await startSftpd([{ username: 'mx', extra: '    filters:\n      max_upload_file_size: 100000\n' }], 'common:\n  upload_mode: atomic');
    const home = s.users.mx!.home;
    try {
      expect(await upload(s, 'mx', '/small.bin', randomBytes(100_000))).toBeUndefined();
      const err = await upload(s, 'mx', '/big.bin', randomBytes(150_000));
      expect(err?.code).toBe(4);
      expect(err?.message).toContain('max_upload_file_size');
      expect(existsSync(join(home, 'big.bin'))).toBe(false);
      expect(statSync(join(home, 'small.bin')).size).toBe(100_000);
      // SCP goes through the same core path.
      const big = join(tempDir('mx-'), 'big-scp.bin');
      writeFileSync(big, randomBytes(150_000));
      const r = await scp(s, 'mx', [big, `${remote(s, 'mx')}:/big-scp.bin`]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('max_upload_file_size');
      expect(existsSync(join(home, 'big-scp.bin'))).toBe(false);
    } finally {
      await s.server.stop();
    }
  });
});
