// The event manager's pure parts: placeholders (SFTPGo's names, JSON escaping), condition matching
// (Go path.Match, ** as doublestar, inverse patterns, sizes), the checks of event_actions and
// event_rules in the config, and the mapping of an SFTPGo backup's actions and rules.
import { describe, expect, test } from 'bun:test';
import { parseConfigText } from '../../../src/config/load.ts';
import { fsEventMatches, patternMatches, patternsHold } from '../../../src/core/event-rules/match.ts';
import { orderedActions, type EventRule } from '../../../src/core/event-rules/model.ts';
import { emptyParams, fillPlaceholders, placeholderValues } from '../../../src/core/event-rules/params.ts';
import { importSftpgoDump } from '../../../src/migrate/sftpgo.ts';

describe('placeholders', () => {
  const p = emptyParams({
    name: 'alice', event: 'upload', status: 1, virtualPath: '/in/a "b".csv', fsPath: '/srv/alice/in/a "b".csv', fileSize: 42, protocol: 'SFTP',
    ip: '192.0.2.1', role: 'eu', timestamp: Date.UTC(2026, 0, 2, 3, 4, 5, 6), virtualTargetPath: '/out/c.csv',
  });
  const v = placeholderValues(p);

  test('SFTPGo names and values', () => {
    const t = '{{.Name}} {{.Event}} {{.Status}} {{.VirtualPath}} {{.VirtualDirPath}} {{.ObjectName}} {{.FileSize}} {{.Protocol}} {{.IP}} {{.Role}}';
    expect(fillPlaceholders(t, v)).toBe('alice upload 1 /in/a "b".csv /in a "b".csv 42 SFTP 192.0.2.1 eu');
    expect(fillPlaceholders('{{.Year}}-{{.Month}}-{{.Day}}T{{.Hour}}:{{.Minute}} {{.DateTime}}', v)).toBe('2026-01-02T03:04 2026-01-02T03:04:05.006');
    expect(fillPlaceholders('{{.Timestamp}}', v)).toBe('1767323045006000000');
    expect(fillPlaceholders('{{.VirtualTargetPath}} {{.VirtualTargetDirPath}} {{.TargetName}} {{.Ext}} {{.ObjectBaseName}}', v)).toBe('/out/c.csv /out c.csv .csv a "b"');
    expect(fillPlaceholders('{{.ErrorString}}|{{.ObjectData}}|{{.StatusString}}', v)).toBe('|{}|OK');
  });

  test('unknown placeholders stay as written; a value is never read as a placeholder', () => {
    expect(fillPlaceholders('{{.Nope}} {{Name}}', v)).toBe('{{.Nope}} {{Name}}');
    const tricky = placeholderValues(emptyParams({ name: '{{.Event}}', event: 'upload' }));
    expect(fillPlaceholders('{{.Name}}', tricky)).toBe('{{.Event}}');
  });

  test('JSON escaping keeps a JSON body valid; ObjectData stays JSON', () => {
    const body = fillPlaceholders('{"p":"{{.VirtualPath}}","d":{{.ObjectData}}}', v, 'json');
    expect(JSON.parse(body)).toEqual({ p: '/in/a "b".csv', d: {} });
  });

  test('the directory placeholders exist only with a path', () => {
    expect(fillPlaceholders('{{.VirtualDirPath}}', placeholderValues(emptyParams()))).toBe('{{.VirtualDirPath}}');
  });
});

describe('conditions', () => {
  test('Go path.Match on the whole virtual path; ** crosses directories', () => {
    expect(patternMatches('/in/*.csv', '/in/x.csv')).toBe(true);
    expect(patternMatches('/in/*.csv', '/in/sub/x.csv')).toBe(false);
    expect(patternMatches('*.csv', '/in/x.csv')).toBe(false);
    expect(patternMatches('/in/**', '/in/sub/deep/x.csv')).toBe(true);
    expect(patternMatches('/in/**/*.csv', '/in/x.csv')).toBe(true);
    expect(patternMatches('/in/**/*.csv', '/in/a/b/x.csv')).toBe(true);
    expect(patternMatches('/in/**/*.csv', '/in/a/b/x.txt')).toBe(false);
    expect(patternMatches('/in/[', '/in/[')).toBe(false);
  });

  test('inverse patterns must all hold; any plain match is enough', () => {
    expect(patternsHold('bob', [{ pattern: 'a*' }, { pattern: 'b*' }])).toBe(true);
    expect(patternsHold('carl', [{ pattern: 'a*' }, { pattern: 'b*' }])).toBe(false);
    expect(patternsHold('carl', [{ pattern: 'a*', inverse_match: true }])).toBe(true);
    expect(patternsHold('alice', [{ pattern: 'a*', inverse_match: true }])).toBe(false);
    expect(patternsHold('x', undefined)).toBe(true);
  });

  test('a filesystem rule: event, user, path, protocol, sizes of sized events', () => {
    const rule: Pick<EventRule, 'conditions'> = { conditions: { fs_events: ['upload', 'mkdir'], options: { names: [{ pattern: 'alice' }], fs_paths: [{ pattern: '/in/**' }], protocols: ['SFTP'], min_size: 10, max_size: 100 } } };
    const p = emptyParams({ name: 'alice', event: 'upload', virtualPath: '/in/x', protocol: 'SFTP', fileSize: 50 });
    expect(fsEventMatches(rule, p)).toBe(true);
    expect(fsEventMatches(rule, { ...p, event: 'download' })).toBe(false);
    expect(fsEventMatches(rule, { ...p, name: 'bob' })).toBe(false);
    expect(fsEventMatches(rule, { ...p, protocol: 'FTP' })).toBe(false);
    expect(fsEventMatches(rule, { ...p, fileSize: 5 })).toBe(false);
    expect(fsEventMatches(rule, { ...p, fileSize: 500 })).toBe(false);
    // mkdir carries no size: the size bounds do not apply.
    expect(fsEventMatches(rule, { ...p, event: 'mkdir', fileSize: 0 })).toBe(true);
  });

  test('actions run by order, list order among equals', () => {
    const order = orderedActions({ actions: [{ name: 'c', order: 3 }, { name: 'a', order: 1 }, { name: 'b', order: 2 }] });
    expect(order.map((a) => a.name)).toEqual(['a', 'b', 'c']);
    expect(orderedActions({ actions: [{ name: 'x' }, { name: 'y' }] }).map((a) => a.name)).toEqual(['x', 'y']);
  });
});

/** The config problems of a YAML document, as `path: message` lines. */
function problems(yaml: string): string[] {
  const r = parseConfigText(yaml, '/tmp/sftpgo.yaml', '/tmp');
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('event_actions and event_rules in the config', () => {
  const http = `event_actions:\n  - name: hook\n    type: 1\n    options:\n      http_config: { endpoint: "http://127.0.0.1/x" }\n`;

  test('a rule naming an undeclared action is an error at its line', () => {
    const r = parseConfigText(`${http}event_rules:\n  - name: r\n    trigger: 1\n    conditions: { fs_events: [upload] }\n    actions: [{ name: nope }]\n`, '/tmp/sftpgo.yaml', '/tmp');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([expect.objectContaining({ path: 'event_rules[0].actions[0].name', message: 'event action "nope" is not declared in event_actions', line: 10 })]);
  });

  test('types, triggers and blocks not supported yet are refused with the reason', () => {
    expect(problems(`event_actions:\n  - name: rotate\n    type: 15\n`)).toEqual(['event_actions[0].type: not supported yet: log rotation actions (type 15); types 1 (HTTP), 2 (command), 3 (email), 4 (backup), 5 to 7 (quota resets), 8 (data retention), 9 (filesystem), 11 (password expiration), 12 (user expiration) and 14 (user inactivity) are']);
    expect(problems(`${http}event_rules:\n  - name: s\n    trigger: 5\n    actions: [{ name: hook }]\n`)).toEqual([
      'event_rules[0].trigger: not supported yet: certificate renewal rules (trigger 5); triggers 1 (filesystem events), 2 (provider events), 3 (schedules), 4 (IP blocked) and 6 (on demand) are',
    ]);
    expect(problems(`event_actions:\n  - name: idp\n    type: 1\n    options:\n      idp_config: {}\n`)).toContain('event_actions[0].options.idp_config: not supported: Identity Provider account checks are not supported yet');
    expect(problems(`${http}event_rules:\n  - name: s\n    trigger: 1\n    conditions: { fs_events: [upload], idp_login_event: 1 }\n    actions: [{ name: hook }]\n`)).toContain('event_rules[0].conditions.idp_login_event: not supported: Identity Provider login rules are not supported yet');
    expect(problems(`${http}event_rules:\n  - name: s\n    trigger: 1\n    conditions: { fs_events: [upload], options: { concurrent_execution: true } }\n    actions: [{ name: hook }]\n`)).toEqual([
      'event_rules[0].conditions.options.concurrent_execution: not supported: it lets every replica of a shared store run a scheduled rule, and this store is never shared: each schedule runs once',
    ]);
  });

  test('an HTTP password cannot be generated', () => {
    expect(problems(`event_actions:\n  - name: h\n    type: 1\n    options:\n      http_config: { endpoint: "http://h", password: { generate: true } }\n`)).toEqual([
      'event_actions[0].options.http_config.password: a password for another server cannot be generated: give it, or read it with env or file',
    ]);
  });

  test('a command must be absolute and enabled in common.event_manager.enabled_commands', () => {
    const cmd = (path: string) => `event_actions:\n  - name: c\n    type: 2\n    options:\n      cmd_config: { cmd: ${path} }\n`;
    expect(problems(cmd('/bin/true'))).toEqual(['event_actions[0].options.cmd_config.cmd: command "/bin/true" is not allowed: list it in common.event_manager.enabled_commands']);
    expect(problems(`common:\n  event_manager:\n    enabled_commands: [/bin/true]\n${cmd('/bin/true')}`)).toEqual([]);
    expect(problems(`common:\n  event_manager:\n    enabled_commands: [bin/true]\n${cmd('bin/true')}`)).toEqual(['event_actions[0].options.cmd_config.cmd: must be an absolute path']);
  });

  test("SFTPGo's rule checks: pre-* needs a sync action, sync only on upload and pre-*, not on failure actions, one non-failure action", () => {
    const rule = (events: string, actions: string) => problems(`${http}event_rules:\n  - name: r\n    trigger: 1\n    conditions: { fs_events: [${events}] }\n    actions: ${actions}\n`);
    expect(rule('pre-upload', '[{ name: hook }]')).toEqual(['event_rules[0].actions: the event "pre-upload" needs at least one synchronous action (relation_options.execute_sync)']);
    expect(rule('download', '[{ name: hook, relation_options: { execute_sync: true } }]')).toEqual(['event_rules[0].actions[0].relation_options.execute_sync: synchronous actions run only on upload and pre-* events, and this rule also fires on "download"']);
    expect(rule('upload', '[{ name: hook, relation_options: { is_failure_action: true } }]')).toEqual(['event_rules[0].actions: at least one action must not be a failure action']);
    expect(rule('upload', '[{ name: hook, order: 1 }, { name: hook, order: 1 }]')).toEqual(['event_rules[0].actions[1].name: duplicate action "hook"', 'event_rules[0].actions[1].order: duplicate order 1']);
  });

  test('an on-demand rule takes no filesystem conditions', () => {
    expect(problems(`${http}event_rules:\n  - name: r\n    trigger: 6\n    conditions: { fs_events: [upload] }\n    actions: [{ name: hook }]\n`)).toEqual(['event_rules[0].conditions.fs_events: applies to filesystem rules (trigger 1) only']);
  });
});

describe('SFTPGo backup mapping', () => {
  const dump = {
    version: 17,
    event_actions: [
      { id: 1, name: 'hook', type: 1, options: { http_config: { endpoint: 'http://127.0.0.1/h', timeout: 20, method: 'POST', password: { status: 'Plain', payload: 'pw' } }, cmd_config: {}, email_config: {}, fs_config: { compress: {} } } },
      { id: 2, name: 'rotate', type: 15, options: {} },
      { id: 4, name: 'mail', type: 3, options: { email_config: { recipients: ['a@example.com'], subject: 's', body: 'b' }, http_config: {}, fs_config: { compress: {} } } },
      { id: 3, name: 'run', type: 2, options: { cmd_config: { cmd: '/usr/bin/env', timeout: 10 } } },
    ],
    event_rules: [
      { id: 1, name: 'both', status: 1, trigger: 1, created_at: 1, updated_at: 1, conditions: { fs_events: ['upload'], provider_events: [], options: { concurrent_execution: false } },
        actions: [{ id: 1, name: 'hook', type: 1, options: {}, order: 1, relation_options: { is_failure_action: false } }, { id: 2, name: 'rotate', type: 15, order: 2, relation_options: {} }] },
      { id: 2, name: 'only-rotate', status: 1, trigger: 1, conditions: { fs_events: ['upload'] }, actions: [{ name: 'rotate', order: 1 }] },
      { id: 3, name: 'nightly', status: 1, trigger: 3, conditions: { schedules: [{ hour: '0' }] }, actions: [{ name: 'hook', order: 1 }] },
    ],
  };

  test('supported actions and rules import; the rest is named in a warning', () => {
    const out = importSftpgoDump(dump, { enabledCommands: [] });
    expect(out.event_actions).toEqual([
      { name: 'hook', type: 1, options: { http_config: { endpoint: 'http://127.0.0.1/h', timeout: 20, method: 'POST', password: 'pw' } } },
      { name: 'mail', type: 3, options: { email_config: { recipients: ['a@example.com'], subject: 's', body: 'b' } } },
    ]);
    expect(out.event_rules).toEqual([{ name: 'both', status: 1, trigger: 1, conditions: { fs_events: ['upload'], options: { concurrent_execution: false } }, actions: [{ name: 'hook', order: 1, relation_options: { is_failure_action: false } }] }]);
    expect(out.warnings).toEqual(expect.arrayContaining([
      'event_actions[1] (rotate): type: not supported yet: log rotation actions (type 15); types 1 (HTTP), 2 (command), 3 (email), 4 (backup), 5 to 7 (quota resets), 8 (data retention), 9 (filesystem), 11 (password expiration), 12 (user expiration) and 14 (user inactivity) are, not imported',
      'event_actions[3] (run): options.cmd_config.cmd: command "/usr/bin/env" is not allowed: list it in common.event_manager.enabled_commands, not imported',
      'event_rules[0] (both): event action "rotate" was not imported, dropped from the rule',
      'event_rules[1] (only-rotate): no action left, not imported',
    ]));
    expect(out.warnings.some((w) => w.startsWith('event_rules[2] (nightly)'))).toBe(true);
  });
});
