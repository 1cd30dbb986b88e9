// Every option of the supported action types and every rule condition, each shown to have its
// effect with real clients: command args and env_vars, HTTPS with and without skip_tls_verify,
// filesystem deletes, exist, copy and update_modtime, failure actions and stop_on_failure,
// group_names, role_names, inverse_match, min_size / max_size, event_statuses and a disabled rule.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { davPut, lftp, PASSWORD, Receiver, sftp, startEventServer, type EventServer } from './harness.ts';

let s: EventServer;
let rx: Receiver;
let tls: Receiver;
let out: string;

const hook = (name: string, path: string, extra = '') => `  - name: ${name}
    type: 1
    options:
      http_config:
        endpoint: ${rx.base}${path}
        timeout: 10
        body: "{{.Name}} {{.Event}} {{.VirtualPath}} {{.FileSize}} {{.ErrorString}}"
${extra}`;

const onUpload = (name: string, path: string, actions: string, options = '', extra = '') => `  - name: ${name}
    trigger: 1
${extra}    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "${path}" }]
${options}    actions: ${actions}
`;

beforeAll(async () => {
  rx = await Receiver.start();
  tls = await Receiver.start({ tls: makeSelfSignedCert(tempDir('events-tls-')) });
  out = tempDir('events-cmd-out-');
  const yaml = `common:
  event_manager:
    enabled_commands: [/bin/sh, /bin/false]
roles:
  - name: eu
groups:
  - name: staff
event_actions:
${hook('plain', '/plain')}${hook('on-failure', '/failed')}${hook('after-stop', '/after-stop')}${hook('group-hook', '/group')}${hook('role-hook', '/role')}${hook('not-alice', '/not-alice')}${hook('sized', '/sized')}${hook('statuses', '/statuses')}${hook('disabled-hook', '/disabled')}  - name: tls-skip
    type: 1
    options:
      http_config: { endpoint: "${tls.base}/skip", method: PUT, skip_tls_verify: true, timeout: 10 }
  - name: tls-verify
    type: 1
    options:
      http_config: { endpoint: "${tls.base}/verify", method: DELETE, timeout: 10 }
  - name: script
    type: 2
    options:
      cmd_config:
        cmd: /bin/sh
        args: ["-c", 'printf "%s|%s|%s" "$1" "$EV_USER" "$PATH" > ${out}/script.out', "sh", "{{.VirtualPath}}"]
        timeout: 10
        env_vars:
          - { key: EV_USER, value: "{{.Name}}" }
          - { key: PATH, value: "$" }
  - name: fail
    type: 2
    options:
      cmd_config: { cmd: /bin/false, timeout: 5 }
  - name: remove
    type: 9
    options:
      fs_config: { type: 2, deletes: ["{{.VirtualPath}}"] }
  - name: require
    type: 9
    options:
      fs_config: { type: 4, exist: ["/ex/required.txt"] }
  - name: duplicate
    type: 9
    options:
      fs_config: { type: 6, copy: [{ key: "{{.VirtualPath}}", value: "/copies/" }] }
  - name: touch-move
    type: 9
    options:
      fs_config:
        type: 1
        renames: [{ key: "{{.VirtualPath}}", value: "/touched/{{.ObjectName}}", update_modtime: true }]
event_rules:
${onUpload('run-script', '/script/*', '[{ name: script }]')}${onUpload('tls', '/tls/*', '[{ name: tls-skip, order: 1 }, { name: tls-verify, order: 2 }]')}${onUpload('deletes', '/del/*', '[{ name: remove }]')}${onUpload('exists', '/ex/*.in', '[{ name: require }, { name: on-failure, relation_options: { is_failure_action: true } }]')}${onUpload('copies', '/src/*', '[{ name: duplicate }]')}${onUpload('touch', '/old/*', '[{ name: touch-move }]')}${onUpload('stops', '/stop/*', '[{ name: fail, order: 1, relation_options: { stop_on_failure: true } }, { name: after-stop, order: 2 }, { name: on-failure, order: 3, relation_options: { is_failure_action: true } }]')}${onUpload('goes-on', '/go/*', '[{ name: fail, order: 1 }, { name: after-stop, order: 2 }]')}${onUpload('by-group', '/who/*', '[{ name: group-hook }]', '        group_names: [{ pattern: "sta*" }]\n')}${onUpload('by-role', '/who/*', '[{ name: role-hook }]', '        role_names: [{ pattern: "eu" }]\n')}${onUpload('by-name', '/who/*', '[{ name: not-alice }]', '        names: [{ pattern: "alice", inverse_match: true }]\n')}${onUpload('by-size', '/sized/*', '[{ name: sized }]', '        min_size: 5\n        max_size: 100\n')}${onUpload('by-status', '/st/*', '[{ name: statuses }]', '        event_statuses: [2, 3]\n')}${onUpload('off', '/st/*', '[{ name: disabled-hook }]', '', '    status: 0\n    description: switched off\n')}`;
  s = await startEventServer(yaml, {
    extraUsers: (dir) => `  - username: bob\n    password: "${PASSWORD}"\n    home_dir: ${join(dir, 'homes/bob')}\n    role: eu\n    groups: [{ name: staff, type: 1 }]\n`,
  });
  for (const d of ['script', 'tls', 'del', 'ex', 'src', 'copies', 'old', 'stop', 'go', 'who', 'sized', 'st']) mkdirSync(join(s.home, d), { recursive: true });
  writeFileSync(join(s.local, 'f.txt'), 'twelve bytes');
});

afterAll(async () => {
  await s?.server.stop();
  await rx?.stop();
  await tls?.stop();
  removeTempDirs();
});

const run = (rule: string) => s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === rule);

describe('command actions', () => {
  test('args and env_vars get the placeholders; "$" passes the server\'s own variable; no shell is involved', async () => {
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} "/script/a b.txt"`])).status).toBe(0);
    expect((await run('run-script')).result).toBe('ok');
    expect(readFileSync(join(out, 'script.out'), 'utf8')).toBe(`/script/a b.txt|alice|${process.env.PATH}`);
  });
});

describe('HTTP actions over HTTPS', () => {
  test('skip_tls_verify accepts a self-signed certificate; without it the request fails', async () => {
    expect(await davPut(s, join(s.local, 'f.txt'), '/tls/a.txt')).toBe(201);
    const line = await run('tls');
    expect((await tls.waitFor((q) => q.url === '/skip')).method).toBe('PUT');
    expect(line.result).toBe('failed');
    const actions = line.actions as { name: string; result: string; error?: string }[];
    expect(actions[0]).toMatchObject({ name: 'tls-skip', result: 'ok' });
    expect(actions[1]).toMatchObject({ name: 'tls-verify', result: 'failed' });
    expect(tls.requests.some((q) => q.url === '/verify')).toBe(false);
  });
});

describe('filesystem actions', () => {
  test('deletes removes the uploaded file', async () => {
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /del/gone.txt`])).status).toBe(0);
    expect((await run('deletes')).result).toBe('ok');
    expect(existsSync(join(s.home, 'del/gone.txt'))).toBe(false);
  });

  test('exist fails when the path is missing, and the failure action gets {{.ErrorString}}', async () => {
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /ex/a.in`])).status).toBe(0);
    const req = await rx.waitFor((q) => q.url === '/failed' && q.body.includes('/ex/a.in'));
    expect(req.body).toContain('action "require" failed');
    writeFileSync(join(s.home, 'ex/required.txt'), 'here');
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /ex/b.in`])).status).toBe(0);
    await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'exists' && l.virtual_path === '/ex/b.in');
    expect(rx.requests.some((q) => q.url === '/failed' && q.body.includes('/ex/b.in'))).toBe(false);
  });

  test('copy into a directory (trailing slash) keeps the source', async () => {
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /src/c.txt`])).status).toBe(0);
    expect((await run('copies')).result).toBe('ok');
    expect(readFileSync(join(s.home, 'copies/c.txt'), 'utf8')).toBe('twelve bytes');
    expect(existsSync(join(s.home, 'src/c.txt'))).toBe(true);
  });

  test('a rename with update_modtime sets the modification time to now', async () => {
    const old = join(s.local, 'old.txt');
    writeFileSync(old, 'old');
    utimesSync(old, new Date('2001-01-01'), new Date('2001-01-01'));
    // -p keeps the 2001 modification time on the upload.
    expect((await sftp(s, [`put -p ${old} /old/o.txt`])).status).toBe(0);
    expect((await run('touch')).result).toBe('ok');
    expect(Date.now() - statSync(join(s.home, 'touched/o.txt')).mtimeMs).toBeLessThan(60_000);
  });
});

describe('failures', () => {
  test('stop_on_failure skips the later actions; the failure action runs', async () => {
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /stop/x.txt`])).status).toBe(0);
    const line = await run('stops');
    expect((line.actions as { name: string }[]).map((a) => a.name)).toEqual(['fail', 'on-failure']);
    await rx.waitFor((q) => q.url === '/failed' && q.body.includes('/stop/x.txt'));
    expect(rx.requests.some((q) => q.url === '/after-stop' && q.body.includes('/stop/x.txt'))).toBe(false);
  });

  test('without stop_on_failure the next action still runs', async () => {
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /go/x.txt`])).status).toBe(0);
    await rx.waitFor((q) => q.url === '/after-stop' && q.body.includes('/go/x.txt'));
    expect((await run('goes-on')).result).toBe('failed');
  });
});

describe('conditions', () => {
  test('group_names and role_names match bob (group staff, role eu); inverse_match on names excludes alice', async () => {
    mkdirSync(join(s.dir, 'homes/bob/who'), { recursive: true });
    expect((await lftp(s, `put ${join(s.local, 'f.txt')} -o /who/bob.txt`, 'bob')).status).toBe(0);
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /who/alice.txt`])).status).toBe(0);
    expect((await rx.waitFor((q) => q.url === '/group')).body).toStartWith('bob upload /who/bob.txt');
    expect((await rx.waitFor((q) => q.url === '/role')).body).toStartWith('bob upload /who/bob.txt');
    expect((await rx.waitFor((q) => q.url === '/not-alice')).body).toStartWith('bob upload');
    // alice's upload matched none of the three: rules are matched when a transfer ends, before sftp is answered.
    expect(rx.requests.filter((q) => ['/group', '/role', '/not-alice'].includes(q.url) && q.body.startsWith('alice'))).toHaveLength(0);
  });

  test('min_size and max_size bound the file size', async () => {
    writeFileSync(join(s.local, 'tiny'), 'abc');
    writeFileSync(join(s.local, 'big'), 'x'.repeat(500));
    expect((await sftp(s, [`put ${join(s.local, 'tiny')} /sized/tiny`, `put ${join(s.local, 'big')} /sized/big`, `put ${join(s.local, 'f.txt')} /sized/ok`])).status).toBe(0);
    expect((await rx.waitFor((q) => q.url === '/sized')).body).toBe('alice upload /sized/ok 12 ');
    expect(rx.requests.filter((q) => q.url === '/sized')).toHaveLength(1);
  });

  test('event_statuses: a successful upload (status 1) skips actions wanting 2 or 3; a disabled rule (status 0) never runs', async () => {
    expect((await sftp(s, [`put ${join(s.local, 'f.txt')} /st/ok.txt`])).status).toBe(0);
    const line = await run('by-status');
    expect(line.actions).toEqual([{ name: 'statuses', result: 'skipped', duration_ms: expect.any(Number) }]);
    expect(rx.requests.some((q) => q.url === '/statuses' || q.url === '/disabled')).toBe(false);
    expect(s.server.logs.some((l) => l.event === 'event_rule_run' && l.rule === 'off')).toBe(false);
  });
});
