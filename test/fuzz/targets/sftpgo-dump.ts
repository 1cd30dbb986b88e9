// Fuzz target: the SFTPGo dump importer (src/migrate/sftpgo.ts) on JSON backups. A backup either
// imports or is refused with a MigrationError listing its problems; what imports must also come
// out as YAML the config loader accepts (the importer refuses, with paths, whatever our schema
// would), and every warning and skipped record is a line of text.
import { importSftpgoDump, MigrationError, toYaml } from '../../../src/migrate/sftpgo.ts';
import { parseConfigText, formatIssue } from '../../../src/config/load.ts';
import { check, expectOnly, type FuzzTarget } from '../target.ts';

const KEYS = ['users', 'groups', 'folders', 'admins', 'api_keys', 'shares', 'event_actions', 'event_rules', 'roles', 'ip_lists', 'configs', 'version'] as const;

export const target: FuzzTarget = {
  name: 'sftpgo-dump',
  maxLen: 16 * 1024,
  dictionary: [
    ...KEYS.map((k) => `"${k}": `),
    '"username": ', '"password": ', '"home_dir": ', '"permissions": {"/": ["*"]}', '"filesystem": {"provider": ', '"status": ', '"virtual_folders": [', '"mapped_path": ',
    '"name": ', '"virtual_path": ', '"quota_size": -1', '"filters": {', '"payload": ', '"key": ', '"additional_data": ', '"mode": 1', '"Plain"', '"AES-256-GCM"', '"Secretbox"',
    '"type": ', '"ipornet": ', '"options": {', '"trigger": ', '"conditions": {', '"actions": [', '"groups": [', '"role": ', '"expiration_date": ', '"public_keys": [',
    '{', '}', '[', ']', ',', ':', 'null', 'true', 'false', '0', '-1', '1e999', '""', '"\\u0000"', '"../"', '"/"', '"*"',
  ],
  run(data) {
    let dump: unknown;
    try {
      dump = JSON.parse(data.toString('utf8'));
    } catch {
      return; // not JSON: the command refuses it before the importer sees it
    }
    const r = expectOnly([MigrationError], () => importSftpgoDump(dump));
    if (!r) return;
    for (const k of ['users', 'folders', 'groups', 'admins', 'roles', 'ip_lists', 'event_actions', 'event_rules', 'shares', 'warnings', 'skipped'] as const)
      check(Array.isArray(r[k]), `${k} is a list`);
    check(r.warnings.every((w) => typeof w === 'string' && w.length > 0), 'warnings are text');
    check(r.skipped.every((s) => typeof s.path === 'string' && typeof s.message === 'string'), 'skipped records say why');
    const yaml = toYaml(r);
    const loaded = parseConfigText(yaml, 'imported.yaml', '/nonexistent-fuzz-dir', { resolveSecrets: false });
    // A role or group the backup names without holding it is imported on purpose (loaddata finds
    // it in the store; the YAML names it as a warning): the only problem the YAML may have.
    const problems = loaded.ok ? [] : loaded.issues.filter((i) => !/^(role|group) ".*" is not declared in (roles|groups)$/.test(i.message));
    check(problems.length === 0, `the imported config loads: ${problems.slice(0, 3).map(formatIssue).join('; ')}`);
  },
};
