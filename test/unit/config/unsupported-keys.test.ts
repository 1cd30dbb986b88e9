// SFTPGo keys this server refuses get "not supported: <why>" at their line, from `validate`/`serve`
// and from the API alike; the ones accepted with SFTPGo's off value take that value and nothing else.
import { afterAll, describe, expect, test } from 'bun:test';
import { parseConfigText, formatIssue } from '../../../src/config/load.ts';
import { NOT_SUPPORTED } from '../../../src/config/unsupported.ts';
import { validateBody } from '../../../src/config/validate.ts';
import { runCli } from '../../support/cli.ts';
import { ROOT } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

afterAll(removeTempDirs);

function issues(yaml: string): string[] {
  const r = parseConfigText(yaml, 'c.yaml', ROOT);
  return r.ok ? [] : r.issues.map(formatIssue);
}

const USER = '  - { username: a, password: x, home_dir: /tmp/a, permissions: { "/": ["*"] } }';

/** A minimal config that sets `key` (a config path, arrays written []) to `value`. */
function configSetting(key: string, value: unknown): string {
  const json = JSON.stringify(value);
  const parts = key.split('.');
  if (parts[0] === 'users[]' || parts[0] === 'folders[]') {
    const base = parts[0] === 'users[]' ? { username: 'a', password: 'x', home_dir: '/tmp/a', permissions: { '/': ['*'] } } : { name: 'f', mapped_path: '/tmp/f' };
    const record: Record<string, unknown> = structuredClone(base);
    let at = record;
    for (const p of parts.slice(1, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts.at(-1)!] = value;
    if (parts[1] === 'filesystem') record.filesystem = { provider: parts[2]!.replace('config', '') === 'sftp' ? 'sftp' : parts[2]!.replace('config', ''), ...(record.filesystem as object) };
    return `${parts[0] === 'users[]' ? 'users' : 'folders'}: [${JSON.stringify(record)}]\n`;
  }
  let text = `${parts.at(-1)}: ${json}`;
  for (const p of parts.slice(0, -1).reverse()) text = p.endsWith('[]') ? `${p.slice(0, -2)}: [{ port: 2121, ${text} }]` : `${p}: { ${text} }`;
  return `${text}\n`;
}

describe('refused SFTPGo keys', () => {
  test('every listed key is refused with its reason, wherever it sits', () => {
    for (const [key, why] of NOT_SUPPORTED) {
      const found = issues(configSetting(key, 1)).join('\n');
      expect(found).toContain(`not supported: ${why}`);
    }
  });

  test('validate names the file, line and field', () => {
    const dir = tempDir();
    const file = join(dir, 'sftpgo.yaml');
    writeFileSync(file, `ftpd:\n  enable_site: true\n  bindings: [{ port: 2121, client_auth_type: 1 }]\nsftpd:\n  folder_prefix: /files\n  host_certificates: [host-cert.pub]\nusers:\n${USER}\n`);
    const r = runCli(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain('sftpgo.yaml:2:3: ftpd.enable_site: not supported: the SITE command is not implemented');
    expect(r.stderr + r.stdout).toContain('ftpd.bindings[0].client_auth_type: not supported:');
    expect(r.stderr + r.stdout).toContain('sftpd.folder_prefix: not supported:');
    expect(r.stderr + r.stdout).toContain('sftpd.host_certificates: not supported:');
  });

  test("keys accepted only with SFTPGo's off value: that value passes, another is refused with the reason", () => {
    const offValues: [string, unknown, unknown][] = [
      ['users[].filters.totp_config.config_name', 'Default', 'Other'],
      ['users[].filesystem.sftpconfig.equality_check_mode', 0, 1],
    ];
    for (const [key, off, on] of offValues) {
      expect(issues(configSetting(key, off)).filter((i) => i.includes(key.split('.').at(-1)!))).toEqual([]);
      expect(issues(configSetting(key, on)).join('\n')).toContain(`not supported: ${NOT_SUPPORTED.get(key)}`);
    }
  });

  test('an API body gets the same reason', () => {
    const errors = validateBody('User', { username: 'a', home_dir: '/h', permissions: { '/': ['*'] }, filters: { is_anonymous: true, web_client: [], tls_username: 'CommonName' } });
    expect(errors).toContainEqual({ path: 'filters.is_anonymous', message: `not supported: ${NOT_SUPPORTED.get('users[].filters.is_anonymous')}` });
    expect(errors).toContainEqual({ path: 'filters.web_client', message: `not supported: ${NOT_SUPPORTED.get('users[].filters.web_client')}` });
    expect(errors).toContainEqual({ path: 'filters.tls_username', message: `not supported: ${NOT_SUPPORTED.get('users[].filters.tls_username')}` });
    const folder = validateBody('Folder', { name: 'f', mapped_path: '/m', filesystem: { provider: 'sftp', sftpconfig: { endpoint: 'h:22', username: 'u', equality_check_mode: 1 } } });
    expect(folder.map((e) => e.message)).toContain(`not supported: ${NOT_SUPPORTED.get('folders[].filesystem.sftpconfig.equality_check_mode')}`);
  });

  test('an unknown key that is no SFTPGo key still says unknown field', () => {
    expect(issues('webdavd: { bindings: [{ port: 8090, force_passive_ip: 10.0.0.1 }] }\n').join('\n')).toContain('webdavd.bindings[0].force_passive_ip: unknown field');
  });
});
