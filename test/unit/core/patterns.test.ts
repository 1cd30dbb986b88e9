// File patterns as SFTPGo applies them: shell globs on base names, case-insensitive, denied first,
// the most specific configured directory governing the entries below it.
import { describe, expect, test } from 'bun:test';
import { AppError } from '../../../src/errors.ts';
import { compilePattern, FilePatterns, NameFilter, patternError } from '../../../src/core/patterns.ts';

const m = (pattern: string, name: string): boolean => compilePattern(pattern).test(name);

describe('compilePattern (Go path.Match syntax)', () => {
  test('star, question mark and literals', () => {
    expect(m('*.jpg', 'a.jpg')).toBe(true);
    expect(m('*.jpg', '.jpg')).toBe(true);
    expect(m('*.jpg', 'a.jpeg')).toBe(false);
    expect(m('*.jpg', 'a.jpg.txt')).toBe(false);
    expect(m('?.txt', 'a.txt')).toBe(true);
    expect(m('?.txt', 'ab.txt')).toBe(false);
    expect(m('report', 'report')).toBe(true);
    expect(m('report', 'reports')).toBe(false);
  });

  test('regex metacharacters in a pattern are plain characters', () => {
    expect(m('a+b(1).$x', 'a+b(1).$x')).toBe(true);
    expect(m('a+b', 'aab')).toBe(false);
    expect(m('a.b', 'axb')).toBe(false);
    expect(m('x{2}', 'xx')).toBe(false);
  });

  test('character classes, ranges, negation and escapes', () => {
    expect(m('[abc].txt', 'b.txt')).toBe(true);
    expect(m('[abc].txt', 'd.txt')).toBe(false);
    expect(m('file[0-9]', 'file7')).toBe(true);
    expect(m('file[0-9]', 'filex')).toBe(false);
    expect(m('[^0-9]*', 'x1')).toBe(true);
    expect(m('[^0-9]*', '1x')).toBe(false);
    expect(m('\\*', '*')).toBe(true);
    expect(m('\\*', 'a')).toBe(false);
    expect(m('[\\]]', ']')).toBe(true);
    expect(m('a]', 'a]')).toBe(true);
  });

  test('bad patterns are reported, as Go reports ErrBadPattern', () => {
    expect(patternError('[abc')).toContain('unclosed');
    expect(patternError('[]')).toBeDefined();
    expect(patternError('[a-]')).toBeDefined();
    expect(patternError('[-a]')).toBeDefined();
    expect(patternError('abc\\')).toContain('trailing backslash');
    expect(patternError('*.jpg')).toBeUndefined();
    expect(patternError('[a-z]?')).toBeUndefined();
  });
});

describe('NameFilter', () => {
  test('denied first, case-insensitive', () => {
    const f = new NameFilter({ path: '/', denied_patterns: ['*.EXE'], allowed_patterns: ['*.exe', '*.txt'] });
    expect(f.allows('setup.exe')).toBe(false);
    expect(f.allows('SETUP.Exe')).toBe(false);
    expect(f.allows('notes.TXT')).toBe(true);
  });

  test('a non-empty allow-list must match; an empty one allows all not denied', () => {
    const allow = new NameFilter({ path: '/', allowed_patterns: ['*.jpg', '*.png'] });
    expect(allow.allows('a.jpg')).toBe(true);
    expect(allow.allows('a.PNG')).toBe(true);
    expect(allow.allows('a.gif')).toBe(false);
    const deny = new NameFilter({ path: '/', denied_patterns: ['*.tmp'] });
    expect(deny.allows('a.gif')).toBe(true);
    expect(deny.allows('a.tmp')).toBe(false);
  });
});

describe('FilePatterns', () => {
  const p = new FilePatterns([
    { path: '/', denied_patterns: ['*.exe'] },
    { path: '/photos/', allowed_patterns: ['*.jpg'], deny_policy: 1 },
    { path: '/photos/raw', denied_patterns: ['*.tmp'] },
  ]);

  test('the most specific configured directory governs, whole (no merging)', () => {
    expect(p.check('/a.exe')).toEqual({ allowed: false, hide: false });
    expect(p.check('/docs/deep/a.exe')).toEqual({ allowed: false, hide: false });
    expect(p.check('/docs/a.txt').allowed).toBe(true);
    expect(p.check('/photos/a.jpg').allowed).toBe(true);
    expect(p.check('/photos/a.txt')).toEqual({ allowed: false, hide: true });
    expect(p.check('/photos/x/a.txt')).toEqual({ allowed: false, hide: true });
    // /photos/raw replaces the /photos and / filters: .exe and .txt are allowed there.
    expect(p.check('/photos/raw/a.exe').allowed).toBe(true);
    expect(p.check('/photos/raw/a.txt').allowed).toBe(true);
    expect(p.check('/photos/raw/a.tmp')).toEqual({ allowed: false, hide: false });
  });

  test('a directory name is judged by its parent directory filter', () => {
    // "/photos" itself lives in "/", whose filter only denies *.exe.
    expect(p.check('/photos').allowed).toBe(true);
    expect(p.check('/photos/raw').allowed).toBe(false);
    expect(p.check('/').allowed).toBe(true);
  });

  test('no filters allow everything', () => {
    const none = new FilePatterns(undefined);
    expect(none.empty).toBe(true);
    expect(none.check('/a.exe').allowed).toBe(true);
  });

  test('a stored bad pattern is a config error at login, not a crash', () => {
    let err: unknown;
    try {
      new FilePatterns([{ path: '/x', denied_patterns: ['[oops'] }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('config');
    expect((err as AppError).message).toContain('/x');
  });
});
