// Every form a secret may take in the config, resolved to its clear value: a literal, { env },
// { file }, { generate: true } (decided when the record is created), SFTPGo's
// { status: Plain, payload } object, whose key, additional_data and mode only matter for the
// encrypted statuses the schema refuses, and the { sealed } form the store keeps.
import { afterAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretBox } from '../../../src/config/sealed.ts';
import { resolveSecret } from '../../../src/config/secrets.ts';
import { validateUser } from '../../../src/config/schema-validator.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const box = new SecretBox(randomBytes(32));

describe('secret forms', () => {
  test('a literal, env and file (relative to the config, one trailing newline dropped)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pw'), 'from-file\n');
    process.env.SECRET_FORMS_TEST = 'from-env';
    expect(resolveSecret('literal', dir, box)).toBe('literal');
    expect(resolveSecret({ env: 'SECRET_FORMS_TEST' }, dir, box)).toBe('from-env');
    expect(resolveSecret({ file: 'pw' }, dir, box)).toBe('from-file');
    expect(() => resolveSecret({ env: 'SECRET_FORMS_MISSING' }, dir, box)).toThrow('SECRET_FORMS_MISSING');
  });

  test('generate has no value until the record is created', () => {
    expect(resolveSecret({ generate: true }, '/', box)).toBeUndefined();
    expect(validateUser({ username: 'a', home_dir: '/h', password: { generate: false } })).toBe(false);
  });

  test("status Plain gives its payload; key, additional_data and mode are SFTPGo's and change nothing", () => {
    expect(resolveSecret({ status: 'Plain', payload: 'clear' }, '/', box)).toBe('clear');
    expect(resolveSecret({ status: 'Plain', payload: 'clear', key: '', additional_data: 'alice', mode: 0 }, '/', box)).toBe('clear');
    expect(validateUser({ username: 'a', home_dir: '/h', password: { status: 'AES-256-GCM', payload: 'x', key: 'k', additional_data: 'a', mode: 1 } })).toBe(false);
  });

  test('sealed opens with the key that sealed it', () => {
    const sealed = box.seal('kept');
    expect(typeof sealed).toBe('object');
    expect(resolveSecret(sealed as { sealed: string }, '/', box)).toBe('kept');
    expect(() => resolveSecret(sealed as { sealed: string }, '/', new SecretBox(randomBytes(32)))).toThrow();
  });
});
