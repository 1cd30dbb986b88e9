// REST user bodies get the same file_patterns checks as the YAML, so a bad pattern never reaches login.
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
