// Literal secrets at rest. A secret written as a literal (in the YAML, an API body or a hook's
// answer) is stored sealed: AES-256-GCM under a key kept in <data_dir>/secrets.key, beside the
// store and never in it, so a copied store file or a dump alone does not give the secrets away.
// References ({env}, {file}) stay references: they name where the secret lives, not the secret.
//
// Sealing is deterministic: the nonce is an HMAC of the clear value, so the same secret under the
// same key always seals to the same text and `plan` sees an unchanged secret as unchanged. A nonce
// repeats only for the same clear value, which GCM tolerates (it reveals only that two sealed
// values are equal).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../errors.ts';

const PREFIX = 'v1:';
const AAD = Buffer.from('sftpgo-ts sealed secret v1');
export const SECRETS_KEY_FILE = 'secrets.key';

function derive(master: Buffer, label: string): Buffer {
  return createHmac('sha256', master).update(label).digest();
}

/**
 * The data directory's secrets key: seals and opens literal secrets. Without a key (a dry run, or
 * a read-only open of a data dir that never had one) seal() keeps the clear value and unseal()
 * refuses.
 */
export class SecretBox {
  readonly #enc: Buffer | undefined;
  readonly #nonce: Buffer | undefined;

  constructor(master: Buffer | undefined) {
    this.#enc = master && derive(master, 'encrypt');
    this.#nonce = master && derive(master, 'nonce');
  }

  get hasKey(): boolean {
    return this.#enc !== undefined;
  }

  /** The sealed form of `clear`; the clear value itself when there is no key. */
  seal(clear: string): { sealed: string } | string {
    if (!this.#enc || !this.#nonce) return clear;
    const nonce = createHmac('sha256', this.#nonce).update(clear).digest().subarray(0, 12);
    const c = createCipheriv('aes-256-gcm', this.#enc, nonce);
    c.setAAD(AAD);
    const body = Buffer.concat([c.update(clear, 'utf8'), c.final()]);
    return { sealed: PREFIX + Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64url') };
  }

  unseal(sealed: string): string {
    if (!this.#enc) throw new AppError('config', 'a sealed secret needs the data directory\'s secrets.key, which is not loaded');
    const raw = sealed.startsWith(PREFIX) ? Buffer.from(sealed.slice(PREFIX.length), 'base64url') : Buffer.alloc(0);
    if (raw.length < 12 + 16) throw new AppError('config', 'a sealed secret is malformed');
    try {
      const d = createDecipheriv('aes-256-gcm', this.#enc, raw.subarray(0, 12));
      d.setAAD(AAD);
      d.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
    } catch {
      throw new AppError('config', `a sealed secret does not open with this data directory's ${SECRETS_KEY_FILE} (was it sealed with another one?)`);
    }
  }
}

/** A box without a key: for code that never meets a sealed value (validation, dry runs). */
export const NO_SECRETS = new SecretBox(undefined);

/**
 * Reads <dataDir>/secrets.key (32 random bytes, base64), creating it (mode 0600) when `create` is
 * set and it is missing. undefined when it is missing and may not be created.
 */
export function loadSecretsKey(dataDir: string, create: boolean): Buffer | undefined {
  const path = join(dataDir, SECRETS_KEY_FILE);
  if (!existsSync(path)) {
    if (!create) return undefined;
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new AppError('config', `${path} does not hold a 32-byte base64 key`);
  return key;
}

export function isSealed(value: unknown): value is { sealed: string } {
  return typeof value === 'object' && value !== null && typeof (value as { sealed?: unknown }).sealed === 'string';
}
