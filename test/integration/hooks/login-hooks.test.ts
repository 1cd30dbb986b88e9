// Pre-login, check-password, post-login, post-connect and post-disconnect hooks through real clients
// (OpenSSH sftp, the FTP control client): shell-script hooks written here, HTTP notifications
// received by a real node:http server.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { protocolsYaml } from '../../support/protocols.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { ftpLogin, sftpKey, sftpPassword, startReceiver, writeScript, type Receiver } from './harness.ts';

let dir: string;
let server: RunningServer;
let sshPort: number;
let ftpPort: number;
let davPort: number;
let receiver: Receiver;
let upload: string;
let keyPath: string;

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

beforeAll(async () => {
  dir = tempDir('hooks-login-');
  sshPort = await freePort();
  ftpPort = await freePort();
  davPort = await freePort();
  for (const d of ['normal', 'plskip', 'cp0', 'cp1', 'cp2', 'plA', 'plB']) mkdirSync(join(dir, d));
  upload = join(dir, 'upload.txt');
  writeFileSync(upload, 'pre-login upload\n');
  keyPath = join(dir, 'key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
  const pub = readFileSync(`${keyPath}.pub`, 'utf8').trim();
  receiver = await startReceiver(() => ({ status: 200 }));
  const preLogin = writeScript(dir, 'pre-login.sh', `
DIR='${dir}'
name=$(printf '%s' "$SFTPGO_LOGIND_USER" | sed -n 's/.*"username":"\\([^"]*\\)".*/\\1/p')
echo "$name" >> "$DIR/pre_runs"
printf '%s' "$SFTPGO_LOGIND_USER" > "$DIR/pre_user_$name"
echo "$SFTPGO_LOGIND_METHOD $SFTPGO_LOGIND_PROTOCOL $SFTPGO_LOGIND_IP" > "$DIR/pre_meta_$name"
case "$name" in
  pl) printf '{"username":"pl","password":"pl-pass","home_dir":"%s","permissions":{"/":["*"]}}' "$(cat "$DIR/pl_home")"; exit 0 ;;
  plslow) sleep 20 ;;
  plcrash) exit 1 ;;
  plgarbage) echo '<html>oops</html>'; exit 0 ;;
esac
exit 0
`);
  const checkPassword = writeScript(dir, 'check-password.sh', `
case "$SFTPGO_AUTHD_USERNAME" in
  cp0) echo '{"status":0}' ;;
  cp1) echo '{"status":1}' ;;
  cp2)
    p="$SFTPGO_AUTHD_PASSWORD"; fixed="\${p%??????}"; otp="\${p#"$fixed"}"
    if [ "$otp" = "123456" ]; then printf '{"status":2,"to_verify":"%s"}' "$fixed"; else echo '{"status":0}'; fi ;;
  *) printf '{"status":2,"to_verify":"%s"}' "$SFTPGO_AUTHD_PASSWORD" ;;
esac
`);
  const postConnect = writeScript(dir, 'post-connect.sh', `
DIR='${dir}'
echo "$SFTPGO_CONNECTION_IP $SFTPGO_CONNECTION_PROTOCOL" >> "$DIR/connects"
[ -f "$DIR/refuse" ] && exit 1
exit 0
`);
  const yaml = `
common:
  hooks_timeout: 2
  post_connect_hook: ${postConnect}
  post_disconnect_hook: ${receiver.url}/disconnect
${protocolsYaml({ sftp: sshPort, ftp: ftpPort, dav: davPort })}
data_provider:
  pre_login_hook: ${preLogin}
  check_password_hook: ${checkPassword}
  check_password_scope: 2
  post_login_hook: ${receiver.url}/login
users:
  - { username: normal, password: normal-pass, home_dir: ${join(dir, 'normal')} }
  - { username: plskip, password: skip-pass, home_dir: ${join(dir, 'plskip')}, filters: { hooks: { pre_login_disabled: true } } }
  - { username: cp0, password: cp0-pass, home_dir: ${join(dir, 'cp0')} }
  - { username: cp1, password: cp1-pass, home_dir: ${join(dir, 'cp1')} }
  - { username: cp2, password: secret, home_dir: ${join(dir, 'cp2')} }
  - { username: keyed, home_dir: ${join(dir, 'normal')}, public_keys: ["${pub}"] }
`;
  server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug' } });
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
  removeTempDirs();
});

describe('pre_login_hook', () => {
  test('creates an unknown user, then moves its home: each upload lands in the home the hook gave', async () => {
    writeFileSync(join(dir, 'pl_home'), join(dir, 'plA'));
    expect((await sftpPassword(sshPort, 'pl', 'pl-pass', [`put ${upload} one.txt`])).status).toBe(0);
    expect(readFileSync(join(dir, 'plA', 'one.txt'), 'utf8')).toBe('pre-login upload\n');
    // The unknown user was announced as SFTPGo does: id 0 and the name tried.
    expect(JSON.parse(readFileSync(join(dir, 'pre_user_pl'), 'utf8'))).toEqual({ id: 0, username: 'pl' });
    expect(readFileSync(join(dir, 'pre_meta_pl'), 'utf8').trim()).toBe('password SSH 127.0.0.1');

    writeFileSync(join(dir, 'pl_home'), join(dir, 'plB'));
    expect((await sftpPassword(sshPort, 'pl', 'pl-pass', [`put ${upload} two.txt`])).status).toBe(0);
    expect(existsSync(join(dir, 'plB', 'two.txt'))).toBe(true);
    expect(existsSync(join(dir, 'plA', 'two.txt'))).toBe(false);
    // The second run saw the stored user (with the first home), without its password hash.
    const seen = JSON.parse(readFileSync(join(dir, 'pre_user_pl'), 'utf8')) as Record<string, unknown>;
    expect(seen.home_dir).toBe(join(dir, 'plA'));
    expect(seen.source).toBe('runtime');
    expect(seen).not.toHaveProperty('password');
    // Its password is still checked: the hook does not log anyone in by itself.
    expect(await ftpLogin(ftpPort, 'pl', 'not-the-password')).toBe(530);
  });

  test('an empty answer keeps a YAML user as it is; pre_login_disabled skips the hook', async () => {
    expect(await ftpLogin(ftpPort, 'normal', 'normal-pass')).toBe(230);
    expect(lines(join(dir, 'pre_runs'))).toContain('normal');
    expect(await ftpLogin(ftpPort, 'plskip', 'skip-pass')).toBe(230);
    expect(lines(join(dir, 'pre_runs'))).not.toContain('plskip');
  });

  test('an SSH key login runs the hook once (the key query and the signed request are one login)', async () => {
    expect((await sftpKey(sshPort, 'keyed', keyPath, ['ls'])).status).toBe(0);
    expect(lines(join(dir, 'pre_runs')).filter((l) => l === 'keyed')).toHaveLength(1);
    expect(readFileSync(join(dir, 'pre_meta_keyed'), 'utf8').trim()).toBe('publickey SSH 127.0.0.1');
  });

  test('WebDAV: the first request runs the hook; requests with the same verified credentials do not', async () => {
    const runs = (): number => lines(join(dir, 'pre_runs')).filter((l) => l === 'normal').length;
    const before = runs();
    const propfind = (pw: string) =>
      run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', `normal:${pw}`, '-X', 'PROPFIND', '-H', 'Depth: 0', `http://127.0.0.1:${davPort}/`]);
    expect((await propfind('normal-pass')).stdout).toBe('207');
    expect(runs()).toBe(before + 1);
    expect(readFileSync(join(dir, 'pre_meta_normal'), 'utf8').trim()).toBe('password DAV 127.0.0.1');
    expect((await propfind('normal-pass')).stdout).toBe('207');
    expect((await propfind('normal-pass')).stdout).toBe('207');
    expect(runs()).toBe(before + 1);
    // A different password is a new login: the hook runs, the stored hash refuses it.
    expect((await propfind('wrong-pass')).stdout).toBe('401');
    expect(runs()).toBe(before + 2);
  });

  test('a hook that times out, exits non-zero or prints garbage denies; a normal user logs in meanwhile', async () => {
    let slowDone = 0;
    const slow = ftpLogin(ftpPort, 'plslow', 'x').then((c) => ((slowDone = Date.now()), c));
    await new Promise((r) => setTimeout(r, 300));
    expect((await sftpPassword(sshPort, 'normal', 'normal-pass', ['ls'])).status).toBe(0);
    const normalDone = Date.now();
    expect(await slow).toBe(530);
    expect(normalDone).toBeLessThan(slowDone);
    await server.waitForLog((l) => l.event === 'pre_login_denied' && l.username === 'plslow');
    expect(await ftpLogin(ftpPort, 'plcrash', 'x')).toBe(530);
    expect(await ftpLogin(ftpPort, 'plgarbage', 'x')).toBe(530);
    await server.waitForLog((l) => l.event === 'pre_login_denied' && l.username === 'plcrash' && l.reason === 'pre_login_hook_failed');
    await server.waitForLog((l) => l.event === 'pre_login_denied' && l.username === 'plgarbage' && l.reason === 'pre_login_hook_invalid');
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'plgarbage' && l.reason === 'pre_login_hook_invalid');
    expect(await ftpLogin(ftpPort, 'normal', 'normal-pass')).toBe(230);
  });
});

describe('check_password_hook', () => {
  test('status 0 denies even the right password; out of scope (SSH) the stored hash decides', async () => {
    expect(await ftpLogin(ftpPort, 'cp0', 'cp0-pass')).toBe(530);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'cp0' && l.reason === 'check_password_hook_denied');
    expect((await sftpPassword(sshPort, 'cp0', 'cp0-pass', ['ls'])).status).toBe(0);
  });

  test('status 1 accepts without the stored hash', async () => {
    expect(await ftpLogin(ftpPort, 'cp1', 'anything-at-all')).toBe(230);
  });

  test('status 2 checks to_verify (the password without its OTP) against the stored hash', async () => {
    expect(await ftpLogin(ftpPort, 'cp2', 'secret123456')).toBe(230);
    expect(await ftpLogin(ftpPort, 'cp2', 'secret999999')).toBe(530);
    expect(await ftpLogin(ftpPort, 'cp2', 'wrong!123456')).toBe(530);
    expect(await ftpLogin(ftpPort, 'cp2', 'secret')).toBe(530);
  });
});

describe('post_login_hook', () => {
  test('is told of a successful and a failed login, field by field, without any password', async () => {
    // Notifications are sent in the background: match on the user, not on arrival order.
    const of = (r: { body: unknown }): unknown => (r.body as { username?: string } | undefined)?.username;
    const before = receiver.requests.length;
    expect(await ftpLogin(ftpPort, 'normal', 'normal-pass')).toBe(230);
    const ok = await receiver.waitFor((r) => r.path === '/login' && receiver.requests.indexOf(r) >= before && of(r) === 'normal' && r.query.status === '1');
    expect(ok.method).toBe('POST');
    expect(ok.query).toEqual({ ip: '127.0.0.1', login_method: 'password', protocol: 'FTP', status: '1' });
    const user = ok.body as Record<string, unknown>;
    expect(user.username).toBe('normal');
    expect(user.home_dir).toBe(join(dir, 'normal'));
    expect(user.source).toBe('config');
    expect(user).not.toHaveProperty('password');
    expect(user).not.toHaveProperty('password_digest');

    expect(await ftpLogin(ftpPort, 'normal', 'bad-pass')).toBe(530);
    const failed = await receiver.waitFor((r) => r.path === '/login' && receiver.requests.indexOf(r) >= before && of(r) === 'normal' && r.query.status === '0');
    expect(failed.query).toEqual({ ip: '127.0.0.1', login_method: 'password', protocol: 'FTP', status: '0' });
    expect((failed.body as Record<string, unknown>).username).toBe('normal');

    const beforeSsh = receiver.requests.length;
    expect((await sftpPassword(sshPort, 'nobody-here', 'x', ['ls'])).status).not.toBe(0);
    const unknown = await receiver.waitFor((r) => r.path === '/login' && receiver.requests.indexOf(r) >= beforeSsh && of(r) === 'nobody-here');
    expect(unknown.query.protocol).toBe('SSH');
    expect(unknown.body).toEqual({ username: 'nobody-here' });
  });
});

describe('post_connect_hook and post_disconnect_hook', () => {
  test('post-connect sees the address and protocol; a non-zero exit closes the connection before any greeting', async () => {
    const c = await FtpControl.connect(ftpPort);
    expect(c.greeting.code).toBe(220);
    c.close();
    expect(lines(join(dir, 'connects'))).toContain('127.0.0.1 FTP');

    writeFileSync(join(dir, 'refuse'), '');
    try {
      const refused = await FtpControl.connect(ftpPort);
      expect(refused.greeting.code).toBe(421); // told and closed, without a 220
      refused.close();
      expect((await sftpPassword(sshPort, 'normal', 'normal-pass', ['ls'])).status).not.toBe(0);
      await server.waitForLog((l) => l.event === 'connection_refused' && l.protocol === 'SSH' && l.reason === 'post_connect_hook');
      await server.waitForLog((l) => l.event === 'connection_refused' && l.protocol === 'FTP' && l.reason === 'post_connect_hook');
    } finally {
      rmSync(join(dir, 'refuse'));
    }
    expect(await ftpLogin(ftpPort, 'normal', 'normal-pass')).toBe(230);
  });

  test('post-disconnect is told who left, from where, over what and after how long', async () => {
    const before = receiver.requests.length;
    const c = await FtpControl.connect(ftpPort);
    expect((await c.login('plskip', 'skip-pass')).code).toBe(230);
    await new Promise((r) => setTimeout(r, 150));
    await c.send('QUIT');
    c.close();
    const d = await receiver.waitFor((r) => r.path === '/disconnect' && r.query.username === 'plskip' && receiver.requests.indexOf(r) >= before);
    expect(d.method).toBe('GET');
    expect(d.query.ip).toBe('127.0.0.1');
    expect(d.query.protocol).toBe('FTP');
    expect(Number(d.query.connection_duration)).toBeGreaterThanOrEqual(100);
  });
});
