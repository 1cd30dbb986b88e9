// Public keys in OpenSSH authorized_keys format: parsing, and comparison by key blob.
import { utils } from '../lib/ssh2.ts';

export interface PublicKey {
  type: string;
  /** The SSH wire encoding of the key, which is what a client presents at login. */
  blob: Buffer;
  comment: string;
}

export function parsePublicKey(line: string): { ok: true; key: PublicKey } | { ok: false; error: string } {
  const text = line.trim();
  // authorized_keys lines may carry options before the key type; we accept only plain keys.
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) return { ok: false, error: `not a valid OpenSSH public key: ${parsed.message}` };
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) return { ok: false, error: 'must be a public key, not a private key' };
  return { ok: true, key: { type: key.type, blob: key.getPublicSSH() as Buffer, comment: key.comment ?? '' } };
}

/** True when one of `authorized` has the same key blob as `presented`. */
export function findAuthorizedKey(authorized: readonly string[], presented: Buffer): PublicKey | undefined {
  for (const line of authorized) {
    const p = parsePublicKey(line);
    if (p.ok && p.key.blob.equals(presented)) return p.key;
  }
  return undefined;
}
