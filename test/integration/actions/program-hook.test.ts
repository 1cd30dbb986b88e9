// Custom actions with a program hook (a shell script): its environment, field by field; synchronous
// pre-* actions refusing uploads, downloads and deletes over SFTP, FTP and WebDAV with nothing left
// on disk; a synchronous upload action that fails removes the upload; a hook that times out refuses;
// a reload changes which events run.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { code, PASSWORD, sftpBatch, sftpClient, startSftpd, type Sftpd } from '../sftp/harness.ts';

let s: Sftpd;
let local: string;
let home: string;
let out: string;
let hook: string;
let ftpPort: number;
let davPort: number;

/** Writes its environment to <out>/<action><vpath with / as _>.env; refuses what the test names. */
function script(outDir: string): string {
  return `#!/bin/sh
name=$(printf '%s%s' "$SFTPGO_ACTION" "$SFTPGO_ACTION_VIRTUAL_PATH" | tr '/' '_')
env > "${outDir}/$name.tmp" && mv "${outDir}/$name.tmp" "${outDir}/$name.env"
case "$SFTPGO_ACTION:$SFTPGO_ACTION_VIRTUAL_PATH" in
  pre-upload:*.exe|pre-download:*.secret|pre-delete:*.keep|upload:*.bad) exit 1 ;;
  pre-upload:*.slow) sleep 3 ;;
esac
exit 0
`;
}

function actionsYaml(executeOn: string[]): string {
  return [
    'common:',
    '  actions:',
    `    execute_on: [${executeOn.join(', ')}]`,
    '    execute_sync: [upload]',
    `    hook: ${hook}`,
    '    timeout: 1',
  ].join('\n');
}

const EVENTS = ['pre-upload', 'upload', 'pre-download', 'pre-delete', 'mkdir'];

beforeAll(async () => {
  const dir = tempDir('actions-hook-');
  out = tempDir('actions-env-');
  hook = join(dir, 'hook.sh');
  writeFileSync(hook, script(out));
  chmodSync(hook, 0o755);
  ftpPort = await freePort();
  davPort = await freePort();
  const extra = [
    actionsYaml(EVENTS),
    'ftpd:',
    `  bindings: [{ address: 127.0.0.1, port: ${ftpPort} }]`,
    'webdavd:',
    `  bindings: [{ address: 127.0.0.1, port: ${davPort} }]`,
  ].join('\n');
  s = await startSftpd([{ username: 'alice' }, { username: 'dora', extra: '    quota_files: 1\n' }], extra);
  local = tempDir('actions-local-');
  home = s.users.alice!.home;
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

function envFile(action: string, vpath: string): string {
  return join(out, `${action}${vpath.replaceAll('/', '_')}.env`);
}

/** The hook's environment for one event, once the script has written it (polled). */
async function envOf(action: string, vpath: string, timeoutMs = 10_000): Promise<Record<string, string>> {
  const file = envFile(action, vpath);
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`the hook never ran for ${action} ${vpath}; have: ${readdirSync(out).join(', ')}`);
    await new Promise((r) => setTimeout(r, 25)); // poll interval for a file written by another process
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** What the user's home holds, temporary upload names included. */
const listing = (): string[] => readdirSync(home).sort();

describe('program hook environment', () => {
  test('an upload runs the hook with every SFTPGO_ACTION_* variable and nothing of the server environment', async () => {
    writeFileSync(join(local, 'good.txt'), 'good data');
    const before = Date.now() * 1e6;
    const r = await sftpBatch(s, 'alice', [`put ${join(local, 'good.txt')} good.txt`]);
    expect(r.status).toBe(0);
    const env = await envOf('upload', '/good.txt');
    expect(env.SFTPGO_ACTION).toBe('upload');
    expect(env.SFTPGO_ACTION_USERNAME).toBe('alice');
    expect(env.SFTPGO_ACTION_PATH).toBe(join(home, 'good.txt'));
    expect(env.SFTPGO_ACTION_TARGET).toBe('');
    expect(env.SFTPGO_ACTION_VIRTUAL_PATH).toBe('/good.txt');
    expect(env.SFTPGO_ACTION_VIRTUAL_TARGET).toBe('');
    expect(env.SFTPGO_ACTION_SSH_CMD).toBe('');
    expect(env.SFTPGO_ACTION_FILE_SIZE).toBe('9');
    expect(env.SFTPGO_ACTION_FS_PROVIDER).toBe('0');
    expect(env.SFTPGO_ACTION_BUCKET).toBe('');
    expect(env.SFTPGO_ACTION_ENDPOINT).toBe('');
    expect(env.SFTPGO_ACTION_STATUS).toBe('1');
    expect(env.SFTPGO_ACTION_PROTOCOL).toBe('SFTP');
    expect(env.SFTPGO_ACTION_IP).toBe('127.0.0.1');
    expect(env.SFTPGO_ACTION_SESSION_ID).toMatch(/^[0-9a-f]{16}$/);
    expect(env.SFTPGO_ACTION_OPEN_FLAGS).toBe('0');
    const ts = Number(env.SFTPGO_ACTION_TIMESTAMP);
    expect(env.SFTPGO_ACTION_TIMESTAMP).toMatch(/^\d{19}$/);
    expect(ts).toBeGreaterThanOrEqual(before - 1e6);
    expect(ts).toBeLessThanOrEqual(Date.now() * 1e6);
    // The server runs with SFTPGO_LOG_LEVEL and HOME set; a hook sees only PATH and its own variables.
    expect(env.SFTPGO_LOG_LEVEL).toBeUndefined();
    expect(env.HOME).toBeUndefined();
    expect(env.PATH).toBeTruthy();
    const pre = await envOf('pre-upload', '/good.txt');
    expect(pre.SFTPGO_ACTION_OPEN_FLAGS).toBe(String(0x1 | 0x40 | 0x200));
    expect(pre.SFTPGO_ACTION_SESSION_ID).toBe(env.SFTPGO_ACTION_SESSION_ID);
    expect(readFileSync(join(home, 'good.txt'), 'utf8')).toBe('good data');
  });

  test('mkdir (asynchronous) runs the hook too', async () => {
    expect((await sftpBatch(s, 'alice', ['mkdir newdir'])).status).toBe(0);
    const env = await envOf('mkdir', '/newdir');
    expect(env.SFTPGO_ACTION_PATH).toBe(join(home, 'newdir'));
    expect(env.SFTPGO_ACTION_FILE_SIZE).toBe('0');
  });
});

describe('synchronous pre-upload refuses *.exe', () => {
  test('over SFTP: permission denied, nothing on disk', async () => {
    const before = listing();
    writeFileSync(join(local, 'evil.exe'), 'MZ payload');
    const r = await sftpBatch(s, 'alice', [`put ${join(local, 'evil.exe')} evil.exe`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/i);
    expect((await envOf('pre-upload', '/evil.exe')).SFTPGO_ACTION).toBe('pre-upload');
    // The exact status code, from a raw SFTP OPEN.
    const c = await sftpClient(s, 'alice');
    try {
      expect(await code((cb) => c.sftp.open('/evil2.exe', 'w', (err) => cb(err)))).toBe(3); // SSH_FX_PERMISSION_DENIED
    } finally {
      c.end();
    }
    expect(listing()).toEqual(before);
    expect(existsSync(envFile('upload', '/evil.exe'))).toBe(false);
  });

  test('over FTP: 550, nothing on disk', async () => {
    const before = listing();
    const c = await FtpControl.connect(ftpPort);
    try {
      expect((await c.login('alice', PASSWORD)).code).toBe(230);
      const r = await c.transfer('STOR ftp-evil.exe', Buffer.from('MZ'));
      expect(r.first.code).toBe(550);
      // The same session still uploads an allowed name.
      expect((await c.transfer('STOR ftp-ok.txt', Buffer.from('fine'))).last?.code).toBe(226);
    } finally {
      c.close();
    }
    expect(listing()).toEqual([...before, 'ftp-ok.txt'].sort());
    expect((await envOf('upload', '/ftp-ok.txt')).SFTPGO_ACTION_PROTOCOL).toBe('FTP');
  });

  test('over WebDAV: 403, nothing on disk', async () => {
    const before = listing();
    writeFileSync(join(local, 'dav.exe'), 'MZ');
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', `alice:${PASSWORD}`, '-T', join(local, 'dav.exe'), `http://127.0.0.1:${davPort}/dav.exe`]);
    expect(r.stdout).toBe('403');
    expect(listing()).toEqual(before);
  });

  test('a hook that outlives the timeout refuses the upload', async () => {
    const before = listing();
    writeFileSync(join(local, 'x.slow'), 'slow');
    const started = Date.now();
    const r = await sftpBatch(s, 'alice', [`put ${join(local, 'x.slow')} x.slow`]);
    expect(r.status).not.toBe(0);
    // timeout: 1 second, not the script's 3.
    expect(Date.now() - started).toBeLessThan(2900);
    expect(listing()).toEqual(before);
  });
});

describe('other synchronous actions', () => {
  test('a failing synchronous upload action removes the uploaded file and fails the upload', async () => {
    const before = listing();
    writeFileSync(join(local, 'rejected.bad'), 'bad content');
    const r = await sftpBatch(s, 'alice', [`put ${join(local, 'rejected.bad')} rejected.bad`]);
    expect(r.status).not.toBe(0);
    const env = await envOf('upload', '/rejected.bad');
    expect(env.SFTPGO_ACTION_FILE_SIZE).toBe('11');
    expect(listing()).toEqual(before);
  });

  test('the removed upload leaves the quota as it was', async () => {
    // dora may hold one file: if the refused upload were still counted, the next would be over quota.
    writeFileSync(join(local, 'dora.bad'), 'refused');
    writeFileSync(join(local, 'one.txt'), 'one');
    const r = await sftpBatch(s, 'dora', [`-put ${join(local, 'dora.bad')} dora.bad`, `put ${join(local, 'one.txt')} one.txt`]);
    expect(r.status).toBe(0);
    // The upload was refused when the file was closed, after the data was written.
    expect(r.stderr).toMatch(/close remote: Permission denied/);
    expect(readdirSync(s.users.dora!.home)).toEqual(['one.txt']);
    const over = await sftpBatch(s, 'dora', [`put ${join(local, 'one.txt')} two.txt`]);
    expect(over.status).not.toBe(0);
  });

  test('pre-download refuses *.secret: SFTP and FTP', async () => {
    writeFileSync(join(home, 'x.secret'), 'top secret');
    const r = await sftpBatch(s, 'alice', [`get x.secret ${join(local, 'x.secret')}`]);
    expect(r.status).not.toBe(0);
    expect(existsSync(join(local, 'x.secret'))).toBe(false);
    expect((await envOf('pre-download', '/x.secret')).SFTPGO_ACTION_FILE_SIZE).toBe('10');
    const c = await FtpControl.connect(ftpPort);
    try {
      expect((await c.login('alice', PASSWORD)).code).toBe(230);
      const retr = await c.transfer('RETR x.secret');
      expect(retr.first.code).toBe(550);
      expect(retr.data.length).toBe(0);
    } finally {
      c.close();
    }
  });

  test('pre-delete refuses *.keep and the file stays', async () => {
    writeFileSync(join(home, 'x.keep'), 'keep me');
    const r = await sftpBatch(s, 'alice', ['rm x.keep']);
    expect(r.status).not.toBe(0);
    expect(readFileSync(join(home, 'x.keep'), 'utf8')).toBe('keep me');
    expect((await envOf('pre-delete', '/x.keep')).SFTPGO_ACTION_FILE_SIZE).toBe('7');
  });
});

describe('reload', () => {
  test('the events that run follow the config after SIGHUP', async () => {
    const yaml = readFileSync(s.server.configPath, 'utf8');
    writeFileSync(s.server.configPath, yaml.replace(actionsYaml(EVENTS), actionsYaml(['upload'])));
    expect(readFileSync(s.server.configPath, 'utf8')).not.toBe(yaml);
    const seen = s.server.logs.length;
    s.server.proc.kill('SIGHUP');
    await s.server.waitForLog((l) => l.event === 'reload_applied' && s.server.logs.indexOf(l) >= seen);
    writeFileSync(join(local, 'after.exe'), 'MZ now allowed');
    expect((await sftpBatch(s, 'alice', [`put ${join(local, 'after.exe')} after.exe`])).status).toBe(0);
    expect(readFileSync(join(home, 'after.exe'), 'utf8')).toBe('MZ now allowed');
    expect((await envOf('upload', '/after.exe')).SFTPGO_ACTION).toBe('upload');
    expect(existsSync(envFile('pre-upload', '/after.exe'))).toBe(false);
  });
});
