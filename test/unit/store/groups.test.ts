// SFTPGo's group merge rules, pure (applyGroups), then through the records layer on a real LMDB
// store (userWithGroups): what a login sees for a member of primary, secondary and membership groups.
import { afterEach, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../src/config/sealed.ts';
import type { UserRecord } from '../../../src/model.ts';
import { applyGroups, type ResolvedGroup, userWithGroups } from '../../../src/store/groups.ts';
import { replaceUserPlaceholders } from '../../../src/lib/user-placeholders.ts';
import { hashingOptions, Records } from '../../../src/store/records.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateDown, migrateUp } from '../../../src/store/migrations.ts';
import type { Store } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { CurrentUsers } from '../../../src/core/current-users.ts';

const DAY = 86_400_000;

function user(fields: Partial<UserRecord> = {}): UserRecord {
  return { username: 'alice', status: 1, home_dir: '/home/alice', permissions: { '/': ['list'] }, id: 1, created_at: 1000, updated_at: 1000, source: 'config', ...fields };
}

function groups(...list: ResolvedGroup[]): Map<string, ResolvedGroup> {
  return new Map(list.map((g) => [g.name, g]));
}

describe('applyGroups', () => {
  test('the primary group: home_dir and a non-local filesystem replace the user\'s, with %username% and %role% replaced', () => {
    const g: ResolvedGroup = {
      name: 'staff',
      user_settings: {
        home_dir: '/srv/%username%/data/',
        filesystem: { provider: 's3', s3config: { bucket: 'b', key_prefix: 'users/%username%/%role%' } },
      },
    };
    const out = applyGroups(user({ groups: [{ name: 'staff', type: 1 }] }), groups(g));
    expect(out.home_dir).toBe('/srv/alice/data');
    // A user without a role: %role% is empty, as SFTPGo renders it.
    expect(out.filesystem).toEqual({ provider: 's3', s3config: { bucket: 'b', key_prefix: 'users/alice/' } });
    // A local group filesystem leaves the user's alone.
    const local = applyGroups(user({ groups: [{ name: 'l', type: 1 }], filesystem: { provider: 'gcs', gcsconfig: { bucket: 'x' } } }), groups({ name: 'l', user_settings: { filesystem: { provider: 'local' } } }));
    expect(local.filesystem).toEqual({ provider: 'gcs', gcsconfig: { bucket: 'x' } });
    expect(replaceUserPlaceholders('/%username%/%role%', { username: 'bob', role: 'r1' })).toBe('/bob/r1');
  });

  test('the primary group fills limits the user leaves at 0; the user\'s own values win', () => {
    const g: ResolvedGroup = {
      name: 'staff',
      user_settings: { max_sessions: 2, quota_size: 1000, quota_files: 10, upload_bandwidth: 50, download_bandwidth: 60, upload_data_transfer: 5, download_data_transfer: 6, total_data_transfer: 0, expires_in: 3 },
    };
    const out = applyGroups(user({ groups: [{ name: 'staff', type: 1 }], quota_size: 5 }), groups(g));
    expect(out).toMatchObject({ max_sessions: 2, quota_size: 5, quota_files: 10, upload_bandwidth: 50, download_bandwidth: 60, upload_data_transfer: 5, download_data_transfer: 6 });
    // expires_in counts days from the user's creation, for a user without an expiration_date.
    expect(out.expiration_date).toBe(1000 + 3 * DAY);
    expect(applyGroups(user({ groups: [{ name: 'staff', type: 1 }], expiration_date: 42 }), groups(g)).expiration_date).toBe(42);
    // Any data transfer limit of the user's keeps all three of the user's.
    const own = applyGroups(user({ groups: [{ name: 'staff', type: 1 }], total_data_transfer: 9 }), groups(g));
    expect([own.upload_data_transfer, own.download_data_transfer, own.total_data_transfer]).toEqual([undefined, undefined, 9]);
  });

  test('primary filters: single values where the user has none, start_directory with placeholders', () => {
    const g: ResolvedGroup = {
      name: 'staff',
      user_settings: {
        filters: {
          max_upload_file_size: 100,
          hooks: { check_password_disabled: true, pre_login_disabled: true, external_auth_disabled: true },
          disable_fs_checks: true,
          start_directory: '/in/%username%',
          ftp_security: 1,
          password_expiration: 30,
        },
      },
    };
    const out = applyGroups(user({ groups: [{ name: 'staff', type: 1 }], filters: { max_upload_file_size: 7 } }), groups(g));
    expect(out.filters).toEqual({
      max_upload_file_size: 7,
      hooks: { check_password_disabled: true, pre_login_disabled: true, external_auth_disabled: true },
      disable_fs_checks: true,
      start_directory: '/in/alice',
      ftp_security: 1,
      password_expiration: 30,
    });
    // A secondary group gives none of these.
    const secondary = applyGroups(user({ groups: [{ name: 'staff', type: 2 }] }), groups(g));
    expect(secondary.filters).toBeUndefined();
  });

  test('permissions: the primary group\'s "/" replaces the user\'s, a secondary\'s is ignored; other paths are added where unset', () => {
    const primary: ResolvedGroup = { name: 'p', user_settings: { permissions: { '/': ['*'], '/%username%/in': ['upload'], '/own': ['list'] } } };
    const secondary: ResolvedGroup = { name: 's', user_settings: { permissions: { '/': ['list'], '/shared': ['download', 'list'], '/own': ['delete'] } } };
    const out = applyGroups(user({ groups: [{ name: 's', type: 2 }, { name: 'p', type: 1 }], permissions: { '/': ['list'], '/own': ['upload'] } }), groups(primary, secondary));
    expect(out.permissions).toEqual({ '/': ['*'], '/alice/in': ['upload'], '/own': ['upload'], '/shared': ['download', 'list'] });
    // Only a secondary group: the user's "/" stays.
    expect(applyGroups(user({ groups: [{ name: 's', type: 2 }] }), groups(secondary)).permissions['/']).toEqual(['list']);
  });

  test('virtual folders: added at paths the user does not mount, placeholders replaced in virtual_path, mapped_path and key prefixes', () => {
    const g: ResolvedGroup = {
      name: 'p',
      virtual_folders: [
        { name: 'home-share', virtual_path: '/%username%', mapped_path: '/srv/shares/%username%' },
        { name: 'taken', virtual_path: '/mine', mapped_path: '/srv/other' },
      ],
    };
    const s: ResolvedGroup = {
      name: 's',
      virtual_folders: [
        { name: 'bucket', virtual_path: '/b', filesystem: { provider: 's3', s3config: { bucket: 'x', key_prefix: '%username%/' } }, quota_size: 5 },
        { name: 'home-share', virtual_path: '/again', mapped_path: '/srv/shares/%username%', quota_size: 99 },
      ],
    };
    const own = { name: 'mine', virtual_path: '/mine', mapped_path: '/srv/mine' };
    const out = applyGroups(user({ groups: [{ name: 'p', type: 1 }, { name: 's', type: 2 }], virtual_folders: [own] }), groups(g, s));
    expect(out.virtual_folders).toEqual([
      own,
      { name: 'home-share', virtual_path: '/alice', mapped_path: '/srv/shares/alice' },
      { name: 'bucket', virtual_path: '/b', filesystem: { provider: 's3', s3config: { bucket: 'x', key_prefix: 'alice/' } }, quota_size: 5 },
      // The same folder mounted twice keeps the quota of its first mount.
      { name: 'home-share', virtual_path: '/again', mapped_path: '/srv/shares/alice' },
    ]);
  });

  test('lists from every group are added once; file_patterns for paths the user has none for; membership groups give nothing', () => {
    const p: ResolvedGroup = {
      name: 'p',
      user_settings: {
        filters: {
          allowed_ip: ['10.0.0.0/8'],
          denied_ip: ['10.1.0.0/16'],
          denied_login_methods: ['password'],
          denied_protocols: ['FTP'],
          file_patterns: [{ path: '/', denied_patterns: ['*.exe'], deny_policy: 1 }, { path: '/docs', allowed_patterns: ['*.pdf'] }],
        },
      },
    };
    const s: ResolvedGroup = { name: 's', user_settings: { filters: { allowed_ip: ['10.0.0.0/8', '192.168.0.0/16'], denied_protocols: ['DAV'], file_patterns: [{ path: '/', denied_patterns: ['*.zip'] }, { path: '/tmp', denied_patterns: ['*'] }] } } };
    const m: ResolvedGroup = { name: 'm', user_settings: { filters: { denied_ip: ['1.2.3.4'] }, permissions: { '/x': ['*'] } } };
    const out = applyGroups(
      user({ groups: [{ name: 'p', type: 1 }, { name: 's', type: 2 }, { name: 'm', type: 3 }], filters: { file_patterns: [{ path: '/docs', denied_patterns: ['*.tmp'] }] } }),
      groups(p, s, m),
    );
    expect(out.filters).toEqual({
      file_patterns: [{ path: '/docs', denied_patterns: ['*.tmp'] }, { path: '/', denied_patterns: ['*.exe'], deny_policy: 1 }, { path: '/tmp', denied_patterns: ['*'] }],
      allowed_ip: ['10.0.0.0/8', '192.168.0.0/16'],
      denied_ip: ['10.1.0.0/16'],
      denied_login_methods: ['password'],
      denied_protocols: ['FTP', 'DAV'],
    });
    expect(out.permissions['/x']).toBeUndefined();
  });

  test('a user without setting groups is returned as is; a mapping to a missing group is skipped; the input is not modified', () => {
    const u = user({ groups: [{ name: 'm', type: 3 }] });
    expect(applyGroups(u, groups({ name: 'm', user_settings: { home_dir: '/x' } }))).toBe(u);
    const v = user({ groups: [{ name: 'gone', type: 1 }, { name: 's', type: 2 }] });
    const out = applyGroups(v, groups({ name: 's', user_settings: { permissions: { '/s': ['list'] } } }));
    expect(out.home_dir).toBe('/home/alice');
    expect(out.permissions).toEqual({ '/': ['list'], '/s': ['list'] });
    expect(v.permissions).toEqual({ '/': ['list'] });
  });
});

describe('userWithGroups', () => {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    removeTempDirs();
  });

  test('reads the effective group (override on top) and resolves its mounts to their folders', async () => {
    const store = openLmdbStore(tempDir('groups-'));
    opened.push(store);
    await migrateUp(store);
    const records = new Records({ store, secrets: new SecretBox(randomBytes(32)), hashing: hashingOptions({ bcrypt_options: { cost: 4 } }) });
    await records.write(async (tx) => {
      await tx.put('folder', 'shared', { name: 'shared', mapped_path: '/srv/shared/%username%' }, { source: 'config' });
      await tx.put('group', 'staff', { name: 'staff', user_settings: { home_dir: '/srv/staff/%username%' }, virtual_folders: [{ name: 'shared', virtual_path: '/shared' }] }, { source: 'config' });
      await tx.put('user', 'alice', { username: 'alice', status: 1, home_dir: '/home/alice', permissions: { '/': ['*'] }, groups: [{ name: 'staff', type: 1 }] }, { source: 'config' });
    });
    expect(await userWithGroups(store, 'alice')).toMatchObject({ home_dir: '/srv/staff/alice', virtual_folders: [{ name: 'shared', virtual_path: '/shared', mapped_path: '/srv/shared/alice' }] });
    await records.write((tx) => tx.edit('group', 'staff', { fields: { user_settings: { home_dir: '/data/%username%' } }, cleared: [], by: 'root' }));
    expect((await userWithGroups(store, 'alice'))?.home_dir).toBe('/data/alice');
    // The user's own record is unchanged: the API shows it, with its mappings.
    expect(await store.get('users', 'alice')).toMatchObject({ home_dir: '/home/alice', groups: [{ name: 'staff', type: 1 }] });
    expect(await userWithGroups(store, 'nobody')).toBeUndefined();
  });

  test('store version 6 down drops the groups and their overrides, and keeps users\' mappings', async () => {
    const store = openLmdbStore(tempDir('groups-migrate-'));
    opened.push(store);
    await migrateUp(store, { log: () => {} });
    const records = new Records({ store, secrets: new SecretBox(randomBytes(32)), hashing: hashingOptions({ bcrypt_options: { cost: 4 } }) });
    await records.write(async (tx) => {
      await tx.put('group', 'staff', { name: 'staff', description: 'x' }, { source: 'config' });
      await tx.setOverride('group', 'staff', { description: 'y' }, 'root');
      await tx.setOverride('user', 'alice', { description: 'z' }, 'root');
      await tx.put('user', 'alice', { username: 'alice', status: 1, home_dir: '/h', permissions: { '/': ['*'] }, groups: [{ name: 'staff', type: 1 }] }, { source: 'config' });
    });
    // Later versions are walked down first; the last steps are 7 and 6.
    expect((await migrateDown(store, 5, () => {})).slice(-2)).toEqual([7, 6]);
    expect(await store.count('groups')).toBe(0);
    expect(await store.get('overrides', 'group:staff')).toBeUndefined();
    expect(await store.get('overrides', 'user:alice')).toBeDefined();
    expect((await store.get('users', 'alice'))?.groups).toEqual([{ name: 'staff', type: 1 }]);
    expect((await migrateUp(store, { log: () => {} })).slice(0, 2)).toEqual([6, 7]);
  });

  test('the current-users memo forgets members when their group changes, so the next transfer sees it', async () => {
    const store = openLmdbStore(tempDir('groups-memo-'));
    opened.push(store);
    await migrateUp(store, { log: () => {} });
    const records = new Records({ store, secrets: new SecretBox(randomBytes(32)), hashing: hashingOptions({ bcrypt_options: { cost: 4 } }) });
    await records.write(async (tx) => {
      await tx.put('group', 'staff', { name: 'staff', user_settings: { upload_bandwidth: 100 } }, { source: 'config' });
      await tx.put('user', 'alice', { username: 'alice', status: 1, home_dir: '/h', permissions: { '/': ['*'] }, groups: [{ name: 'staff', type: 1 }] }, { source: 'config' });
    });
    const memo = new CurrentUsers(store);
    try {
      expect((await memo.get('alice'))?.upload_bandwidth).toBe(100);
      const again = memo.get('alice');
      expect(again).toBe(memo.get('alice'));
      await records.write((tx) => tx.put('group', 'staff', { name: 'staff', user_settings: { upload_bandwidth: 200 } }, { source: 'config' }));
      expect((await memo.get('alice'))?.upload_bandwidth).toBe(200);
    } finally {
      memo.close();
    }
  });
});
