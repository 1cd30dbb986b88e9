import { describe, expect, test } from 'bun:test';
import { parseConfigText, formatIssue, type ConfigIssue } from '../../../src/config/load.ts';

function issues(yaml: string): ConfigIssue[] {
  const r = parseConfigText(yaml, 'test.yaml', '/tmp');
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.issues;
}

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKMR9cHgY4yq0fGkCu7aN0bLNTKgWMB8d7c0C9FJd7e2 alice@laptop';

describe('config loading', () => {
  test('the smallest config of the manual (docs/configuration.md) is valid', () => {
    process.env.TEST_ALICE_PW = 'secret';
    const r = parseConfigText(
      `sftpd:\n  bindings: [{ address: 127.0.0.1, port: 2022 }]\nusers:\n  - username: alice\n    password: { env: TEST_ALICE_PW }\n    public_keys: ["${KEY}"]\n    home_dir: /srv/sftp/alice\n    permissions: { "/": ["*"] }\n`,
      'test.yaml',
      '/tmp',
    );
    expect(r.ok).toBe(true);
  });

  test('a bad type names line, column and field path', () => {
    const [i, ...rest] = issues(`sftpd:\n  bindings:\n    - address: 127.0.0.1\n      port: "twenty"\n`);
    expect(rest).toHaveLength(0);
    expect(i).toMatchObject({ file: 'test.yaml', line: 4, col: 13, path: 'sftpd.bindings[0].port', message: 'must be integer' });
    expect(formatIssue(i!)).toBe('test.yaml:4:13: sftpd.bindings[0].port: must be integer');
  });

  test('a hook must be an absolute program path or an http(s) URL', () => {
    const [i, ...rest] = issues(`common:\n  post_connect_hook: hooks/connect.sh\ndata_provider:\n  pre_login_hook: https://auth.example/pre\n  post_login_hook: /usr/local/bin/notify\n  check_password_hook: ""\n`);
    expect(rest).toHaveLength(0);
    expect(i).toMatchObject({ line: 2, path: 'common.post_connect_hook', message: 'must be an absolute program path or an http(s) URL' });
  });

  test('a suggestion is the first known field at the least edit distance, up to 2; a long unknown key gets none', () => {
    const messages = (keys: string[]) => issues(`sftpd:\n${keys.map((k) => `  ${k}: 1\n`).join('')}`).map((i) => i.message);
    // banner: one edit, max_auth_tries (transposed: two), keyboard_interactive_authentication (three: none)
    expect(messages(['baner', 'max_auth_tires', 'keyboard_interactive_authentixxx'])).toEqual([
      'unknown field (did you mean "banner"?)',
      'unknown field (did you mean "max_auth_tries"?)',
      'unknown field',
    ]);
    // Keys of 900 characters (`yaml` takes up to 1,024): each is compared with every known field
    const long = `x${'y'.repeat(900)}`;
    const started = performance.now();
    expect(messages(Array.from({ length: 600 }, (_, i) => `${long}${i}`))).toEqual(Array.from({ length: 600 }, () => 'unknown field'));
    expect(performance.now() - started).toBeLessThan(1500);
  });

  test('an unknown field is pointed at its key, with a suggestion', () => {
    const [i] = issues(`users:\n  - username: bob\n    pasword: x\n`);
    expect(i).toMatchObject({ line: 3, col: 5, path: 'users[0].pasword' });
    expect(i!.message).toContain('unknown field');
    expect(i!.message).toContain('"password"');
  });

  test('a missing required field names the full path', () => {
    const [i] = issues(`users:\n  - username: bob\n    filesystem:\n      provider: s3\n      s3config:\n        region: eu-west-1\n`);
    expect(i).toMatchObject({ path: 'users[0].filesystem.s3config.bucket', message: 'required', line: 6, col: 9 });
  });

  test('a YAML syntax error has a line and column', () => {
    const [i] = issues(`users:\n  - username: bob\n   home_dir: [unclosed\n`);
    expect(i!.message).toStartWith('YAML syntax');
    expect(i!.line).toBeGreaterThanOrEqual(2);
    expect(i!.col).toBeGreaterThan(0);
  });

  test('every error is listed, in file order', () => {
    const all = issues(`sftpd:\n  bindings: [{ port: -1 }]\nusers:\n  - username: "bad/name"\n  - home_dir: /x\n`);
    expect(all.map((i) => i.path)).toEqual(['sftpd.bindings[0].port', 'users[0].username', 'users[1].username']);
    expect(all.map((i) => i.line)).toEqual([2, 4, 5]);
  });

  test('a secret reference to a missing env var or file is an error at its line', () => {
    delete process.env.NOPE_NOT_SET;
    const all = issues(`users:\n  - username: a\n    password: { env: NOPE_NOT_SET }\n  - username: b\n    password: { file: /nonexistent/secret }\n`);
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ line: 3, path: 'users[0].password' });
    expect(all[0]!.message).toContain('NOPE_NOT_SET is not set');
    expect(all[1]).toMatchObject({ line: 5, path: 'users[1].password' });
  });

  test('a malformed secret object gets one readable error, not one per oneOf branch', () => {
    const all = issues(`users:\n  - username: a\n    password: { envv: X }\n`);
    expect(all).toHaveLength(1);
    expect(all[0]!.path).toBe('users[0].password');
    expect(all[0]!.message).toContain('{ env: NAME }');
  });

  test('semantic checks: duplicates, undeclared folders, overlapping mounts, bad keys, relative home', () => {
    const all = issues(
      [
        'folders:',
        '  - { name: f1, mapped_path: /srv/f1 }',
        'users:',
        '  - username: a',
        '    home_dir: relative/home',
        '    public_keys: ["ssh-ed25519 notbase64"]',
        '    virtual_folders:',
        '      - { name: f1, virtual_path: /x }',
        '      - { name: f1, virtual_path: /x/y }',
        '      - { name: missing, virtual_path: /z }',
        '  - username: a',
      ].join('\n'),
    );
    const byPath = Object.fromEntries(all.map((i) => [i.path, i.message]));
    expect(byPath['users[0].home_dir']).toBe('must be an absolute path');
    expect(byPath['users[0].public_keys[0]']).toContain('not a valid OpenSSH public key');
    expect(byPath['users[0].virtual_folders[1].virtual_path']).toContain('overlaps');
    expect(byPath['users[0].virtual_folders[2].name']).toContain('not declared');
    expect(byPath['users[1].username']).toContain('duplicate');
  });

  test('a provider without its config block is rejected', () => {
    const [i] = issues(`users:\n  - username: a\n    filesystem: { provider: 1 }\n`);
    expect(i).toMatchObject({ path: 'users[0].filesystem', message: 's3config is required for provider s3' });
  });
});
