// File patterns (filters.file_patterns) applied by UserFs, in process over in-memory storage:
// denied names are refused for every operation, allowed patterns restrict what may exist, and
// deny_policy 1 hides denied entries from listings and reads them as missing.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { backendNames, openCore, seed, type CoreHarness, type CoreLogin } from '../../support/core.ts';
import { codeOf } from '../../support/codes.ts';

let core: CoreHarness;
let u: CoreLogin;

beforeAll(async () => {
  core = await openCore({
    yaml: `
users:
  - username: pat
    permissions: { "/": ["*"] }
    filters:
      file_patterns:
        - path: /
          denied_patterns: ["*.exe"]
        - path: /photos
          allowed_patterns: ["*.jpg", "*.png"]
        - path: /secret
          denied_patterns: ["*.key"]
          deny_policy: 1
`,
  });
  u = await core.login({ username: 'pat' });
  await seed(u.home, {
    '/tool.exe': 'mz',
    '/notes.txt': 'n',
    '/photos/a.jpg': 'jpg',
    '/photos/b.gif': 'gif',
    '/secret/id.key': 'k',
    '/secret/readme.txt': 'r',
  });
});

afterAll(() => core.close());

describe('UserFs file patterns', () => {
  test('a denied name is refused for upload, download, rename and delete, but still listed', async () => {
    expect(await codeOf(u.put('/virus.EXE', 'x'))).toBe('permission_denied');
    expect(await codeOf(u.get('/tool.exe'))).toBe('permission_denied');
    expect(await codeOf(u.fs.rename('/notes.txt', '/notes.exe', false))).toBe('permission_denied');
    expect(await codeOf(u.fs.remove('/tool.exe'))).toBe('permission_denied');
    expect(await codeOf(u.fs.mkdir('/dir.exe'))).toBe('permission_denied');
    // deny_policy 0: refused, not hidden.
    expect(await u.names('/')).toContain('tool.exe');
    expect((await u.fs.stat('/tool.exe')).size).toBe(2);
    expect(await backendNames(u.home)).toEqual(['notes.txt', 'photos', 'secret', 'tool.exe']);
  });

  test('allowed patterns: only matching names below the directory, case-insensitively', async () => {
    await u.put('/photos/c.PNG', 'png');
    expect(await codeOf(u.put('/photos/d.txt', 'x'))).toBe('permission_denied');
    expect(await codeOf(u.get('/photos/b.gif'))).toBe('permission_denied');
    expect(await u.get('/photos/a.jpg')).toBe('jpg');
    // The most specific entry governs: "/photos" replaces "/", so an .exe is refused there only
    // by not being allowed.
    expect(await codeOf(u.put('/photos/x.exe', 'x'))).toBe('permission_denied');
    expect(await backendNames(u.home, '/photos')).toEqual(['a.jpg', 'b.gif', 'c.PNG']);
  });

  test('deny_policy 1 hides denied entries: absent from listings, not found on read', async () => {
    expect(await u.names('/secret')).toEqual(['readme.txt']);
    expect(await codeOf(u.fs.stat('/secret/id.key'))).toBe('not_found');
    expect(await codeOf(u.get('/secret/id.key'))).toBe('not_found');
    expect(await codeOf(u.fs.remove('/secret/id.key'))).toBe('not_found');
    // Creating a hidden name is still a permission error, and it does not replace the file.
    expect(await codeOf(u.put('/secret/id.key', 'mine'))).toBe('permission_denied');
    expect(await backendNames(u.home, '/secret')).toEqual(['id.key', 'readme.txt']);
  });
});
