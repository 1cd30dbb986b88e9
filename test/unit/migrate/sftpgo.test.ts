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
    expect(r.usage['user:carol']).toEqual({ size: 2048, files: 2 });
    expect(r.usage['folder:team']).toEqual({ size: 512, files: 1 });
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

  test('encrypted secrets and the HTTP filesystem are errors listing each field', () => {
    const d = clone();
    d.users[1].filesystem.s3config.access_secret = { status: 'AES-256-GCM', payload: 'x', key: 'y', additional_data: 'dave' };
    d.users[2].filesystem = { provider: 6, httpconfig: { endpoint: 'https://x' } };
    const errs = errorsOf(() => importSftpgoDump(d));
    expect(errs.map((e) => e.path)).toEqual(['users[1].filesystem.s3config.access_secret', 'users[2].filesystem.provider']);
    expect(errs[0]!.message).toContain('AES-256-GCM');
    expect(errs[1]!.message).toContain('HTTP');
  });

  test('values our schema refuses are errors with their path', () => {
    const d = clone();
    d.users[0].permissions = { '/': ['fly'] };
    expect(errorsOf(() => importSftpgoDump(d))[0]!.path).toStartWith('users[0].permissions');
  });

  test('unsupported fields with a value are warnings, not silent', () => {
    const d = clone();
    d.users[0].filters.bandwidth_limits = [{ sources: ['10.0.0.0/8'], upload_bandwidth: 10 }];
    d.shares = [{ id: 1 }];
    const out = importSftpgoDump(d);
    expect(out.warnings).toContain('users[0].filters.bandwidth_limits: not supported here, dropped');
    expect(out.warnings.some((w) => w.startsWith('shares:'))).toBe(true);
    expect(() => importSftpgoDump([])).toThrow(MigrationError);
  });

  test('a value other than the only one accepted here (allow_api_key_auth: true) is a warning and dropped', () => {
    const d = clone();
    d.users[0].filters.allow_api_key_auth = true;
    d.users[0].filters.totp_config = { ...d.users[0].filters.totp_config, config_name: 'Default' };
    const out = importSftpgoDump(d);
    expect(out.warnings).toContain('users[0].filters.allow_api_key_auth: true is not supported here, dropped');
    expect((out.users[0]!.filters as Record<string, unknown> | undefined)?.allow_api_key_auth).toBeUndefined();
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
