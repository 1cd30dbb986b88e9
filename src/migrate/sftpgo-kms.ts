// Opens the secrets of an SFTPGo backup: the `{status, payload, key, additional_data, mode}` objects
// SFTPGo writes for S3 keys, SFTP passwords, TOTP secrets and the like. Two of its formats carry
// their own key and open from the dump alone: the builtin `AES-256-GCM` and the local `Secretbox`
// in mode 0. A mode-1 `Secretbox` was sealed with SFTPGo's configured master key
// (`kms.secrets.master_key`) and opens when that key is given; secrets held by a cloud KMS (GCP,
// AWS, Vault, Azure Key Vault) never open here.
import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';

/** A secret as SFTPGo's JSON carries it. */
export interface SftpgoSecret {
  status?: string;
  payload?: string;
  key?: string;
  additional_data?: string;
  mode?: number;
}

export interface OpenOptions {
  /** SFTPGo's `kms.secrets.master_key` (or the trimmed content of its `master_key_path`): opens mode-1 Secretbox secrets. */
  masterKey?: string;
}

/** The clear value, or why it cannot be had; `value` undefined means the secret is empty. */
export type Opened = { ok: true; value: string | undefined } | { ok: false; reason: string };

const CLOUD_KMS: Record<string, string> = { GCP: 'Google Cloud KMS', AWS: 'AWS KMS', VaultTransit: 'HashiCorp Vault transit', AzureKeyVault: 'Azure Key Vault' };
const GCM_NONCE = 12;
const GCM_TAG = 16;
const SECRETBOX_NONCE = 24;

/**
 * The key both SFTPGo formats start from when the dump holds it: SHA-256 over the random key, the
 * additional data (the owner's name, usually) and the key again.
 */
function sealedKey(key: Buffer, additionalData: string): Buffer {
  return createHash('sha256').update(key).update(additionalData, 'utf8').update(key).digest();
}

/**
 * HKDF-SHA256 (RFC 5869) for one 32-byte block. Node's hkdfSync refuses an info over 1,024 bytes,
 * and the info here is the secret's additional_data, which SFTPGo (Go's HKDF) takes at any length.
 */
function hkdf32(ikm: Buffer, salt: Buffer, info: Buffer): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  return createHmac('sha256', prk).update(info).update(Buffer.of(1)).digest();
}

function hexKey(s: SftpgoSecret): Buffer | undefined {
  const k = s.key ?? '';
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(k)) return undefined;
  return Buffer.from(k, 'hex');
}

/** Builtin KMS: hex payload = 12-byte nonce ‖ ciphertext ‖ 16-byte tag, AAD = additional_data. */
function openAesGcm(s: SftpgoSecret): Opened {
  const key = hexKey(s);
  const payload = s.payload ?? '';
  if (!key || !/^(?:[0-9a-fA-F]{2})+$/.test(payload)) return { ok: false, reason: 'AES-256-GCM secret: key or payload is not hex' };
  const data = Buffer.from(payload, 'hex');
  if (data.length < GCM_NONCE + GCM_TAG) return { ok: false, reason: 'AES-256-GCM secret: payload too short' };
  const ad = s.additional_data ?? '';
  try {
    const d = createDecipheriv('aes-256-gcm', sealedKey(key, ad), data.subarray(0, GCM_NONCE));
    if (ad) d.setAAD(Buffer.from(ad, 'utf8'));
    d.setAuthTag(data.subarray(data.length - GCM_TAG));
    return { ok: true, value: Buffer.concat([d.update(data.subarray(GCM_NONCE, data.length - GCM_TAG)), d.final()]).toString('utf8') };
  } catch {
    return { ok: false, reason: 'AES-256-GCM secret does not open: damaged payload, key or additional_data' };
  }
}

/**
 * Local KMS (gocloud's localsecrets): base64 payload = 24-byte nonce ‖ NaCl secretbox (tag first).
 * Its box key is HKDF-SHA256 with the secret's random key as salt and additional_data as info, over
 * the SHA-256 of key ‖ additional_data ‖ key in mode 0, over the master key's bytes in mode 1.
 * A pure implementation (noble) so the import needs no native addon on any runtime.
 */
function openSecretbox(s: SftpgoSecret, opts: OpenOptions): Opened {
  const mode = s.mode ?? 0;
  if (mode !== 0 && mode !== 1) return { ok: false, reason: `Secretbox secret: unknown mode ${mode}` };
  if (mode === 1 && !opts.masterKey)
    return { ok: false, reason: "Secretbox secret in mode 1 is sealed with the source server's master key (kms.secrets.master_key): give it with --kms-master-key-file or SFTPGO_KMS__SECRETS__MASTER_KEY" };
  const key = hexKey(s);
  const payload = s.payload ?? '';
  if (!key || !/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) return { ok: false, reason: 'Secretbox secret: key is not hex or payload is not base64' };
  const data = Buffer.from(payload, 'base64');
  if (data.length < SECRETBOX_NONCE + 16) return { ok: false, reason: 'Secretbox secret: payload too short' };
  const ad = s.additional_data ?? '';
  const ikm = mode === 0 ? sealedKey(key, ad) : Buffer.from(opts.masterKey!, 'utf8');
  const boxKey = new Uint8Array(hkdf32(ikm, key, Buffer.from(ad, 'utf8')));
  try {
    const clear = xsalsa20poly1305(boxKey, data.subarray(0, SECRETBOX_NONCE)).decrypt(data.subarray(SECRETBOX_NONCE));
    return { ok: true, value: Buffer.from(clear).toString('utf8') };
  } catch {
    return {
      ok: false,
      reason: mode === 1 ? 'Secretbox secret (mode 1) does not open: wrong master key or damaged payload' : 'Secretbox secret does not open: damaged payload, key or additional_data',
    };
  }
}

/** Opens one SFTPGo secret (or passes a plain string through). */
export function openSftpgoSecret(secret: unknown, opts: OpenOptions = {}): Opened {
  if (typeof secret === 'string') return { ok: true, value: secret || undefined };
  if (!secret || typeof secret !== 'object') return { ok: true, value: undefined };
  const s = secret as SftpgoSecret;
  if (!s.payload) return { ok: true, value: undefined };
  for (const field of ['payload', 'key', 'additional_data'] as const)
    if (s[field] !== undefined && s[field] !== null && typeof s[field] !== 'string') return { ok: false, reason: `secret: ${field} is not text` };
  switch (s.status ?? 'Plain') {
    case 'Plain':
      return { ok: true, value: s.payload };
    case 'AES-256-GCM':
      return openAesGcm(s);
    case 'Secretbox':
      return openSecretbox(s, opts);
    case 'Redacted':
      return { ok: false, reason: 'the backup holds this secret redacted (no value): set it again after the import' };
    default: {
      const kms = CLOUD_KMS[s.status!];
      if (kms) return { ok: false, reason: `secret is encrypted with ${kms} (status ${s.status}), which only the source server can use: export it from SFTPGo as Plain or set it again after the import` };
      return { ok: false, reason: `unknown secret status ${JSON.stringify(s.status)}` };
    }
  }
}
