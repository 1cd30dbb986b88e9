// Permission matching as SFTPGo does it: the most specific configured directory wins, whole.
import { describe, expect, test } from 'bun:test';
import { hasPermission, permissionsAt } from '../../../src/core/permissions.ts';
import { loginRefusal } from '../../../src/core/login.ts';
import { parseUploadMode } from '../../../src/core/transfers.ts';
import type { UserRecord } from '../../../src/model.ts';

const perms = {
  '/': ['list', 'download'],
  '/uploads': ['list', 'upload'],
  '/uploads/private/': [],
  '/admin': ['*'],
  '/ops': ['delete', 'rename'],
};

describe('permissionsAt', () => {
  test('nearest configured ancestor, no merging with parents', () => {
    expect(permissionsAt(perms, '/')).toEqual(['list', 'download']);
    expect(permissionsAt(perms, '/docs/a')).toEqual(['list', 'download']);
    expect(permissionsAt(perms, '/uploads')).toEqual(['list', 'upload']);
    expect(permissionsAt(perms, '/uploads/x/y')).toEqual(['list', 'upload']);
    expect(permissionsAt(perms, '/uploads/private')).toEqual([]);
    expect(permissionsAt(perms, '/uploads/private/deeper')).toEqual([]);
    expect(permissionsAt({}, '/a')).toEqual([]);
  });
});

describe('hasPermission', () => {
  test('direct grants, "*", and umbrella permissions', () => {
    expect(hasPermission(perms, '/', 'download')).toBe(true);
    expect(hasPermission(perms, '/', 'upload')).toBe(false);
    expect(hasPermission(perms, '/uploads', 'upload')).toBe(true);
    expect(hasPermission(perms, '/uploads', 'download')).toBe(false);
    expect(hasPermission(perms, '/uploads/private', 'list')).toBe(false);
    expect(hasPermission(perms, '/admin/x', 'chown')).toBe(true);
    expect(hasPermission(perms, '/ops', 'delete_files')).toBe(true);
    expect(hasPermission(perms, '/ops', 'delete_dirs')).toBe(true);
    expect(hasPermission(perms, '/ops', 'rename_dirs')).toBe(true);
    expect(hasPermission(perms, '/ops', 'overwrite')).toBe(false);
    expect(hasPermission({ '/': ['delete_files'] }, '/', 'delete_dirs')).toBe(false);
  });
});

describe('loginRefusal', () => {
  const base = { username: 'u', status: 1, home_dir: '/h', permissions: { '/': ['*'] } } as unknown as UserRecord;
  test('status, expiration and max_sessions', () => {
    const now = 1_700_000_000_000;
    expect(loginRefusal(base, now, 0)).toBeUndefined();
    expect(loginRefusal({ ...base, status: 0 }, now, 0)).toBe('user_disabled');
    expect(loginRefusal({ ...base, expiration_date: now - 1 }, now, 0)).toBe('user_expired');
    expect(loginRefusal({ ...base, expiration_date: now + 60_000 }, now, 0)).toBeUndefined();
    expect(loginRefusal({ ...base, expiration_date: 0 }, now, 0)).toBeUndefined();
    expect(loginRefusal({ ...base, max_sessions: 2 }, now, 1)).toBeUndefined();
    expect(loginRefusal({ ...base, max_sessions: 2 }, now, 2)).toBe('max_sessions');
    expect(loginRefusal({ ...base, max_sessions: 0 }, now, 99)).toBeUndefined();
  });

  test('upload modes by number or name', () => {
    expect(parseUploadMode(undefined)).toBe(0);
    expect(parseUploadMode('standard')).toBe(0);
    expect(parseUploadMode(1)).toBe(1);
    expect(parseUploadMode('atomic')).toBe(1);
    expect(parseUploadMode('atomic_resume')).toBe(2);
  });
});
