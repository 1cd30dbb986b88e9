// Event rules on filesystem events, driven by real clients (OpenSSH sftp, lftp, curl over WebDAV):
// an HTTP action's JSON body with the placeholders filled for an upload matching fs_paths, nothing
// for one that does not, and the common.actions hook still notified beside the rule; a synchronous
// pre-upload command that fails refuses the upload on every protocol (SFTP, SCP, FTP, WebDAV and the
// user REST API); a failing synchronous upload action fails the upload and removes the file; a
// filesystem action moves an upload to /archive/{{.Year}}/; a slow receiver never holds a transfer.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs } from '../../support/tmp.ts';
import { run } from '../../support/run.ts';
import { davPut, lftp, metrics, PASSWORD, Receiver, sftp, startEventServer, type EventServer, type Request } from './harness.ts';

let s: EventServer;
let rx: Receiver;

const BODY =
  '{"user":"{{.Name}}","event":"{{.Event}}","path":"{{.VirtualPath}}","fs_path":"{{.FsPath}}","dir":"{{.VirtualDirPath}}",' +
  '"object":"{{.ObjectName}}","size":{{.FileSize}},"protocol":"{{.Protocol}}","ip":"{{.IP}}","status":{{.Status}},' +
  '"year":"{{.Year}}","month":"{{.Month}}","day":"{{.Day}}","ts":"{{.Timestamp}}","errors":"{{.ErrorString}}","data":{{.ObjectData}}}';

beforeAll(async () => {
  rx = await Receiver.start();
  const yaml = `common:
  actions:
    execute_on: [upload]
    hook: ${rx.base}/legacy
  event_manager:
    enabled_commands: [/bin/false]
event_actions:
  - name: notify
    type: 1
    options:
      http_config:
        endpoint: ${rx.base}/hook/{{.Event}}
        timeout: 10
        headers:
          - { key: Content-Type, value: application/json }
          - { key: X-Sftpgo-User, value: "{{.Name}}" }
        query_parameters:
          - { key: path, value: "{{.VirtualPath}}" }
        username: "{{.Name}}"
        password: hook-Secret-1
        body: '${BODY}'
  - name: refuse
    type: 2
    options:
      cmd_config:
        cmd: /bin/false
        timeout: 5
  - name: archive
    type: 9
    options:
      fs_config:
        type: 1
        renames:
          - { key: "{{.VirtualPath}}", value: "/archive/{{.Year}}/{{.ObjectName}}" }
  - name: first
    type: 1
    options:
      http_config:
        endpoint: ${rx.base}/first
        query_parameters: [{ key: path, value: "{{.VirtualPath}}" }]
        timeout: 10
  - name: slow
    type: 1
    options:
      http_config:
        endpoint: ${rx.base}/slow
        method: GET
        timeout: 30
event_rules:
  - name: csv-in
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/in/*.csv" }]
    actions: [{ name: notify }]
  - name: guard
    trigger: 1
    conditions:
      fs_events: [pre-upload]
      options:
        fs_paths: [{ pattern: "/blocked/**" }]
    actions:
      - { name: refuse, relation_options: { execute_sync: true } }
  - name: strict-upload
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/strict/*" }]
    actions:
      - { name: refuse, relation_options: { execute_sync: true } }
  - name: to-archive
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/drop/*.dat" }]
        protocols: [SFTP]
    actions: [{ name: archive }]
  - name: first-one
    trigger: 1
    conditions:
      fs_events: [first-upload]
    actions: [{ name: first }]
  - name: slow-receiver
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/slow/*" }]
    actions: [{ name: slow }]
`;
  s = await startEventServer(yaml);
  for (const d of ['in', 'blocked/deep', 'strict', 'drop', 'slow']) mkdirSync(join(s.home, d), { recursive: true });
  writeFileSync(join(s.local, 'x.csv'), 'a,b,c\n1,2,3\n');
  writeFileSync(join(s.local, 'x.txt'), 'plain text');
});

afterAll(async () => {
  await s?.server.stop();
  await rx?.stop();
  removeTempDirs();
});

const forPath = (vpath: string) => (r: Request) => r.url.startsWith('/hook/') && new URL(r.url, 'http://x').searchParams.get('path') === vpath;

function expectNotification(r: Request, want: { path: string; protocol: string; size: number }): Record<string, unknown> {
  expect(r.method).toBe('POST');
  expect(r.url.startsWith('/hook/upload?')).toBe(true);
  expect(r.headers['content-type']).toBe('application/json');
  expect(r.headers['x-sftpgo-user']).toBe('alice');
  expect(r.headers.authorization).toBe(`Basic ${Buffer.from('alice:hook-Secret-1').toString('base64')}`);
  const b = JSON.parse(r.body) as Record<string, unknown>;
  const year = String(new Date().getUTCFullYear());
  expect(b).toMatchObject({ user: 'alice', event: 'upload', path: want.path, fs_path: join(s.home, want.path), dir: '/in', protocol: want.protocol, ip: '127.0.0.1', status: 1, size: want.size, year, errors: '', data: {} });
  expect(b.object).toBe(want.path.slice('/in/'.length));
  expect(String(b.month)).toMatch(/^\d\d$/);
  expect(String(b.ts)).toMatch(/^\d{19}$/);
  return b;
}

describe('an HTTP action on uploads matching fs_paths', () => {
  test('SFTP: /in/x.csv POSTs the filled JSON body; /in/x.txt sends nothing', async () => {
    const r = await sftp(s, [`put ${join(s.local, 'x.csv')} /in/x.csv`, `put ${join(s.local, 'x.txt')} /in/x.txt`, `put ${join(s.local, 'x.csv')} /in/fence.csv`]);
    expect(r.status).toBe(0);
    expectNotification(await rx.waitFor(forPath('/in/x.csv')), { path: '/in/x.csv', protocol: 'SFTP', size: 12 });
    await rx.waitFor(forPath('/in/fence.csv'));
    expect(rx.requests.filter(forPath('/in/x.txt'))).toHaveLength(0);
    expect(existsSync(join(s.home, 'in/x.txt'))).toBe(true);
  });

  test('common.actions keeps working beside the rules: its hook is told of both uploads', async () => {
    const legacy = (vpath: string) => (r: Request) => r.url === '/legacy' && (JSON.parse(r.body) as { virtual_path: string }).virtual_path === vpath;
    const csv = JSON.parse((await rx.waitFor(legacy('/in/x.csv'))).body) as Record<string, unknown>;
    expect(csv).toMatchObject({ action: 'upload', username: 'alice', virtual_path: '/in/x.csv', protocol: 'SFTP', status: 1 });
    await rx.waitFor(legacy('/in/x.txt'));
  });

  test('FTP (lftp): the same body with protocol FTP; a .txt upload sends nothing', async () => {
    const r = await lftp(s, `put ${join(s.local, 'x.csv')} -o /in/ftp.csv; put ${join(s.local, 'x.txt')} -o /in/ftp.txt; put ${join(s.local, 'x.csv')} -o /in/ftp-fence.csv`);
    expect(r.status).toBe(0);
    expectNotification(await rx.waitFor(forPath('/in/ftp.csv')), { path: '/in/ftp.csv', protocol: 'FTP', size: 12 });
    await rx.waitFor(forPath('/in/ftp-fence.csv'));
    expect(rx.requests.filter(forPath('/in/ftp.txt'))).toHaveLength(0);
  });

  test('WebDAV (curl): the same body with protocol DAV; a .txt upload sends nothing', async () => {
    expect(await davPut(s, join(s.local, 'x.csv'), '/in/dav.csv')).toBe(201);
    expect(await davPut(s, join(s.local, 'x.txt'), '/in/dav.txt')).toBe(201);
    expect(await davPut(s, join(s.local, 'x.csv'), '/in/dav-fence.csv')).toBe(201);
    expectNotification(await rx.waitFor(forPath('/in/dav.csv')), { path: '/in/dav.csv', protocol: 'DAV', size: 12 });
    await rx.waitFor(forPath('/in/dav-fence.csv'));
    expect(rx.requests.filter(forPath('/in/dav.txt'))).toHaveLength(0);
  });

  test('placeholders in a JSON body are JSON-escaped: a name with a quote and a backslash stays valid JSON', async () => {
    expect(await davPut(s, join(s.local, 'x.csv'), '/in/we%22ird%5Cname.csv')).toBe(201);
    const r = await rx.waitFor(forPath('/in/we"ird\\name.csv'));
    const b = JSON.parse(r.body) as Record<string, unknown>;
    expect(b.path).toBe('/in/we"ird\\name.csv');
    expect(b.object).toBe('we"ird\\name.csv');
  });

  test('each run is logged as event_rule_run and counted in the metrics', async () => {
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'csv-in');
    expect(line).toMatchObject({ rule: 'csv-in', trigger: 1, fs_event: 'upload', username: 'alice', phase: 'async', result: 'ok' });
    expect((line.actions as { name: string; result: string }[])[0]).toMatchObject({ name: 'notify', result: 'ok' });
    expect(typeof line.duration_ms).toBe('number');
    const m = await metrics(s);
    expect(m).toMatch(/^sftpgo_event_rule_runs_total\{phase="async",result="ok",rule="csv-in"\} [1-9]/m);
    expect(m).toMatch(/^sftpgo_event_actions_total\{action="notify",result="ok"\} [1-9]/m);
    expect(m).toContain('# HELP sftpgo_event_rule_runs_total Event rule runs');
  });
});

describe('first-upload', () => {
  test("fires once, for the user's first upload ever", async () => {
    // The uploads above (SFTP first) have run; one more for good measure.
    expect(await davPut(s, join(s.local, 'x.csv'), '/in/later.csv')).toBe(201);
    await rx.waitFor(forPath('/in/later.csv'));
    const firsts = rx.requests.filter((q) => q.url.startsWith('/first'));
    expect(firsts.map((q) => new URL(q.url, 'http://x').searchParams.get('path'))).toEqual(['/in/x.csv']);
  });
});

describe('a synchronous pre-upload command that exits 1', () => {
  test('SFTP: the upload is refused with a permission error and nothing is written', async () => {
    const r = await sftp(s, [`put ${join(s.local, 'x.txt')} /blocked/deep/a.txt`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/[Pp]ermission denied/);
    expect(existsSync(join(s.home, 'blocked/deep/a.txt'))).toBe(false);
  });

  test('FTP: refused with 550 and nothing is written', async () => {
    const r = await lftp(s, `put ${join(s.local, 'x.txt')} -o /blocked/deep/b.txt`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('550');
    expect(existsSync(join(s.home, 'blocked/deep/b.txt'))).toBe(false);
  });

  test('WebDAV: refused with 403 and nothing is written', async () => {
    expect(await davPut(s, join(s.local, 'x.txt'), '/blocked/deep/c.txt')).toBe(403);
    expect(existsSync(join(s.home, 'blocked/deep/c.txt'))).toBe(false);
  });

  test('SCP (OpenSSH scp -O, the SCP protocol): refused and nothing is written', async () => {
    const r = await run('scp', ['-O', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-F', '/dev/null',
      '-i', join(s.dir, 'key_alice'), '-P', String(s.ports.sftp), join(s.local, 'x.txt'), 'alice@127.0.0.1:/blocked/deep/d.txt']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/[Pp]ermission denied/);
    expect(existsSync(join(s.home, 'blocked/deep/d.txt'))).toBe(false);
    // The same command reaches a directory no rule guards.
    const ok = await run('scp', ['-O', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-F', '/dev/null',
      '-i', join(s.dir, 'key_alice'), '-P', String(s.ports.sftp), join(s.local, 'x.txt'), 'alice@127.0.0.1:/in/scp.txt']);
    expect(ok.status).toBe(0);
    expect(existsSync(join(s.home, 'in/scp.txt'))).toBe(true);
  });

  test('the user REST API (/api/v2/user/files and /files/upload): refused with 403 and nothing is written', async () => {
    const base = `http://127.0.0.1:${s.ports.api}`;
    const t = await fetch(`${base}/api/v2/user/token`, { headers: { authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}` } });
    const token = ((await t.json()) as { access_token: string }).access_token;
    const raw = await fetch(`${base}/api/v2/user/files/upload?path=${encodeURIComponent('/blocked/deep/e.txt')}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'data' });
    expect(raw.status).toBe(403);
    const form = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${token}`, '-F', `filenames=@${join(s.local, 'x.txt')};filename=f.txt`,
      `${base}/api/v2/user/files?path=${encodeURIComponent('/blocked/deep')}`]);
    expect(form.stdout).toBe('403');
    expect(existsSync(join(s.home, 'blocked/deep/e.txt'))).toBe(false);
    expect(existsSync(join(s.home, 'blocked/deep/f.txt'))).toBe(false);
    const ok = await fetch(`${base}/api/v2/user/files/upload?path=${encodeURIComponent('/in/api.txt')}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'data' });
    expect(ok.status).toBe(201);
  });

  test('the refusal is logged as a failed synchronous run', async () => {
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'guard');
    expect(line).toMatchObject({ fs_event: 'pre-upload', phase: 'sync', result: 'failed' });
    expect(String((line.actions as { error: string }[])[0]!.error)).toContain('exited with code 1');
  });
});

describe('a synchronous upload action that fails', () => {
  test('the upload is reported failed and the file removed, as SFTPGo does', async () => {
    const r = await sftp(s, [`put ${join(s.local, 'x.txt')} /strict/a.txt`]);
    expect(r.status).not.toBe(0);
    expect(existsSync(join(s.home, 'strict/a.txt'))).toBe(false);
    expect(await davPut(s, join(s.local, 'x.txt'), '/strict/b.txt')).toBe(403);
    expect(existsSync(join(s.home, 'strict/b.txt'))).toBe(false);
  });
});

describe('a filesystem action', () => {
  test('moves an SFTP upload to /archive/{{.Year}}/, creating the directories, as the user', async () => {
    writeFileSync(join(s.local, 'r.dat'), 'report');
    expect((await sftp(s, [`put ${join(s.local, 'r.dat')} /drop/r.dat`])).status).toBe(0);
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'to-archive');
    expect(line.result).toBe('ok');
    const year = String(new Date().getUTCFullYear());
    expect(readFileSync(join(s.home, 'archive', year, 'r.dat'), 'utf8')).toBe('report');
    expect(existsSync(join(s.home, 'drop/r.dat'))).toBe(false);
  });

  test('the protocols condition: the same upload over WebDAV stays where it is', async () => {
    expect(await davPut(s, join(s.local, 'x.txt'), '/drop/dav.dat')).toBe(201);
    expect(await davPut(s, join(s.local, 'x.txt'), '/in/after-dav-drop.csv')).toBe(201);
    await rx.waitFor(forPath('/in/after-dav-drop.csv'));
    expect(existsSync(join(s.home, 'drop/dav.dat'))).toBe(true);
  });
});

describe('a slow receiver', () => {
  test('never holds up the transfer that caused the event', async () => {
    rx.delayMs = 4000;
    try {
      const started = Date.now();
      expect(await davPut(s, join(s.local, 'x.txt'), '/slow/one.txt')).toBe(201);
      expect(Date.now() - started).toBeLessThan(3000);
      const r = await rx.waitFor((q) => q.url === '/slow');
      expect(r.method).toBe('GET');
      expect(r.at - started).toBeGreaterThanOrEqual(3900);
    } finally {
      rx.delayMs = 0;
    }
  });
});
