// Host keys: the configured files, or, when none are configured, ed25519, ecdsa-p256 and rsa-3072
// keys generated once into <dataDir>/host_keys/ (mode 0600) and reused on every later start. On a
// store other servers share, generated keys live in the store instead (core/host-keys.ts).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { AppError } from '../../errors.ts';
import type { Log } from '../../log.ts';
import { utils } from '../../lib/ssh2.ts';
import { GENERATED_HOST_KEYS, generateHostKey } from '../../core/host-keys.ts';

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
  return GENERATED_HOST_KEYS.map(({ file, type, opts }) => {
    const path = join(dir, file);
    if (!existsSync(path)) {
      const pair = generateHostKey(type, opts, log);
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
