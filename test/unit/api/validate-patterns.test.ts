// REST bodies (and hook answers, imports) get the same checks as the YAML beyond the schema: file
// patterns, and each filesystem's provider block, so neither a bad pattern nor a half-configured
// backend reaches a login.
import { describe, expect, test } from 'bun:test';
import { validateBody } from '../../../src/config/validate.ts';

const user = (file_patterns: unknown[]) => ({ username: 'alice', permissions: { '/': ['*'] }, filters: { file_patterns } });

describe('validateBody(User) and file_patterns', () => {
  test('valid patterns pass', () => {
    expect(validateBody('User', user([{ path: '/', denied_patterns: ['*.exe', '[a-c]?'] }]))).toEqual([]);
  });

  test('an invalid pattern, a duplicate path and an empty entry are field errors', () => {
    const errors = validateBody(
      'User',
      user([
        { path: '/a', allowed_patterns: ['ok', '[bad'] },
        { path: '/a/', denied_patterns: ['*.tmp'] },
        { path: '/b' },
      ]),
    );
    expect(errors.map((e) => e.path)).toEqual([
      'filters.file_patterns[0].allowed_patterns[1]',
      'filters.file_patterns[1].path',
      'filters.file_patterns[2]',
    ]);
    expect(errors[0]!.message).toContain('invalid pattern "[bad"');
  });
});

describe('validateBody and filesystem blocks', () => {
  const folder = (filesystem: unknown) => ({ name: 'vault', filesystem });
  const s3config = { bucket: 'b', region: 'r' };

  test('a provider without its block, or crypt storage without the block it names, is a field error', () => {
    expect(validateBody('Folder', folder({ provider: 's3' }))).toEqual([{ path: 'filesystem', message: 's3config is required for provider s3' }]);
    expect(validateBody('Folder', folder({ provider: 'crypt', cryptconfig: { passphrase: 'p', storage: 's3' } }))).toEqual([
      { path: 'filesystem.cryptconfig.storage', message: 's3config is required beside cryptconfig for storage s3' },
    ]);
    expect(validateBody('User', { username: 'u', filesystem: { provider: 's3', cryptconfig: { passphrase: 'p', storage: 'gcs' }, s3config } })).toEqual([
      { path: 'filesystem.cryptconfig.storage', message: 'only used with provider crypt (provider is s3)' },
    ]);
  });

  test('complete blocks pass', () => {
    expect(validateBody('Folder', folder({ provider: 'crypt', cryptconfig: { passphrase: 'p', storage: 's3' }, s3config }))).toEqual([]);
    expect(validateBody('User', { username: 'u', filesystem: { provider: 's3', s3config } })).toEqual([]);
  });
});
