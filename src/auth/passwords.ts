// Password hashing and verification in the formats SFTPGo stores and accepts
// (bcrypt, argon2id, pbkdf2, unix crypt), plus the keyed digest reconcile uses
// to notice that a clear password in the config has not changed.
import { Buffer } from 'node:buffer';
import { createHmac, pbkdf2 as pbkdf2Callback, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { argon2id, bcrypt } from 'hash-wasm';
import { cryptRecompute, parseCrypt, type CryptSetting } from './crypt.ts';

export type PasswordHashKind = 'bcrypt' | 'argon2id' | 'pbkdf2' | 'sha512crypt' | 'sha256crypt' | 'md5crypt' | 'apr1';

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export interface HashPasswordOptions {
  /** Defaults to bcrypt, SFTPGo's default `password_hashing.algo`. */
  algo?: 'bcrypt' | 'argon2id';
  /** Defaults to 10, SFTPGo's default `bcrypt_options.cost`. */
  bcryptCost?: number;
  /** Defaults to SFTPGo's `argon2_options`: m=65536, t=1, p=2. */
  argon2?: Argon2Params;
}

const DEFAULT_BCRYPT_COST = 10;
const DEFAULT_ARGON2: Argon2Params = { memoryKiB: 65536, iterations: 1, parallelism: 2 };
// Salt and key sizes of github.com/alexedwards/argon2id, which SFTPGo uses.
const ARGON2_SALT_BYTES = 16;
const ARGON2_KEY_BYTES = 32;
// bcrypt only ever reads the first 72 key bytes (18 32-bit Blowfish subkeys).
const BCRYPT_MAX_KEY_BYTES = 72;
// The whole 32-bit WASM address space; anything larger cannot be computed here.
const ARGON2_MAX_MEMORY_KIB = 4 * 1024 * 1024;
const INT32_MAX = 2 ** 31 - 1;
const PBKDF2_MIN_KEY_BYTES = 16;

const pbkdf2 = promisify(pbkdf2Callback);

type ParsedHash =
  | { kind: 'bcrypt'; cost: number; salt: Buffer; digest: string }
  | { kind: 'argon2id'; params: Argon2Params; salt: Buffer; key: Buffer }
  | { kind: 'pbkdf2'; digest: 'sha1' | 'sha256' | 'sha512'; iterations: number; salt: Buffer; key: Buffer }
  | { kind: CryptSetting['scheme']; setting: CryptSetting };

/**
 * Hash a clear password for storage. Throws (RangeError) on misuse: an empty
 * password, out-of-range parameters, or a password bcrypt cannot represent
 * (more than 72 UTF-8 bytes, which SFTPGo's Go bcrypt also refuses to hash).
 */
export async function hashPassword(clear: string, opts: HashPasswordOptions = {}): Promise<string> {
  if (typeof clear !== 'string' || clear.length === 0) throw new RangeError('password must be a non-empty string');
  const password = Buffer.from(clear, 'utf8');
  const algo = opts.algo ?? 'bcrypt';
  if (algo === 'bcrypt') {
    const cost = opts.bcryptCost ?? DEFAULT_BCRYPT_COST;
    if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new RangeError(`bcrypt cost must be an integer in 4..31, got ${cost}`);
    if (password.length > BCRYPT_MAX_KEY_BYTES) {
      throw new RangeError(`bcrypt passwords are limited to ${BCRYPT_MAX_KEY_BYTES} bytes (this one is ${password.length})`);
    }
    // hash-wasm emits the "$2a$" form, the prefix SFTPGo writes and recognises.
    return bcrypt({ password, salt: randomBytes(16), costFactor: cost, outputType: 'encoded' });
  }
  if (algo === 'argon2id') {
    const p = opts.argon2 ?? DEFAULT_ARGON2;
    if (!validArgon2Params(p)) throw new RangeError(`invalid argon2id parameters ${JSON.stringify(p)}`);
    return argon2id({
      password,
      salt: randomBytes(ARGON2_SALT_BYTES),
      memorySize: p.memoryKiB,
      iterations: p.iterations,
      parallelism: p.parallelism,
      hashLength: ARGON2_KEY_BYTES,
      outputType: 'encoded',
    });
  }
  throw new RangeError(`unknown password hashing algorithm ${String(algo)}`);
}

/**
 * Check a clear password against a stored hash. Never throws: an unknown,
 * garbled or truncated stored value, or a failure inside a hash function, is
 * simply "no match". An empty or whitespace-only password never matches, as in
 * SFTPGo, which refuses such credentials before looking at the hash.
 */
export async function verifyPassword(clear: string, stored: string): Promise<boolean> {
  if (typeof clear !== 'string' || clear.trim() === '' || typeof stored !== 'string') return false;
  const parsed = parseHash(stored);
  if (parsed === undefined) return false;
  const password = Buffer.from(clear, 'utf8');
  try {
    switch (parsed.kind) {
      case 'bcrypt': {
        // Go's CompareHashAndPassword (like crypt_blowfish) ignores bytes past
        // 72, so a longer password must still match its truncated hash.
        const out = await bcrypt({
          password: password.subarray(0, BCRYPT_MAX_KEY_BYTES),
          salt: parsed.salt,
          costFactor: parsed.cost,
          outputType: 'encoded',
        });
        // Compare only the digest part: the salt is ours already, and its last
        // character may carry non-canonical padding bits that re-encode differently.
        return constantTimeEqual(Buffer.from(out.slice(-31)), Buffer.from(parsed.digest));
      }
      case 'argon2id': {
        const key = await argon2id({
          password,
          salt: parsed.salt,
          memorySize: parsed.params.memoryKiB,
          iterations: parsed.params.iterations,
          parallelism: parsed.params.parallelism,
          hashLength: parsed.key.length,
          outputType: 'binary',
        });
        return constantTimeEqual(Buffer.from(key), parsed.key);
      }
      case 'pbkdf2': {
        // Async so the derivation runs on the libuv pool rather than the event loop.
        const key = await pbkdf2(password, parsed.salt, parsed.iterations, parsed.key.length, parsed.digest);
        return constantTimeEqual(key, parsed.key);
      }
      default:
        // crypt(3) verification: recompute the whole string and compare.
        return constantTimeEqual(cryptRecompute(password, parsed.setting), Buffer.from(stored, 'utf8'));
    }
  } catch {
    return false;
  }
}

/** Which supported format a stored value is in, or undefined if it is none of them (or malformed). */
export function describeHash(stored: string): { kind: PasswordHashKind } | undefined {
  const parsed = typeof stored === 'string' ? parseHash(stored) : undefined;
  return parsed === undefined ? undefined : { kind: parsed.kind };
}

/**
 * True when `value` is a well-formed hash this module can verify. Config
 * loading stores such values as they are and hashes anything else.
 */
export function isPasswordHash(value: string): boolean {
  // A bcrypt hash parses whenever it matches the pattern: skip decoding its salt (a config may
  // hold 10,000 of them, each checked at every start).
  if (typeof value === 'string' && value.startsWith('$2')) return BCRYPT_RE.test(value);
  return describeHash(value) !== undefined;
}

// Every prefix SFTPGo treats as "already hashed", including formats we cannot
// verify ({MD5}/{SHA256}/{SHA512} digests, yescrypt, legacy bcrypt variants).
const SFTPGO_HASH_PREFIXES = [
  '$2a$', '$2b$', '$2y$', '$2x$', '$2$', '$argon2id$',
  '$pbkdf2-sha1$', '$pbkdf2-sha256$', '$pbkdf2-sha512$', '$pbkdf2-b64salt-sha256$',
  '$1$', '$apr1$', '$5$', '$6$', '$y$', '{MD5}', '{SHA256}', '{SHA512}',
];

/**
 * True when `value` starts like a hash SFTPGo would store verbatim. With
 * `isPasswordHash` this lets config loading reject a value that was meant as a
 * hash but is malformed or unsupported, instead of silently hashing it as if
 * it were the clear password.
 */
export function hasKnownHashPrefix(value: string): boolean {
  return typeof value === 'string' && SFTPGO_HASH_PREFIXES.some((p) => value.startsWith(p));
}

/**
 * Keyed digest of a clear password: HMAC-SHA256 under a per-store secret,
 * base64url without padding.
 *
 * Why: a config may carry thousands of clear passwords, and reconcile runs at
 * every start. Re-hashing each one (bcrypt cost 10 is ~65 ms here; 10,000 users
 * would be over ten minutes of CPU) just to find out nothing changed is not
 * acceptable, and comparing against the stored bcrypt hash costs the same.
 * Storing this digest next to the hash lets reconcile tell "same password as
 * last time" with one HMAC. It is keyed, and the key lives only in the store,
 * so a leaked record does not give an offline-guessable fast hash of the password.
 * Reconcile should still re-hash when the configured algorithm or cost differs
 * from `describeHash` of the stored hash.
 */
export function passwordDigest(clear: string, key: Uint8Array): string {
  if (!(key instanceof Uint8Array) || key.length < 16) throw new RangeError('password digest key must be at least 16 bytes');
  return createHmac('sha256', key).update(clear, 'utf8').digest('base64url');
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  // Lengths come from the stored hash's format, not from the secret, so an
  // early exit on a length mismatch leaks nothing.
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

function validArgon2Params(p: Argon2Params): boolean {
  return (
    Number.isInteger(p.iterations) && p.iterations >= 1 && p.iterations <= 0xffffffff &&
    // alexedwards/argon2id keeps parallelism in a uint8.
    Number.isInteger(p.parallelism) && p.parallelism >= 1 && p.parallelism <= 255 &&
    Number.isInteger(p.memoryKiB) && p.memoryKiB >= 8 * p.parallelism && p.memoryKiB <= ARGON2_MAX_MEMORY_KIB
  );
}

const BCRYPT_RE = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const STD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ARGON2ID_RE = /^\$argon2id\$v=19\$m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
// RFC 4648 base64 with mandatory padding, as Go's base64.StdEncoding decodes it.
const STD_B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PBKDF2_DIGESTS: Record<string, { digest: 'sha1' | 'sha256' | 'sha512'; b64salt: boolean }> = {
  'pbkdf2-sha1': { digest: 'sha1', b64salt: false },
  'pbkdf2-sha256': { digest: 'sha256', b64salt: false },
  'pbkdf2-sha512': { digest: 'sha512', b64salt: false },
  'pbkdf2-b64salt-sha256': { digest: 'sha256', b64salt: true },
};

function parseHash(stored: string): ParsedHash | undefined {
  if (stored.startsWith('$2')) return parseBcrypt(stored);
  if (stored.startsWith('$argon2id$')) return parseArgon2id(stored);
  if (stored.startsWith('$pbkdf2-')) return parsePbkdf2(stored);
  const setting = parseCrypt(stored);
  return setting === undefined ? undefined : { kind: setting.scheme, setting };
}

function parseBcrypt(stored: string): ParsedHash | undefined {
  // $2x$ (crypt_blowfish's emulation of its own sign-extension bug) and the
  // pre-1999 "$2$" are deliberately not accepted.
  const m = BCRYPT_RE.exec(stored);
  if (!m) return undefined;
  const std = Array.from(m[2]!, (c) => STD_ALPHABET[BCRYPT_ALPHABET.indexOf(c)]).join('');
  // 22 characters carry 132 bits; the salt is the first 128.
  const salt = Buffer.from(std, 'base64').subarray(0, 16);
  return { kind: 'bcrypt', cost: Number(m[1]), salt, digest: m[3]! };
}

function parseArgon2id(stored: string): ParsedHash | undefined {
  // The layout github.com/alexedwards/argon2id requires: version 19 only,
  // parameters in m,t,p order, unpadded standard base64 for salt and key.
  const m = ARGON2ID_RE.exec(stored);
  if (!m) return undefined;
  const params: Argon2Params = { memoryKiB: Number(m[1]), iterations: Number(m[2]), parallelism: Number(m[3]) };
  const salt = decodeRawBase64(m[4]!);
  const key = decodeRawBase64(m[5]!);
  if (!validArgon2Params(params) || !salt || !key) return undefined;
  // Minimums of the Argon2 reference implementation (and of hash-wasm).
  if (salt.length < 8 || key.length < 4) return undefined;
  return { kind: 'argon2id', params, salt, key };
}

/** Unpadded base64 with canonical trailing bits (Go's RawStdEncoding.Strict()). */
function decodeRawBase64(text: string): Buffer | undefined {
  if (text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes : undefined;
}

function parsePbkdf2(stored: string): ParsedHash | undefined {
  // SFTPGo: "$<algo>$<iterations>$<salt>$<base64 std of the derived key>"; the
  // key length is whatever the stored key decodes to (not fixed per digest).
  const parts = stored.split('$');
  if (parts.length !== 5) return undefined;
  const [, algo, iter, saltText, keyText] = parts as [string, string, string, string, string];
  const variant = PBKDF2_DIGESTS[algo];
  if (variant === undefined || !/^[1-9][0-9]{0,9}$/.test(iter)) return undefined;
  const iterations = Number(iter);
  if (iterations > INT32_MAX) return undefined;
  if (!STD_B64_RE.test(keyText)) return undefined;
  let salt: Buffer;
  if (variant.b64salt) {
    if (!STD_B64_RE.test(saltText)) return undefined;
    salt = Buffer.from(saltText, 'base64');
  } else {
    salt = Buffer.from(saltText, 'utf8');
  }
  const key = Buffer.from(keyText, 'base64');
  // Stricter than SFTPGo on purpose: PBKDF2 output is a prefix-stable stream,
  // so a cut-down key still matches the right password while getting ever
  // easier to hit by chance; an empty one matches every password (SFTPGo's
  // compare of two empty slices succeeds). No real tool emits under 16 bytes.
  if (key.length < PBKDF2_MIN_KEY_BYTES) return undefined;
  return { kind: 'pbkdf2', digest: variant.digest, iterations, salt, key };
}
