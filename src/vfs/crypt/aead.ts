// The two AEADs a DARE package may use, behind one seal/open shape. AES-256-GCM comes from
// node:crypto (hardware AES everywhere); ChaCha20-Poly1305 from @noble/ciphers, because Bun's
// node:crypto has no chacha20-poly1305. Noble is handed plain Uint8Array views: under Bun it runs
// several times faster on them than on Buffers.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { CIPHER_AES_256_GCM, CIPHER_CHACHA20_POLY1305, TAG_SIZE, type CipherId } from './format.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';

export interface PackageAead {
  /** Writes ciphertext || tag (plaintext.length + 16 bytes) into `out`. */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /**
   * Writes the plaintext of `sealed` (ciphertext || tag) into `out` and returns true, or returns
   * false when authentication fails; `out` must then be ignored.
   */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
}

function plain(u: Uint8Array): Uint8Array {
  return u.constructor === Uint8Array ? u : new Uint8Array(u.buffer, u.byteOffset, u.byteLength);
}

class AesGcm implements PackageAead {
  readonly #key: KeyObject;
  constructor(key: Uint8Array) {
    this.#key = createSecretKey(key);
  }

  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void {
    const c = createCipheriv('aes-256-gcm', this.#key, nonce);
    c.setAAD(aad);
    const body = c.update(plaintext);
    out.set(body, 0);
    // node:crypto cannot write into `out`: its copy goes now, not at the next collection.
    freeBuffer(body, { wholeBuffer: true });
    const tail = c.final();
    if (tail.length > 0) out.set(tail, body.length);
    out.set(c.getAuthTag(), plaintext.length);
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean {
    const n = sealed.length - TAG_SIZE;
    const d = createDecipheriv('aes-256-gcm', this.#key, nonce);
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(n));
    const body = d.update(sealed.subarray(0, n));
    try {
      d.final();
    } catch {
      return false;
    }
    out.set(body, 0);
    freeBuffer(body, { wholeBuffer: true });
    return true;
  }
}

class ChaCha20Poly1305 implements PackageAead {
  readonly #key: Uint8Array;
  constructor(key: Uint8Array) {
    this.#key = plain(key);
  }

  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void {
    chacha20poly1305(this.#key, plain(nonce), plain(aad)).encrypt(plain(plaintext), plain(out).subarray(0, plaintext.length + TAG_SIZE));
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean {
    try {
      chacha20poly1305(this.#key, plain(nonce), plain(aad)).decrypt(plain(sealed), plain(out).subarray(0, sealed.length - TAG_SIZE));
      return true;
    } catch {
      return false;
    }
  }
}

/** The AEAD for `cipher` under a 32-byte file key; undefined for an unknown suite byte. */
export function packageAead(cipher: number, key: Uint8Array): PackageAead | undefined {
  if (cipher === CIPHER_AES_256_GCM) return new AesGcm(key);
  if (cipher === CIPHER_CHACHA20_POLY1305) return new ChaCha20Poly1305(key);
  return undefined;
}

export function cipherIdOf(name: string | undefined): CipherId | undefined {
  if (name === undefined || name === 'aes-256-gcm') return CIPHER_AES_256_GCM;
  if (name === 'chacha20-poly1305') return CIPHER_CHACHA20_POLY1305;
  return undefined;
}
