// Package arithmetic of the crypt backend's format (plaintext size <-> encrypted size, offset ->
// package), checked against minio/sio's EncryptedSize/DecryptedSize rules, and the byte-exact
// output of the writer against vectors made by Go code copied from SFTPGo's cryptfs.go (header,
// HKDF) and sio's dare.go / writer-v2.go (package sealing), built with Go 1.19 + x/crypto.
import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { packageAead } from '../../../src/vfs/crypt/aead.ts';
import {
  deriveFileKey,
  encryptedFileSize,
  FILE_HEADER_SIZE,
  fileHeader,
  listedSize,
  MAX_PACKAGE,
  MAX_PAYLOAD,
  packageCount,
  packageIndex,
  packageOffset,
  payloadLength,
  plaintextOfFile,
  plaintextOfStream,
  streamSize,
  type CipherId,
} from '../../../src/vfs/crypt/format.ts';
import { CryptReader } from '../../../src/vfs/crypt/reader.ts';
import { CryptWriter } from '../../../src/vfs/crypt/writer.ts';
import type { FileReader, FileWriter } from '../../../src/vfs/fs.ts';

describe('crypt format: sizes', () => {
  test('constants are those of DARE 2.0 and SFTPGo', () => {
    expect(MAX_PAYLOAD).toBe(65536);
    expect(MAX_PACKAGE).toBe(65568);
    expect(FILE_HEADER_SIZE).toBe(33);
  });

  test('plaintext size -> encrypted size', () => {
    expect(streamSize(0)).toBe(0);
    expect(streamSize(1)).toBe(33);
    expect(streamSize(65535)).toBe(65567);
    expect(streamSize(65536)).toBe(65568);
    expect(streamSize(65537)).toBe(65568 + 33);
    expect(streamSize(100 * 2 ** 20)).toBe(1600 * 65568);
    expect(encryptedFileSize(0)).toBe(33);
    expect(encryptedFileSize(100)).toBe(33 + 132);
  });

  test('encrypted size -> plaintext size is the inverse, and impossible sizes are refused', () => {
    for (const n of [0, 1, 2, 31, 65535, 65536, 65537, 131071, 131072, 131073, 10_000_019]) {
      expect(plaintextOfStream(streamSize(n))).toBe(n);
      expect(plaintextOfFile(encryptedFileSize(n))).toBe(n);
      expect(listedSize(encryptedFileSize(n))).toBe(n);
    }
    // A last package needs header + tag + at least one byte.
    for (const bad of [1, 16, 32, 65568 + 32]) expect(plaintextOfStream(bad)).toBeUndefined();
    expect(plaintextOfFile(32)).toBeUndefined();
    expect(plaintextOfFile(33 + 32)).toBeUndefined();
    // Listings never fail: a short file is empty, a damaged tail counts for nothing.
    expect(listedSize(0)).toBe(0);
    expect(listedSize(20)).toBe(0);
    expect(listedSize(33 + 65568 + 10)).toBe(65536);
  });

  test('offset -> package index, package offset and payload length', () => {
    expect(packageIndex(0)).toBe(0);
    expect(packageIndex(65535)).toBe(0);
    expect(packageIndex(65536)).toBe(1);
    expect(packageIndex(65537)).toBe(1);
    expect(packageIndex(3 * 65536 - 1)).toBe(2);
    expect(packageOffset(0)).toBe(33);
    expect(packageOffset(2)).toBe(33 + 2 * 65568);
    expect(packageCount(0)).toBe(0);
    expect(packageCount(1)).toBe(1);
    expect(packageCount(65536)).toBe(1);
    expect(packageCount(65537)).toBe(2);
    expect(payloadLength(0, 65537)).toBe(65536);
    expect(payloadLength(1, 65537)).toBe(1);
    expect(payloadLength(2, 65537)).toBe(0);
  });
});

/** Same plaintext and fixed randomness as the Go generator. */
function vectorPlain(size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (i * 7 + Math.floor(i / 251)) % 256;
  return p;
}
const SALT = Uint8Array.from({ length: 32 }, (_, i) => (i * 3) & 0xff);
const STREAM_NONCE = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
const PASS = new TextEncoder().encode('correct horse');

/** sha256 of the whole file the Go generator wrote, per cipher and plaintext size. */
const GO_VECTORS: Record<'aes' | 'chacha', Record<number, [number, string]>> = {
  aes: {
    0: [33, '425007a5895d86a632b2d74897285214062aef5c3444d0f1e027704a9d1efe7f'],
    1: [66, 'b2b1aaf6cab581194a2ff7f52bd2ba295e7e8606b56b9715f18eafec10763e24'],
    100: [165, 'e89ac535da3b3b7bd89fe2980d320c23cc2a90dc35640797bdef766320e4e941'],
    65536: [65601, '4a097d3e54968412381dea92dd9cac84038108241881de6e9f175da3d36ee87b'],
    65537: [65634, '629cf4ae9ad131e55c8624aacd3ad255d0a2dca18270141596b131e746cc7d9e'],
    131089: [131218, '1674b12373a58032da77deb10a30e249235be0fa9e54c4fda1cf57acb0dafee3'],
  },
  chacha: {
    0: [33, '425007a5895d86a632b2d74897285214062aef5c3444d0f1e027704a9d1efe7f'],
    1: [66, '32b6571f2f2887fd4f1d4a1a92e383639ef3e87c7a08d1d3e0fe96d404b87821'],
    100: [165, '2cf2346dbe28a86176544eb3ee1ab9f1f36eba3a4ef4a200a5621753a32644e1'],
    65536: [65601, 'fb377c789d37227fb0946fb86fc86aef3874318504f880b7564c1c6389dedb50'],
    65537: [65634, '83fddf620d9f7fa647be98eca1d0b4785253bd93b344784697c0835ef9a0f89f'],
    131089: [131218, '863fe2554b178314d9e363855c5883dcdcfc36245f0f1181ed433fc67bd127a9'],
  },
};

/** Runs the real writer with the vector's salt and nonce, collecting the file in memory. */
async function encryptVector(cipher: CipherId, size: number, chunk = 10_000): Promise<Buffer> {
  const parts: Uint8Array[] = [fileHeader(SALT)];
  const raw: FileWriter = {
    size: 0,
    write: async (d) => void parts.push(d.slice()),
    sync: async () => undefined,
    close: async () => undefined,
    abort: async () => undefined,
  };
  const aead = packageAead(cipher, deriveFileKey(PASS, SALT))!;
  const w = new CryptWriter(aead, cipher, { raw, discard: async () => undefined }, '/v', STREAM_NONCE);
  const plain = vectorPlain(size);
  for (let off = 0; off < size; off += chunk) await w.write(plain.subarray(off, off + chunk));
  await w.close();
  return Buffer.concat(parts);
}

describe('crypt format: byte-exact with SFTPGo cryptfs / sio DARE 2.0 (Go vectors)', () => {
  for (const [name, cipher] of [['aes', 0], ['chacha', 1]] as const) {
    for (const [size, [encSize, sha]] of Object.entries(GO_VECTORS[name])) {
      test(`${name}, ${size} bytes`, async () => {
        // Odd chunk sizes so package boundaries never line up with writes.
        const file = await encryptVector(cipher, Number(size), Number(size) > 1000 ? 9_999 : 7);
        expect(file.length).toBe(encSize);
        expect(file.length).toBe(encryptedFileSize(Number(size)));
        expect(createHash('sha256').update(file).digest('hex')).toBe(sha);
        // The same bytes read back through the reader, whole and across a package boundary.
        const raw: FileReader = {
          read: async (into, pos) => {
            const part = file.subarray(pos, pos + into.byteLength);
            into.set(part);
            return part.length;
          },
          close: async () => undefined,
        };
        const r = await CryptReader.open(raw, file.length, PASS, '/v');
        const n = Number(size);
        expect(r.size).toBe(n);
        const all = new Uint8Array(n + 10);
        expect(await r.read(all, 0)).toBe(n);
        expect(Buffer.from(all.subarray(0, n)).equals(Buffer.from(vectorPlain(n)))).toBe(true);
        if (n > 65536) {
          const mid = new Uint8Array(3);
          const got = Math.min(3, n - 65535);
          expect(await r.read(mid, 65535)).toBe(got);
          expect([...mid.subarray(0, got)]).toEqual([...vectorPlain(n).subarray(65535, 65535 + got)]);
        }
        await r.close();
      });
    }
  }
});
