// The pure parts of schedules, provider events and the new action types: SFTPGo's cron fields,
// which conditions and actions each trigger takes, what a store change is as a provider event and
// what of the object an action may see, and an SFTPGo backup's rules with these triggers imported.
import { describe, expect, test } from 'bun:test';
import { parseConfigText } from '../../../src/config/load.ts';
import { backupFileName, backupsDir } from '../../../src/core/event-rules/backup.ts';
import { compileSchedule, scheduleMatchesHour, type CompiledSchedule } from '../../../src/core/event-rules/cron.ts';
import { actionsNeedOtherObject, objectData, providerChangeOf, providerRuleMatches } from '../../../src/core/event-rules/provider.ts';
import type { EventRule } from '../../../src/core/event-rules/model.ts';
import { importSftpgoDump } from '../../../src/migrate/sftpgo.ts';

function schedule(hour: string, dom = '*', month = '*', dow = '*'): CompiledSchedule {
  const c = compileSchedule({ hour, day_of_month: dom, month, day_of_week: dow });
  if (c instanceof Error) throw c;
  return c;
}

const at = (iso: string) => new Date(iso);

describe("SFTPGo's schedule fields", () => {
  test('hours: star, lists, ranges and steps', () => {
    expect(scheduleMatchesHour(schedule('*'), at('2030-01-07T13:00:00Z'))).toBe(true);
    expect(scheduleMatchesHour(schedule('1,13'), at('2030-01-07T13:00:00Z'))).toBe(true);
    expect(scheduleMatchesHour(schedule('1,14'), at('2030-01-07T13:00:00Z'))).toBe(false);
    expect(scheduleMatchesHour(schedule('8-18/5'), at('2030-01-07T13:00:00Z'))).toBe(true);
    expect(scheduleMatchesHour(schedule('8-18/5'), at('2030-01-07T12:00:00Z'))).toBe(false);
    expect(scheduleMatchesHour(schedule('*/6'), at('2030-01-07T18:00:00Z'))).toBe(true);
    // `5/2`: from 5 to the end of the range.
    expect(scheduleMatchesHour(schedule('5/2'), at('2030-01-07T23:00:00Z'))).toBe(true);
    expect(scheduleMatchesHour(schedule('5/2'), at('2030-01-07T03:00:00Z'))).toBe(false);
  });

  test('names for months and weekdays; the day fields are or-ed when both are restricted, as cron does', () => {
    // 2030-01-07 is a Monday.
    expect(scheduleMatchesHour(schedule('0', '*', 'JAN', 'MON'), at('2030-01-07T00:00:00Z'))).toBe(true);
    expect(scheduleMatchesHour(schedule('0', '*', 'feb', 'MON'), at('2030-01-07T00:00:00Z'))).toBe(false);
    expect(scheduleMatchesHour(schedule('0', '*', '*', 'TUE'), at('2030-01-07T00:00:00Z'))).toBe(false);
    expect(scheduleMatchesHour(schedule('0', '15', '*', 'MON'), at('2030-01-07T00:00:00Z'))).toBe(true);
    expect(scheduleMatchesHour(schedule('0', '15', '*', 'TUE'), at('2030-01-07T00:00:00Z'))).toBe(false);
    expect(scheduleMatchesHour(schedule('0', '7', '*', '*'), at('2030-01-07T00:00:00Z'))).toBe(true);
    expect(scheduleMatchesHour(schedule('0', '?', '*', '0'), at('2030-01-06T00:00:00Z'))).toBe(true);
  });

  test('wrong fields say which and why', () => {
    expect(String(compileSchedule({ hour: '24', day_of_month: '*', month: '*', day_of_week: '*' }))).toBe('Error: hour "24": 24 is out of range 0-23');
    expect(String(compileSchedule({ hour: '*', day_of_month: '0', month: '*', day_of_week: '*' }))).toBe('Error: day_of_month "0": 0 is out of range 1-31');
    expect(String(compileSchedule({ hour: '5-2', day_of_month: '*', month: '*', day_of_week: '*' }))).toBe('Error: hour "5-2": range "5-2" ends before it starts');
    expect(String(compileSchedule({ hour: '*/0', day_of_month: '*', month: '*', day_of_week: '*' }))).toBe('Error: hour "*/0": bad step in "*/0"');
    expect(String(compileSchedule({ hour: 'x', day_of_month: '*', month: '*', day_of_week: '*' }))).toBe('Error: hour "x": "x" is not a number');
  });
});

function problems(yaml: string): string[] {
  const r = parseConfigText(yaml, '/tmp/sftpgo.yaml', '/tmp');
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('rules and actions of the new types in the config', () => {
  const actions = `event_actions:
  - { name: hook, type: 1, options: { http_config: { endpoint: "http://127.0.0.1/x" } } }
  - { name: backup, type: 4 }
  - { name: users, type: 5 }
  - { name: folders, type: 6 }
  - { name: transfers, type: 7 }
  - name: retention
    type: 8
    options: { retention_config: { folders: [{ path: /in, retention: 24 }] } }
`;
  const rule = (trigger: number, conditions: string, names: string) =>
    problems(`${actions}event_rules:\n  - name: r\n    trigger: ${trigger}\n    conditions: ${conditions}\n    actions: [${names.split(',').map((n) => `{ name: ${n} }`).join(', ')}]\n`);

  test('each trigger takes its own conditions, and refuses the others by name', () => {
    expect(rule(3, '{ schedules: [{ hour: "2", day_of_week: "*", day_of_month: "*", month: "*" }], options: { names: [{ pattern: "a*" }] } }', 'users,transfers,retention,backup,folders')).toEqual([]);
    expect(rule(2, '{ provider_events: [add, delete], options: { provider_objects: [user, share] } }', 'hook,backup')).toEqual([]);
    expect(rule(4, '{}', 'hook,backup')).toEqual([]);
    expect(rule(3, '{ schedules: [{ hour: "25", day_of_week: "*", day_of_month: "*", month: "*" }] }', 'hook')).toEqual(['event_rules[0].conditions.schedules[0]: invalid schedule: hour "25": 25 is out of range 0-23']);
    expect(rule(3, '{ fs_events: [upload], schedules: [{ hour: "1", day_of_week: "*", day_of_month: "*", month: "*" }] }', 'hook')).toEqual(['event_rules[0].conditions.fs_events: applies to filesystem rules (trigger 1) only']);
    expect(rule(2, '{ options: { provider_objects: [user] } }', 'hook')).toEqual(['event_rules[0].conditions.provider_events: at least one provider event is required for a trigger 2 rule']);
    expect(rule(1, '{ fs_events: [upload], options: { provider_objects: [user] } }', 'hook')).toEqual(['event_rules[0].conditions.options.provider_objects: applies to provider event rules (trigger 2) only']);
    expect(rule(4, '{ options: { names: [{ pattern: x }] } }', 'hook')).toEqual(['event_rules[0].conditions.options.names: applies to filesystem, provider, scheduled and on-demand rules only']);
  });

  test("SFTPGo's action consistency: no user or folder actions on IP blocked rules, no folder quota reset on filesystem events", () => {
    expect(rule(4, '{}', 'users,retention')).toEqual([
      'event_rules[0].actions[0].name: action "users" (type 5) cannot run here: an IP blocked event has no user or folder to act on',
      'event_rules[0].actions[1].name: action "retention" (type 8) cannot run here: an IP blocked event has no user or folder to act on',
    ]);
    expect(rule(1, '{ fs_events: [upload] }', 'folders')).toEqual(['event_rules[0].actions[0].name: action "folders" (type 6) cannot run here: folder quota resets do not run on filesystem events']);
  });

  test('backup and quota resets take no options; a retention check needs something to delete, once per path', () => {
    expect(problems('event_actions:\n  - { name: b, type: 4, options: { http_config: { endpoint: "http://h" } } }\n')).toEqual(['event_actions[0].options.http_config: applies to type 1 actions only; a type 4 action takes no options']);
    expect(problems('event_actions:\n  - { name: r, type: 8, options: { retention_config: { folders: [{ path: /a, retention: 0 }] } } }\n')).toEqual([
      'event_actions[0].options.retention_config.folders: nothing to delete: give at least one folder a retention above 0 hours',
    ]);
    expect(problems('event_actions:\n  - { name: r, type: 8, options: { retention_config: { folders: [{ path: /a/, retention: 1 }, { path: a, retention: 2 }] } } }\n')).toEqual([
      'event_actions[0].options.retention_config.folders[1].path: duplicate folder path "/a"',
    ]);
    expect(problems('event_actions:\n  - { name: r, type: 8 }\n')).toEqual(['event_actions[0].options.retention_config: required for a type 8 action']);
  });

  test('data_provider.backups_path: relative to the data dir, <data dir>/backups by default; files named as SFTPGo', () => {
    expect(backupsDir(undefined, '/srv/data')).toBe('/srv/data/backups');
    expect(backupsDir('bk', '/srv/data')).toBe('/srv/data/bk');
    expect(backupsDir('/var/backups/sftpgo', '/srv/data')).toBe('/var/backups/sftpgo');
    expect(backupFileName(at('2030-01-07T05:59:00Z'))).toBe('backup_Monday_5.json');
    expect(backupFileName(at('2030-01-13T23:00:00Z'))).toBe('backup_Sunday_23.json');
  });
});

describe('provider events from store changes', () => {
  const user = { username: 'u', password: '$2a$10$hash', password_digest: 'd1g3st', home_dir: '/h', updated_at: 1, filters: { totp_config: { enabled: true, secret: { sealed: 'abc' }, recovery_codes: ['x'] } } };

  test('add, update, delete by whether the key existed; usage, meta and bookkeeping are no event', () => {
    expect(providerChangeOf({ collection: 'users', key: 'u', value: user as never })).toMatchObject({ event: 'add', objectType: 'user', objectName: 'u' });
    expect(providerChangeOf({ collection: 'users', key: 'u', value: { ...user, home_dir: '/x', updated_at: 2 } as never, previous: user as never })).toMatchObject({ event: 'update' });
    expect(providerChangeOf({ collection: 'users', key: 'u', value: undefined, previous: user as never })).toMatchObject({ event: 'delete', object: user });
    expect(providerChangeOf({ collection: 'users', key: 'u', value: { ...user, updated_at: 2 } as never, previous: user as never })).toBeUndefined();
    const key = { id: 'k1', name: 'ci', key: '$pbkdf2', scope: 1, created_at: 1, updated_at: 1 };
    expect(providerChangeOf({ collection: 'api_keys', key: 'k1', value: { ...key, last_use_at: 5 } as never, previous: key as never })).toBeUndefined();
    expect(providerChangeOf({ collection: 'usage', key: 'user:u', value: { used_quota_size: 1 } as never })).toBeUndefined();
    expect(providerChangeOf({ collection: 'meta', key: 'x', value: 1 })).toBeUndefined();
    expect(providerChangeOf({ collection: 'ip_lists', key: '2_10.0.0.0/8', value: { ipornet: '10.0.0.0/8', type: 2, mode: 2 } as never })).toMatchObject({ objectType: 'ip_list_entry', objectName: '10.0.0.0/8' });
  });

  test('an override written through the API is an update of its record', () => {
    expect(providerChangeOf({ collection: 'overrides', key: 'folder:f', value: { kind: 'folder', name: 'f', fields: {}, updated_at: 1, updated_by: 'root' } })).toEqual({
      event: 'update', objectType: 'folder', objectName: 'f', object: undefined, overrideOf: 'folder',
    });
  });

  test('a rule matches by event and object type, and by who made the change (names, roles); a change has no groups', () => {
    const root = { name: 'root', ip: '10.0.0.1', role: '' };
    const rule = (options: NonNullable<EventRule['conditions']>['options']): Pick<EventRule, 'conditions'> => ({ conditions: { provider_events: ['add', 'delete'], options } });
    const add = { event: 'add' as const, objectType: 'user' };
    expect(providerRuleMatches(rule({}), add, root)).toBe(true);
    expect(providerRuleMatches(rule({}), { ...add, event: 'update' as const }, root)).toBe(false);
    expect(providerRuleMatches(rule({ provider_objects: ['folder'] }), add, root)).toBe(false);
    expect(providerRuleMatches(rule({ provider_objects: ['folder', 'user'] }), add, root)).toBe(true);
    expect(providerRuleMatches(rule({ names: [{ pattern: 'ro*' }] }), add, root)).toBe(true);
    expect(providerRuleMatches(rule({ names: [{ pattern: '__system__', inverse_match: true }] }), add, { name: '__system__', ip: '', role: '' })).toBe(false);
    expect(providerRuleMatches(rule({ role_names: [{ pattern: 'eu' }] }), add, { ...root, role: 'eu' })).toBe(true);
    expect(providerRuleMatches(rule({ role_names: [{ pattern: 'eu' }] }), add, root)).toBe(false);
    expect(providerRuleMatches(rule({ group_names: [{ pattern: '*' }] }), add, root)).toBe(false);
  });

  test("SFTPGo's consistency rule: user actions need a user event, a folder quota reset a folder event", () => {
    expect(actionsNeedOtherObject([1, 5], 'user')).toBeUndefined();
    expect(actionsNeedOtherObject([1, 5], 'admin')).toBe('user');
    expect(actionsNeedOtherObject([9], 'folder')).toBe('user');
    expect(actionsNeedOtherObject([6], 'user')).toBe('folder');
    expect(actionsNeedOtherObject([6, 1, 4], 'folder')).toBeUndefined();
    expect(actionsNeedOtherObject([1, 2, 4], 'share')).toBeUndefined();
  });

  test('the object data has its secrets redacted and no password, key hash or recovery codes', () => {
    const data = JSON.parse(objectData('user', user));
    expect(data).toEqual({ username: 'u', home_dir: '/h', updated_at: 1, filters: { totp_config: { enabled: true, secret: { status: 'Redacted' } } } });
    expect(JSON.parse(objectData('api_key', { id: 'k1', name: 'ci', key: '$pbkdf2$x' }))).toEqual({ id: 'k1', name: 'ci' });
    expect(JSON.parse(objectData('share', { id: 's', password: '$2a$x', paths: ['/'] }))).toEqual({ id: 's', paths: ['/'] });
    expect(objectData('user', undefined)).toBe('{}');
  });
});

describe('SFTPGo backups with these triggers and actions', () => {
  const empty = { http_config: {}, cmd_config: {}, email_config: {}, retention_config: {}, fs_config: { compress: {} }, pwd_expiration_config: {}, user_inactivity_config: {}, idp_config: {} };
  const dump = {
    version: 17,
    event_actions: [
      { id: 1, name: 'backup', type: 4, options: empty },
      { id: 2, name: 'user-quota', type: 5, options: empty },
      { id: 3, name: 'folder-quota', type: 6, options: empty },
      { id: 4, name: 'transfer-quota', type: 7, options: empty },
      { id: 5, name: 'retention', type: 8, options: { ...empty, retention_config: { folders: [{ path: '/in', retention: 48, delete_empty_dirs: true }, { path: '/in/keep', retention: 0 }] } } },
      { id: 6, name: 'hook', type: 1, options: { ...empty, http_config: { endpoint: 'http://127.0.0.1/h', timeout: 20, method: 'POST' } } },
    ],
    event_rules: [
      { id: 1, name: 'nightly', status: 1, trigger: 3, created_at: 1, updated_at: 1, conditions: { fs_events: [], provider_events: [], schedules: [{ hour: '2', day_of_week: '*', day_of_month: '*', month: '*' }], options: { concurrent_execution: false } },
        actions: [{ name: 'backup', order: 1, relation_options: {} }, { name: 'user-quota', order: 2 }, { name: 'folder-quota', order: 3 }, { name: 'transfer-quota', order: 4 }, { name: 'retention', order: 5 }] },
      { id: 2, name: 'on-user', status: 1, trigger: 2, conditions: { provider_events: ['add', 'update'], schedules: [], options: { provider_objects: ['user'], names: [{ pattern: 'admin*' }] } }, actions: [{ name: 'hook', order: 1 }] },
      { id: 3, name: 'on-ban', status: 1, trigger: 4, conditions: { options: {} }, actions: [{ name: 'hook', order: 1 }] },
    ],
  };

  test('import unchanged, none left out', () => {
    const out = importSftpgoDump(dump, { enabledCommands: [] });
    expect(out.warnings.filter((w) => w.startsWith('event_'))).toEqual([]);
    expect(out.event_actions.map((a) => [a.name, a.type, Object.keys(a.options ?? {})])).toEqual([
      ['backup', 4, []], ['user-quota', 5, []], ['folder-quota', 6, []], ['transfer-quota', 7, []], ['retention', 8, ['retention_config']], ['hook', 1, ['http_config']],
    ]);
    expect(out.event_actions[4]!.options?.retention_config).toEqual({ folders: [{ path: '/in', retention: 48, delete_empty_dirs: true }, { path: '/in/keep', retention: 0 }] });
    expect(out.event_rules.map((r) => r.name)).toEqual(['nightly', 'on-user', 'on-ban']);
    expect(out.event_rules[0]!.conditions?.schedules).toEqual([{ hour: '2', day_of_week: '*', day_of_month: '*', month: '*' }]);
    expect(out.event_rules[1]!.conditions).toEqual({ provider_events: ['add', 'update'], options: { provider_objects: ['user'], names: [{ pattern: 'admin*' }] } });
  });
});
