// Host keys: the configured files, or, when none are configured, ed25519, ecdsa-p256 and rsa-3072
// keys generated once into <dataDir>/host_keys/ (mode 0600) and reused on every later start.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { AppError } from '../../errors.ts';
import type { Log } from '../../log.ts';
import { utils } from '../../lib/ssh2.ts';

const GENERATED = [
  { file: 'id_ed25519', type: 'ed25519' as const, opts: {} },
  { file: 'id_ecdsa', type: 'ecdsa' as const, opts: { bits: 256 } },
  { file: 'id_rsa', type: 'rsa' as const, opts: { bits: 3072 } },
];

export function loadHostKeys(configured: readonly string[] | undefined, dataDir: string, log: Log): Buffer[] {
  if (configured && configured.length > 0) {
    return configured.map((p) => {
      const path = isAbsolute(p) ? p : resolve(dataDir, p);
      try {
        const key = readFileSync(path);
        const parsed = utils.parseKey(key);
        if (parsed instanceof Error) throw parsed;
        return key;
      } catch (err) {
        throw new AppError('config', `sftpd.host_keys: cannot load ${path}: ${(err as Error).message}`);
      }
    });
  }
  const dir = join(dataDir, 'host_keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return GENERATED.map(({ file, type, opts }) => {
    const path = join(dir, file);
    if (!existsSync(path)) {
      const pair = generateParsable(type, opts, log);
      // Written under a temp name and renamed, so a crash never leaves a half-written key behind.
      writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
      writeFileSync(`${path}.tmp`, pair.private, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
      log('info', 'sftp_host_key_generated', { path, type });
    }
    const key = readFileSync(path);
    if (utils.parseKey(key) instanceof Error)
      throw new AppError('config', `host key ${path} cannot be parsed; restore it from a backup or delete it to generate a new one (clients will see a new host key)`);
    return key;
  });
}

/**
 * ssh2's key generator under Bun occasionally emits a private key its own parser rejects
 * ("Malformed OpenSSH private key", seen once in hundreds of test runs): check, and try again.
 */
function generateParsable(type: 'ed25519' | 'ecdsa' | 'rsa', opts: object, log: Log): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = utils.generateKeyPairSync(type, opts as never);
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
    log('warn', 'sftp_host_key_regenerated', { type, attempt });
    if (attempt >= 5) throw new AppError('io', `could not generate a usable ${type} host key`);
  }
}
