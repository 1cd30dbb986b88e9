// Per-user filters through every protocol against one server: file_patterns (deny, allow-list,
// deny_policy 0 and 1, the most specific path winning) with OpenSSH sftp, an ssh2 client for exact
// SFTP status codes, lftp and a raw FTP control connection, and curl over WebDAV; start_directory
// as sftp's pwd and FTP's PWD; disable_fs_checks leaving a missing home alone at login.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { freeProtocolPorts, protocolsYaml, type ProtocolPorts } from '../../support/protocols.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { canLogin, code, PASSWORD as HARNESS_PASSWORD, sftpBatch, sftpClient, type Sftpd } from '../sftp/harness.ts';

const PASSWORD = HARNESS_PASSWORD;
const FX = { OK: 0, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3 };

let server: RunningServer;
let dir: string;
let local: string;
let alice: string;
let carolHome: string;
let ports: ProtocolPorts;
/** What the SFTP harness helpers need to reach this server. */
let sftpd: Sftpd;

const ALICE_FILTERS = `    filters:
      start_directory: /inbox/today
      file_patterns:
        - path: /
          denied_patterns: ["*.EXE"]
        - path: /hidden
          denied_patterns: ["*.secret"]
          deny_policy: 1
        - path: /photos
          allowed_patterns: ["*.jpg", "*.png"]
        - path: /photos/raw
          denied_patterns: ["*.tmp"]
`;

function seed(home: string, files: Record<string, string>): void {
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(home, rel, '..'), { recursive: true });
    writeFileSync(join(home, rel), body);
  }
}

beforeAll(async () => {
  dir = tempDir('filters-it-');
  local = tempDir('filters-local-');
  alice = join(dir, 'homes', 'alice');
  const bob = join(dir, 'homes', 'bob');
  carolHome = join(dir, 'homes', 'carol-not-created');
  mkdirSync(bob, { recursive: true });
  seed(alice, {
    'bad.exe': 'bad',
    'ok.txt': 'ok',
    'hidden/x.secret': 'secret',
    'hidden/visible.txt': 'visible',
    'hidden/dir.secret/in.txt': 'inside a hidden directory',
    'photos/a.jpg': 'jpg',
    'photos/b.txt': 'txt',
    'photos/raw/c.txt': 'raw txt',
    'photos/raw/d.tmp': 'tmp',
  });
  ports = await freeProtocolPorts({ passive: true });
  const user = (name: string, home: string, perms: string, extra = ''): string =>
    `  - username: ${name}\n    password: "${PASSWORD}"\n    home_dir: ${home}\n    permissions: ${perms}\n${extra}`;
  const yaml = [
    protocolsYaml(ports),
    'users:',
    user('alice', alice, '{ "/": ["*"] }', ALICE_FILTERS),
    // bob may not create directories: his missing start directory cannot be made.
    user('bob', bob, '{ "/": ["list", "download"] }', '    filters:\n      start_directory: /missing/dir\n'),
    user('carol', carolHome, '{ "/": ["*"] }', '    filters:\n      disable_fs_checks: true\n'),
    '',
  ].join('\n');
  server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug' } });
  await server.waitForLog((l) => l.event === 'webdav_listening' && l.port === ports.dav);
  sftpd = { server, port: ports.sftp, dir, users: {} };
  writeFileSync(join(local, 'up.exe'), 'upload');
  writeFileSync(join(local, 'up.jpg'), 'a jpg');
  writeFileSync(join(local, 'up.gif'), 'a gif');
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('file_patterns over SFTP', () => {
  test('OpenSSH sftp: a denied name cannot be downloaded or uploaded; allowed names can', async () => {
    const get = await sftpBatch(sftpd, 'alice', [`get /bad.exe ${join(local, 'bad.exe')}`]);
    expect(get.status).not.toBe(0);
    expect(get.stderr).toContain('Permission denied');
    expect(existsSync(join(local, 'bad.exe'))).toBe(false);
    // Case-insensitive: *.EXE in the config refuses up.exe.
    const put = await sftpBatch(sftpd, 'alice', [`put ${join(local, 'up.exe')} /up.exe`]);
    expect(put.status).not.toBe(0);
    expect(put.stderr).toContain('Permission denied');
    expect(existsSync(join(alice, 'up.exe'))).toBe(false);
    const ok = await sftpBatch(sftpd, 'alice', [`get /ok.txt ${join(local, 'ok.txt')}`]);
    expect(ok.status).toBe(0);
    expect(readFileSync(join(local, 'ok.txt'), 'utf8')).toBe('ok');
  });

  test('OpenSSH sftp ls: deny_policy 1 hides, deny_policy 0 lists', async () => {
    const r = await sftpBatch(sftpd, 'alice', ['ls -1 /', 'ls -1 /hidden']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('bad.exe');
    expect(r.stdout).toContain('visible.txt');
    expect(r.stdout).not.toContain('x.secret');
    expect(r.stdout).not.toContain('dir.secret');
    expect(existsSync(join(alice, 'hidden', 'x.secret'))).toBe(true);
  });

  test('scp: a denied download fails and a recursive copy leaves hidden names out', async () => {
    const scp = (args: string[]) =>
      run('sshpass', [
        '-p', PASSWORD, 'scp', '-O', '-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
        '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-P', String(ports.sftp), ...args,
      ], { timeout: 30_000 });
    const bad = await scp(['alice@127.0.0.1:/bad.exe', join(local, 'scp-bad.exe')]);
    expect(bad.status).not.toBe(0);
    expect(existsSync(join(local, 'scp-bad.exe'))).toBe(false);
    const tree = await scp(['-r', 'alice@127.0.0.1:/hidden', join(local, 'scp-hidden')]);
    expect(tree.status).toBe(0);
    expect(readFileSync(join(local, 'scp-hidden', 'visible.txt'), 'utf8')).toBe('visible');
    expect(existsSync(join(local, 'scp-hidden', 'x.secret'))).toBe(false);
    expect(existsSync(join(local, 'scp-hidden', 'dir.secret'))).toBe(false);
  });

  test('exact status codes: permission denied, and not found for hidden names', async () => {
    const { sftp, end } = await sftpClient(sftpd, 'alice');
    try {
      expect(await code((cb) => sftp.open('/bad.exe', 'r', (e) => cb(e)))).toBe(FX.PERMISSION_DENIED);
      // deny_policy 0: listed, so stat works; using it does not.
      expect(await code((cb) => sftp.stat('/bad.exe', (e) => cb(e)))).toBe(FX.OK);
      expect(await code((cb) => sftp.unlink('/bad.exe', cb))).toBe(FX.PERMISSION_DENIED);
      expect(await code((cb) => sftp.rename('/ok.txt', '/ok.exe', cb))).toBe(FX.PERMISSION_DENIED);
      expect(await code((cb) => sftp.rename('/bad.exe', '/fine.txt', cb))).toBe(FX.PERMISSION_DENIED);
      expect(await code((cb) => sftp.mkdir('/dir.exe', cb))).toBe(FX.PERMISSION_DENIED);
      expect(await code((cb) => sftp.setstat('/bad.exe', { mode: 0o600 }, cb))).toBe(FX.PERMISSION_DENIED);
      // deny_policy 1: the name reads as missing.
      expect(await code((cb) => sftp.stat('/hidden/x.secret', (e) => cb(e)))).toBe(FX.NO_SUCH_FILE);
      expect(await code((cb) => sftp.open('/hidden/x.secret', 'r', (e) => cb(e)))).toBe(FX.NO_SUCH_FILE);
      expect(await code((cb) => sftp.unlink('/hidden/x.secret', cb))).toBe(FX.NO_SUCH_FILE);
      // Creating a hidden name is still a permission error.
      expect(await code((cb) => sftp.open('/hidden/new.secret', 'w', (e) => cb(e)))).toBe(FX.PERMISSION_DENIED);
      expect(await code((cb) => sftp.stat('/hidden/visible.txt', (e) => cb(e)))).toBe(FX.OK);
      // Directory names are filtered like file names.
      expect(await code((cb) => sftp.opendir('/hidden/dir.secret', (e) => cb(e)))).toBe(FX.NO_SUCH_FILE);
      expect(await code((cb) => sftp.stat('/hidden/dir.secret', (e) => cb(e)))).toBe(FX.NO_SUCH_FILE);
    } finally {
      end();
    }
    expect(existsSync(join(alice, 'bad.exe'))).toBe(true);
    expect(existsSync(join(alice, 'ok.txt'))).toBe(true);
    expect(existsSync(join(alice, 'dir.exe'))).toBe(false);
    expect(existsSync(join(alice, 'hidden', 'x.secret'))).toBe(true);
  });

  test('allowed_patterns is an allow-list; the most specific path wins', async () => {
    const r = await sftpBatch(sftpd, 'alice', [
      `put ${join(local, 'up.jpg')} /photos/up.jpg`,
      `-put ${join(local, 'up.gif')} /photos/up.gif`,
      `-get /photos/b.txt ${join(local, 'b.txt')}`,
      // /photos/raw has its own filter: .txt is allowed there, .tmp is not.
      `get /photos/raw/c.txt ${join(local, 'c.txt')}`,
      `-get /photos/raw/d.tmp ${join(local, 'd.tmp')}`,
    ]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(alice, 'photos', 'up.jpg'), 'utf8')).toBe('a jpg');
    expect(existsSync(join(alice, 'photos', 'up.gif'))).toBe(false);
    expect(existsSync(join(local, 'b.txt'))).toBe(false);
    expect(readFileSync(join(local, 'c.txt'), 'utf8')).toBe('raw txt');
    expect(existsSync(join(local, 'd.tmp'))).toBe(false);
    expect(r.stderr.match(/Permission denied/g)?.length).toBe(3);
  });
});

describe('start_directory', () => {
  test('OpenSSH sftp starts in it (created at login) and relative paths land there', async () => {
    const r = await sftpBatch(sftpd, 'alice', ['pwd', `put ${join(local, 'up.jpg')} rel.jpg`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Remote working directory: /inbox/today');
    expect(readFileSync(join(alice, 'inbox', 'today', 'rel.jpg'), 'utf8')).toBe('a jpg');
  });

  test('the ssh pwd command answers the start directory, as SFTPGo does', async () => {
    const r = await run('sshpass', [
      '-p', PASSWORD, 'ssh', '-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-T', '-p', String(ports.sftp), 'alice@127.0.0.1', 'pwd',
    ], { timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('/inbox/today');
  });

  test('FTP PWD after login is the start directory; one that cannot be created falls back to /', async () => {
    const c = await FtpControl.connect(ports.ftp);
    try {
      expect((await c.login('alice', PASSWORD)).code).toBe(230);
      const pwd = await c.send('PWD');
      expect(pwd.code).toBe(257);
      expect(pwd.text).toContain('"/inbox/today"');
    } finally {
      c.close();
    }
    const b = await FtpControl.connect(ports.ftp);
    try {
      expect((await b.login('bob', PASSWORD)).code).toBe(230);
      expect((await b.send('PWD')).text).toContain('"/" ');
    } finally {
      b.close();
    }
    const logged = await server.waitForLog((l) => l.event === 'start_directory_unavailable' && l.username === 'bob');
    expect(logged.start_directory).toBe('/missing/dir');
    expect(existsSync(join(dir, 'homes', 'bob', 'missing'))).toBe(false);
  });
});

describe('file_patterns over FTP', () => {
  async function login(): Promise<FtpControl> {
    const c = await FtpControl.connect(ports.ftp);
    expect((await c.login('alice', PASSWORD)).code).toBe(230);
    return c;
  }

  test('RETR and STOR of a denied name are 550, allowed ones work', async () => {
    const c = await login();
    try {
      expect((await c.send('TYPE I')).code).toBe(200);
      expect((await c.transfer('RETR /bad.exe')).first.code).toBe(550);
      expect((await c.transfer('STOR /new.exe', Buffer.from('x'))).first.code).toBe(550);
      expect((await c.transfer('RETR /hidden/x.secret')).first.code).toBe(550);
      expect((await c.send('SIZE /hidden/x.secret')).code).toBe(550);
      expect((await c.send('MKD /d.exe')).code).toBe(550);
      const ok = await c.transfer('RETR /ok.txt');
      expect(ok.first.code).toBe(150);
      expect(ok.data.toString()).toBe('ok');
    } finally {
      c.close();
    }
    expect(existsSync(join(alice, 'new.exe'))).toBe(false);
    expect(existsSync(join(alice, 'd.exe'))).toBe(false);
  });

  test('LIST, MLSD and NLST hide deny_policy 1 names and list deny_policy 0 ones', async () => {
    const c = await login();
    try {
      for (const cmd of ['LIST /hidden', 'MLSD /hidden', 'NLST /hidden']) {
        const r = await c.transfer(cmd);
        expect(r.last?.code).toBe(226);
        expect(r.data.toString()).toContain('visible.txt');
        expect(r.data.toString()).not.toContain('x.secret');
      }
      const root = await c.transfer('MLSD /');
      expect(root.data.toString()).toContain('bad.exe');
    } finally {
      c.close();
    }
  });

  test('lftp: the listing hides the name and get of a denied name fails', async () => {
    const base = `set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; set ftp:ssl-allow no;`;
    const ls = await run('lftp', ['-u', `alice,${PASSWORD}`, '-e', `${base} cls -1 /hidden; cls -1 /; bye`, `ftp://127.0.0.1:${ports.ftp}`]);
    expect(ls.status).toBe(0);
    expect(ls.stdout).toContain('visible.txt');
    expect(ls.stdout).toContain('bad.exe');
    expect(ls.stdout).not.toContain('x.secret');
    const get = await run('lftp', ['-u', `alice,${PASSWORD}`, '-e', `${base} get /bad.exe -o ${join(local, 'lftp-bad.exe')}; bye`, `ftp://127.0.0.1:${ports.ftp}`]);
    expect(get.status).not.toBe(0);
    expect(get.stderr).toContain('550');
  });
});

describe('file_patterns over WebDAV', () => {
  async function curl(args: string[]): Promise<{ status: number; body: string }> {
    const out = join(local, `curl-${Math.random().toString(36).slice(2)}`);
    const r = await run('curl', ['-sS', '--max-time', '30', '-u', `alice:${PASSWORD}`, '-o', out, '-w', '%{http_code}', ...args]);
    return { status: Number(r.stdout), body: existsSync(out) ? readFileSync(out, 'utf8') : '' };
  }
  const url = (p: string): string => `http://127.0.0.1:${ports.dav}${p}`;

  test('GET and PUT of a denied name are 403; a hidden name is 404', async () => {
    expect((await curl([url('/bad.exe')])).status).toBe(403);
    expect((await curl(['-T', join(local, 'up.exe'), url('/put.exe')])).status).toBe(403);
    expect((await curl([url('/hidden/x.secret')])).status).toBe(404);
    expect((await curl(['-X', 'MKCOL', url('/col.exe')])).status).toBe(403);
    const ok = await curl([url('/photos/raw/c.txt')]);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('raw txt');
    expect(existsSync(join(alice, 'put.exe'))).toBe(false);
    expect(existsSync(join(alice, 'col.exe'))).toBe(false);
  });

  test('PROPFIND hides deny_policy 1 names and lists deny_policy 0 ones', async () => {
    const hidden = await curl(['-X', 'PROPFIND', '-H', 'Depth: 1', url('/hidden/')]);
    expect(hidden.status).toBe(207);
    expect(hidden.body).toContain('visible.txt');
    expect(hidden.body).not.toContain('x.secret');
    const root = await curl(['-X', 'PROPFIND', '-H', 'Depth: 1', url('/')]);
    expect(root.body).toContain('bad.exe');
  });
});

describe('disable_fs_checks', () => {
  test('login succeeds without creating the missing home', async () => {
    expect(await canLogin(sftpd, 'carol')).toBe(true);
    const c = await FtpControl.connect(ports.ftp);
    try {
      expect((await c.login('carol', PASSWORD)).code).toBe(230);
    } finally {
      c.close();
    }
    expect(existsSync(carolHome)).toBe(false);
  });
});
