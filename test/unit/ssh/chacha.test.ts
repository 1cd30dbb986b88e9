// The JS chacha20-poly1305@openssh.com implementation in the vendored ssh2 (what Bun uses),
// checked against itself (round trips, arbitrary chunking, tampering) and against an independent
// implementation: upstream ssh2 under Node, which uses its native binding (OpenSSL) or else
// node:crypto's chacha20, i.e. no @noble/ciphers code at all.
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
interface VendoredCrypto {
  CIPHER_INFO: Record<string, unknown>;
  init: Promise<void>;
  ChaChaPolyCipherJS: new (config: unknown) => CipherLike;
  ChaChaPolyDecipherJS: new (config: unknown) => DecipherLike;
}

const require = createRequire(import.meta.url);
const vendored = require('../../../vendor/ssh2/lib/protocol/crypto.js') as VendoredCrypto;
const CHACHA = 'chacha20-poly1305@openssh.com';

function makeCipher(key: Buffer, seqno: number, onWrite: (b: Uint8Array) => void): CipherLike {
  return new vendored.ChaChaPolyCipherJS({
    outbound: { onWrite, cipherInfo: vendored.CIPHER_INFO[CHACHA], cipherKey: key, seqno },
  });
}

function makeDecipher(key: Buffer, seqno: number, onPayload: (b: Buffer) => void): DecipherLike {
  return new vendored.ChaChaPolyDecipherJS({
    inbound: {
      // Copy: the payload is a view into a buffer the decipher may hand out again
      onPayload: (payload: Buffer) => { onPayload(Buffer.from(payload)); },
      decipherInfo: vendored.CIPHER_INFO[CHACHA],
      decipherKey: key,
      seqno,
    },
  });
}

/** Encrypts each payload as one packet; returns the concatenated wire bytes. */
function encryptAll(key: Buffer, seqno: number, payloads: Buffer[]): { wire: Buffer; writes: number } {
  const out: Uint8Array[] = [];
  const cipher = makeCipher(key, seqno, (b) => out.push(Buffer.from(b)));
  for (const payload of payloads) {
    const packet = cipher.allocPacket(payload.length);
    packet.set(payload, 5);
    cipher.encrypt(packet);
  }
  cipher.free();
  return { wire: Buffer.concat(out), writes: out.length };
}

/** Feeds `wire` to a fresh decipher in chunks of the given sizes (cycled). */
function decryptAll(key: Buffer, seqno: number, wire: Buffer, chunkSizes: number[] = [wire.length]): Buffer[] {
  const got: Buffer[] = [];
  const decipher = makeDecipher(key, seqno, (p) => got.push(p));
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

describe('vendored ssh2 chacha20-poly1305 (JS path)', () => {
  test('round trips one write per packet, whatever the chunking', async () => {
    await vendored.init;
    const key = randomBytes(64);
    const payloads = payloadSizes.map((n) => randomBytes(n));
    const seqno = 0xfffffff0; // crosses the 32-bit sequence number wrap
    const { wire, writes } = encryptAll(key, seqno, payloads);
    expect(writes).toBe(payloads.length);
    for (const chunks of [[wire.length], [1], [3, 5, 4096], [17, 32769]])
      expect(decryptAll(key, seqno, wire, chunks)).toEqual(payloads);
  });

  test('rejects a flipped bit anywhere in the packet and the wrong sequence number', async () => {
    await vendored.init;
    const key = randomBytes(64);
    const { wire } = encryptAll(key, 7, [randomBytes(200)]);
    for (const at of [0, 3, 4, 50, wire.length - 1]) {
      const bad = Buffer.from(wire);
      bad[at] = (bad[at] ?? 0) ^ 1;
      // A flipped length byte usually fails the length sanity check before the MAC
      expect(() => decryptAll(key, 7, bad)).toThrow(/Invalid MAC|Bad packet length/);
    }
    expect(() => decryptAll(key, 8, wire)).toThrow(/Invalid MAC|Bad packet length/);
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
    const ours = encryptAll(key, seqno, payloads).wire;
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
    expect(decryptAll(key, seqno, Buffer.from(theirs.wire, 'hex'), [5, 1000])).toEqual(payloads);
  });
});
