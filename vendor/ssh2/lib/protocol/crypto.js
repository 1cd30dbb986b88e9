// TODO:
//    * make max packet size configurable
//    * if decompression is enabled, use `._packet` in decipher instances as
//      input to (sync) zlib inflater with appropriate offset and length to
//      avoid an additional copy of payload data before inflation
//    * factor decompression status into packet length checks
'use strict';

const {
  createCipheriv, createDecipheriv, createHmac, randomFillSync, timingSafeEqual
} = require('crypto');

const { readUInt32BE, writeUInt32BE } = require('./utils.js');

const FastBuffer = Buffer[Symbol.species];
const MAX_SEQNO = 2 ** 32 - 1;
const EMPTY_BUFFER = Buffer.alloc(0);
const BUF_INT = Buffer.alloc(4);
const DISCARD_CACHE = new Map();
const MAX_PACKET_SIZE = 35000;

let binding;
let AESGCMCipher;
let ChaChaPolyCipher;
let GenericCipher;
let AESGCMDecipher;
let ChaChaPolyDecipher;
let GenericDecipher;
try {
  binding = loadBinding();
  ({ AESGCMCipher, ChaChaPolyCipher, GenericCipher,
     AESGCMDecipher, ChaChaPolyDecipher, GenericDecipher } = binding);
} catch {}

// [vendor] The native addon is not vendored: it is the one built by the installed upstream `ssh2`
// package's install script (Node only; it is a V8/NAN addon that Bun cannot load and the require
// simply throws there). The path is computed at run time so `bun build --compile` does not try to
// embed it. SSH2_DISABLE_BINDING=1 forces the pure-JS paths (benchmarks, tests under Node).
function loadBinding() {
  if (process.env.SSH2_DISABLE_BINDING === '1')
    throw new Error('ssh2 native binding disabled');
  const { dirname, join } = require('path');
  const upstream = 'ssh2';
  const pkgDir = dirname(require.resolve(`${upstream}/package.json`));
  return require(join(pkgDir, 'lib', 'protocol', 'crypto', 'build', 'Release',
                      'sshcrypto.node'));
}

// [vendor] Pure-JS ChaCha20 (+ Poly1305 fallback) from @noble/ciphers, for runtimes whose
// node:crypto has no 'chacha20' (Bun) and no native binding. Loaded lazily: under Node with the
// binding it is never needed. @noble/ciphers is ESM-only; require() of it works in Bun and in
// Node >= 20.19.
let noble;
function loadNoble() {
  if (noble === undefined) {
    const { chacha20orig } = require('@noble/ciphers/chacha.js');
    const { poly1305 } = require('@noble/ciphers/_poly1305.js');
    noble = { chacha20orig, poly1305 };
  }
  return noble;
}
// Whether node:crypto itself can do the ChaCha20 part (Node without the binding)
const NODE_HAS_CHACHA20 = (() => {
  try {
    return require('crypto').getCiphers().includes('chacha20');
  } catch {
    return false;
  }
})();
// [vendor] libsodium through `sodium-native` (N-API, prebuilt for linux/macOS/Windows glibc
// platforms): ChaCha20 ~2.7 GB/s and Poly1305 ~4 GB/s under Bun, vs ~0.4 GB/s for noble's
// ChaCha20. Loaded lazily like noble; when it cannot load (no prebuild for the platform, e.g.
// musl; Deno without addon support; a compiled binary built without it) the noble + WASM path is
// used instead. SSH2_DISABLE_SODIUM=1 forces that fallback (tests, benchmarks).
let sodium;
function loadSodium() {
  if (sodium === undefined) {
    if (process.env.SSH2_DISABLE_SODIUM === '1')
      throw new Error('sodium-native disabled');
    const s = require('sodium-native');
    if (typeof s.crypto_stream_chacha20_xor_ic !== 'function'
        || typeof s.crypto_onetimeauth_verify !== 'function') {
      throw new Error('sodium-native lacks chacha20/poly1305');
    }
    sodium = s;
  }
  return sodium;
}
// [vendor] sodium-native's addon module itself (what its index.js wraps), or null when it cannot
// be loaded on its own: then the wrappers are used
let sodiumBinding;
function loadSodiumBinding() {
  if (sodiumBinding === undefined) {
    sodiumBinding = null;
    try {
      const b = require('sodium-native/binding');
      if (['crypto_stream_chacha20', 'crypto_stream_chacha20_xor', 'crypto_stream_chacha20_xor_ic',
           'crypto_onetimeauth', 'crypto_onetimeauth_verify'].every((f) => typeof b[f] === 'function')) {
        sodiumBinding = b;
      }
    } catch {}
  }
  return sodiumBinding;
}
// Which implementation createCipher()/createDecipher() use for chacha20-poly1305@openssh.com:
// 'binding' (upstream's addon, Node), 'node' (node:crypto chacha20 + WASM Poly1305, Node without
// the addon), 'sodium', 'noble' (@noble/ciphers + WASM Poly1305), or null (not offered)
const CHACHA_IMPL = (() => {
  if (ChaChaPolyCipher)
    return 'binding';
  if (NODE_HAS_CHACHA20)
    return 'node';
  for (const [name, load] of [['sodium', loadSodium], ['noble', loadNoble]]) {
    try {
      load();
      return name;
    } catch {}
  }
  return null;
})();

const CIPHER_STREAM = 1 << 0;
const CIPHER_INFO = (() => {
  function info(sslName, blockLen, keyLen, ivLen, authLen, discardLen, flags) {
    return {
      sslName,
      blockLen,
      keyLen,
      ivLen: (ivLen !== 0 || (flags & CIPHER_STREAM)
              ? ivLen
              : blockLen),
      authLen,
      discardLen,
      stream: !!(flags & CIPHER_STREAM),
    };
  }

  return {
    'chacha20-poly1305@openssh.com':
      info('chacha20', 8, 64, 0, 16, 0, CIPHER_STREAM),

    'aes128-gcm': info('aes-128-gcm', 16, 16, 12, 16, 0, CIPHER_STREAM),
    'aes256-gcm': info('aes-256-gcm', 16, 32, 12, 16, 0, CIPHER_STREAM),
    'aes128-gcm@openssh.com':
      info('aes-128-gcm', 16, 16, 12, 16, 0, CIPHER_STREAM),
    'aes256-gcm@openssh.com':
      info('aes-256-gcm', 16, 32, 12, 16, 0, CIPHER_STREAM),

    'aes128-cbc': info('aes-128-cbc', 16, 16, 0, 0, 0, 0),
    'aes192-cbc': info('aes-192-cbc', 16, 24, 0, 0, 0, 0),
    'aes256-cbc': info('aes-256-cbc', 16, 32, 0, 0, 0, 0),
    'rijndael-cbc@lysator.liu.se': info('aes-256-cbc', 16, 32, 0, 0, 0, 0),
    '3des-cbc': info('des-ede3-cbc', 8, 24, 0, 0, 0, 0),
    'blowfish-cbc': info('bf-cbc', 8, 16, 0, 0, 0, 0),
    'idea-cbc': info('idea-cbc', 8, 16, 0, 0, 0, 0),
    'cast128-cbc': info('cast-cbc', 8, 16, 0, 0, 0, 0),

    'aes128-ctr': info('aes-128-ctr', 16, 16, 16, 0, 0, CIPHER_STREAM),
    'aes192-ctr': info('aes-192-ctr', 16, 24, 16, 0, 0, CIPHER_STREAM),
    'aes256-ctr': info('aes-256-ctr', 16, 32, 16, 0, 0, CIPHER_STREAM),
    '3des-ctr': info('des-ede3', 8, 24, 8, 0, 0, CIPHER_STREAM),
    'blowfish-ctr': info('bf-ecb', 8, 16, 8, 0, 0, CIPHER_STREAM),
    'cast128-ctr': info('cast5-ecb', 8, 16, 8, 0, 0, CIPHER_STREAM),

    /* The "arcfour128" algorithm is the RC4 cipher, as described in
       [SCHNEIER], using a 128-bit key.  The first 1536 bytes of keystream
       generated by the cipher MUST be discarded, and the first byte of the
       first encrypted packet MUST be encrypted using the 1537th byte of
       keystream.

       -- http://tools.ietf.org/html/rfc4345#section-4 */
    'arcfour': info('rc4', 8, 16, 0, 0, 1536, CIPHER_STREAM),
    'arcfour128': info('rc4', 8, 16, 0, 0, 1536, CIPHER_STREAM),
    'arcfour256': info('rc4', 8, 32, 0, 0, 1536, CIPHER_STREAM),
    'arcfour512': info('rc4', 8, 64, 0, 0, 1536, CIPHER_STREAM),
  };
})();

const MAC_INFO = (() => {
  function info(sslName, len, actualLen, isETM) {
    return {
      sslName,
      len,
      actualLen,
      isETM,
    };
  }

  return {
    'hmac-md5': info('md5', 16, 16, false),
    'hmac-md5-96': info('md5', 16, 12, false),
    'hmac-ripemd160': info('ripemd160', 20, 20, false),
    'hmac-sha1': info('sha1', 20, 20, false),
    'hmac-sha1-etm@openssh.com': info('sha1', 20, 20, true),
    'hmac-sha1-96': info('sha1', 20, 12, false),
    'hmac-sha2-256': info('sha256', 32, 32, false),
    'hmac-sha2-256-etm@openssh.com': info('sha256', 32, 32, true),
    'hmac-sha2-256-96': info('sha256', 32, 12, false),
    'hmac-sha2-512': info('sha512', 64, 64, false),
    'hmac-sha2-512-etm@openssh.com': info('sha512', 64, 64, true),
    'hmac-sha2-512-96': info('sha512', 64, 12, false),
  };
})();


// Should only_be used during the initial handshake
class NullCipher {
  constructor(seqno, onWrite) {
    this.outSeqno = seqno;
    this._onWrite = onWrite;
    this._dead = false;
  }
  free() {
    this._dead = true;
  }
  allocPacket(payloadLen) {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 8 - (pktLen & (8 - 1));
    if (padLen < 4)
      padLen += 8;
    pktLen += padLen;

    const packet = Buffer.allocUnsafe(pktLen);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet

    if (this._dead)
      return;

    this._onWrite(packet);

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}


const POLY1305_ZEROS = Buffer.alloc(32);
const POLY1305_OUT_COMPUTE = Buffer.alloc(16);
let POLY1305_WASM_MODULE;
let POLY1305_RESULT_MALLOC;
let poly1305_auth;
class ChaChaPolyCipherNative {
  constructor(config) {
    const enc = config.outbound;
    this.outSeqno = enc.seqno;
    this._onWrite = enc.onWrite;
    this._encKeyMain = enc.cipherKey.slice(0, 32);
    this._encKeyPktLen = enc.cipherKey.slice(32);
    this._dead = false;
  }
  free() {
    this._dead = true;
  }
  allocPacket(payloadLen) {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 8 - ((pktLen - 4) & (8 - 1));
    if (padLen < 4)
      padLen += 8;
    pktLen += padLen;

    // [vendor] Room for the MAC so the packet goes to the socket in one write
    const packet = Buffer.allocUnsafe(pktLen + 16/* MAC */);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet

    if (this._dead)
      return;

    const pktLen = packet.length - 16;

    // Generate Poly1305 key
    POLY1305_OUT_COMPUTE[0] = 0; // Set counter to 0 (little endian)
    writeUInt32BE(POLY1305_OUT_COMPUTE, this.outSeqno, 12);
    const polyKey =
      createCipheriv('chacha20', this._encKeyMain, POLY1305_OUT_COMPUTE)
      .update(POLY1305_ZEROS);

    // Encrypt packet length
    const pktLenEnc =
      createCipheriv('chacha20', this._encKeyPktLen, POLY1305_OUT_COMPUTE)
      .update(packet.slice(0, 4));

    // Encrypt rest of packet
    POLY1305_OUT_COMPUTE[0] = 1; // Set counter to 1 (little endian)
    const payloadEnc =
      createCipheriv('chacha20', this._encKeyMain, POLY1305_OUT_COMPUTE)
      .update(packet.slice(4, pktLen));

    // Calculate Poly1305 MAC
    poly1305_auth(POLY1305_RESULT_MALLOC,
                  pktLenEnc,
                  pktLenEnc.length,
                  payloadEnc,
                  payloadEnc.length,
                  polyKey);

    // [vendor] Assemble length || ciphertext || MAC in the packet buffer and write it once
    // instead of three separate socket writes
    packet.set(pktLenEnc, 0);
    packet.set(payloadEnc, 4);
    packet.set(
      new Uint8Array(POLY1305_WASM_MODULE.HEAPU8.buffer,
                     POLY1305_RESULT_MALLOC,
                     16),
      pktLen
    );
    this._onWrite(packet);

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}

class ChaChaPolyCipherBinding {
  constructor(config) {
    const enc = config.outbound;
    this.outSeqno = enc.seqno;
    this._onWrite = enc.onWrite;
    this._instance = new ChaChaPolyCipher(enc.cipherKey);
    this._dead = false;
  }
  free() {
    this._dead = true;
    this._instance.free();
  }
  allocPacket(payloadLen) {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 8 - ((pktLen - 4) & (8 - 1));
    if (padLen < 4)
      padLen += 8;
    pktLen += padLen;

    const packet = Buffer.allocUnsafe(pktLen + 16/* MAC */);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet

    if (this._dead)
      return;

    // Encrypts in-place
    this._instance.encrypt(packet, this.outSeqno);

    this._onWrite(packet);

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}


// [vendor] OpenSSH's chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305) for runtimes
// with neither the native binding nor a node:crypto 'chacha20' (Bun). ChaCha20 is the DJB
// variant (64-bit counter, 64-bit nonce = sequence number, big-endian): counter 0 of the second
// half of the key gives the length keystream, counter 0 of the first half the Poly1305 key,
// counter 1 onwards the payload keystream. The primitives come from a backend: libsodium
// (sodium-native) when it loads, else @noble/ciphers' `chacha20orig` with ssh2's bundled WASM
// Poly1305 once `init` has loaded it (4-6x faster than a JS Poly1305 under Bun), else noble's.
// All crypto runs on plain Uint8Array views: noble's Poly1305 is ~4.6x slower on a Buffer in Bun.
// The MAC covers encrypted length || ciphertext, which both classes keep contiguous in memory
// so that a backend authenticates it in one call.
const CHACHA_ZEROS = new Uint8Array(32);
let POLY1305_HEAP_MSG = 0;
let POLY1305_HEAP_KEY = 0;

// Writes Poly1305(key, msg) to out[0..16)
function poly1305Into(key, msg, out) {
  const wasm = POLY1305_WASM_MODULE;
  if (wasm !== undefined) {
    if (POLY1305_HEAP_MSG === 0) {
      POLY1305_HEAP_MSG = wasm._malloc(4 + MAX_PACKET_SIZE + 16);
      POLY1305_HEAP_KEY = wasm._malloc(32);
    }
    // Re-read HEAPU8 every time: emscripten replaces it if the WASM memory ever grows
    const heap = wasm.HEAPU8;
    heap.set(key, POLY1305_HEAP_KEY);
    heap.set(msg, POLY1305_HEAP_MSG);
    wasm._poly1305_auth(POLY1305_RESULT_MALLOC,
                        POLY1305_HEAP_MSG,
                        msg.length,
                        POLY1305_HEAP_MSG + msg.length,
                        0,
                        POLY1305_HEAP_KEY);
    out.set(new Uint8Array(heap.buffer, POLY1305_RESULT_MALLOC, 16), 0);
    return;
  }
  out.set(loadNoble().poly1305(msg, key), 0);
}

// The primitives each backend provides. `key` is 32 bytes, `nonce` 8, all Uint8Array.
//   polyKey(key, nonce, out32): the first 32 keystream bytes (counter 0)
//   xor(key, nonce, data, counter): XOR the keystream from block `counter` into data, in place
//   auth(key, msg, out16): Poly1305 tag of msg
//   verify(key, msg, tag16, scratch16): tag === Poly1305(key, msg), in constant time
const CHACHA_BACKENDS = {
  sodium: () => {
    const s = loadSodium();
    const n = loadSodiumBinding();
    if (n) {
      // [vendor] The addon's functions without sodium-native's JS wrappers, whose node:assert
      // argument checks (about 6 a call, 4 calls a packet) were ~4% of a small-request server's
      // main thread under Bun. The checks cannot fail here: the keys and the Poly1305 key are 32
      // bytes and the nonce 8 from the cipher's constructor, tags are 16-byte views, and data is
      // XORed in place (input and output the same length).
      const ok = (res) => {
        if (res !== 0)
          throw new Error(`libsodium status ${res}`);
      };
      return {
        name: 'sodium',
        polyKey: (key, nonce, out) => ok(n.crypto_stream_chacha20(out, nonce, key)),
        xor: (key, nonce, data, counter) => ok(
          counter === 0
            ? n.crypto_stream_chacha20_xor(data, data, nonce, key)
            : n.crypto_stream_chacha20_xor_ic(data, data, nonce, counter, key)
        ),
        auth: (key, msg, out) => ok(n.crypto_onetimeauth(out, msg, key)),
        verify: (key, msg, tag) => n.crypto_onetimeauth_verify(tag, msg, key) === true,
      };
    }
    return {
      name: 'sodium',
      polyKey: (key, nonce, out) => s.crypto_stream_chacha20(out, nonce, key),
      xor: (key, nonce, data, counter) => (
        counter === 0
          ? s.crypto_stream_chacha20_xor(data, data, nonce, key)
          : s.crypto_stream_chacha20_xor_ic(data, data, nonce, counter, key)
      ),
      auth: (key, msg, out) => s.crypto_onetimeauth(out, msg, key),
      verify: (key, msg, tag) => s.crypto_onetimeauth_verify(tag, msg, key),
    };
  },
  noble: () => {
    const chacha = loadNoble().chacha20orig;
    return {
      name: 'noble',
      polyKey: (key, nonce, out) => chacha(key, nonce, CHACHA_ZEROS, out, 0),
      xor: (key, nonce, data, counter) => chacha(key, nonce, data, data, counter),
      auth: (key, msg, out) => poly1305Into(key, msg, out),
      verify: (key, msg, tag, scratch) => {
        poly1305Into(key, msg, scratch);
        return timingSafeEqual(scratch, tag);
      },
    };
  },
};
function chachaBackend(name) {
  if (!name) {
    // The best that loads (under Node with `forceJS`, CHACHA_IMPL names a non-JS path)
    name = (CHACHA_IMPL === 'sodium' || CHACHA_IMPL === 'noble' ? CHACHA_IMPL : 'sodium');
    try {
      return CHACHA_BACKENDS[name]();
    } catch {
      name = 'noble';
    }
  }
  const make = CHACHA_BACKENDS[name];
  if (make === undefined)
    throw new Error(`No chacha20-poly1305 backend '${name}'`);
  return make();
}

// [vendor] Frees a buffer's memory now instead of at the next garbage collection, when the
// buffer alone owns its ArrayBuffer (a view into a larger or shared one is left alone). Only for
// buffers nothing references any more: any view of it reads as empty afterwards.
function freeBuffer(buf) {
  const ab = buf.buffer;
  if (buf.byteOffset === 0
      && buf.byteLength === ab.byteLength
      && typeof ab.transfer === 'function'
      && !ab.detached) {
    ab.transfer(0);
  }
}

// [vendor] The same for node:crypto's output, which sits in an ArrayBuffer of its own that may be
// a little larger than the output (Bun adds a block of slack)
function freeCryptoOutput(buf) {
  const ab = buf.buffer;
  if (buf.byteOffset === 0
      && ab instanceof ArrayBuffer
      && typeof ab.transfer === 'function'
      && !ab.detached) {
    ab.transfer(0);
  }
}

function writeSeqnoNonce(nonce, seqno) {
  // Sequence numbers are 32-bit, so bytes 0-3 of the 64-bit big-endian nonce stay zero
  nonce[4] = (seqno >>> 24);
  nonce[5] = (seqno >>> 16);
  nonce[6] = (seqno >>> 8);
  nonce[7] = seqno;
}

// `backend`: 'sodium' or 'noble' (default: the best that loads, see CHACHA_IMPL)
class ChaChaPolyCipherJS {
  constructor(config, backend) {
    const enc = config.outbound;
    this.outSeqno = enc.seqno;
    this._onWrite = enc.onWrite;
    this._backend = chachaBackend(backend);
    // Plain Uint8Array copies (not Buffer views) for the reason given above
    this._keyMain = new Uint8Array(enc.cipherKey.subarray(0, 32));
    this._keyPktLen = new Uint8Array(enc.cipherKey.subarray(32, 64));
    this._nonce = new Uint8Array(8);
    this._polyKey = new Uint8Array(32);
    this._dead = false;
  }
  get implementation() {
    return this._backend.name;
  }
  free() {
    this._dead = true;
    this._keyMain.fill(0);
    this._keyPktLen.fill(0);
    this._polyKey.fill(0);
  }
  allocPacket(payloadLen) {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 8 - ((pktLen - 4) & (8 - 1));
    if (padLen < 4)
      padLen += 8;
    pktLen += padLen;

    // Room for the MAC: encrypted in place and written to the socket once
    const packet = Buffer.allocUnsafe(pktLen + 16/* MAC */);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet, with 16 spare bytes at the end for the MAC

    if (this._dead)
      return;

    const b = this._backend;
    const pktLen = packet.length - 16;
    const u8 = new Uint8Array(packet.buffer, packet.byteOffset, packet.length);
    const nonce = this._nonce;
    writeSeqnoNonce(nonce, this.outSeqno);

    b.polyKey(this._keyMain, nonce, this._polyKey);
    b.xor(this._keyPktLen, nonce, u8.subarray(0, 4), 0);
    b.xor(this._keyMain, nonce, u8.subarray(4, pktLen), 1);
    b.auth(this._polyKey, u8.subarray(0, pktLen), u8.subarray(pktLen));

    // [vendor] Once encrypted the packet means nothing to anyone but the socket: `true` lets
    // the server free it as soon as the socket has written it
    this._onWrite(packet, true);

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}


class AESGCMCipherNative {
  constructor(config) {
    const enc = config.outbound;
    this.outSeqno = enc.seqno;
    this._onWrite = enc.onWrite;
    this._encSSLName = enc.cipherInfo.sslName;
    this._encKey = enc.cipherKey;
    this._encIV = enc.cipherIV;
    this._dead = false;
  }
  free() {
    this._dead = true;
  }
  allocPacket(payloadLen) {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 16 - ((pktLen - 4) & (16 - 1));
    if (padLen < 4)
      padLen += 16;
    pktLen += padLen;

    // [vendor] Room for the auth tag so the packet goes to the socket in one write
    const packet = Buffer.allocUnsafe(pktLen + 16/* authTag */);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet, with 16 spare bytes at the end for the tag

    if (this._dead)
      return;

    const pktLen = packet.length - 16;
    const cipher = createCipheriv(this._encSSLName, this._encKey, this._encIV);
    cipher.setAutoPadding(false);

    const lenData = new Uint8Array(packet.buffer, packet.byteOffset, 4);
    cipher.setAAD(lenData);

    // Encrypt pad length, payload, and padding
    const encrypted = cipher.update(
      new Uint8Array(packet.buffer, packet.byteOffset + 4, pktLen - 4)
    );
    const final = cipher.final();

    // [vendor] node:crypto cannot encrypt in place, so copy the ciphertext and tag back into the
    // packet buffer (a memcpy) and write length || ciphertext || tag once: upstream wrote them as
    // 3-4 separate socket writes, i.e. ~6 sendto() per 32 KiB SFTP READ reply under Bun.
    packet.set(encrypted, 4);
    if (final.length) // Never happens for GCM, kept for safety
      packet.set(final, 4 + encrypted.length);
    packet.set(cipher.getAuthTag(), pktLen);
    // [vendor] node:crypto's output is copied: freed now rather than at the next collection; the
    // packet once written (see ChaChaPolyCipherJS#encrypt)
    freeCryptoOutput(encrypted);
    this._onWrite(packet, true);

    // Increment counter in IV by 1 for next packet
    ivIncrement(this._encIV);

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}

class AESGCMCipherBinding {
  constructor(config) {
    const enc = config.outbound;
    this.outSeqno = enc.seqno;
    this._onWrite = enc.onWrite;
    this._instance = new AESGCMCipher(enc.cipherInfo.sslName,
                                      enc.cipherKey,
                                      enc.cipherIV);
    this._dead = false;
  }
  free() {
    this._dead = true;
    this._instance.free();
  }
  allocPacket(payloadLen) {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 16 - ((pktLen - 4) & (16 - 1));
    if (padLen < 4)
      padLen += 16;
    pktLen += padLen;

    const packet = Buffer.allocUnsafe(pktLen + 16/* authTag */);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet

    if (this._dead)
      return;

    // Encrypts in-place
    this._instance.encrypt(packet);

    this._onWrite(packet);

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}


class GenericCipherNative {
  constructor(config) {
    const enc = config.outbound;
    this.outSeqno = enc.seqno;
    this._onWrite = enc.onWrite;
    this._encBlockLen = enc.cipherInfo.blockLen;
    this._cipherInstance = createCipheriv(enc.cipherInfo.sslName,
                                          enc.cipherKey,
                                          enc.cipherIV);
    this._macSSLName = enc.macInfo.sslName;
    this._macKey = enc.macKey;
    this._macActualLen = enc.macInfo.actualLen;
    this._macETM = enc.macInfo.isETM;
    this._aadLen = (this._macETM ? 4 : 0);
    this._dead = false;

    const discardLen = enc.cipherInfo.discardLen;
    if (discardLen) {
      let discard = DISCARD_CACHE.get(discardLen);
      if (discard === undefined) {
        discard = Buffer.alloc(discardLen);
        DISCARD_CACHE.set(discardLen, discard);
      }
      this._cipherInstance.update(discard);
    }
  }
  free() {
    this._dead = true;
  }
  allocPacket(payloadLen) {
    const blockLen = this._encBlockLen;

    let pktLen = 4 + 1 + payloadLen;
    let padLen = blockLen - ((pktLen - this._aadLen) & (blockLen - 1));
    if (padLen < 4)
      padLen += blockLen;
    pktLen += padLen;

    // [vendor] Room for the MAC so the packet goes to the socket in one write
    const packet = Buffer.allocUnsafe(pktLen + this._macActualLen);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet, with spare bytes at the end for the MAC

    if (this._dead)
      return;

    const pktLen = packet.length - this._macActualLen;
    const encStart = (this._macETM ? 4 : 0);
    const plain = new Uint8Array(packet.buffer,
                                 packet.byteOffset + encStart,
                                 pktLen - encStart);

    // TODO: look into storing seqno as 4-byte buffer and incrementing like we
    // do for AES-GCM IVs to avoid having to (re)write all 4 bytes every time
    const mac = createHmac(this._macSSLName, this._macKey);
    writeUInt32BE(BUF_INT, this.outSeqno, 0);
    mac.update(BUF_INT);

    let encrypted;
    if (this._macETM) {
      // Encrypt pad length, payload, and padding; MAC the length and ciphertext
      encrypted = this._cipherInstance.update(plain);
      mac.update(new Uint8Array(packet.buffer, packet.byteOffset, 4));
      mac.update(encrypted);
    } else {
      // MAC the plaintext before it is overwritten below, then encrypt
      // length field, pad length, payload, and padding
      mac.update(plain);
      encrypted = this._cipherInstance.update(plain);
    }
    const digest = mac.digest();

    if (encrypted.length === plain.length) {
      // [vendor] Copy ciphertext and MAC back into the packet buffer and write it once instead of
      // 2-3 separate socket writes
      packet.set(encrypted, encStart);
      packet.set(
        new Uint8Array(digest.buffer, digest.byteOffset, this._macActualLen),
        pktLen
      );
      this._onWrite(packet);
    } else {
      // A block cipher holding back output (not expected for whole blocks): upstream behaviour
      if (this._macETM)
        this._onWrite(new Uint8Array(packet.buffer, packet.byteOffset, 4));
      this._onWrite(encrypted);
      this._onWrite(digest.slice(0, this._macActualLen));
    }

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}

class GenericCipherBinding {
  constructor(config) {
    const enc = config.outbound;
    this.outSeqno = enc.seqno;
    this._onWrite = enc.onWrite;
    this._encBlockLen = enc.cipherInfo.blockLen;
    this._macLen = enc.macInfo.len;
    this._macActualLen = enc.macInfo.actualLen;
    this._aadLen = (enc.macInfo.isETM ? 4 : 0);
    this._instance = new GenericCipher(enc.cipherInfo.sslName,
                                       enc.cipherKey,
                                       enc.cipherIV,
                                       enc.macInfo.sslName,
                                       enc.macKey,
                                       enc.macInfo.isETM);
    this._dead = false;
  }
  free() {
    this._dead = true;
    this._instance.free();
  }
  allocPacket(payloadLen) {
    const blockLen = this._encBlockLen;

    let pktLen = 4 + 1 + payloadLen;
    let padLen = blockLen - ((pktLen - this._aadLen) & (blockLen - 1));
    if (padLen < 4)
      padLen += blockLen;
    pktLen += padLen;

    const packet = Buffer.allocUnsafe(pktLen + this._macLen);

    writeUInt32BE(packet, pktLen - 4, 0);
    packet[4] = padLen;

    randomFillSync(packet, 5 + payloadLen, padLen);

    return packet;
  }
  encrypt(packet) {
    // `packet` === unencrypted packet

    if (this._dead)
      return;

    // Encrypts in-place
    this._instance.encrypt(packet, this.outSeqno);

    if (this._macActualLen < this._macLen) {
      packet = new FastBuffer(packet.buffer,
                              packet.byteOffset,
                              (packet.length
                                - (this._macLen - this._macActualLen)));
    }
    this._onWrite(packet);

    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}


class NullDecipher {
  constructor(seqno, onPayload) {
    this.inSeqno = seqno;
    this._onPayload = onPayload;
    this._len = 0;
    this._lenBytes = 0;
    this._packet = null;
    this._packetPos = 0;
  }
  free() {}
  decrypt(data, p, dataLen) {
    while (p < dataLen) {
      // Read packet length
      if (this._lenBytes < 4) {
        let nb = Math.min(4 - this._lenBytes, dataLen - p);

        this._lenBytes += nb;
        while (nb--)
          this._len = (this._len << 8) + data[p++];

        if (this._lenBytes < 4)
          return;

        if (this._len > MAX_PACKET_SIZE
            || this._len < 8
            || (4 + this._len & 7) !== 0) {
          throw new Error('Bad packet length');
        }
        if (p >= dataLen)
          return;
      }

      // Read padding length, payload, and padding
      if (this._packetPos < this._len) {
        const nb = Math.min(this._len - this._packetPos, dataLen - p);
        let chunk;
        if (p !== 0 || nb !== dataLen)
          chunk = new Uint8Array(data.buffer, data.byteOffset + p, nb);
        else
          chunk = data;
        if (nb === this._len) {
          this._packet = chunk;
        } else {
          if (!this._packet)
            this._packet = Buffer.allocUnsafe(this._len);
          this._packet.set(chunk, this._packetPos);
        }
        p += nb;
        this._packetPos += nb;
        if (this._packetPos < this._len)
          return;
      }

      const payload = (!this._packet
                       ? EMPTY_BUFFER
                       : new FastBuffer(this._packet.buffer,
                                        this._packet.byteOffset + 1,
                                        this._packet.length
                                          - this._packet[0] - 1));

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._len = 0;
      this._lenBytes = 0;
      this._packet = null;
      this._packetPos = 0;

      {
        const ret = this._onPayload(payload);
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
}

class ChaChaPolyDecipherNative {
  constructor(config) {
    const dec = config.inbound;
    this.inSeqno = dec.seqno;
    this._onPayload = dec.onPayload;
    this._decKeyMain = dec.decipherKey.slice(0, 32);
    this._decKeyPktLen = dec.decipherKey.slice(32);
    this._len = 0;
    this._lenBuf = Buffer.alloc(4);
    this._lenPos = 0;
    this._packet = null;
    this._pktLen = 0;
    this._mac = Buffer.allocUnsafe(16);
    this._calcMac = Buffer.allocUnsafe(16);
    this._macPos = 0;
  }
  free() {}
  decrypt(data, p, dataLen) {
    // `data` === encrypted data

    while (p < dataLen) {
      // Read packet length
      if (this._lenPos < 4) {
        let nb = Math.min(4 - this._lenPos, dataLen - p);
        while (nb--)
          this._lenBuf[this._lenPos++] = data[p++];
        if (this._lenPos < 4)
          return;

        POLY1305_OUT_COMPUTE[0] = 0; // Set counter to 0 (little endian)
        writeUInt32BE(POLY1305_OUT_COMPUTE, this.inSeqno, 12);

        const decLenBytes =
          createDecipheriv('chacha20', this._decKeyPktLen, POLY1305_OUT_COMPUTE)
          .update(this._lenBuf);
        this._len = readUInt32BE(decLenBytes, 0);

        if (this._len > MAX_PACKET_SIZE
            || this._len < 8
            || (this._len & 7) !== 0) {
          throw new Error('Bad packet length');
        }
      }

      // Read padding length, payload, and padding
      if (this._pktLen < this._len) {
        if (p >= dataLen)
          return;
        const nb = Math.min(this._len - this._pktLen, dataLen - p);
        let encrypted;
        if (p !== 0 || nb !== dataLen)
          encrypted = new Uint8Array(data.buffer, data.byteOffset + p, nb);
        else
          encrypted = data;
        if (nb === this._len) {
          this._packet = encrypted;
        } else {
          if (!this._packet)
            this._packet = Buffer.allocUnsafe(this._len);
          this._packet.set(encrypted, this._pktLen);
        }
        p += nb;
        this._pktLen += nb;
        if (this._pktLen < this._len || p >= dataLen)
          return;
      }

      // Read Poly1305 MAC
      {
        const nb = Math.min(16 - this._macPos, dataLen - p);
        // TODO: avoid copying if entire MAC is in current chunk
        if (p !== 0 || nb !== dataLen) {
          this._mac.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._macPos
          );
        } else {
          this._mac.set(data, this._macPos);
        }
        p += nb;
        this._macPos += nb;
        if (this._macPos < 16)
          return;
      }

      // Generate Poly1305 key
      POLY1305_OUT_COMPUTE[0] = 0; // Set counter to 0 (little endian)
      writeUInt32BE(POLY1305_OUT_COMPUTE, this.inSeqno, 12);
      const polyKey =
        createCipheriv('chacha20', this._decKeyMain, POLY1305_OUT_COMPUTE)
        .update(POLY1305_ZEROS);

      // Calculate and compare Poly1305 MACs
      poly1305_auth(POLY1305_RESULT_MALLOC,
                    this._lenBuf,
                    4,
                    this._packet,
                    this._packet.length,
                    polyKey);

      this._calcMac.set(
        new Uint8Array(POLY1305_WASM_MODULE.HEAPU8.buffer,
                       POLY1305_RESULT_MALLOC,
                       16),
        0
      );
      if (!timingSafeEqual(this._calcMac, this._mac))
        throw new Error('Invalid MAC');

      // Decrypt packet
      POLY1305_OUT_COMPUTE[0] = 1; // Set counter to 1 (little endian)
      const packet =
        createDecipheriv('chacha20', this._decKeyMain, POLY1305_OUT_COMPUTE)
        .update(this._packet);

      const payload = new FastBuffer(packet.buffer,
                                     packet.byteOffset + 1,
                                     packet.length - packet[0] - 1);

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._len = 0;
      this._lenPos = 0;
      this._packet = null;
      this._pktLen = 0;
      this._macPos = 0;

      {
        const ret = this._onPayload(payload);
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
}

class ChaChaPolyDecipherBinding {
  constructor(config) {
    const dec = config.inbound;
    this.inSeqno = dec.seqno;
    this._onPayload = dec.onPayload;
    this._instance = new ChaChaPolyDecipher(dec.decipherKey);
    this._len = 0;
    this._lenBuf = Buffer.alloc(4);
    this._lenPos = 0;
    this._packet = null;
    this._pktLen = 0;
    this._mac = Buffer.allocUnsafe(16);
    this._macPos = 0;
  }
  free() {
    this._instance.free();
  }
  decrypt(data, p, dataLen) {
    // `data` === encrypted data

    while (p < dataLen) {
      // Read packet length
      if (this._lenPos < 4) {
        let nb = Math.min(4 - this._lenPos, dataLen - p);
        while (nb--)
          this._lenBuf[this._lenPos++] = data[p++];
        if (this._lenPos < 4)
          return;

        this._len = this._instance.decryptLen(this._lenBuf, this.inSeqno);

        if (this._len > MAX_PACKET_SIZE
            || this._len < 8
            || (this._len & 7) !== 0) {
          throw new Error('Bad packet length');
        }

        if (p >= dataLen)
          return;
      }

      // Read padding length, payload, and padding
      if (this._pktLen < this._len) {
        const nb = Math.min(this._len - this._pktLen, dataLen - p);
        let encrypted;
        if (p !== 0 || nb !== dataLen)
          encrypted = new Uint8Array(data.buffer, data.byteOffset + p, nb);
        else
          encrypted = data;
        if (nb === this._len) {
          this._packet = encrypted;
        } else {
          if (!this._packet)
            this._packet = Buffer.allocUnsafe(this._len);
          this._packet.set(encrypted, this._pktLen);
        }
        p += nb;
        this._pktLen += nb;
        if (this._pktLen < this._len || p >= dataLen)
          return;
      }

      // Read Poly1305 MAC
      {
        const nb = Math.min(16 - this._macPos, dataLen - p);
        // TODO: avoid copying if entire MAC is in current chunk
        if (p !== 0 || nb !== dataLen) {
          this._mac.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._macPos
          );
        } else {
          this._mac.set(data, this._macPos);
        }
        p += nb;
        this._macPos += nb;
        if (this._macPos < 16)
          return;
      }

      this._instance.decrypt(this._packet, this._mac, this.inSeqno);

      const payload = new FastBuffer(this._packet.buffer,
                                     this._packet.byteOffset + 1,
                                     this._packet.length - this._packet[0] - 1);

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._len = 0;
      this._lenPos = 0;
      this._packet = null;
      this._pktLen = 0;
      this._macPos = 0;

      {
        const ret = this._onPayload(payload);
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
}

// [vendor] Counterpart of ChaChaPolyCipherJS (see there)
class ChaChaPolyDecipherJS {
  constructor(config, backend) {
    const dec = config.inbound;
    this.inSeqno = dec.seqno;
    this._onPayload = dec.onPayload;
    // [vendor] Tells whether the consumer kept nothing of a payload (see Protocol#parseOwned)
    this._payloadFree = dec.payloadFree;
    this._backend = chachaBackend(backend);
    this._keyMain = new Uint8Array(dec.decipherKey.subarray(0, 32));
    this._keyPktLen = new Uint8Array(dec.decipherKey.subarray(32, 64));
    this._nonce = new Uint8Array(8);
    this._polyKey = new Uint8Array(32);
    this._calcMac = new Uint8Array(16);
    this._lenBuf = new Uint8Array(4); // Encrypted length: it is part of the MAC input
    this._lenDec = new Uint8Array(4);
    this._lenPos = 0;
    this._len = 0;
    // Encrypted length, ciphertext (this._len bytes), 16-byte MAC: the MAC input is contiguous
    this._packet = null;
    this._pktPos = 0;
  }
  get implementation() {
    return this._backend.name;
  }
  // [vendor] Whether a view of the last input chunk is still needed: never, a packet that spans
  // chunks is copied into a buffer of its own
  holdsInput() {
    return false;
  }
  free() {
    this._keyMain.fill(0);
    this._keyPktLen.fill(0);
    this._polyKey.fill(0);
  }
  decrypt(data, p, dataLen) {
    // `data` === encrypted data

    const b = this._backend;
    while (p < dataLen) {
      // Where this packet's encrypted length starts in `data`, if all of it is in this chunk
      let lenAt = -1;

      // Read and decrypt packet length
      if (this._lenPos < 4) {
        if (this._lenPos === 0)
          lenAt = p;
        let nb = Math.min(4 - this._lenPos, dataLen - p);
        while (nb--)
          this._lenBuf[this._lenPos++] = data[p++];
        if (this._lenPos < 4)
          return;

        writeSeqnoNonce(this._nonce, this.inSeqno);
        const lenDec = this._lenDec;
        lenDec.set(this._lenBuf, 0);
        b.xor(this._keyPktLen, this._nonce, lenDec, 0);
        this._len = ((lenDec[0] << 24)
                     | (lenDec[1] << 16)
                     | (lenDec[2] << 8)
                     | lenDec[3]) >>> 0;

        if (this._len > MAX_PACKET_SIZE
            || this._len < 8
            || (this._len & 7) !== 0) {
          throw new Error('Bad packet length');
        }

        if (p >= dataLen)
          return;
      }

      // Read padding length, payload, padding and the Poly1305 MAC together
      const len = this._len;
      const need = len + 16;
      if (this._pktPos < need) {
        const nb = Math.min(need - this._pktPos, dataLen - p);
        if (nb === need && lenAt !== -1) {
          // Whole packet, length included, in this chunk: verify and decrypt it in place
          this._packet = new Uint8Array(data.buffer, data.byteOffset + lenAt, 4 + nb);
        } else {
          if (this._packet === null) {
            this._packet = new Uint8Array(4 + need);
            this._packet.set(this._lenBuf, 0);
          }
          this._packet.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            4 + this._pktPos
          );
        }
        p += nb;
        this._pktPos += nb;
        if (this._pktPos < need)
          return;
      }

      const packet = this._packet;
      const body = packet.subarray(4, 4 + len);
      const nonce = this._nonce;

      // Verify the MAC over encrypted length || ciphertext before decrypting anything
      b.polyKey(this._keyMain, nonce, this._polyKey);
      if (!b.verify(this._polyKey,
                    packet.subarray(0, 4 + len),
                    packet.subarray(4 + len, 4 + need),
                    this._calcMac)) {
        throw new Error('Invalid MAC');
      }

      b.xor(this._keyMain, nonce, body, 1);

      const payload = new FastBuffer(body.buffer,
                                     body.byteOffset + 1,
                                     len - body[0] - 1);

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._len = 0;
      this._lenPos = 0;
      this._packet = null;
      this._pktPos = 0;

      {
        const ret = this._onPayload(payload);
        // [vendor] A packet copied out of several chunks is this decipher's own buffer: freed at
        // once when the consumer kept nothing of it
        if (packet.buffer !== data.buffer
            && this._payloadFree !== undefined
            && this._payloadFree(payload)) {
          freeBuffer(packet);
        }
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
}

class AESGCMDecipherNative {
  constructor(config) {
    const dec = config.inbound;
    this.inSeqno = dec.seqno;
    this._onPayload = dec.onPayload;
    // [vendor] Tells whether the consumer kept nothing of a payload (see Protocol#parseOwned)
    this._payloadFree = dec.payloadFree;
    this._decipherSSLName = dec.decipherInfo.sslName;
    this._decipherKey = dec.decipherKey;
    this._decipherIV = dec.decipherIV;
    this._len = 0;
    this._lenBytes = 0;
    this._packet = null;
    this._pktLen = 0;
    this._tag = Buffer.allocUnsafe(16);
    this._tagPos = 0;
    // [vendor] Reused for ciphertext that spans socket chunks: it never escapes (the decrypted
    // packet handed on is node:crypto's fresh output), so no per-packet allocation for it
    this._ctBuf = null;
  }
  free() {}
  decrypt(data, p, dataLen) {
    // `data` === encrypted data

    while (p < dataLen) {
      // Read packet length (unencrypted, but AAD)
      if (this._lenBytes < 4) {
        let nb = Math.min(4 - this._lenBytes, dataLen - p);
        this._lenBytes += nb;
        while (nb--)
          this._len = (this._len << 8) + data[p++];
        if (this._lenBytes < 4)
          return;

        if ((this._len + 20) > MAX_PACKET_SIZE
            || this._len < 16
            || (this._len & 15) !== 0) {
          throw new Error('Bad packet length');
        }
      }

      // Read padding length, payload, and padding (still encrypted)
      // [vendor] Upstream fed every chunk to decipher.update() as it arrived and copied the
      // outputs into a fresh packet buffer: up to 3 allocations per packet. Now the ciphertext is
      // collected (zero-copy when the packet is within one chunk) and decrypted in one update().
      if (this._pktLen < this._len) {
        if (p >= dataLen)
          return;
        const nb = Math.min(this._len - this._pktLen, dataLen - p);
        if (nb === this._len) {
          this._packet = new Uint8Array(data.buffer, data.byteOffset + p, nb);
        } else {
          if (this._packet === null) {
            if (this._ctBuf === null)
              this._ctBuf = Buffer.allocUnsafe(MAX_PACKET_SIZE);
            this._packet = new Uint8Array(this._ctBuf.buffer,
                                          this._ctBuf.byteOffset,
                                          this._len);
          }
          this._packet.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._pktLen
          );
        }
        p += nb;
        this._pktLen += nb;
        if (this._pktLen < this._len || p >= dataLen)
          return;
      }

      // Read authentication tag
      {
        const nb = Math.min(16 - this._tagPos, dataLen - p);
        if (p !== 0 || nb !== dataLen) {
          this._tag.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._tagPos
          );
        } else {
          this._tag.set(data, this._tagPos);
        }
        p += nb;
        this._tagPos += nb;
        if (this._tagPos < 16)
          return;
      }

      let packet;
      {
        const decipher = createDecipheriv(this._decipherSSLName,
                                          this._decipherKey,
                                          this._decipherIV);
        decipher.setAutoPadding(false);
        decipher.setAAD(intToBytes(this._len));
        decipher.setAuthTag(this._tag);
        packet = decipher.update(this._packet);
        // Verifies the authentication tag (throws if it does not match)
        const final = decipher.final();
        // Never output for GCM; kept for safety
        if (final.length)
          packet = Buffer.concat([packet, final]);
      }

      const payload = new FastBuffer(packet.buffer,
                                     packet.byteOffset + 1,
                                     packet.length - packet[0] - 1);

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      ivIncrement(this._decipherIV);
      this._len = 0;
      this._lenBytes = 0;
      this._packet = null;
      this._pktLen = 0;
      this._tagPos = 0;

      {
        const ret = this._onPayload(payload);
        // [vendor] The plaintext is node:crypto's fresh output: freed at once when the consumer
        // kept nothing of it
        if (this._payloadFree !== undefined && this._payloadFree(payload))
          freeCryptoOutput(packet);
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
  // [vendor] Whether a view of the last input chunk is still needed: the ciphertext of a packet
  // whose tag has not arrived yet, when it lay within that chunk
  holdsInput() {
    return this._packet !== null
           && (this._ctBuf === null || this._packet.buffer !== this._ctBuf.buffer);
  }
}

class AESGCMDecipherBinding {
  constructor(config) {
    const dec = config.inbound;
    this.inSeqno = dec.seqno;
    this._onPayload = dec.onPayload;
    this._instance = new AESGCMDecipher(dec.decipherInfo.sslName,
                                        dec.decipherKey,
                                        dec.decipherIV);
    this._len = 0;
    this._lenBytes = 0;
    this._packet = null;
    this._pktLen = 0;
    this._tag = Buffer.allocUnsafe(16);
    this._tagPos = 0;
  }
  free() {}
  decrypt(data, p, dataLen) {
    // `data` === encrypted data

    while (p < dataLen) {
      // Read packet length (unencrypted, but AAD)
      if (this._lenBytes < 4) {
        let nb = Math.min(4 - this._lenBytes, dataLen - p);
        this._lenBytes += nb;
        while (nb--)
          this._len = (this._len << 8) + data[p++];
        if (this._lenBytes < 4)
          return;

        if ((this._len + 20) > MAX_PACKET_SIZE
            || this._len < 16
            || (this._len & 15) !== 0) {
          throw new Error(`Bad packet length: ${this._len}`);
        }
      }

      // Read padding length, payload, and padding
      if (this._pktLen < this._len) {
        if (p >= dataLen)
          return;
        const nb = Math.min(this._len - this._pktLen, dataLen - p);
        let encrypted;
        if (p !== 0 || nb !== dataLen)
          encrypted = new Uint8Array(data.buffer, data.byteOffset + p, nb);
        else
          encrypted = data;
        if (nb === this._len) {
          this._packet = encrypted;
        } else {
          if (!this._packet)
            this._packet = Buffer.allocUnsafe(this._len);
          this._packet.set(encrypted, this._pktLen);
        }
        p += nb;
        this._pktLen += nb;
        if (this._pktLen < this._len || p >= dataLen)
          return;
      }

      // Read authentication tag
      {
        const nb = Math.min(16 - this._tagPos, dataLen - p);
        if (p !== 0 || nb !== dataLen) {
          this._tag.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._tagPos
          );
        } else {
          this._tag.set(data, this._tagPos);
        }
        p += nb;
        this._tagPos += nb;
        if (this._tagPos < 16)
          return;
      }

      this._instance.decrypt(this._packet, this._len, this._tag);

      const payload = new FastBuffer(this._packet.buffer,
                                     this._packet.byteOffset + 1,
                                     this._packet.length - this._packet[0] - 1);

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._len = 0;
      this._lenBytes = 0;
      this._packet = null;
      this._pktLen = 0;
      this._tagPos = 0;

      {
        const ret = this._onPayload(payload);
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
}

// TODO: test incremental .update()s vs. copying to _packet and doing a single
// .update() after entire packet read -- a single .update() would allow
// verifying MAC before decrypting for ETM MACs
class GenericDecipherNative {
  constructor(config) {
    const dec = config.inbound;
    this.inSeqno = dec.seqno;
    this._onPayload = dec.onPayload;
    this._decipherInstance = createDecipheriv(dec.decipherInfo.sslName,
                                              dec.decipherKey,
                                              dec.decipherIV);
    this._decipherInstance.setAutoPadding(false);
    this._block = Buffer.allocUnsafe(
      dec.macInfo.isETM ? 4 : dec.decipherInfo.blockLen
    );
    this._blockSize = dec.decipherInfo.blockLen;
    this._blockPos = 0;
    this._len = 0;
    this._packet = null;
    this._packetPos = 0;
    this._pktLen = 0;
    this._mac = Buffer.allocUnsafe(dec.macInfo.actualLen);
    this._macPos = 0;
    this._macSSLName = dec.macInfo.sslName;
    this._macKey = dec.macKey;
    this._macActualLen = dec.macInfo.actualLen;
    this._macETM = dec.macInfo.isETM;
    this._macInstance = null;

    const discardLen = dec.decipherInfo.discardLen;
    if (discardLen) {
      let discard = DISCARD_CACHE.get(discardLen);
      if (discard === undefined) {
        discard = Buffer.alloc(discardLen);
        DISCARD_CACHE.set(discardLen, discard);
      }
      this._decipherInstance.update(discard);
    }
  }
  free() {}
  decrypt(data, p, dataLen) {
    // `data` === encrypted data

    while (p < dataLen) {
      // Read first encrypted block
      if (this._blockPos < this._block.length) {
        const nb = Math.min(this._block.length - this._blockPos, dataLen - p);
        if (p !== 0 || nb !== dataLen || nb < data.length) {
          this._block.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._blockPos
          );
        } else {
          this._block.set(data, this._blockPos);
        }

        p += nb;
        this._blockPos += nb;
        if (this._blockPos < this._block.length)
          return;

        let decrypted;
        let need;
        if (this._macETM) {
          this._len = need = readUInt32BE(this._block, 0);
        } else {
          // Decrypt first block to get packet length
          decrypted = this._decipherInstance.update(this._block);
          this._len = readUInt32BE(decrypted, 0);
          need = 4 + this._len - this._blockSize;
        }

        if (this._len > MAX_PACKET_SIZE
            || this._len < 5
            || (need & (this._blockSize - 1)) !== 0) {
          throw new Error('Bad packet length');
        }

        // Create MAC up front to calculate in parallel with decryption
        this._macInstance = createHmac(this._macSSLName, this._macKey);

        writeUInt32BE(BUF_INT, this.inSeqno, 0);
        this._macInstance.update(BUF_INT);
        if (this._macETM) {
          this._macInstance.update(this._block);
        } else {
          this._macInstance.update(new Uint8Array(decrypted.buffer,
                                                  decrypted.byteOffset,
                                                  4));
          this._pktLen = decrypted.length - 4;
          this._packetPos = this._pktLen;
          this._packet = Buffer.allocUnsafe(this._len);
          this._packet.set(
            new Uint8Array(decrypted.buffer,
                           decrypted.byteOffset + 4,
                           this._packetPos),
            0
          );
        }

        if (p >= dataLen)
          return;
      }

      // Read padding length, payload, and padding
      if (this._pktLen < this._len) {
        const nb = Math.min(this._len - this._pktLen, dataLen - p);
        let encrypted;
        if (p !== 0 || nb !== dataLen)
          encrypted = new Uint8Array(data.buffer, data.byteOffset + p, nb);
        else
          encrypted = data;
        if (this._macETM)
          this._macInstance.update(encrypted);
        const decrypted = this._decipherInstance.update(encrypted);
        if (decrypted.length) {
          if (nb === this._len) {
            this._packet = decrypted;
          } else {
            if (!this._packet)
              this._packet = Buffer.allocUnsafe(this._len);
            this._packet.set(decrypted, this._packetPos);
          }
          this._packetPos += decrypted.length;
        }
        p += nb;
        this._pktLen += nb;
        if (this._pktLen < this._len || p >= dataLen)
          return;
      }

      // Read MAC
      {
        const nb = Math.min(this._macActualLen - this._macPos, dataLen - p);
        if (p !== 0 || nb !== dataLen) {
          this._mac.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._macPos
          );
        } else {
          this._mac.set(data, this._macPos);
        }
        p += nb;
        this._macPos += nb;
        if (this._macPos < this._macActualLen)
          return;
      }

      // Verify MAC
      if (!this._macETM)
        this._macInstance.update(this._packet);
      let calculated = this._macInstance.digest();
      if (this._macActualLen < calculated.length) {
        calculated = new Uint8Array(calculated.buffer,
                                    calculated.byteOffset,
                                    this._macActualLen);
      }
      if (!timingSafeEquals(calculated, this._mac))
        throw new Error('Invalid MAC');

      const payload = new FastBuffer(this._packet.buffer,
                                     this._packet.byteOffset + 1,
                                     this._packet.length - this._packet[0] - 1);

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._blockPos = 0;
      this._len = 0;
      this._packet = null;
      this._packetPos = 0;
      this._pktLen = 0;
      this._macPos = 0;
      this._macInstance = null;

      {
        const ret = this._onPayload(payload);
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
}

class GenericDecipherBinding {
  constructor(config) {
    const dec = config.inbound;
    this.inSeqno = dec.seqno;
    this._onPayload = dec.onPayload;
    this._instance = new GenericDecipher(dec.decipherInfo.sslName,
                                         dec.decipherKey,
                                         dec.decipherIV,
                                         dec.macInfo.sslName,
                                         dec.macKey,
                                         dec.macInfo.isETM,
                                         dec.macInfo.actualLen);
    this._block = Buffer.allocUnsafe(
      dec.macInfo.isETM || dec.decipherInfo.stream
      ? 4
      : dec.decipherInfo.blockLen
    );
    this._blockPos = 0;
    this._len = 0;
    this._packet = null;
    this._pktLen = 0;
    this._mac = Buffer.allocUnsafe(dec.macInfo.actualLen);
    this._macPos = 0;
    this._macActualLen = dec.macInfo.actualLen;
    this._macETM = dec.macInfo.isETM;
  }
  free() {
    this._instance.free();
  }
  decrypt(data, p, dataLen) {
    // `data` === encrypted data

    while (p < dataLen) {
      // Read first encrypted block
      if (this._blockPos < this._block.length) {
        const nb = Math.min(this._block.length - this._blockPos, dataLen - p);
        if (p !== 0 || nb !== dataLen || nb < data.length) {
          this._block.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._blockPos
          );
        } else {
          this._block.set(data, this._blockPos);
        }

        p += nb;
        this._blockPos += nb;
        if (this._blockPos < this._block.length)
          return;

        let need;
        if (this._macETM) {
          this._len = need = readUInt32BE(this._block, 0);
        } else {
          // Decrypt first block to get packet length
          this._instance.decryptBlock(this._block);
          this._len = readUInt32BE(this._block, 0);
          need = 4 + this._len - this._block.length;
        }

        if (this._len > MAX_PACKET_SIZE
            || this._len < 5
            || (need & (this._block.length - 1)) !== 0) {
          throw new Error('Bad packet length');
        }

        if (!this._macETM) {
          this._pktLen = (this._block.length - 4);
          if (this._pktLen) {
            this._packet = Buffer.allocUnsafe(this._len);
            this._packet.set(
              new Uint8Array(this._block.buffer,
                             this._block.byteOffset + 4,
                             this._pktLen),
              0
            );
          }
        }

        if (p >= dataLen)
          return;
      }

      // Read padding length, payload, and padding
      if (this._pktLen < this._len) {
        const nb = Math.min(this._len - this._pktLen, dataLen - p);
        let encrypted;
        if (p !== 0 || nb !== dataLen)
          encrypted = new Uint8Array(data.buffer, data.byteOffset + p, nb);
        else
          encrypted = data;
        if (nb === this._len) {
          this._packet = encrypted;
        } else {
          if (!this._packet)
            this._packet = Buffer.allocUnsafe(this._len);
          this._packet.set(encrypted, this._pktLen);
        }
        p += nb;
        this._pktLen += nb;
        if (this._pktLen < this._len || p >= dataLen)
          return;
      }

      // Read MAC
      {
        const nb = Math.min(this._macActualLen - this._macPos, dataLen - p);
        if (p !== 0 || nb !== dataLen) {
          this._mac.set(
            new Uint8Array(data.buffer, data.byteOffset + p, nb),
            this._macPos
          );
        } else {
          this._mac.set(data, this._macPos);
        }
        p += nb;
        this._macPos += nb;
        if (this._macPos < this._macActualLen)
          return;
      }

      // Decrypt and verify MAC
      this._instance.decrypt(this._packet,
                             this.inSeqno,
                             this._block,
                             this._mac);

      const payload = new FastBuffer(this._packet.buffer,
                                     this._packet.byteOffset + 1,
                                     this._packet.length - this._packet[0] - 1);

      // Prepare for next packet
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._blockPos = 0;
      this._len = 0;
      this._packet = null;
      this._pktLen = 0;
      this._macPos = 0;
      this._macInstance = null;

      {
        const ret = this._onPayload(payload);
        if (ret !== undefined)
          return (ret === false ? p : ret);
      }
    }
  }
}

// Increments unsigned, big endian counter (last 8 bytes) of AES-GCM IV
function ivIncrement(iv) {
  // eslint-disable-next-line no-unused-expressions
  ++iv[11] >>> 8
  && ++iv[10] >>> 8
  && ++iv[9] >>> 8
  && ++iv[8] >>> 8
  && ++iv[7] >>> 8
  && ++iv[6] >>> 8
  && ++iv[5] >>> 8
  && ++iv[4] >>> 8;
}

const intToBytes = (() => {
  const ret = Buffer.alloc(4);
  return (n) => {
    ret[0] = (n >>> 24);
    ret[1] = (n >>> 16);
    ret[2] = (n >>> 8);
    ret[3] = n;
    return ret;
  };
})();

function timingSafeEquals(a, b) {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

function createCipher(config) {
  if (typeof config !== 'object' || config === null)
    throw new Error('Invalid config');

  if (typeof config.outbound !== 'object' || config.outbound === null)
    throw new Error('Invalid outbound');

  const outbound = config.outbound;

  if (typeof outbound.onWrite !== 'function')
    throw new Error('Invalid outbound.onWrite');

  if (typeof outbound.cipherInfo !== 'object' || outbound.cipherInfo === null)
    throw new Error('Invalid outbound.cipherInfo');

  if (!Buffer.isBuffer(outbound.cipherKey)
      || outbound.cipherKey.length !== outbound.cipherInfo.keyLen) {
    throw new Error('Invalid outbound.cipherKey');
  }

  if (outbound.cipherInfo.ivLen
      && (!Buffer.isBuffer(outbound.cipherIV)
          || outbound.cipherIV.length !== outbound.cipherInfo.ivLen)) {
    throw new Error('Invalid outbound.cipherIV');
  }

  if (typeof outbound.seqno !== 'number'
      || outbound.seqno < 0
      || outbound.seqno > MAX_SEQNO) {
    throw new Error('Invalid outbound.seqno');
  }

  const forceNative = !!outbound.forceNative;

  switch (outbound.cipherInfo.sslName) {
    case 'aes-128-gcm':
    case 'aes-256-gcm':
      return (AESGCMCipher && !forceNative
              ? new AESGCMCipherBinding(config)
              : new AESGCMCipherNative(config));
    case 'chacha20':
      // [vendor] binding, else node:crypto's chacha20 (Node), else sodium or noble (Bun)
      if (ChaChaPolyCipher && !forceNative)
        return new ChaChaPolyCipherBinding(config);
      return (NODE_HAS_CHACHA20 && !outbound.forceJS
              ? new ChaChaPolyCipherNative(config)
              : new ChaChaPolyCipherJS(config));
    default: {
      if (typeof outbound.macInfo !== 'object' || outbound.macInfo === null)
        throw new Error('Invalid outbound.macInfo');
      if (!Buffer.isBuffer(outbound.macKey)
          || outbound.macKey.length !== outbound.macInfo.len) {
        throw new Error('Invalid outbound.macKey');
      }
      return (GenericCipher && !forceNative
              ? new GenericCipherBinding(config)
              : new GenericCipherNative(config));
    }
  }
}

function createDecipher(config) {
  if (typeof config !== 'object' || config === null)
    throw new Error('Invalid config');

  if (typeof config.inbound !== 'object' || config.inbound === null)
    throw new Error('Invalid inbound');

  const inbound = config.inbound;

  if (typeof inbound.onPayload !== 'function')
    throw new Error('Invalid inbound.onPayload');

  if (typeof inbound.decipherInfo !== 'object'
      || inbound.decipherInfo === null) {
    throw new Error('Invalid inbound.decipherInfo');
  }

  if (!Buffer.isBuffer(inbound.decipherKey)
      || inbound.decipherKey.length !== inbound.decipherInfo.keyLen) {
    throw new Error('Invalid inbound.decipherKey');
  }

  if (inbound.decipherInfo.ivLen
      && (!Buffer.isBuffer(inbound.decipherIV)
          || inbound.decipherIV.length !== inbound.decipherInfo.ivLen)) {
    throw new Error('Invalid inbound.decipherIV');
  }

  if (typeof inbound.seqno !== 'number'
      || inbound.seqno < 0
      || inbound.seqno > MAX_SEQNO) {
    throw new Error('Invalid inbound.seqno');
  }

  const forceNative = !!inbound.forceNative;

  switch (inbound.decipherInfo.sslName) {
    case 'aes-128-gcm':
    case 'aes-256-gcm':
      return (AESGCMDecipher && !forceNative
              ? new AESGCMDecipherBinding(config)
              : new AESGCMDecipherNative(config));
    case 'chacha20':
      // [vendor] binding, else node:crypto's chacha20 (Node), else JS (Bun)
      if (ChaChaPolyDecipher && !forceNative)
        return new ChaChaPolyDecipherBinding(config);
      return (NODE_HAS_CHACHA20 && !inbound.forceJS
              ? new ChaChaPolyDecipherNative(config)
              : new ChaChaPolyDecipherJS(config));
    default: {
      if (typeof inbound.macInfo !== 'object' || inbound.macInfo === null)
        throw new Error('Invalid inbound.macInfo');
      if (!Buffer.isBuffer(inbound.macKey)
          || inbound.macKey.length !== inbound.macInfo.len) {
        throw new Error('Invalid inbound.macKey');
      }
      return (GenericDecipher && !forceNative
              ? new GenericDecipherBinding(config)
              : new GenericDecipherNative(config));
    }
  }
}

module.exports = {
  CIPHER_INFO,
  MAC_INFO,
  bindingAvailable: !!binding,
  // [vendor] chacha20-poly1305@openssh.com can be offered (see createCipher()), and by what
  chachaAvailable: CHACHA_IMPL !== null,
  chachaImplementation: CHACHA_IMPL,
  init: (() => {
    // eslint-disable-next-line no-async-promise-executor
    return new Promise(async (resolve, reject) => {
      try {
        POLY1305_WASM_MODULE = await require('./crypto/poly1305.js')();
        POLY1305_RESULT_MALLOC = POLY1305_WASM_MODULE._malloc(16);
        poly1305_auth = POLY1305_WASM_MODULE.cwrap(
          'poly1305_auth',
          null,
          ['number', 'array', 'number', 'array', 'number', 'array']
        );
      } catch (ex) {
        return reject(ex);
      }
      resolve();
    });
  })(),

  NullCipher,
  createCipher,
  NullDecipher,
  createDecipher,
  freeBuffer, // [vendor]

  // [vendor] For the project's unit tests
  chachaBackend,
  ChaChaPolyCipherJS,
  ChaChaPolyDecipherJS,
};
