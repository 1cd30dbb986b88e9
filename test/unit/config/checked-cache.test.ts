// The checked-config cache: a byte-identical file is not read again, anything else is; secret
// references are resolved on every load; nothing is at rest in clear.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKED_CONFIG_FILE, configDigest, recallCheckedConfig, rememberCheckedConfig, type ConfigCache } from '../../../src/config/checked-cache.ts';
import { parseConfigText, type Config } from '../../../src/config/load.ts';
import { loadSecretsKey } from '../../../src/config/sealed.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const TEXT = `users:\n  - username: alice\n    password: clear-secret-of-alice\n    home_dir: /srv/alice\n    permissions: { "/": ["*"] }\n`;

/** A data dir with its secrets.key, as a started server leaves it. */
function dataDir(): string {
  const dir = tempDir('sftpgo-cache-');
  loadSecretsKey(dir, true);
  return dir;
}

function load(text: string, cache: ConfigCache) {
  return parseConfigText(text, 'sftpgo.yaml', '/tmp', { cache });
}

describe('checked-config cache', () => {
  test('a file that passed is remembered sealed: its literal secrets are not at rest in clear', () => {
    const dir = dataDir();
    const r = load(TEXT, { dir, build: 'b1', write: true });
    expect(r.ok).toBe(true);
    const raw = readFileSync(join(dir, CHECKED_CONFIG_FILE));
    expect(raw.includes('clear-secret-of-alice')).toBe(false);
    expect(raw.includes('alice')).toBe(false);
    expect(recallCheckedConfig({ dir, build: 'b1', write: false }, configDigest(TEXT))).toEqual({ config: r.ok ? r.value.config : {}, references: [] });
  });

  test('the same bytes are answered from the cache, another file or build is read again', () => {
    const dir = dataDir();
    const cache: ConfigCache = { dir, build: 'b1', write: false };
    // A remembered config unlike the file's proves which one a load answers with.
    const marked = { users: [{ username: 'from-cache', home_dir: '/srv/x' }] } as Config;
    rememberCheckedConfig({ ...cache, write: true }, configDigest(TEXT), marked);
    const hit = load(TEXT, cache);
    expect(hit.ok && hit.value.config).toEqual(marked);
    const edited = load(TEXT + '# a comment\n', cache);
    expect(edited.ok && edited.value.config.users?.[0]?.username).toBe('alice');
    const rebuilt = load(TEXT, { ...cache, build: 'b2' });
    expect(rebuilt.ok && rebuilt.value.config.users?.[0]?.username).toBe('alice');
  });

  test('a bad file is never remembered, and is reported from the file with its position', () => {
    const dir = dataDir();
    const bad = `users:\n  - username: alice\n    home_dir: relative/path\n`;
    const r = load(bad, { dir, build: 'b1', write: true });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.issues).toMatchObject([{ line: 3, col: 15, path: 'users[0].home_dir', message: 'must be an absolute path' }]);
    expect(existsSync(join(dir, CHECKED_CONFIG_FILE))).toBe(false);
  });

  test('secret references are resolved on every load: one that no longer resolves fails at its line', () => {
    const dir = dataDir();
    const cache: ConfigCache = { dir, build: 'b1', write: true };
    const secretFile = join(dir, 'bob.pw');
    writeFileSync(secretFile, 'pw-bob\n');
    const text = `users:\n  - username: alice\n    password: { env: CHECKED_CACHE_TEST_PW }\n    home_dir: /srv/alice\n  - username: bob\n    password: { file: ${secretFile} }\n    home_dir: /srv/bob\n`;
    process.env.CHECKED_CACHE_TEST_PW = 'pw';
    expect(load(text, cache).ok).toBe(true);
    expect(recallCheckedConfig(cache, configDigest(text))?.references).toEqual([['users', 0, 'password'], ['users', 1, 'password']]);
    expect(load(text, cache).ok).toBe(true);
    delete process.env.CHECKED_CACHE_TEST_PW;
    const r = load(text, cache);
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.issues).toMatchObject([{ file: 'sftpgo.yaml', line: 3, path: 'users[0].password' }]);
    process.env.CHECKED_CACHE_TEST_PW = 'pw';
    rmSync(secretFile);
    const gone = load(text, cache);
    expect(gone.ok ? [] : gone.issues).toMatchObject([{ file: 'sftpgo.yaml', line: 6, path: 'users[1].password' }]);
    delete process.env.CHECKED_CACHE_TEST_PW;
  });

  test('a damaged cache, another data dir key or no key at all is a miss, never an error', () => {
    const dir = dataDir();
    const cache: ConfigCache = { dir, build: 'b1', write: true };
    load(TEXT, cache);
    const path = join(dir, CHECKED_CONFIG_FILE);
    const raw = readFileSync(path);
    raw[raw.length - 20]! ^= 1;
    writeFileSync(path, raw);
    expect(recallCheckedConfig(cache, configDigest(TEXT))).toBeUndefined();
    expect(load(TEXT, { ...cache, write: false }).ok).toBe(true);

    const other = dataDir();
    writeFileSync(join(other, CHECKED_CONFIG_FILE), readFileSync(path));
    expect(recallCheckedConfig({ ...cache, dir: other }, configDigest(TEXT))).toBeUndefined();

    const keyless = tempDir('sftpgo-cache-');
    expect(load(TEXT, { dir: keyless, build: 'b1', write: true }).ok).toBe(true);
    expect(existsSync(join(keyless, CHECKED_CONFIG_FILE))).toBe(false);
  });

  test('plan only reads it; a value JSON would not give back, or a cycle, is not remembered', () => {
    const dir = dataDir();
    expect(load(TEXT, { dir, build: 'b1', write: false }).ok).toBe(true);
    expect(existsSync(join(dir, CHECKED_CONFIG_FILE))).toBe(false);
    rememberCheckedConfig({ dir, build: 'b1', write: true }, configDigest(TEXT), { users: [{ username: 'a', quota_size: Infinity }] } as Config);
    expect(existsSync(join(dir, CHECKED_CONFIG_FILE))).toBe(false);
    const cyclic = { users: [] as unknown[] };
    cyclic.users.push(cyclic);
    rememberCheckedConfig({ dir, build: 'b1', write: true }, configDigest(TEXT), cyclic as Config);
    expect(existsSync(join(dir, CHECKED_CONFIG_FILE))).toBe(false);
  });
});
