// Files encrypted by an earlier version of the crypt backend (test/fixtures/crypt/, passphrase
// below) must keep decrypting to the same plaintext: the on-disk DARE format is a compatibility
// promise, to SFTPGo and to every file already stored. The fixtures were written once through the
// crypt backend's openWrite with the plaintext made by `plain()`; never regenerate them.
import { afterAll, describe, expect, test } from 'bun:test';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { openCryptFs } from '../../../src/vfs/crypt/crypt-fs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { readFile } from './suite.ts';

const FIXTURES = join(import.meta.dir, '../../fixtures/crypt');
const PASSPHRASE = 'fixture passphrase ✓';

function plain(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + (i >> 8)) % 256));
}

afterAll(() => removeTempDirs());

describe('crypt: files written by an earlier version', () => {
  const cases = [
    ['three-packages.aes.bin', 2 * 65536 + 4321],
    ['short.chacha.bin', 5000],
    ['empty.aes.bin', 0],
  ] as const;

  for (const [name, size] of cases) {
    test(`${name} decrypts to its ${size}-byte plaintext, whole and in ranges`, async () => {
      // A copy: the fixtures themselves are never opened for writing.
      const dir = tempDir();
      cpSync(FIXTURES, dir, { recursive: true });
      const fs = await openCryptFs(dir, { passphrase: PASSPHRASE });
      const expected = plain(size);
      expect((await fs.stat(`/${name}`)).size).toBe(size);
      expect((await readFile(fs, `/${name}`)).equals(expected)).toBe(true);
      for (const [start, end] of [
        [0, 0],
        [65535, 65536],
        [70000, 140000],
        [size - 1, size + 10],
      ]) {
        if (start < 0 || start >= size) continue;
        expect((await readFile(fs, `/${name}`, { start, end })).equals(expected.subarray(start, end + 1))).toBe(true);
      }
    });
  }

  test('a wrong passphrase does not decrypt them', async () => {
    const dir = tempDir();
    cpSync(FIXTURES, dir, { recursive: true });
    const fs = await openCryptFs(dir, { passphrase: 'not the passphrase' });
    await expect(readFile(fs, '/three-packages.aes.bin')).rejects.toThrow(/authentication failed/);
  });
});
