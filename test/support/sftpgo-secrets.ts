// Seals values the way SFTPGo's KMS does (builtin AES-256-GCM, local Secretbox in mode 0 or 1), with
// implementations independent of the importer's: node:crypto for AES-GCM, libsodium (sodium-native)
// for the secretbox. Tests build SFTPGo backups with them.
import { createCipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

/** The two members of sodium-native used here (the package ships no types). */
interface Sodium {
  crypto_secretbox_MACBYTES: number;
  crypto_secretbox_easy(out: Buffer, message: Buffer, nonce: Buffer, key: Buffer): void;
}
const sodium = createRequire(import.meta.url)('sodium-native') as Sodium;

/** SFTPGo's builtin Encrypt: random key, AES-256-GCM under SHA-256(key ‖ ad ‖ key), hex nonce ‖ sealed. */
export function sealAesGcm(plain: string, additionalData: string): Record<string, unknown> {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', createHash('sha256').update(Buffer.concat([key, Buffer.from(additionalData), key])).digest(), nonce);
  if (additionalData) c.setAAD(Buffer.from(additionalData));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
  return { status: 'AES-256-GCM', payload: Buffer.concat([nonce, body]).toString('hex'), key: key.toString('hex'), additional_data: additionalData, mode: 0 };
}

/** SFTPGo's local Encrypt: HKDF box key, base64 of nonce ‖ secretbox (libsodium). */
export function sealSecretbox(plain: string, additionalData: string, masterKey?: string): Record<string, unknown> {
  const key = randomBytes(32);
  const ikm = masterKey ? Buffer.from(masterKey) : createHash('sha256').update(Buffer.concat([key, Buffer.from(additionalData), key])).digest();
  const boxKey = Buffer.from(hkdfSync('sha256', ikm, key, Buffer.from(additionalData), 32));
  const nonce = randomBytes(24);
  const m = Buffer.from(plain);
  const out = Buffer.alloc(m.length + sodium.crypto_secretbox_MACBYTES);
  sodium.crypto_secretbox_easy(out, m, nonce, boxKey);
  return { status: 'Secretbox', payload: Buffer.concat([nonce, out]).toString('base64'), key: key.toString('hex'), additional_data: additionalData, mode: masterKey ? 1 : 0 };
}
