// Host keys: the configured files, or, when none are configured, ed25519, ecdsa-p256 and rsa-3072
// keys generated once into <dataDir>/host_keys/ (mode 0600) and reused on every later start.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { AppError } from '../../errors.ts';
import { log } from '../../log.ts';
import { utils } from '../ssh/ssh2.ts';

const GENERATED = [
  { file: 'id_ed25519', type: 'ed25519' as const, opts: {} },
  { file: 'id_ecdsa', type: 'ecdsa' as const, opts: { bits: 256 } },
  { file: 'id_rsa', type: 'rsa' as const, opts: { bits: 3072 } },
];

export function loadHostKeys(configured: readonly string[] | undefined, dataDir: string): Buffer[] {
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
      const pair = utils.generateKeyPairSync(type, opts as never);
      writeFileSync(path, pair.private, { mode: 0o600 });
      writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
      log('info', 'sftp_host_key_generated', { path, type });
    }
    return readFileSync(path);
  });
}
