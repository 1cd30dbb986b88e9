// Unix crypt(3) password schemes that SFTPGo accepts for users migrated from
// /etc/shadow or htpasswd files: SHA-512-crypt ($6$), SHA-256-crypt ($5$),
// MD5-crypt ($1$) and Apache's MD5 variant ($apr1$). Verification only needs
// `cryptRecompute`, which rebuilds the full crypt string from a password and the
// stored setting (magic, rounds, salt) exactly as crypt(3) would; the caller
// compares that with the stored string in constant time.
//
// References: Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512"
// (https://www.akkadia.org/drepper/SHA-crypt.txt) and Poul-Henning Kamp's
// md5crypt (FreeBSD lib/libcrypt/crypt-md5.c; Apache apr_md5.c for $apr1$).

import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

// crypt's own base64 alphabet: not RFC 4648, and the digest is emitted
// little-endian in 24-bit groups.
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export type CryptScheme = 'sha512crypt' | 'sha256crypt' | 'md5crypt' | 'apr1';

/** The setting part (everything before the digest) of a stored crypt string. */
export interface CryptSetting {
  scheme: CryptScheme;
  /** Set only when the stored string carries an explicit `rounds=N$`. */
  rounds?: number;
  salt: Buffer;
}

const SHA_ROUNDS_DEFAULT = 5000;
const SHA_ROUNDS_MIN = 1000;
const SHA_ROUNDS_MAX = 999_999_999;
const SHA_SALT_MAX = 16;
const MD5_SALT_MAX = 8;

const MAGIC: Record<CryptScheme, string> = {
  sha512crypt: '$6$',
  sha256crypt: '$5$',
  md5crypt: '$1$',
  apr1: '$apr1$',
};
const DIGEST_CHARS: Record<CryptScheme, number> = { sha512crypt: 86, sha256crypt: 43, md5crypt: 22, apr1: 22 };
const DIGEST_RE = /^[./0-9A-Za-z]+$/;

/**
 * Parse a stored crypt string. Returns undefined unless it is exactly what a
 * conforming crypt(3) could have produced: known magic, canonical in-range
 * `rounds=` (sha-crypt only), salt within the length limit, digest of the
 * right length and alphabet. Anything else can never verify, so callers treat
 * it as garbage rather than as a hash.
 */
export function parseCrypt(stored: string): CryptSetting | undefined {
  let scheme: CryptScheme | undefined;
  for (const s of ['sha512crypt', 'sha256crypt', 'md5crypt', 'apr1'] as const) {
    if (stored.startsWith(MAGIC[s])) scheme = s;
  }
  if (scheme === undefined) return undefined;
  let rest = stored.slice(MAGIC[scheme].length);
  let rounds: number | undefined;
  const isSha = scheme === 'sha512crypt' || scheme === 'sha256crypt';
  if (isSha && rest.startsWith('rounds=')) {
    const m = /^rounds=([1-9][0-9]{0,8})\$/.exec(rest);
    if (!m) return undefined;
    rounds = Number(m[1]);
    // crypt clamps out-of-range values and then prints the clamped value, so a
    // stored "rounds=10" could never have come out of it.
    if (rounds < SHA_ROUNDS_MIN || rounds > SHA_ROUNDS_MAX) return undefined;
    rest = rest.slice(m[0].length);
  }
  const dollar = rest.indexOf('$');
  if (dollar < 0) return undefined;
  const saltText = rest.slice(0, dollar);
  const digest = rest.slice(dollar + 1);
  const salt = Buffer.from(saltText, 'utf8');
  if (salt.length > (isSha ? SHA_SALT_MAX : MD5_SALT_MAX)) return undefined;
  if (digest.length !== DIGEST_CHARS[scheme] || !DIGEST_RE.test(digest)) return undefined;
  return rounds === undefined ? { scheme, salt } : { scheme, rounds, salt };
}

/** Recompute the full crypt string for `password` under a parsed setting. */
export function cryptRecompute(password: Buffer, setting: CryptSetting): Buffer {
  switch (setting.scheme) {
    case 'sha512crypt':
      return shaCrypt('sha512', password, setting);
    case 'sha256crypt':
      return shaCrypt('sha256', password, setting);
    case 'md5crypt':
    case 'apr1':
      return md5Crypt(password, setting);
  }
}

function digest(alg: string, ...parts: Buffer[]): Buffer {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `len` bytes made of `block` repeated (Drepper steps 16 and 20). */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let off = 0; off < len; off += block.length) block.copy(out, off, 0, Math.min(block.length, len - off));
  return out;
}

type Group = readonly [b2: number, b1: number, b0: number, chars: number];

/** Drepper's b64_from_24bit over byte-index groups; index -1 stands for a zero byte. */
function encode24(bytes: Buffer, groups: readonly Group[]): string {
  const at = (i: number): number => (i < 0 ? 0 : bytes[i]!);
  let out = '';
  for (const [b2, b1, b0, chars] of groups) {
    let w = (at(b2) << 16) | (at(b1) << 8) | at(b0);
    for (let n = chars; n > 0; n--) {
      out += ITOA64[w & 0x3f];
      w >>>= 6;
    }
  }
  return out;
}

// Output permutations from the specifications; -1 marks "no byte" (zero).
const SHA256_ORDER: readonly Group[] = [
  [0, 10, 20, 4], [21, 1, 11, 4], [12, 22, 2, 4], [3, 13, 23, 4], [24, 4, 14, 4],
  [15, 25, 5, 4], [6, 16, 26, 4], [27, 7, 17, 4], [18, 28, 8, 4], [9, 19, 29, 4], [-1, 31, 30, 3],
];
const SHA512_ORDER: readonly Group[] = [
  [0, 21, 42, 4], [22, 43, 1, 4], [44, 2, 23, 4], [3, 24, 45, 4], [25, 46, 4, 4], [47, 5, 26, 4],
  [6, 27, 48, 4], [28, 49, 7, 4], [50, 8, 29, 4], [9, 30, 51, 4], [31, 52, 10, 4], [53, 11, 32, 4],
  [12, 33, 54, 4], [34, 55, 13, 4], [56, 14, 35, 4], [15, 36, 57, 4], [37, 58, 16, 4], [59, 17, 38, 4],
  [18, 39, 60, 4], [40, 61, 19, 4], [62, 20, 41, 4], [-1, -1, 63, 2],
];
const MD5_ORDER: readonly Group[] = [
  [0, 6, 12, 4], [1, 7, 13, 4], [2, 8, 14, 4], [3, 9, 15, 4], [4, 10, 5, 4], [-1, -1, 11, 2],
];

function shaCrypt(alg: 'sha256' | 'sha512', key: Buffer, setting: CryptSetting): Buffer {
  const salt = setting.salt.subarray(0, SHA_SALT_MAX);
  const rounds = setting.rounds ?? SHA_ROUNDS_DEFAULT;

  // Steps 4-8: B = H(key salt key).
  const b = digest(alg, key, salt, key);
  // Steps 1-3, 9-12: A = H(key salt B-bytes-for-each-key-byte, then per bit of len(key)).
  const a = createHash(alg).update(key).update(salt);
  a.update(repeatTo(b, key.length));
  for (let n = key.length; n > 0; n >>= 1) a.update(n & 1 ? b : key);
  let c = a.digest();
  // Steps 13-16: P = H(key repeated len(key) times) stretched to len(key).
  const dp = createHash(alg);
  for (let i = 0; i < key.length; i++) dp.update(key);
  const p = repeatTo(dp.digest(), key.length);
  // Steps 17-20: S = H(salt repeated 16 + A[0] times) stretched to len(salt).
  const ds = createHash(alg);
  for (let i = 0; i < 16 + c[0]!; i++) ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length);
  // Step 21: the deliberately slow loop.
  for (let i = 0; i < rounds; i++) {
    const h = createHash(alg);
    h.update(i & 1 ? p : c);
    if (i % 3 !== 0) h.update(s);
    if (i % 7 !== 0) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }
  const prefix = MAGIC[alg === 'sha512' ? 'sha512crypt' : 'sha256crypt'] + (setting.rounds !== undefined ? `rounds=${rounds}$` : '');
  const tail = encode24(c, alg === 'sha512' ? SHA512_ORDER : SHA256_ORDER);
  return Buffer.concat([Buffer.from(prefix), salt, Buffer.from('$' + tail)]);
}

function md5Crypt(key: Buffer, setting: CryptSetting): Buffer {
  const magic = Buffer.from(MAGIC[setting.scheme]);
  const salt = setting.salt.subarray(0, MD5_SALT_MAX);
  let fin = digest('md5', key, salt, key);
  const ctx = createHash('md5').update(key).update(magic).update(salt);
  ctx.update(repeatTo(fin, key.length));
  // The classic quirk: per bit of len(key), one byte of the (zeroed) final
  // buffer for set bits, the first key byte for clear bits.
  const first = Buffer.from([key.length > 0 ? key[0]! : 0]);
  for (let n = key.length; n > 0; n >>= 1) ctx.update(n & 1 ? Buffer.alloc(1) : first);
  fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const h = createHash('md5');
    h.update(i & 1 ? key : fin);
    if (i % 3 !== 0) h.update(salt);
    if (i % 7 !== 0) h.update(key);
    h.update(i & 1 ? fin : key);
    fin = h.digest();
  }
  return Buffer.concat([magic, salt, Buffer.from('$' + encode24(fin, MD5_ORDER))]);
}
