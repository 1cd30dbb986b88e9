// decideAccess: the gate's and the session core's checks in their order, each answer naming the
// rule that decided, on effective user records built by hand.
import { describe, expect, test } from 'bun:test';
import { decideAccess, type AccessQuestion } from '../../../src/core/access.ts';
import type { UserRecord } from '../../../src/model.ts';

const NOW = Date.UTC(2026, 0, 1);

function user(over: Partial<UserRecord> = {}): UserRecord {
  return { id: 1, created_at: 0, updated_at: 0, source: 'config', username: 'u', status: 1, home_dir: '/srv/u', permissions: { '/': ['*'] }, ...over };
}

function ask(u: UserRecord, q: Partial<AccessQuestion> & Pick<AccessQuestion, 'path' | 'operation'>) {
  return decideAccess({ user: u, protocol: 'SSH', now: NOW, ...q });
}

describe('decideAccess', () => {
  test('the account: disabled, then expired, before any path rule', () => {
    expect(ask(user({ status: 0 }), { path: '/a', operation: 'download' }).rule).toEqual({ kind: 'account', field: 'status' });
    expect(ask(user({ expiration_date: NOW - 1 }), { path: '/a', operation: 'download' }).rule).toEqual({ kind: 'account', field: 'expiration_date' });
    expect(ask(user({ expiration_date: NOW + 1 }), { path: '/a', operation: 'download' }).allowed).toBe(true);
  });

  test('IP filters are consulted only with an address; allowed_ip must match one entry', () => {
    const u = user({ filters: { allowed_ip: ['192.168.0.0/16'] } });
    expect(ask(u, { path: '/a', operation: 'list' }).allowed).toBe(true);
    expect(ask(u, { path: '/a', operation: 'list', ip: '10.0.0.1' }).rule).toEqual({ kind: 'filter', reason: 'ip_denied', field: 'allowed_ip' });
    expect(ask(u, { path: '/a', operation: 'list', ip: '192.168.3.4' }).allowed).toBe(true);
  });

  test('list is governed by the directory itself, a file operation by its parent', () => {
    const u = user({ permissions: { '/': ['*'], '/ro/': ['list'] } });
    expect(ask(u, { path: '/ro', operation: 'list' }).rule).toMatchObject({ kind: 'permission', dir: '/ro', key: '/ro/' });
    expect(ask(u, { path: '/ro', operation: 'rmdir' }).rule).toMatchObject({ kind: 'permission', dir: '/', key: '/' });
    expect(ask(u, { path: '/ro/f', operation: 'delete' })).toMatchObject({ allowed: false, rule: { permission: 'delete_files', key: '/ro/', granted: ['list'] } });
  });

  test('copy needs the copy permission, then download and upload', () => {
    const u = user({ permissions: { '/': ['copy', 'list'] } });
    expect(ask(u, { path: '/f', operation: 'copy' }).rule).toMatchObject({ permission: 'download' });
    expect(ask(user({ permissions: { '/': ['delete', 'list'] } }), { path: '/f', operation: 'delete' }).allowed).toBe(true);
  });

  test("a virtual folder's mount point cannot be removed or renamed; the path names its folder", () => {
    const u = user({ virtual_folders: [{ name: 'shared', virtual_path: '/shared/' }] });
    expect(ask(u, { path: '/shared', operation: 'rmdir' }).rule).toEqual({ kind: 'mount_point', virtualPath: '/shared' });
    expect(ask(u, { path: '/', operation: 'rename' }).rule).toEqual({ kind: 'mount_point', virtualPath: '/' });
    expect(ask(u, { path: '/shared/x', operation: 'upload' }).folder).toEqual({ name: 'shared', virtualPath: '/shared' });
  });

  test('file patterns: the denied pattern, an allow-list miss, and deny_policy 1 reading as missing', () => {
    const u = user({
      filters: {
        file_patterns: [
          { path: '/', denied_patterns: ['*.tmp', '*.EXE'], deny_policy: 1 },
          { path: '/img', allowed_patterns: ['*.png'] },
        ],
      },
    });
    expect(ask(u, { path: '/a/setup.exe', operation: 'download' })).toMatchObject({ allowed: false, looksMissing: true, rule: { kind: 'pattern', list: 'denied_patterns', index: 1, pattern: '*.EXE', filterPath: '/' } });
    // Creating a refused name is a permission error, never "not found".
    expect(ask(u, { path: '/a/setup.exe', operation: 'upload' }).looksMissing).toBeUndefined();
    expect(ask(u, { path: '/img/a.jpg', operation: 'download' }).rule).toMatchObject({ kind: 'pattern', list: 'allowed_patterns', filterPath: '/img' });
    expect(ask(u, { path: '/img/a.png', operation: 'download' })).toMatchObject({ allowed: true, patternFilter: '/img' });
  });

  test('a relative path starts at the start directory', () => {
    const a = ask(user({ filters: { start_directory: '/inbox/' } }), { path: 'in/../f.txt', operation: 'upload' });
    expect(a).toMatchObject({ vpath: '/inbox/f.txt', startDirectory: '/inbox', allowed: true });
  });
});
