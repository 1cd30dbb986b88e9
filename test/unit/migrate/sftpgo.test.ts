// The SFTPGo backup mapping: providers, secrets, virtual folders, API keys, warnings, YAML output.
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseConfigText } from '../../../src/config/load.ts';
import { importSftpgoDump, MigrationError, toYaml } from '../../../src/migrate/sftpgo.ts';

const FIXTURE = JSON.parse(readFileSync(join(import.meta.dir, '../../fixtures/sftpgo-dump.json'), 'utf8'));
const clone = () => structuredClone(FIXTURE);

function errorsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof MigrationError) return err.details;
    throw err;
  }
  throw new Error('expected a MigrationError');
}

describe('importSftpgoDump', () => {
  const r = importSftpgoDump(clone());

  test('users: hashes kept as stored, provider numbers become names, Plain secrets unwrapped', () => {
    expect(r.users.map((u) => u.username)).toEqual(['carol', 'dave', 'erin']);
    const [carol, dave, erin] = r.users;
    expect(carol!.password).toStartWith('$2a$10$');
    expect(carol!.filesystem).toBeUndefined(); // local: nothing to say
    expect(carol!.permissions).toEqual({ '/': ['*'], '/docs': ['list', 'download'] });
    expect(dave!.filesystem).toEqual({
      provider: 's3',
      s3config: { bucket: 'acme-dave', region: 'eu-west-1', access_key: 'AKIAEXAMPLE', access_secret: 's3-secret-plain', storage_class: 'STANDARD', key_prefix: 'dave/', upload_part_size: 5, upload_concurrency: 2, force_path_style: false },
    });
    expect(dave!.filters).toEqual({ denied_protocols: ['FTP'], max_upload_file_size: 1048576 });
    expect(erin!.status).toBe(0);
  });

  test('virtual folders become mounts; their folder definitions are listed once', () => {
    expect(r.users[0]!.virtual_folders).toEqual([{ name: 'team', virtual_path: '/team', quota_size: -1, quota_files: -1 }]);
    expect(r.folders.map((f) => f.name)).toEqual(['team', 'archive']);
    expect(r.folders[0]).toEqual({ name: 'team', mapped_path: '/srv/sftpgo/folders/team', description: 'shared team folder' });
    expect(r.state['user:carol']!.usage).toEqual({ size: 2048, files: 2, upload: 0, download: 0 });
    expect(r.state['folder:team']!.usage).toEqual({ size: 512, files: 1, upload: 0, download: 0 });
  });

  test('a folder only embedded in a user is still defined', () => {
    const d = clone();
    d.folders = [];
    const out = importSftpgoDump(d);
    expect(out.folders.map((f) => f.name)).toEqual(['team']);
    expect(out.folders[0]!.mapped_path).toBe('/srv/sftpgo/folders/team');
  });

  test('admins with their API keys (scope 1) attached', () => {
    expect(r.admins).toEqual([
      {
        status: 1,
        username: 'superadmin',
        password: expect.stringMatching(/^\$2a\$/),
        permissions: ['*'],
        filters: { allow_api_key_auth: true },
        api_keys: [{ name: 'ci', key: expect.stringMatching(/^\$2a\$/) }],
      },
    ]);
  });

  test('the HTTP filesystem is an error naming the field', () => {
    const d = clone();
    d.users[2].filesystem = { provider: 6, httpconfig: { endpoint: 'https://x' } };
    const errs = errorsOf(() => importSftpgoDump(d));
    expect(errs.map((e) => e.path)).toEqual(['users[2].filesystem.provider']);
    expect(errs[0]!.message).toContain('HTTP');
  });

  test('a secret that does not open leaves its record out, with the field and why; the rest imports', () => {
    const d = clone();
    d.users[1].filesystem.s3config.access_secret = { status: 'AES-256-GCM', payload: 'ab12', key: 'k', additional_data: 'dave' };
    d.folders[1].filesystem.s3config.access_secret = { status: 'GCP', payload: 'x', key: '' };
    const out = importSftpgoDump(d);
    expect(out.users.map((u) => u.username)).toEqual(['carol', 'erin']);
    expect(out.folders.map((f) => f.name)).toEqual(['team']);
    expect(out.skipped.map((e) => e.path)).toEqual(['folders[1].filesystem.s3config.access_secret', 'users[1].filesystem.s3config.access_secret']);
    expect(out.skipped[0]!.message).toContain('Google Cloud KMS');
    expect(out.skipped[1]!.message).toEndWith('user "dave" not imported');
  });

  // Found by the sftpgo-dump fuzz target: the hash went into a YAML the loader refuses.
  test('a user or admin whose password hash this server cannot verify is left out, saying why', () => {
    const d = clone();
    d.users[0].password = '$2a$10$not-a-bcrypt-hash';
    d.admins[0].password = '{MD5}x';
    const out = importSftpgoDump(d);
    expect(out.users.map((u) => u.username)).not.toContain(d.users[0].username);
    expect(out.admins.map((a) => a.username)).not.toContain(d.admins[0].username);
    expect(out.skipped.map((e) => `${e.path}: ${e.message}`)).toEqual(expect.arrayContaining([
      `users[0].password: a password hash in a format this server cannot verify; user "${d.users[0].username}" not imported`,
      `admins[0].password: a password hash in a format this server cannot verify; admin "${d.admins[0].username}" not imported`,
    ]));
    expect(parseConfigText(toYaml(out), 'imported.yaml', '/tmp', { resolveSecrets: false }).ok).toBe(true);
  });

  // Found by the sftpgo-dump fuzz target: the user went into a YAML the loader refuses.
  test('a user without permissions for "/" is refused with its path in the backup, as the loader would', () => {
    const d = clone();
    d.users[1].permissions = { '/sub': ['*'] };
    const errs = errorsOf(() => importSftpgoDump(d));
    expect(errs).toContainEqual({ path: 'users[1].permissions', message: 'permissions for the root directory "/" must be set' });
  });

  test('a user mounting a folder that was left out is left out too', () => {
    const d = clone();
    d.folders[0].filesystem = { provider: 1, s3config: { bucket: 'b', access_secret: { status: 'AWS', payload: 'x' } } };
    const out = importSftpgoDump(d);
    expect(out.users.map((u) => u.username)).toEqual(['erin']);
    expect(out.skipped.map((e) => e.path)).toEqual(['folders[0].filesystem.s3config.access_secret', 'users[0].virtual_folders[0].name', 'users[1].virtual_folders[0].name']);
  });

  test('kept beside the definition: usage, first transfers, last login and last password change; group mappings and the role are the user\'s own', () => {
    const d = clone();
    Object.assign(d.users[0], { used_upload_data_transfer: 7000, used_download_data_transfer: 9000, first_upload: 1717000001000, first_download: 0, last_password_change: 1717000002000, role: 'ops' });
    d.users[0].groups = [{ name: 'staff', type: 1 }, { name: 'extra', type: 3 }];
    d.groups = [{ name: 'staff', user_settings: { home_dir: '/srv/%username%' } }];
    const out = importSftpgoDump(d);
    expect(out.state['user:carol']).toEqual({
      usage: { size: 2048, files: 2, upload: 7000, download: 9000 },
      first_upload: 1717000001000,
      last_login: 1718000000000,
      fields: { last_password_change: 1717000002000 },
    });
    expect(out.users[0]!.role).toBe('ops');
    expect(out.users[0]!.groups).toEqual([{ name: 'staff', type: 1 }, { name: 'extra', type: 3 }]);
    expect(out.groups).toEqual([{ name: 'staff', user_settings: { home_dir: '/srv/%username%' } }]);
    expect(out.warnings).toContain('users[0].groups[1]: group "extra" is not in the backup; the mapping takes effect once a group of that name exists');
    expect(out.warnings.some((w) => w.includes('role'))).toBe(false);
  });

  test('a mount with a subpath becomes a folder rooted there, for each provider', () => {
    const d = clone();
    d.users[0].virtual_folders[0].subpath = '/q3/reports';
    d.users[1].virtual_folders = [{ name: 'archive', virtual_path: '/arch', subpath: '/dave' }];
    const out = importSftpgoDump(d);
    expect(out.users[0]!.virtual_folders).toEqual([{ name: 'team_q3_reports', virtual_path: '/team', quota_size: -1, quota_files: -1 }]);
    expect(out.folders.find((f) => f.name === 'team_q3_reports')!.mapped_path).toBe('/srv/sftpgo/folders/team/q3/reports');
    expect(out.users[1]!.virtual_folders).toEqual([{ name: 'archive_dave', virtual_path: '/arch' }]);
    expect(out.folders.find((f) => f.name === 'archive_dave')!.filesystem).toMatchObject({ provider: 's3', s3config: { key_prefix: 'archive/dave/' } });
    expect(out.warnings.some((w) => w.startsWith('users[0].virtual_folders[0].subpath: folder "team" mounted at its subpath "/q3/reports"'))).toBe(true);
    d.users[0].virtual_folders[0].subpath = '/a/../b';
    expect(errorsOf(() => importSftpgoDump(d))[0]!.path).toBe('users[0].virtual_folders[0].subpath');
  });

  test('an admin\'s last login is kept beside it; never (0) is nothing to keep', () => {
    const d = clone();
    expect(importSftpgoDump(d).state['admin:superadmin']).toBeUndefined();
    d.admins[0].last_login = 1718000001000;
    expect(importSftpgoDump(d).state['admin:superadmin']).toEqual({ last_login: 1718000001000 });
    expect(importSftpgoDump(d).state['user:dave']?.last_login).toBeUndefined();
  });

  test('an admin limited to a role is imported enabled with its role; the roles come along', () => {
    const d = clone();
    d.admins.push({ username: 'scoped', status: 1, password: d.admins[0].password, permissions: ['view_users', 'add_users'], role: 'eu', filters: { totp_config: { enabled: true, secret: { status: 'Plain', payload: 'JBSWY3DPEHPK3PXP' } } } });
    d.roles = [{ id: 1, name: 'eu', description: 'EU region', created_at: 1, updated_at: 1, admins: ['scoped'], users: [] }];
    const out = importSftpgoDump(d);
    const scoped = out.admins.find((a) => a.username === 'scoped')!;
    expect(scoped).toMatchObject({ status: 1, role: 'eu', permissions: ['view_users', 'add_users'] });
    expect(out.state['admin:scoped']).toBeUndefined();
    expect(out.roles).toEqual([{ name: 'eu', description: 'EU region' }]);
    expect(out.warnings.some((w) => w.startsWith('admins[1].role'))).toBe(false);
    // Admins have TOTP here too: the configuration comes along, without a warning.
    expect(scoped.filters?.totp_config).toMatchObject({ enabled: true });
    expect(out.warnings.some((w) => w.includes('totp_config'))).toBe(false);
  });

  test("shares come as SFTPGo keeps them; one SFTPGo would refuse, or of a user not imported, is a warning", () => {
    const d = clone();
    const user = d.users[0].username;
    const hash = '$2a$10$abcdefghijklmnopqrstuu5EaQ0nQ0xq6Kp5b5rY0GQ6P4p2aK6aG';
    d.shares = [
      { id: 'abc123', name: 'past', scope: 3, paths: ['/in/'], username: user, created_at: 5, updated_at: 6, last_use_at: 7, expires_at: 1000, password: hash, max_tokens: 4, used_tokens: 2, allow_from: ['10.0.0.0/8'] },
      { id: 'def456', name: 'two', scope: 2, paths: ['/a', '/b'], username: user },
      { id: 'ghi789', name: 'nobody', scope: 1, paths: ['/a'], username: 'ghost' },
      { id: 'jkl012', name: 'clear', scope: 1, paths: ['/a'], username: user, password: 'clear-text' },
    ];
    const out = importSftpgoDump(d);
    // A restore keeps an expiration already past, as SFTPGo's does.
    expect(out.shares).toEqual([
      { id: 'abc123', name: 'past', scope: 3, paths: ['/in'], username: user, created_at: 5, updated_at: 6, last_use_at: 7, expires_at: 1000, password: hash, max_tokens: 4, used_tokens: 2, allow_from: ['10.0.0.0/8'] },
    ]);
    expect(out.warnings).toEqual(expect.arrayContaining([
      'shares[1] (def456): the write share scope requires exactly one path, not imported',
      'shares[2] (ghi789): its user "ghost" is not imported, not imported',
      'shares[3] (jkl012): its password is not a hash, not imported',
    ]));
    expect(toYaml(out)).toContain('1 share link(s) are state, not config');
  });

  test("SFTPGo's stored configurations get one warning naming the non-empty ones", () => {
    const d = clone();
    d.configs = { smtp: { host: 'mail' }, sftpd: {} };
    const out = importSftpgoDump(d);
    expect(out.warnings).toContain("configs (smtp): SFTPGo's stored configurations are not supported yet, not imported");
  });

  test('IP list entries are imported with their networks normalised; one SFTPGo would refuse is a warning', () => {
    const d = clone();
    d.ip_lists = [
      { ipornet: '10.1.2.3/8', type: 1, mode: 1, protocols: 0, description: 'office', created_at: 1, updated_at: 2 },
      { ipornet: '2001:db8::1', type: 2, mode: 2, protocols: 3 },
      { ipornet: '192.0.2.7', type: 3, mode: 2 },
    ];
    const out = importSftpgoDump(d);
    expect(out.ip_lists).toEqual([
      { ipornet: '10.0.0.0/8', type: 1, mode: 1, protocols: 0, description: 'office' },
      { ipornet: '2001:db8::1/128', type: 2, mode: 2, protocols: 3 },
    ]);
    expect(out.warnings).toContain('ip_lists[2].mode (192.0.2.7): invalid list mode: 2, not imported');
    expect(toYaml(out)).toContain('ip_lists:');
  });

  test('values our schema refuses are errors with their path', () => {
    const d = clone();
    d.users[0].permissions = { '/': ['fly'] };
    expect(errorsOf(() => importSftpgoDump(d))[0]!.path).toStartWith('users[0].permissions');
  });

  test("a user's groups that are not a list are an error with their path, not a crash", () => {
    for (const groups of [5, 'g', { name: 'g' }, true]) {
      const d = clone();
      d.users[0].groups = groups;
      expect(errorsOf(() => importSftpgoDump(d))[0]!.path).toBe('users[0].groups');
    }
  });

  test('unsupported fields with a value are warnings, not silent', () => {
    const d = clone();
    d.users[0].filters.bandwidth_limits = [{ sources: ['10.0.0.0/8'], upload_bandwidth: 10 }];
    d.shares = [{ id: 1 }];
    const out = importSftpgoDump(d);
    expect(out.warnings).toContain('users[0].filters.bandwidth_limits: not supported here, dropped');
    expect(out.warnings).toContain('shares[0] (1): its id is not a share id, not imported');
    expect(() => importSftpgoDump([])).toThrow(MigrationError);
  });

  test("a user's allow_api_key_auth is kept (the user API takes user keys); the Default TOTP config passes", () => {
    const d = clone();
    d.users[0].filters.allow_api_key_auth = true;
    d.users[0].filters.totp_config = { ...d.users[0].filters.totp_config, config_name: 'Default' };
    const out = importSftpgoDump(d);
    expect(out.warnings.some((w) => w.includes('allow_api_key_auth'))).toBe(false);
    expect((out.users[0]!.filters as Record<string, unknown> | undefined)?.allow_api_key_auth).toBe(true);
    expect(out.warnings.some((w) => w.includes('config_name'))).toBe(false);
  });

  test('toYaml emits a config our loader accepts, with the same records', () => {
    const text = toYaml(r);
    expect(text).toContain('# Imported from an SFTPGo backup');
    const loaded = parseConfigText(text, 'imported.yaml', '/tmp');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(parse(text).users).toEqual(r.users);
    expect(loaded.value.config.folders).toEqual(r.folders);
  });
});
