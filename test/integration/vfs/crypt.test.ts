// The crypt backend: the shared backend suite for both ciphers, then what only an encrypting
// backend must show: nothing readable on disk, sizes that follow the format, tampering and
// truncation caught, ranged reads across package boundaries, the cipher read from each file, a
// wrong passphrase refused, and files written by SFTPGo (Go vectors) read back.
import { afterAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, isAppError } from '../../../src/errors.ts';
import { openCryptFs } from '../../../src/vfs/crypt/crypt-fs.ts';
import { encryptedFileSize, FILE_HEADER_SIZE, HEADER_SIZE, MAX_PACKAGE } from '../../../src/vfs/crypt/format.ts';
import type { CryptConfig } from '../../../src/config/schema-types.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { readFile, runFsSuite, writeFile } from './suite.ts';

afterAll(() => removeTempDirs());

runFsSuite('crypt (aes-256-gcm)', async () => ({
  fs: await openCryptFs(tempDir(), { passphrase: 'suite secret', cipher: 'aes-256-gcm' }),
  cleanup: async () => undefined,
}), { cancellation: true });

runFsSuite('crypt (chacha20-poly1305)', async () => ({
  fs: await openCryptFs(tempDir(), { passphrase: 'suite secret', cipher: 'chacha20-poly1305' }),
  cleanup: async () => undefined,
}), { cancellation: true });

async function expectFailure(p: Promise<unknown>, codes: string[] = ['io', 'invalid']): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (!isAppError(err)) throw new Error(`expected an AppError, got ${err === undefined ? 'success' : String(err)}`);
  expect(codes).toContain(err.code);
}

/** Opens a crypt root twice over the same directory, e.g. with another cipher or passphrase. */
async function root(config: CryptConfig, dir = tempDir()) {
  return { dir, fs: await openCryptFs(dir, config) };
}

describe('crypt backend', () => {
  const PLAIN = randomBytes(3 * 65536 + 1000); // 4 packages, the last one short

  test('the bytes on disk are not the plaintext, and the size follows the format', async () => {
    const { dir, fs } = await root({ passphrase: 'p' });
    await writeFile(fs, '/f.bin', PLAIN);
    const disk = readFileSync(join(dir, 'f.bin'));
    expect(disk.length).toBe(encryptedFileSize(PLAIN.length));
    expect(disk.length).toBe(33 + 3 * 65568 + 1000 + 32);
    expect((await fs.stat('/f.bin')).size).toBe(PLAIN.length);
    for (let off = 0; off + 16 <= PLAIN.length; off += 16) expect(disk.indexOf(PLAIN.subarray(off, off + 16))).toBe(-1);
    // No temp file is left behind after a completed upload.
    expect(readdirSync(dir)).toEqual(['f.bin']);
  });

  test('ranged reads at package boundaries, through streams and positional reads', async () => {
    const { fs } = await root({ passphrase: 'p' });
    await writeFile(fs, '/r.bin', PLAIN);
    const last = PLAIN.length - 1;
    for (const [start, end] of [
      [0, 0],
      [65535, 65535],
      [65536, 65536],
      [65537, 65537],
      [65535, 65537],
      [65530, 2 * 65536 + 5],
      [3 * 65536, last],
      [last, last],
      [last - 10, last + 1000],
    ] as const) {
      const got = await readFile(fs, '/r.bin', { start, end });
      expect(got.equals(PLAIN.subarray(start, Math.min(end, last) + 1))).toBe(true);
    }
    expect((await readFile(fs, '/r.bin', { start: PLAIN.length })).length).toBe(0);
    const r = await fs.openReader!('/r.bin');
    try {
      for (const pos of [0, 65535, 65536, 65537, 131071, last]) {
        const buf = new Uint8Array(32 * 1024);
        const n = await r.read(buf, pos);
        expect(n).toBe(Math.min(buf.length, PLAIN.length - pos));
        expect(Buffer.from(buf.subarray(0, n)).equals(PLAIN.subarray(pos, pos + n))).toBe(true);
      }
      expect(await r.read(new Uint8Array(10), PLAIN.length)).toBe(0);
      const big = new Uint8Array(PLAIN.length + 5);
      expect(await r.read(big, 0)).toBe(PLAIN.length);
      expect(Buffer.from(big.subarray(0, PLAIN.length)).equals(PLAIN)).toBe(true);
    } finally {
      await r.close();
    }
  });

  describe('tampering is detected, never wrong data', () => {
    const cases: [string, (disk: Buffer) => void][] = [
      ['file header version', (d) => void (d[0] ^= 0x01)],
      ['file salt', (d) => void (d[5] ^= 0x80)],
      ['first package header (version)', (d) => void (d[FILE_HEADER_SIZE] ^= 0x01)],
      ['first package header (cipher suite)', (d) => void (d[FILE_HEADER_SIZE + 1] ^= 0x01)],
      ['first package header (final flag)', (d) => void (d[FILE_HEADER_SIZE + 4] ^= 0x80)],
      ['middle package header (nonce)', (d) => void (d[FILE_HEADER_SIZE + MAX_PACKAGE + 9] ^= 0x01)],
      ['middle package ciphertext', (d) => void (d[FILE_HEADER_SIZE + MAX_PACKAGE + HEADER_SIZE + 30_000] ^= 0x01)],
      ['middle package tag', (d) => void (d[FILE_HEADER_SIZE + 2 * MAX_PACKAGE - 3] ^= 0x01)],
      ['last package tag', (d) => void (d[d.length - 1] ^= 0x01)],
    ];
    for (const [what, flip] of cases) {
      test(what, async () => {
        const { dir, fs } = await root({ passphrase: 'p' });
        await writeFile(fs, '/t.bin', PLAIN);
        const p = join(dir, 't.bin');
        const disk = readFileSync(p);
        flip(disk);
        writeFileSync(p, disk);
        await expectFailure(readFile(fs, '/t.bin'));
        const r = await fs.openReader!('/t.bin').catch((err: unknown) => err);
        if (r instanceof AppError) return expect(['io', 'invalid']).toContain(r.code);
        const reader = r as Awaited<ReturnType<NonNullable<typeof fs.openReader>>>;
        await expectFailure(reader.read(new Uint8Array(PLAIN.length), 0));
        await reader.close();
      });
    }

    test('truncation by one whole package, and by one byte', async () => {
      const { dir, fs } = await root({ passphrase: 'p' });
      await writeFile(fs, '/t.bin', PLAIN);
      const p = join(dir, 't.bin');
      const size = statSync(p).size;
      truncateSync(p, size - (1000 + 32)); // drop the short final package: the new last is not final
      expect((await fs.stat('/t.bin')).size).toBe(3 * 65536);
      await expectFailure(readFile(fs, '/t.bin'));
      await expectFailure(readFile(fs, '/t.bin', { start: 3 * 65536 - 10 }));
      await writeFile(fs, '/u.bin', PLAIN);
      truncateSync(join(dir, 'u.bin'), size - 1);
      await expectFailure(readFile(fs, '/u.bin'));
      // An impossible size (a last package shorter than header + tag) fails the open.
      await writeFile(fs, '/v.bin', PLAIN);
      truncateSync(join(dir, 'v.bin'), size - 1000 - 10);
      await expectFailure(readFile(fs, '/v.bin'));
    });

    test('a package moved to another position', async () => {
      const { dir, fs } = await root({ passphrase: 'p' });
      await writeFile(fs, '/m.bin', PLAIN);
      const p = join(dir, 'm.bin');
      const d = readFileSync(p);
      const a = Buffer.from(d.subarray(FILE_HEADER_SIZE, FILE_HEADER_SIZE + MAX_PACKAGE));
      d.copy(d, FILE_HEADER_SIZE, FILE_HEADER_SIZE + MAX_PACKAGE, FILE_HEADER_SIZE + 2 * MAX_PACKAGE);
      a.copy(d, FILE_HEADER_SIZE + MAX_PACKAGE);
      writeFileSync(p, d);
      await expectFailure(readFile(fs, '/m.bin'));
    });
  });

  test('each file says its cipher: a config naming the other one still reads it', async () => {
    const dir = tempDir();
    const aes = await openCryptFs(dir, { passphrase: 'same', cipher: 'aes-256-gcm' });
    const chacha = await openCryptFs(dir, { passphrase: 'same', cipher: 'chacha20-poly1305' });
    await writeFile(aes, '/by-aes', PLAIN);
    await writeFile(chacha, '/by-chacha', PLAIN);
    expect(readFileSync(join(dir, 'by-aes'))[FILE_HEADER_SIZE + 1]).toBe(0);
    expect(readFileSync(join(dir, 'by-chacha'))[FILE_HEADER_SIZE + 1]).toBe(1);
    expect((await readFile(chacha, '/by-aes')).equals(PLAIN)).toBe(true);
    expect((await readFile(aes, '/by-chacha')).equals(PLAIN)).toBe(true);
    expect((await readFile(aes, '/by-chacha', { start: 65530, end: 65545 })).equals(PLAIN.subarray(65530, 65546))).toBe(true);
  });

  test('a wrong passphrase fails the read', async () => {
    const dir = tempDir();
    await writeFile(await openCryptFs(dir, { passphrase: 'right' }), '/s.bin', PLAIN);
    const wrong = await openCryptFs(dir, { passphrase: 'wrong' });
    expect((await wrong.stat('/s.bin')).size).toBe(PLAIN.length); // sizes need no key
    await expectFailure(readFile(wrong, '/s.bin'));
    await expectFailure(readFile(wrong, '/s.bin', { start: 150_000 }));
  });

  test('an empty passphrase or an unknown cipher is a config error', async () => {
    await expectFailure(openCryptFs(tempDir(), { passphrase: '' }), ['config']);
    await expectFailure(openCryptFs(tempDir(), { passphrase: 'x', cipher: 'rot13' as never }), ['config']);
    process.env.CRYPT_TEST_EMPTY = '';
    await expectFailure(openCryptFs(tempDir(), { passphrase: { env: 'CRYPT_TEST_EMPTY' } }), ['config']);
  });

  test('files written by SFTPGo (Go vectors, both ciphers) are read back', async () => {
    const dir = tempDir();
    // Made by Go code copied from SFTPGo cryptfs.go + sio dare.go (see the unit test for more).
    const vectors = {
      aes: '10000306090c0f1215181b1e2124272a2d303336393c3f4245484b4e5154575a5d20006300a0a1a2a3a4a5a6a7a8a9aaab2aeed1ed2cbe942fa43ad61567c2fbd235a508060c233bc782e556885f1fc025d753806957ef33f18fb382fe45e653de3c3777dc75d5da306c435451b2f9e450bd347c4c8818872710d21dbe73143f11967674a5a9fe14b85f039d58b76e548319286009aeafe2a8451c9ebca733b76c127acf8c',
      chacha:
        '10000306090c0f1215181b1e2124272a2d303336393c3f4245484b4e5154575a5d20016300a0a1a2a3a4a5a6a7a8a9aaaba9f66d3d74380e0f680450567060af988e2346f3afa080c443edb9a920ad20c614aa411b1e003ce43c0eaa29a1e78fb11810dd45b578094c2cc5eeb64a388871aff35e9b4fb8143b367009654f80f834535a5064364729a49f42364a643167db46594a918f9ff31784fb6fd9336c35310a080db0',
    };
    const expected = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 7) % 256));
    const fs = await openCryptFs(dir, { passphrase: 'correct horse' });
    for (const [name, hex] of Object.entries(vectors)) {
      writeFileSync(join(dir, name), Buffer.from(hex, 'hex'));
      expect((await fs.stat(`/${name}`)).size).toBe(100);
      expect((await readFile(fs, `/${name}`)).equals(expected)).toBe(true);
    }
  });

  test('writes are sequential only; resume and append to a non-empty file are refused', async () => {
    const { fs } = await root({ passphrase: 'p' });
    expect(fs.capabilities.randomWrites).toBe(false);
    expect(fs.capabilities.resume).toBe(false);
    await writeFile(fs, '/w.bin', Buffer.from('hello'));
    await expectFailure(fs.openWrite('/w.bin', { offset: 5 }), ['unsupported']);
    await expectFailure(fs.openWrite('/w.bin', { append: true }), ['unsupported']);
    await expectFailure(fs.openWrite('/w.bin', { exclusive: true }), ['exists']);
    const w = await fs.openWrite('/w.bin');
    await w.write(Buffer.from('abc'));
    await expectFailure(w.write(Buffer.from('x'), 0), ['unsupported']);
    await w.abort();
    expect((await readFile(fs, '/w.bin')).toString()).toBe('hello');
  });

  test('an aborted upload leaves no temp file; truncate to 0 empties the file', async () => {
    const { dir, fs } = await root({ passphrase: 'p' });
    const w = await fs.openWrite('/a.bin');
    await w.write(randomBytes(200_000));
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
    await writeFile(fs, '/a.bin', PLAIN);
    await expectFailure(fs.truncate('/a.bin', 10), ['unsupported']);
    await fs.truncate('/a.bin', 0);
    expect((await fs.stat('/a.bin')).size).toBe(0);
    expect((await readFile(fs, '/a.bin')).length).toBe(0);
    expect(statSync(join(dir, 'a.bin')).size).toBe(FILE_HEADER_SIZE);
  });

  test('streams destroyed early, read to the end, or failing release their files', async () => {
    const { dir, fs } = await root({ passphrase: 'p' });
    await writeFile(fs, '/d.bin', PLAIN);
    await writeFile(fs, '/bad.bin', PLAIN);
    const p = join(dir, 'bad.bin');
    const d = readFileSync(p);
    d[d.length - 1] ^= 1;
    writeFileSync(p, d);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 20; i++) {
      const s = await fs.openRead('/d.bin');
      const closed = new Promise((resolve) => s.once('close', resolve));
      s.destroy();
      await closed;
      await readFile(fs, '/d.bin', { start: 65000, end: 70000 });
      await expectFailure(readFile(fs, '/bad.bin'));
      const r = await fs.openReader!('/bad.bin');
      await expectFailure(r.read(new Uint8Array(PLAIN.length), 0));
      await r.close();
    }
    expect(fds()).toBeLessThanOrEqual(before);
  });
});
