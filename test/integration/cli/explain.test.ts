// `sftpgo explain` and the config's access assertions through the real CLI, against a server
// started in process from the same YAML: each answer names the deciding rule's file, line and
// column, refusals explain says are real are refused by OpenSSH's sftp, and an override made
// through the API is what explain reads from the store once the server has stopped.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/load.ts';
import { startServer, type Server } from '../../../src/serve/serve.ts';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { keptSink } from '../../support/test-logs.ts';

const API_KEY = 'k3y-explain-0123456789abcdef0123';
const PASSWORD = 'explain-Secret-1';

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" not in the config`);
  return i + 1;
}

interface Answer {
  decision: 'allowed' | 'denied';
  path: string;
  looks_missing?: boolean;
  rule: { text: string; source?: { config_path?: string; file?: string; line?: number; column?: number; override?: { kind: string; name: string; field: string; updated_by: string }; runtime?: { kind: string; name: string } } };
  chain: { text: string; source?: { config_path?: string; line?: number } }[];
}

let dir: string;
let cfg: string;
let text: string;
let data: string;
let sftpPort: number;
let apiPort: number;
let server: Server | undefined;

function explain(args: string[]): Answer {
  const r = runCli(['explain', ...args, '--json', '--config', cfg, '--data-dir', data]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Answer;
}

/** OpenSSH's sftp in batch mode, run without blocking: the server answers from this same process. */
function sftp(user: string, lines: string[]): Promise<{ status: number | null; stderr: string }> {
  const batch = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, lines.join('\n') + '\n');
  const args = ['-p', PASSWORD, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-P', String(sftpPort), '-b', batch, `${user}@127.0.0.1`];
  return new Promise((resolve, reject) => {
    const p = spawn('sshpass', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', reject);
    p.once('close', (status) => resolve({ status, stderr }));
  });
}

beforeAll(async () => {
  dir = tempDir('explain-');
  data = join(dir, 'data');
  for (const d of ['alice/drop', 'bob', 'carol', 'shared']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'local.txt'), 'payload');
  writeFileSync(join(dir, 'tool.exe'), 'MZ');
  [sftpPort, apiPort] = [await freePort(), await freePort()];
  cfg = join(dir, 'sftpgo.yaml');
  text = `sftpd:
  bindings:
    - address: 127.0.0.1
      port: ${sftpPort}
httpd:
  bindings:
    - address: 127.0.0.1
      port: ${apiPort}
data_provider:
  password_hashing:
    bcrypt_options:
      cost: 4
folders:
  - name: shared
    mapped_path: ${join(dir, 'shared')}
groups:
  - name: staff
    user_settings:
      permissions:
        "/": [list, download]
        "/drop": ["*"]
      filters:
        file_patterns:
          - path: /drop
            denied_patterns: ["*.exe"]
        denied_protocols: [FTP]
users:
  - username: alice
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'alice')}
    groups:
      - name: staff
        type: 1
  - username: bob
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'bob')}
    permissions:
      "/": ["*"]
      "/shared": [list, download]
    virtual_folders:
      - name: shared
        virtual_path: /shared
    filters:
      denied_ip: ["10.0.0.0/8"]
  - username: carol
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'carol')}
    permissions:
      "/": ["*"]
admins:
  - username: robot
    permissions: ["*"]
    api_keys:
      - name: ci
        key: "${API_KEY}"
# serve ignores assertions, even a failing one: they are tests of the file, not state.
assertions:
  - user: alice
    path: /anything.txt
    operation: upload
    expect: allow
`;
  writeFileSync(cfg, text);
  const loaded = loadConfigFile(cfg);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  server = await startServer({ loaded: loaded.value, dataDir: data, flags: { config: cfg }, logSink: keptSink('explain') });
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('sftpgo explain', () => {
  test('a group member: the permission comes from the group, and sftp is refused the same upload', async () => {
    const denied = explain(['alice', '/new.txt', 'upload']);
    expect(denied.decision).toBe('denied');
    expect(denied.rule.source).toMatchObject({ config_path: 'groups[0].user_settings.permissions["/"]', file: cfg, line: lineOf(text, '"/": [list, download]') });
    expect(denied.chain.map((f) => f.text)).toContain('member of group staff (primary)');
    const allowed = explain(['alice', '/drop/ok.txt', 'upload']);
    expect(allowed.decision).toBe('allowed');
    expect(allowed.rule.source).toMatchObject({ config_path: 'groups[0].user_settings.permissions["/drop"]', line: lineOf(text, '"/drop": ["*"]') });

    const refused = await sftp('alice', [`put ${join(dir, 'local.txt')} /new.txt`]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('dest open "/new.txt": Permission denied');
    const ok = await sftp('alice', [`put ${join(dir, 'local.txt')} /drop/ok.txt`]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
  });

  test('a file pattern: the denied pattern and its line, and sftp is refused the name', async () => {
    const a = explain(['alice', '/drop/tool.exe', 'upload']);
    expect(a.decision).toBe('denied');
    expect(a.rule.text).toContain('"*.exe"');
    expect(a.rule.source).toMatchObject({ config_path: 'groups[0].user_settings.filters.file_patterns[0].denied_patterns[0]', line: lineOf(text, '"*.exe"') });
    // The permission alone would have let it through: the chain says which.
    expect(a.chain.some((f) => f.source?.config_path === 'groups[0].user_settings.permissions["/drop"]')).toBe(true);
    const r = await sftp('alice', [`put ${join(dir, 'tool.exe')} /drop/tool.exe`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('dest open "/drop/tool.exe": Permission denied');
  });

  test("a virtual folder: its directory's permission, with the folder in the chain", async () => {
    const a = explain(['bob', '/shared/x.txt', 'upload']);
    expect(a.decision).toBe('denied');
    expect(a.rule.source).toMatchObject({ config_path: 'users[1].permissions["/shared"]', line: lineOf(text, '"/shared": [list, download]') });
    const folder = a.chain.find((f) => f.text.includes('virtual folder shared'));
    expect(folder?.source).toMatchObject({ config_path: 'users[1].virtual_folders[0]', line: lineOf(text, 'virtual_path: /shared') - 1 });
    expect(explain(['bob', '/shared/x.txt', 'download']).decision).toBe('allowed');
    const r = await sftp('bob', [`put ${join(dir, 'local.txt')} /shared/x.txt`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('dest open "/shared/x.txt": Permission denied');
  });

  test("a denied protocol: the group's denied_protocols entry", () => {
    const a = explain(['alice', '/drop/ok.txt', 'download', '--protocol', 'FTP']);
    expect(a.decision).toBe('denied');
    expect(a.rule.source).toMatchObject({ config_path: 'groups[0].user_settings.filters.denied_protocols[0]', line: lineOf(text, 'denied_protocols: [FTP]') });
    expect(explain(['alice', '/drop/ok.txt', 'download', '--protocol', 'SSH']).decision).toBe('allowed');
  });

  test('a denied IP: the denied_ip entry the address matches; without --ip the filters are not consulted', () => {
    const a = explain(['bob', '/', 'list', '--ip', '10.1.2.3']);
    expect(a.decision).toBe('denied');
    expect(a.rule.text).toContain('10.0.0.0/8');
    expect(a.rule.source).toMatchObject({ config_path: 'users[1].filters.denied_ip[0]', line: lineOf(text, 'denied_ip: ["10.0.0.0/8"]') });
    expect(explain(['bob', '/', 'list', '--ip', '127.0.0.1']).decision).toBe('allowed');
    const none = explain(['bob', '/', 'list']);
    expect(none.decision).toBe('allowed');
    expect(none.chain.map((f) => f.text)).toContain('no client address given: allowed_ip and denied_ip were not consulted');
  });

  test('the text answer names the rule with file:line:column', () => {
    const r = runCli(['explain', 'alice', 'new.txt', 'upload', '--config', cfg, '--data-dir', data]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith('denied: alice upload /new.txt over SSH\n');
    expect(r.stdout).toContain(`at ${cfg}:${lineOf(text, '"/": [list, download]')}:9 groups[0].user_settings.permissions["/"]`);
  });

  test('usage errors and unknown users exit 2; --help says what the exit status means', () => {
    expect(runCli(['explain', 'alice', '/x', '--config', cfg, '--data-dir', data]).code).toBe(2);
    expect(runCli(['explain', 'alice', '/x', 'fly', '--config', cfg, '--data-dir', data]).stderr).toContain('unknown operation "fly"');
    expect(runCli(['explain', 'alice', '/x', 'list', '--protocol', 'gopher', '--config', cfg, '--data-dir', data]).code).toBe(2);
    expect(runCli(['explain', 'alice', '/x', 'list', '--ip', 'nowhere', '--config', cfg, '--data-dir', data]).code).toBe(2);
    const nobody = runCli(['explain', 'nobody', '/x', 'list', '--config', cfg, '--data-dir', data]);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('no user "nobody"');
    const help = runCli(['explain', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit status: 0 for any answer');
  });

  test('serve and plan ignore assertions: this file fails validate, yet it serves and plans', () => {
    const v = runCli(['validate', '--config', cfg]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`${cfg}:${lineOf(text, '  - user: alice')}:5 assertions[0]: expected allow for alice upload /anything.txt, got deny`);
    expect(server).toBeDefined();
    const plan = runCli(['plan', '--config', cfg, '--data-dir', data]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).not.toContain('assertion');
  });

  // Last: it stops the server.
  test('an override made through the API is the rule once the server has stopped', async () => {
    const url = `http://127.0.0.1:${apiPort}/api/v2/users/carol`;
    const headers = { 'x-sftpgo-api-key': API_KEY, 'content-type': 'application/json' };
    const current = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
    const put = await fetch(url, { method: 'PUT', headers, body: JSON.stringify({ ...current, permissions: { '/': ['list', 'download'] } }) });
    expect(put.status).toBe(200);
    // The running server refuses what the override refuses, as explain will say.
    expect((await sftp('carol', [`put ${join(dir, 'local.txt')} /c.txt`])).stderr).toContain('dest open "/c.txt": Permission denied');
    // A user created through the API exists only in the store: explain reads it there.
    const created = await fetch(`http://127.0.0.1:${apiPort}/api/v2/users`, { method: 'POST', headers, body: JSON.stringify({ username: 'dave', password: PASSWORD, home_dir: join(dir, 'dave'), permissions: { '/': ['list'] } }) });
    expect(created.status).toBe(201);
    await server!.stop();
    server = undefined;

    const dave = explain(['dave', '/d.txt', 'upload']);
    expect(dave.decision).toBe('denied');
    expect(dave.rule.source).toEqual({ runtime: { kind: 'user', name: 'dave' } });

    const a = explain(['carol', '/c.txt', 'upload']);
    expect(a.decision).toBe('denied');
    expect(a.rule.source?.override).toMatchObject({ kind: 'user', name: 'carol', field: 'permissions', updated_by: 'robot' });
    const r = runCli(['explain', 'carol', '/c.txt', 'upload', '--config', cfg, '--data-dir', data]);
    expect(r.stdout).toMatch(/at override via API on \d{4}-\d\d-\d\dT[\d:.]+Z by robot \(user carol, field permissions\)/);
    // Without the store the file alone answers.
    const fresh = runCli(['explain', 'carol', '/c.txt', 'upload', '--json', '--config', cfg, '--data-dir', join(dir, 'no-store')]);
    expect((JSON.parse(fresh.stdout) as Answer).decision).toBe('allowed');
  });
});

describe('assertions', () => {
  function validate(yaml: string): { code: number | null; stdout: string; stderr: string; file: string } {
    const d = tempDir('assert-');
    const file = join(d, 'sftpgo.yaml');
    writeFileSync(file, yaml);
    return { ...runCli(['validate', '--config', file]), file };
  }

  const base = `groups:
  - name: staff
    user_settings:
      permissions:
        "/": [list, download]
        "/in": [list, upload]
users:
  - username: alice
    password: "x-Secret-1"
    home_dir: /srv/alice
    groups: [{ name: staff, type: 1 }]
    filters:
      allowed_ip: ["192.168.0.0/16"]
`;

  test('passing ones pass: validate exits 0 and counts them', () => {
    const r = validate(`${base}assertions:
  - user: alice
    path: /in/report.csv
    operation: upload
    expect: allow
    protocol: DAV
    ip: 192.168.1.5
    description: staff drop reports in /in
  - user: alice
    path: /report.csv
    operation: upload
    expect: deny
  - user: alice
    path: /in/report.csv
    operation: download
    ip: 10.0.0.1
    expect: deny
`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3 assertions hold');
  });

  test("a failing one fails validate with its own line and the deciding rule's line", () => {
    const yaml = `${base}assertions:
  - user: alice
    path: /report.csv
    operation: upload
    expect: allow
    description: uploads anywhere
`;
    const r = validate(yaml);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${r.file}:${lineOf(yaml, '  - user: alice')}:5 assertions[0]: expected allow for alice upload /report.csv (uploads anywhere), got deny`);
    expect(r.stderr).toContain(`at ${r.file}:${lineOf(yaml, '"/": [list, download]')}:9 groups[0].user_settings.permissions["/"]`);
    expect(r.stderr).toContain('1 of 1 assertion failed');
  });

  test('an unknown user, operation or address is a validation error at its line', () => {
    const yaml = `${base}assertions:
  - user: mallory
    path: /x
    operation: upload
    expect: deny
  - user: alice
    path: /x
    operation: teleport
    expect: deny
`;
    const r = validate(yaml);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`assertions[1].operation`);
    const unknown = validate(`${base}assertions:\n  - user: mallory\n    path: /x\n    operation: upload\n    expect: deny\n    ip: "300.1.1.1"\n`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`:${lineOf(base, 'allowed_ip') + 2}:11: assertions[0].user: user "mallory" is not declared in users`);
    expect(unknown.stderr).toContain('assertions[0].ip: "300.1.1.1" is not an IP address');
  });
});
