// Sealing literal secrets (config/sealed.ts): deterministic under one key, opened only by that key,
// tampering detected, and resolveSecret opening sealed values transparently.
import { afterEach, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSecretsKey, seal, setSecretsKey, unseal } from '../../../src/config/sealed.ts';
import { resolveSecret, storedSecrets, definition } from '../../../src/config/secrets.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterEach(() => {
  setSecretsKey(undefined);
  removeTempDirs();
});

describe('sealed secrets', () => {
  test('the same clear value seals to the same text under one key, and to another under another key', () => {
    setSecretsKey(randomBytes(32));
    const a = seal('s3cret');
    expect(seal('s3cret')).toEqual(a);
    expect(seal('s3cret!')).not.toEqual(a);
    expect(typeof a === 'object' && a.sealed.startsWith('v1:')).toBe(true);
    expect(JSON.stringify(a)).not.toContain('s3cret');
    setSecretsKey(randomBytes(32));
    expect(seal('s3cret')).not.toEqual(a);
  });

  test('only the sealing key opens a value; a flipped byte is refused, never decoded wrong', () => {
    const key = randomBytes(32);
    setSecretsKey(key);
    const s = seal('pass phrase é') as { sealed: string };
    expect(unseal(s.sealed)).toBe('pass phrase é');
    expect(resolveSecret(s, '/')).toBe('pass phrase é');
    const raw = Buffer.from(s.sealed.slice(3), 'base64url');
    raw[raw.length - 20]! ^= 1;
    expect(() => unseal(`v1:${raw.toString('base64url')}`)).toThrow(/does not open with this data directory's secrets.key/);
    setSecretsKey(randomBytes(32));
    expect(() => resolveSecret(s, '/')).toThrow(/does not open with this data directory's secrets.key/);
    setSecretsKey(undefined);
    expect(() => unseal(s.sealed)).toThrow(/secrets.key, which is not loaded/);
  });

  test('storedSecrets seals literals and Plain objects, keeps references, and makes file paths absolute', () => {
    setSecretsKey(randomBytes(32));
    const fs = storedSecrets(
      { provider: 's3', s3config: { bucket: 'b', access_key: 'AK', access_secret: 'literal' } },
      '/etc/sftpgo', definition('Filesystem'),
    ) as unknown as { s3config: { access_secret: { sealed: string } } };
    expect(unseal(fs.s3config.access_secret.sealed)).toBe('literal');
    const plain = storedSecrets({ provider: 'crypt', cryptconfig: { passphrase: { status: 'Plain', payload: 'pp' } } }, '/x', definition('Filesystem')) as unknown as
      { cryptconfig: { passphrase: { sealed: string } } };
    expect(unseal(plain.cryptconfig.passphrase.sealed)).toBe('pp');
    const refs = storedSecrets({ provider: 'crypt', cryptconfig: { passphrase: { file: 'pp.txt' } } }, '/etc/sftpgo', definition('Filesystem'));
    expect(refs).toEqual({ provider: 'crypt', cryptconfig: { passphrase: { file: '/etc/sftpgo/pp.txt' } } });
    const env = storedSecrets({ provider: 'crypt', cryptconfig: { passphrase: { env: 'PP' } } }, '/', definition('Filesystem'));
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
