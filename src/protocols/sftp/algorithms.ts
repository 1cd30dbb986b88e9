// SSH algorithm lists: modern defaults, each overridable from sftpd.*. Defaults are filtered to
// what the ssh2 import point can actually run (chacha20-poly1305 depends on it under Bun); an
// explicitly configured algorithm that is not available is a config error.
import { AppError } from '../../errors.ts';
import type { Sftpd } from '../../config/schema-types.ts';
import { Server } from '../../lib/ssh2.ts';

export const DEFAULT_KEX = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];
// chacha20-poly1305 first, as OpenSSH's sshd offers it (the client's order decides anyway).
export const DEFAULT_CIPHERS = [
  'chacha20-poly1305@openssh.com',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];
export const DEFAULT_MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'];
export const DEFAULT_HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'];

type Kind = 'kex' | 'cipher' | 'hmac' | 'serverHostKey';

/** ssh2 validates algorithm names when a server is constructed; that is our capability probe. */
function available(kind: Kind, name: string): boolean {
  try {
    const probe = new Server({ hostKeys: [], algorithms: { [kind]: [name] } as never });
    probe.close?.();
    return true;
  } catch {
    return false;
  }
}

function pick(kind: Kind, configured: string[] | undefined, defaults: string[], key: string): string[] {
  if (configured && configured.length > 0) {
    const missing = configured.filter((a) => !available(kind, a));
    if (missing.length) throw new AppError('config', `sftpd.${key}: not available: ${missing.join(', ')}`);
    return configured;
  }
  return defaults.filter((a) => available(kind, a));
}

export interface Algorithms {
  kex: string[];
  cipher: string[];
  hmac: string[];
  serverHostKey: string[];
}

export function algorithmsFor(cfg: Sftpd): Algorithms {
  return {
    kex: pick('kex', cfg.kex_algorithms, DEFAULT_KEX, 'kex_algorithms'),
    cipher: pick('cipher', cfg.ciphers, DEFAULT_CIPHERS, 'ciphers'),
    hmac: pick('hmac', cfg.macs, DEFAULT_MACS, 'macs'),
    serverHostKey: pick('serverHostKey', cfg.host_key_algorithms, DEFAULT_HOST_KEY_ALGOS, 'host_key_algorithms'),
  };
}
