// cryptconfig.storage: encrypted storage on another backend, whose usual block sits beside
// cryptconfig. Validation points at the storage key when that block is missing or when storage is
// given without provider crypt, and reconcile keeps the block so the key takes effect.
import { describe, expect, test } from 'bun:test';
import { parseConfigText, type ConfigIssue } from '../../../src/config/load.ts';
import { normaliseFilesystem } from '../../../src/store/specs.ts';

function check(yaml: string): ConfigIssue[] {
  const r = parseConfigText(yaml, 'test.yaml', '/tmp');
  return r.ok ? [] : r.issues;
}

const S3 = 's3config: { bucket: b, region: us-east-1 }';

describe('cryptconfig.storage validation', () => {
  test('crypt over S3 with its s3config is valid, for a user and for a folder without mapped_path', () => {
    expect(
      check(
        [
          'folders:',
          '  - name: vault',
          `    filesystem: { provider: crypt, cryptconfig: { passphrase: p, storage: s3 }, ${S3} }`,
          'users:',
          '  - username: a',
          '    home_dir: /srv/a',
          `    filesystem: { provider: crypt, cryptconfig: { passphrase: p, storage: s3 }, ${S3} }`,
          '    virtual_folders: [{ name: vault, virtual_path: /vault }]',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  test('the default, local, still needs mapped_path for a folder', () => {
    const [i, ...rest] = check(['folders:', '  - name: vault', '    filesystem: { provider: crypt, cryptconfig: { passphrase: p, storage: local } }'].join('\n'));
    expect(rest).toEqual([]);
    expect(i).toMatchObject({ path: 'folders[0]', message: 'mapped_path is required for a crypt folder' });
  });

  test('the named backend block is required, with the error at the storage line', () => {
    const all = check(
      [
        'users:',
        '  - username: a',
        '    home_dir: /srv/a',
        '    filesystem:',
        '      provider: crypt',
        '      cryptconfig:',
        '        passphrase: p',
        '        storage: gcs',
        `      ${S3}`,
      ].join('\n'),
    );
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ line: 8, path: 'users[0].filesystem.cryptconfig.storage', message: 'gcsconfig is required beside cryptconfig for storage gcs' });
  });

  test('the backend block is checked as it would be for that provider', () => {
    const [i] = check(
      ['users:', '  - username: a', '    home_dir: /srv/a', '    filesystem: { provider: crypt, cryptconfig: { passphrase: p, storage: azblob }, azblobconfig: {} }'].join('\n'),
    );
    expect(i).toMatchObject({ path: 'users[0].filesystem.azblobconfig.container', message: 'required unless sas_url is set' });
  });

  test('storage is refused without provider crypt', () => {
    const all = check(
      [
        'users:',
        '  - username: a',
        '    home_dir: /srv/a',
        '    filesystem:',
        '      provider: s3',
        `      ${S3}`,
        '      cryptconfig:',
        '        passphrase: p',
        '        storage: s3',
      ].join('\n'),
    );
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ line: 9, path: 'users[0].filesystem.cryptconfig.storage', message: 'only used with provider crypt (provider is s3)' });
  });

  test('an unknown storage is a schema error', () => {
    const [i] = check(['users:', '  - username: a', '    home_dir: /srv/a', '    filesystem: { provider: crypt, cryptconfig: { passphrase: p, storage: crypt } }'].join('\n'));
    expect(i?.path).toBe('users[0].filesystem.cryptconfig.storage');
  });
});

describe('cryptconfig.storage in the stored record', () => {
  test('the backend block beside cryptconfig is kept; other blocks are dropped as before', () => {
    const fs = normaliseFilesystem({
      provider: 4,
      cryptconfig: { passphrase: 'p', storage: 's3' },
      s3config: { bucket: 'b' },
      gcsconfig: { bucket: 'g' },
    });
    expect(fs).toEqual({ provider: 'crypt', cryptconfig: { passphrase: 'p', storage: 's3' }, s3config: { bucket: 'b' } });
    expect(normaliseFilesystem({ provider: 'crypt', cryptconfig: { passphrase: 'p' }, s3config: { bucket: 'b' } })).toEqual({
      provider: 'crypt',
      cryptconfig: { passphrase: 'p' },
    });
  });
});
