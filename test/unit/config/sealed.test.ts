// Sealing literal secrets (config/sealed.ts): deterministic under one key, opened only by that key,
// tampering detected, and resolveSecret opening sealed values transparently.
import { afterEach, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSecretsKey, NO_SECRETS, SecretBox } from '../../../src/config/sealed.ts';
import { resolveSecret, storedSecrets, definition } from '../../../src/config/secrets.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterEach(() => {
  removeTempDirs();
});

describe('sealed secrets', () => {
  test('the same clear value seals to the same text under one key, and to another under another key', () => {
    const box = new SecretBox(randomBytes(32));
    const a = box.seal('s3cret');
    expect(box.seal('s3cret')).toEqual(a);
    expect(box.seal('s3cret!')).not.toEqual(a);
    expect(typeof a === 'object' && a.sealed.startsWith('v1:')).toBe(true);
    expect(JSON.stringify(a)).not.toContain('s3cret');
    expect(new SecretBox(randomBytes(32)).seal('s3cret')).not.toEqual(a);
  });

  test('only the sealing key opens a value; a flipped byte is refused, never decoded wrong', () => {
    const box = new SecretBox(randomBytes(32));
    const s = box.seal('pass phrase é') as { sealed: string };
    expect(box.unseal(s.sealed)).toBe('pass phrase é');
    expect(resolveSecret(s, '/', box)).toBe('pass phrase é');
    const raw = Buffer.from(s.sealed.slice(3), 'base64url');
    raw[raw.length - 20]! ^= 1;
    expect(() => box.unseal(`v1:${raw.toString('base64url')}`)).toThrow(/does not open with this data directory's secrets.key/);
    expect(() => resolveSecret(s, '/', new SecretBox(randomBytes(32)))).toThrow(/does not open with this data directory's secrets.key/);
    expect(() => NO_SECRETS.unseal(s.sealed)).toThrow(/secrets.key, which is not loaded/);
  });

  test('storedSecrets seals literals and Plain objects, keeps references, and makes file paths absolute', () => {
    const secrets = new SecretBox(randomBytes(32));
    const fs = storedSecrets(
      { provider: 's3', s3config: { bucket: 'b', access_key: 'AK', access_secret: 'literal' } },
      definition('Filesystem'), { baseDir: '/etc/sftpgo', secrets },
    ) as unknown as { s3config: { access_secret: { sealed: string } } };
    expect(secrets.unseal(fs.s3config.access_secret.sealed)).toBe('literal');
    const plain = storedSecrets({ provider: 'crypt', cryptconfig: { passphrase: { status: 'Plain', payload: 'pp' } } }, definition('Filesystem'), { baseDir: '/x', secrets }) as unknown as
      { cryptconfig: { passphrase: { sealed: string } } };
    expect(secrets.unseal(plain.cryptconfig.passphrase.sealed)).toBe('pp');
    const refs = storedSecrets({ provider: 'crypt', cryptconfig: { passphrase: { file: 'pp.txt' } } }, definition('Filesystem'), { baseDir: '/etc/sftpgo', secrets });
    expect(refs).toEqual({ provider: 'crypt', cryptconfig: { passphrase: { file: '/etc/sftpgo/pp.txt' } } });
    const env = storedSecrets({ provider: 'crypt', cryptconfig: { passphrase: { env: 'PP' } } }, definition('Filesystem'), { baseDir: '/', secrets });
    expect(env).toEqual({ provider: 'crypt', cryptconfig: { passphrase: { env: 'PP' } } });
  });

  test('the key file is created once, private, and read back the same', () => {
    const dir = tempDir('seal-key-');
    expect(loadSecretsKey(dir, false)).toBeUndefined();
    const k = loadSecretsKey(dir, true)!;
    expect(k.length).toBe(32);
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    expect(loadSecretsKey(dir, true)!.equals(k)).toBe(true);
    expect(loadSecretsKey(dir, false)!.equals(k)).toBe(true);
  });
});
