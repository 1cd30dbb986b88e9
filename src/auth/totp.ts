// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): SHA-1, 6 digits, 30 s steps, one
// step of clock drift either way, as SFTPGo and authenticator apps use them. The per-user secret is
// `filters.totp_config.secret` (a Secret: literal, env or file reference; base32 text). A code
// accepted once is refused again for as long as it could still be valid (replay).
import { createHmac } from 'node:crypto';
import type { SecretBox } from '../config/sealed.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { Secret } from '../config/schema-types.ts';
import type { UserRecord } from '../model.ts';
import type { LoginProtocol } from './login.ts';
import { META, type Store } from '../store/store.ts';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps of clock drift accepted on each side of the current one. */
export const TOTP_WINDOW = 1;

/** Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored); undefined if invalid. */
export function base32Decode(text: string): Buffer | undefined {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const i = alphabet.indexOf(ch);
    if (i < 0) return undefined;
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out.length > 0 ? Buffer.from(out) : undefined;
}

/** RFC 4648 base32 without padding, as authenticator apps take a secret. */
export function base32Encode(data: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** RFC 4226 HOTP value for `counter`, as a zero-padded decimal string. */
export function hotp(key: Buffer, counter: number, digits = TOTP_DIGITS, algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return bin.toString().padStart(digits, '0');
}

/** The TOTP step number at `unixSeconds`. */
export function totpStep(unixSeconds: number): number {
  return Math.floor(unixSeconds / TOTP_STEP_SECONDS);
}

/** The step within the window whose code is `code`, or undefined. */
export function matchingStep(key: Buffer, code: string, unixSeconds: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = totpStep(unixSeconds);
  for (let d = -TOTP_WINDOW; d <= TOTP_WINDOW; d++) if (constantEqual(hotp(key, now + d), code)) return now + d;
  return undefined;
}

function constantEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** True when `user` must give a TOTP code to log in over `protocol`. */
export function totpRequired(user: UserRecord, protocol: LoginProtocol): boolean {
  const t = user.filters?.totp_config;
  // Enabled without a secret still requires a code (which then never matches): a missing secret
  // must not silently turn the second factor off.
  if (!t?.enabled) return false;
  const p = protocol === 'DAV' ? 'HTTP' : protocol;
  return (t.protocols ?? []).includes(p as 'SSH' | 'FTP' | 'HTTP');
}

/** Whose code: a user's and an admin's of the same name are kept apart. */
export type TotpAccountKind = 'user' | 'admin';

export interface TotpAttempt {
  kind?: TotpAccountKind;
  account: string;
  secret: unknown;
  code: string;
  secrets: SecretBox;
  nowMs?: number;
}

/**
 * Accepted codes, so that each is good once: the last step accepted per account, in memory. When
 * servers share the store, the step is also claimed in it (one meta key per account, compared and
 * set in one write), so a code accepted by one replica is refused by every other.
 */
export class TotpCodes {
  readonly #lastUsedStep = new Map<string, number>();
  readonly #store: Pick<Store, 'shared' | 'write'> | undefined;

  constructor(store?: Pick<Store, 'shared' | 'write'>) {
    this.#store = store?.shared ? store : undefined;
  }

  /**
   * Checks `code` against the user's secret; why it was refused, or undefined when accepted.
   * An accepted code's step is remembered, so the same (or an earlier) code is refused afterwards.
   * A sealed secret opens with `secrets`, the data directory's key. This server's memory only:
   * logins use `use`, which also claims the step in a shared store.
   */
  check(user: UserRecord, code: string, secrets: SecretBox, nowMs = Date.now()): string | undefined {
    const r = this.#checkLocal({ account: user.username, secret: user.filters?.totp_config?.secret, code, secrets, nowMs });
    return 'reason' in r ? r.reason : undefined;
  }

  /** `check`, then the step claimed in a shared store: a code another replica accepted is replayed. */
  use(user: UserRecord, code: string, secrets: SecretBox, nowMs = Date.now()): Promise<string | undefined> {
    return this.useSecret({ kind: 'user', account: user.username, secret: user.filters?.totp_config?.secret, code, secrets, nowMs });
  }

  /** Checks `code` against `secret` (a Secret as stored) for the account, and claims its step. */
  async useSecret(o: TotpAttempt): Promise<string | undefined> {
    const r = this.#checkLocal(o);
    if ('reason' in r) return r.reason;
    const store = this.#store;
    if (!store) return undefined;
    const key = META.totpStep(o.kind ?? 'user', o.account);
    const claimed = await store.write(async (tx) => {
      const last = (await tx.get('meta', key)) as number | undefined;
      if (last !== undefined && r.step <= last) return false;
      await tx.put('meta', key, r.step);
      return true;
    });
    return claimed ? undefined : 'totp_replayed';
  }

  #checkLocal(o: TotpAttempt): { reason: string } | { step: number } {
    const nowMs = o.nowMs ?? Date.now();
    if (o.secret === undefined) return { reason: 'totp_not_configured' };
    let key: Buffer | undefined;
    try {
      const text = resolveSecret(o.secret as Secret, process.cwd(), o.secrets);
      key = text === undefined ? undefined : base32Decode(text);
    } catch {
      key = undefined;
    }
    if (!key) return { reason: 'totp_secret_invalid' };
    const step = matchingStep(key, o.code.trim(), nowMs / 1000);
    if (step === undefined) return { reason: 'totp_invalid' };
    const used = this.#lastUsedStep;
    const account = `${o.kind ?? 'user'}\u0000${o.account}`;
    const last = used.get(account);
    if (last !== undefined && step <= last) return { reason: 'totp_replayed' };
    used.set(account, step);
    // Forget entries that can no longer block anything, so the map stays small.
    if (used.size > 10_000) {
      const oldest = totpStep(nowMs / 1000) - TOTP_WINDOW - 1;
      for (const [u, s] of used) if (s < oldest) used.delete(u);
    }
    return { step };
  }
}

/**
 * For protocols with a single password field (FTP): SFTPGo's convention is the password with the
 * current code appended. Splits `given` into the two when the user needs a code over `protocol`.
 */
export function splitPasswordAndCode(user: UserRecord, protocol: LoginProtocol, given: string): { password: string; code?: string } {
  if (!totpRequired(user, protocol)) return { password: given };
  if (given.length <= TOTP_DIGITS) return { password: '', code: given };
  return { password: given.slice(0, -TOTP_DIGITS), code: given.slice(-TOTP_DIGITS) };
}
