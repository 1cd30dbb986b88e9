// Config checks for users[].filters.file_patterns: every problem names its file, line and field.
import { describe, expect, test } from 'bun:test';
import { formatIssue, parseConfigText, type ConfigIssue } from '../../../src/config/load.ts';

function userWith(filters: string): string {
  return `users:\n  - username: alice\n    password: secret\n    home_dir: /srv/alice\n    permissions: { "/": ["*"] }\n    filters:\n${filters}`;
}

function issues(yaml: string): ConfigIssue[] {
  const r = parseConfigText(yaml, 'test.yaml', '/tmp');
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.issues;
}

describe('filters.file_patterns in the config', () => {
  test('valid patterns, deny policies and a start directory pass', () => {
    const r = parseConfigText(
      userWith(
        '      start_directory: /in\n      disable_fs_checks: true\n      file_patterns:\n        - path: /\n          denied_patterns: ["*.exe", "[a-c]?.tmp"]\n        - path: /photos\n          allowed_patterns: ["*.jpg"]\n          deny_policy: 1\n',
      ),
      'test.yaml',
      '/tmp',
    );
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.ok).toBe(true);
  });

  test('an invalid pattern is reported at its line with the reason', () => {
    const all = issues(userWith('      file_patterns:\n        - path: /\n          denied_patterns: ["*.exe", "[abc"]\n'));
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ file: 'test.yaml', line: 9, path: 'users[0].filters.file_patterns[0].denied_patterns[1]' });
    expect(all[0]!.message).toContain('invalid pattern "[abc"');
  });

  test('a relative path is refused at its line', () => {
    const all = issues(userWith('      file_patterns:\n        - path: photos\n          denied_patterns: ["*.exe"]\n'));
    expect(all.length).toBeGreaterThanOrEqual(1);
    expect(all[0]).toMatchObject({ line: 8, path: 'users[0].filters.file_patterns[0].path' });
  });

  test('duplicate paths and entries without patterns are refused', () => {
    const all = issues(
      userWith('      file_patterns:\n        - path: /a\n          denied_patterns: ["*.exe"]\n        - path: /a/\n          allowed_patterns: ["*.txt"]\n        - path: /b\n'),
    );
    expect(all.map((i) => i.path)).toEqual(['users[0].filters.file_patterns[1].path', 'users[0].filters.file_patterns[2]']);
    expect(all[0]!.message).toContain('duplicate');
    expect(all[0]!.line).toBe(10);
  });
});
