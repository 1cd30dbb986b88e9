// The crypt backend's streaming decryption: ciphertext arriving in chunks of any size (as a ranged
// read of an object store delivers it) is cut into packages and decrypted to the exact plaintext
// range; a source that ends early fails; dropping the stream destroys its source.
import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { packageAead } from '../../../src/vfs/crypt/aead.ts';
import { CIPHER_AES_256_GCM, deriveFileKey, FILE_HEADER_SIZE, fileHeader, MAX_PAYLOAD, packageOffset } from '../../../src/vfs/crypt/format.ts';
import { PackageOpener } from '../../../src/vfs/crypt/packages.ts';
import { openDecryptStream } from '../../../src/vfs/crypt/stream.ts';
import { CryptWriter, DeferredWriter } from '../../../src/vfs/crypt/writer.ts';
import type { FileWriter } from '../../../src/vfs/fs.ts';

const PASS = new TextEncoder().encode('stream test');
const SALT = new Uint8Array(32).fill(7);

function memoryWriter(parts: Uint8Array[]): FileWriter {
  return { size: 0, write: async (d) => void parts.push(d.slice()), sync: async () => undefined, close: async () => undefined, abort: async () => undefined };
}

async function encrypt(plain: Uint8Array): Promise<Buffer> {
  const parts: Uint8Array[] = [fileHeader(SALT)];
  const w = new CryptWriter(packageAead(CIPHER_AES_256_GCM, deriveFileKey(PASS, SALT))!, CIPHER_AES_256_GCM, { raw: memoryWriter(parts), discard: async () => undefined }, '/m');
  await w.write(plain);
  await w.close();
  return Buffer.concat(parts);
}

/** `bytes` as a stream of chunks of varying, package-unaligned sizes. */
function chunked(bytes: Uint8Array, sizes = [1, 7, 33, 1000, 65_567, 70_001]): Readable {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(Buffer.from(bytes.subarray(off, off + n)));
    off += n;
  }
  return Readable.from(out);
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

describe('crypt: streaming decryption', () => {
  const plain = randomBytes(4 * MAX_PAYLOAD + 12_345);

  test('from the file start, the header comes in the same stream; any chunking works', async () => {
    const file = await encrypt(plain);
    for (const sizes of [[1, 2, 3], [65_568], [100_000, 5]]) {
      const s = await openDecryptStream({ source: chunked(file, sizes), passphrase: PASS, size: plain.length, start: 0, end: plain.length - 1, path: '/m' });
      expect((await readAll(s)).equals(plain)).toBe(true);
    }
  });

  test('from a later package, with the key from a header read apart', async () => {
    const file = await encrypt(plain);
    const opener = PackageOpener.fromHeader(file.subarray(0, FILE_HEADER_SIZE), PASS, plain.length, '/m');
    const start = 2 * MAX_PAYLOAD + 3;
    const end = 3 * MAX_PAYLOAD + 1;
    const source = chunked(file.subarray(packageOffset(2), packageOffset(4)));
    const s = await openDecryptStream({ source, opener, passphrase: PASS, size: plain.length, start, end, path: '/m' });
    expect((await readAll(s)).equals(plain.subarray(start, end + 1))).toBe(true);
  });

  test('a source that ends inside a package fails, as an io error', async () => {
    const file = await encrypt(plain);
    const s = await openDecryptStream({ source: chunked(file.subarray(0, packageOffset(2) + 10)), passphrase: PASS, size: plain.length, start: 0, end: plain.length - 1, path: '/m' });
    await expect(readAll(s)).rejects.toMatchObject({ code: 'io' });
  });

  test('a wrong passphrase fails the open itself', async () => {
    const file = await encrypt(plain);
    const source = chunked(file);
    await expect(
      openDecryptStream({ source, passphrase: new TextEncoder().encode('wrong'), size: plain.length, start: 0, end: 10, path: '/m' }),
    ).rejects.toMatchObject({ code: 'io' });
    expect(source.destroyed).toBe(true);
  });

  test('destroying the stream early destroys the source', async () => {
    const file = await encrypt(plain);
    const source = chunked(file);
    const s = await openDecryptStream({ source, passphrase: PASS, size: plain.length, start: 0, end: plain.length - 1, path: '/m' });
    for await (const _ of s) break;
    await new Promise((r) => setImmediate(r));
    expect(source.destroyed).toBe(true);
  });
});

describe('crypt: the deferred inner writer', () => {
  test('opens the inner writer only when ciphertext is written, once', async () => {
    let opens = 0;
    const parts: Uint8Array[] = [];
    const d = new DeferredWriter(async () => {
      opens++;
      return memoryWriter(parts);
    });
    expect(d.opened).toBe(false);
    await d.sync();
    await d.abort();
    expect(opens).toBe(0);
    await d.write(new Uint8Array(5));
    await d.write(new Uint8Array(3));
    await d.close();
    expect(opens).toBe(1);
    expect(d.size).toBe(8);
  });

  test('an upload smaller than one package never opens it before close; abort leaves it unopened', async () => {
    let opens = 0;
    const d = new DeferredWriter(async () => {
      opens++;
      return memoryWriter([]);
    });
    const w = new CryptWriter(packageAead(CIPHER_AES_256_GCM, deriveFileKey(PASS, SALT))!, CIPHER_AES_256_GCM, { raw: d, discard: async () => undefined }, '/m');
    await w.write(randomBytes(MAX_PAYLOAD));
    await w.abort();
    expect(opens).toBe(0);
  });
});
