// The chacha20-poly1305@openssh.com implementation the vendored ssh2 uses under Bun, with each of
// its backends (libsodium through sodium-native, and the @noble/ciphers + WASM Poly1305 fallback):
// the primitives against published vectors, each backend against itself (round trips, arbitrary
// chunking, tampering), against the other, and against an independent implementation: upstream
// ssh2 under Node, which uses its native binding (OpenSSL) or else node:crypto's chacha20.
import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

interface CipherLike {
  allocPacket(payloadLen: number): Buffer;
  encrypt(packet: Buffer): void;
  free(): void;
}
interface DecipherLike {
  decrypt(data: Buffer, p: number, dataLen: number): number | undefined;
  free(): void;
}
type Backend = 'sodium' | 'noble';
interface Primitives {
  name: Backend;
  polyKey(key: Uint8Array, nonce: Uint8Array, out: Uint8Array): void;
  xor(key: Uint8Array, nonce: Uint8Array, data: Uint8Array, counter: number): void;
  auth(key: Uint8Array, msg: Uint8Array, out: Uint8Array): void;
  verify(key: Uint8Array, msg: Uint8Array, tag: Uint8Array, scratch: Uint8Array): boolean;
}
interface VendoredCrypto {
  CIPHER_INFO: Record<string, unknown>;
  init: Promise<void>;
  chachaImplementation: string | null;
  chachaBackend(name: Backend): Primitives;
  ChaChaPolyCipherJS: new (config: unknown, backend: Backend) => CipherLike & { implementation: string };
  ChaChaPolyDecipherJS: new (config: unknown, backend: Backend) => DecipherLike & { implementation: string };
}

const require = createRequire(import.meta.url);
const vendored = require('../../../vendor/ssh2/lib/protocol/crypto.js') as VendoredCrypto;
const CHACHA = 'chacha20-poly1305@openssh.com';

const BACKENDS: Backend[] = ['sodium', 'noble'];

function makeCipher(backend: Backend, key: Buffer, seqno: number, onWrite: (b: Uint8Array) => void): CipherLike {
  const c = new vendored.ChaChaPolyCipherJS({
    outbound: { onWrite, cipherInfo: vendored.CIPHER_INFO[CHACHA], cipherKey: key, seqno },
  }, backend);
  expect(c.implementation).toBe(backend);
  return c;
}

function makeDecipher(backend: Backend, key: Buffer, seqno: number, onPayload: (b: Buffer) => void): DecipherLike {
  const d = new vendored.ChaChaPolyDecipherJS({
    inbound: {
      // Copy: the payload is a view into a buffer the decipher may hand out again
      onPayload: (payload: Buffer) => { onPayload(Buffer.from(payload)); },
      decipherInfo: vendored.CIPHER_INFO[CHACHA],
      decipherKey: key,
      seqno,
    },
  }, backend);
  expect(d.implementation).toBe(backend);
  return d;
}

/** Encrypts each payload as one packet; returns the concatenated wire bytes. */
function encryptAll(backend: Backend, key: Buffer, seqno: number, payloads: Buffer[]): { wire: Buffer; writes: number } {
  const out: Uint8Array[] = [];
  const cipher = makeCipher(backend, key, seqno, (b) => out.push(Buffer.from(b)));
  for (const payload of payloads) {
    const packet = cipher.allocPacket(payload.length);
    packet.set(payload, 5);
    cipher.encrypt(packet);
  }
  cipher.free();
  return { wire: Buffer.concat(out), writes: out.length };
}

/** Feeds `wire` to a fresh decipher in chunks of the given sizes (cycled). */
function decryptAll(backend: Backend, key: Buffer, seqno: number, wire: Buffer, chunkSizes: number[] = [wire.length]): Buffer[] {
  const got: Buffer[] = [];
  const decipher = makeDecipher(backend, key, seqno, (p) => got.push(p));
  for (let pos = 0, i = 0; pos < wire.length; i++) {
    const n = Math.min(chunkSizes[i % chunkSizes.length] ?? 1, wire.length - pos);
    // A fresh copy per chunk, as a socket would hand over
    decipher.decrypt(Buffer.from(wire.subarray(pos, pos + n)), 0, n);
    pos += n;
  }
  decipher.free();
  return got;
}

const payloadSizes = [0, 1, 7, 8, 15, 16, 100, 1000, 32768 + 13, 34000];

const hex = (h: string) => Buffer.from(h.replace(/[\s:]/g, ''), 'hex');

test('under Bun the source tree runs chacha20-poly1305 on libsodium', () => {
  expect(vendored.chachaImplementation).toBe('sodium');
});

describe.each(BACKENDS)('vendored ssh2 chacha20-poly1305 (%s backend)', (backend) => {
  test('primitives match the published vectors', async () => {
    await vendored.init;
    const b = vendored.chachaBackend(backend);
    // RFC 8439 A.1 #1 and #2: all-zero key and nonce, blocks 0 and 1. With a zero nonce the IETF
    // layout (32-bit counter, 96-bit nonce) and OpenSSH's (64-bit counter, 64-bit nonce) coincide.
    const zeroKey = new Uint8Array(32);
    const nonce = new Uint8Array(8);
    const block0 = hex('76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586');
    const block1 = hex('9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f');
    const polyKey = new Uint8Array(32);
    b.polyKey(zeroKey, nonce, polyKey);
    expect(Buffer.from(polyKey)).toEqual(block0.subarray(0, 32));
    const data = new Uint8Array(128);
    b.xor(zeroKey, nonce, data, 0);
    expect(Buffer.from(data)).toEqual(Buffer.concat([block0, block1]));
    const data1 = new Uint8Array(64);
    b.xor(zeroKey, nonce, data1, 1);
    expect(Buffer.from(data1)).toEqual(block1);
    // RFC 8439 2.5.2: Poly1305
    const pkey = new Uint8Array(hex('85:d6:be:78:57:55:6d:33:7f:44:52:fe:42:d5:06:a8:01:03:80:8a:fb:0d:b2:fd:4a:bf:f6:af:41:49:f5:1b'));
    const msg = new Uint8Array(Buffer.from('Cryptographic Forum Research Group'));
    const tag = hex('a8:06:1d:c1:30:51:36:c6:c2:2b:8b:af:0c:01:27:a9');
    const out = new Uint8Array(16);
    b.auth(pkey, msg, out);
    expect(Buffer.from(out)).toEqual(tag);
    expect(b.verify(pkey, msg, new Uint8Array(tag), new Uint8Array(16))).toBe(true);
    const badTag = new Uint8Array(tag);
    badTag[15]! ^= 0x80;
    expect(b.verify(pkey, msg, badTag, new Uint8Array(16))).toBe(false);
  });

  test('round trips one write per packet, whatever the chunking', async () => {
    await vendored.init;
    const key = randomBytes(64);
    const payloads = payloadSizes.map((n) => randomBytes(n));
    const seqno = 0xfffffff0; // crosses the 32-bit sequence number wrap
    const { wire, writes } = encryptAll(backend, key, seqno, payloads);
    expect(writes).toBe(payloads.length);
    for (const chunks of [[wire.length], [1], [3, 5, 4096], [17, 32769]])
      expect(decryptAll(backend, key, seqno, wire, chunks)).toEqual(payloads);
  });

  test('rejects a flipped bit anywhere in the packet and the wrong sequence number', async () => {
    await vendored.init;
    const key = randomBytes(64);
    const { wire } = encryptAll(backend, key, 7, [randomBytes(200)]);
    expect(decryptAll(backend, key, 7, wire)).toHaveLength(1);
    // Whole packet in one chunk (verified in place) and split (verified from a copy)
    for (const chunks of [[wire.length], [1], [2, 60]]) {
      for (const at of [0, 3, 4, 50, wire.length - 17, wire.length - 16, wire.length - 1]) {
        const bad = Buffer.from(wire);
        bad[at] = (bad[at] ?? 0) ^ 1;
        // A flipped length byte usually fails the length sanity check before the MAC
        expect(() => decryptAll(backend, key, 7, bad, chunks)).toThrow(/Invalid MAC|Bad packet length/);
      }
      expect(() => decryptAll(backend, key, 8, wire, chunks)).toThrow(/Invalid MAC|Bad packet length/);
    }
  });

  test('the MAC is checked before anything is decrypted: a bad packet delivers no payload', async () => {
    await vendored.init;
    const key = randomBytes(64);
    const payload = randomBytes(1000);
    const { wire } = encryptAll(backend, key, 3, [payload]);
    const bad = Buffer.from(wire);
    bad[bad.length - 1]! ^= 0xff;
    const got: Buffer[] = [];
    const d = makeDecipher(backend, key, 3, (p) => got.push(p));
    const copy = Buffer.from(bad);
    expect(() => d.decrypt(copy, 0, copy.length)).toThrow(/Invalid MAC/);
    expect(got).toHaveLength(0);
    // Still ciphertext: decrypted in place only after the MAC passed
    expect(copy.equals(bad)).toBe(true);
  });

  test('interoperates with the other backend, both directions', async () => {
    await vendored.init;
    const other = BACKENDS.find((b) => b !== backend)!;
    const key = randomBytes(64);
    const payloads = payloadSizes.map((n) => randomBytes(n));
    const seqno = 0xfffffffe;
    const ours = encryptAll(backend, key, seqno, payloads).wire;
    // Same key, sequence numbers and padding length: only the random padding bytes differ
    expect(decryptAll(other, key, seqno, ours, [7, 33000])).toEqual(payloads);
    expect(decryptAll(backend, key, seqno, encryptAll(other, key, seqno, payloads).wire, [4096])).toEqual(payloads);
  });

  // Upstream ssh2 under Node never touches @noble/ciphers: with its native binding it is OpenSSL's
  // chacha20 + poly1305 in C, without it node:crypto's chacha20 + ssh2's WASM poly1305.
  const node = spawnSync('node', ['--version']);
  test.skipIf(node.status !== 0)('interoperates with upstream ssh2 running under Node', async () => {
    await vendored.init;
    const key = randomBytes(64);
    const seqno = 41;
    const payloads = payloadSizes.map((n) => randomBytes(n));
    const script = `
      const { createCipher, createDecipher, CIPHER_INFO, init, bindingAvailable } =
        require('ssh2/lib/protocol/crypto.js');
      const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const info = CIPHER_INFO['${CHACHA}'];
      const key = Buffer.from(input.key, 'hex');
      init.then(() => {
        const decrypted = [];
        const dec = createDecipher({ inbound: { onPayload: (p) => { decrypted.push(Buffer.from(p).toString('hex')); },
          decipherInfo: info, decipherKey: key, seqno: input.seqno } });
        const wire = Buffer.from(input.wire, 'hex');
        dec.decrypt(wire, 0, wire.length);
        const out = [];
        const enc = createCipher({ outbound: { onWrite: (b) => out.push(Buffer.from(b)),
          cipherInfo: info, cipherKey: key, seqno: input.seqno } });
        for (const hex of input.payloads) {
          const payload = Buffer.from(hex, 'hex');
          const packet = enc.allocPacket(payload.length);
          packet.set(payload, 5);
          enc.encrypt(packet);
        }
        process.stdout.write(JSON.stringify({ bindingAvailable, decrypted,
          wire: Buffer.concat(out).toString('hex') }));
      });`;
    const ours = encryptAll(backend, key, seqno, payloads).wire;
    const res = spawnSync('node', ['-e', script], {
      cwd: new URL('../../..', import.meta.url).pathname,
      input: JSON.stringify({
        key: key.toString('hex'), seqno, wire: ours.toString('hex'),
        payloads: payloads.map((p) => p.toString('hex')),
      }),
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(res.stderr.toString()).not.toContain('Error');
    const theirs = JSON.parse(res.stdout.toString()) as { decrypted: string[]; wire: string };
    // Node decrypted what we encrypted...
    expect(theirs.decrypted).toEqual(payloads.map((p) => p.toString('hex')));
    // ...and we decrypt what Node encrypted
    expect(decryptAll(backend, key, seqno, Buffer.from(theirs.wire, 'hex'), [5, 1000])).toEqual(payloads);
  });
});
