// External authentication through real clients: a shell-script hook that accepts one user (with
// its own home), vouches for a key, denies the rest, and misbehaves on purpose (sleeps past the
// timeout, exits non-zero, prints garbage); and an HTTP hook served by a real node:http server.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { run } from '../../support/run.ts';
import { freePort } from '../../support/net.ts';
import { protocolsYaml } from '../../support/protocols.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { ftpLogin, sftpKey, sftpPassword, startReceiver, writeScript, type Receiver } from './harness.ts';

afterAll(() => removeTempDirs());

interface Dumped {
  users: Record<string, unknown>[];
}

function dump(server: RunningServer): { text: string; users: Map<string, Record<string, unknown>> } {
  const r = runCli(['dumpdata', '--data-dir', server.dataDir]);
  expect(r.code).toBe(0);
  const parsed = JSON.parse(r.stdout) as Dumped;
  return { text: r.stdout, users: new Map(parsed.users.map((u) => [String(u.username), u])) };
}

function runsOf(dir: string, user: string): number {
  const file = join(dir, 'runs');
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((l) => l === user).length;
}

describe('external auth hook (program)', () => {
  let dir: string;
  let server: RunningServer;
  let sshPort: number;
  let ftpPort: number;
  let upload: string;
  let keyPath: string;
  let otherKey: string;

  beforeAll(async () => {
    dir = tempDir('hooks-ext-');
    sshPort = await freePort();
    ftpPort = await freePort();
    mkdirSync(join(dir, 'ext1home'));
    mkdirSync(join(dir, 'keyhome'));
    mkdirSync(join(dir, 'normal'));
    mkdirSync(join(dir, 'yaml'));
    upload = join(dir, 'upload.txt');
    writeFileSync(upload, 'external auth upload\n');
    keyPath = join(dir, 'key');
    otherKey = join(dir, 'other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const hook = writeScript(dir, 'auth.sh', `
DIR='${dir}'
echo "$SFTPGO_AUTHD_USERNAME" >> "$DIR/runs"
env > "$DIR/env_$SFTPGO_AUTHD_USERNAME"
case "$SFTPGO_AUTHD_USERNAME" in
  ext1)
    if [ "$SFTPGO_AUTHD_PASSWORD" = "ext-pass" ]; then
      printf '{"username":"ext1","home_dir":"%s","permissions":{"/":["*"]}}' "$DIR/ext1home"
      exit 0
    fi ;;
  extkey)
    if [ -n "$SFTPGO_AUTHD_PUBLIC_KEY" ] && [ "$SFTPGO_AUTHD_PUBLIC_KEY" = "$(cut -d' ' -f1,2 "$DIR/key.pub")" ]; then
      printf '{"username":"extkey","home_dir":"%s","permissions":{"/":["*"]}}' "$DIR/keyhome"
      exit 0
    fi ;;
  slow) sleep 20 ;;
  crash) exit 3 ;;
  garbage) echo 'this is { not json'; exit 0 ;;
  yamluser) printf '{"username":"yamluser","home_dir":"/tmp/somewhere-else"}'; exit 0 ;;
esac
echo '{"username":""}'
`);
    const yaml = `
common:
  hooks_timeout: 2
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${sshPort} }]
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ftpPort} }]
data_provider:
  external_auth_hook: ${hook}
  external_auth_cache_time: 60
users:
  - username: normal
    password: normal-pass
    home_dir: ${join(dir, 'normal')}
    filters: { hooks: { external_auth_disabled: true } }
  - username: yamluser
    password: yaml-pass
    home_dir: ${join(dir, 'yaml')}
`;
    server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug', HOOK_TEST_SECRET: 'must-not-leak' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  test('accepts the user the hook answers, over SFTP, with the home the hook gave', async () => {
    const r = await sftpPassword(sshPort, 'ext1', 'ext-pass', [`put ${upload} up.txt`]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'ext1home', 'up.txt'), 'utf8')).toBe('external auth upload\n');
    expect(runsOf(dir, 'ext1')).toBe(1);
    // The hook saw the attempt in SFTPGO_AUTHD_* and nothing of the server's own environment.
    const env = readFileSync(join(dir, 'env_ext1'), 'utf8');
    expect(env).toContain('SFTPGO_AUTHD_USERNAME=ext1');
    expect(env).toContain('SFTPGO_AUTHD_PASSWORD=ext-pass');
    expect(env).toContain('SFTPGO_AUTHD_PROTOCOL=SSH');
    expect(env).toContain('SFTPGO_AUTHD_IP=127.0.0.1');
    expect(env).toContain('SFTPGO_AUTHD_USER=\n');
    expect(env).not.toContain('must-not-leak');
  });

  test('the accepted user is cached: further logins (SFTP and FTP) do not run the hook', async () => {
    expect((await sftpPassword(sshPort, 'ext1', 'ext-pass', ['ls'])).status).toBe(0);
    expect(await ftpLogin(ftpPort, 'ext1', 'ext-pass')).toBe(230);
    expect(runsOf(dir, 'ext1')).toBe(1);
    const { text, users } = dump(server);
    const ext1 = users.get('ext1')!;
    expect(ext1.source).toBe('runtime');
    expect(ext1.home_dir).toBe(join(dir, 'ext1home'));
    expect(String(ext1.password)).toMatch(/^\$2[aby]\$/);
    expect(Number(ext1.external_auth_cached_until)).toBeGreaterThan(Date.now() + 30_000);
    expect(text).not.toContain('ext-pass');
  });

  test('another password is not served from the cache: the hook is asked and denies', async () => {
    expect(await ftpLogin(ftpPort, 'ext1', 'wrong-pass')).toBe(530);
    expect(runsOf(dir, 'ext1')).toBe(2);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'ext1' && l.protocol === 'FTP');
  });

  test('a user the hook denies cannot log in over SFTP or FTP, and is not stored', async () => {
    expect((await sftpPassword(sshPort, 'stranger', 'whatever', ['ls'])).status).not.toBe(0);
    expect(await ftpLogin(ftpPort, 'stranger', 'whatever')).toBe(530);
    expect(runsOf(dir, 'stranger')).toBeGreaterThanOrEqual(2);
    expect(dump(server).users.has('stranger')).toBe(false);
  });

  test('a public key the hook vouches for logs in (signature still verified); another key does not', async () => {
    const ok = await sftpKey(sshPort, 'extkey', keyPath, [`put ${upload} k.txt`]);
    expect(ok.status).toBe(0);
    expect(existsSync(join(dir, 'keyhome', 'k.txt'))).toBe(true);
    expect(readFileSync(join(dir, 'env_extkey'), 'utf8')).toContain(`SFTPGO_AUTHD_PUBLIC_KEY=${readFileSync(`${keyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}`);
    const bad = await sftpKey(sshPort, 'extkey', otherKey, ['ls']);
    expect(bad.status).not.toBe(0);
  });

  test('a hook answer for a YAML-declared user is refused and the YAML user stays as declared', async () => {
    expect(await ftpLogin(ftpPort, 'yamluser', 'yaml-pass')).toBe(530);
    await server.waitForLog((l) => l.event === 'hook_user_conflict' && l.username === 'yamluser');
    const y = dump(server).users.get('yamluser')!;
    expect(y.source).toBe('config');
    expect(y.home_dir).toBe(join(dir, 'yaml'));
  });

  test('a hook that times out, exits non-zero or prints garbage denies; a normal user logs in meanwhile', async () => {
    const started = Date.now();
    let slowDone = 0;
    const slow = ftpLogin(ftpPort, 'slow', 'x').then((code) => ((slowDone = Date.now()), code));
    // While the slow hook runs, a user the hook skips logs in over both protocols.
    await new Promise((r) => setTimeout(r, 300));
    expect(await ftpLogin(ftpPort, 'normal', 'normal-pass')).toBe(230);
    expect((await sftpPassword(sshPort, 'normal', 'normal-pass', ['ls'])).status).toBe(0);
    const normalDone = Date.now();
    expect(await slow).toBe(530);
    expect(normalDone).toBeLessThan(slowDone);
    expect(slowDone - started).toBeGreaterThanOrEqual(1900);
    expect(slowDone - started).toBeLessThan(15_000);
    await server.waitForLog((l) => l.event === 'hook_failed' && String(l.error).includes('timed out'));

    expect(await ftpLogin(ftpPort, 'crash', 'x')).toBe(530);
    expect(await ftpLogin(ftpPort, 'garbage', 'x')).toBe(530);
    await server.waitForLog((l) => l.event === 'external_auth_denied' && l.username === 'crash' && l.reason === 'external_auth_failed');
    await server.waitForLog((l) => l.event === 'external_auth_denied' && l.username === 'garbage' && l.reason === 'external_auth_invalid');
    // The login_failed line fail2ban reads carries the hook's reason, not user_not_found.
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'crash' && l.reason === 'external_auth_failed');
    // The user the hook skips was never sent to it.
    expect(runsOf(dir, 'normal')).toBe(0);
    expect(await ftpLogin(ftpPort, 'normal', 'normal-pass')).toBe(230);
  });
});

describe('external auth hook (HTTP)', () => {
  let dir: string;
  let server: RunningServer;
  let sshPort: number;
  let ftpPort: number;
  let davPort: number;
  let receiver: Receiver;
  let keyPath: string;

  beforeAll(async () => {
    dir = tempDir('hooks-ext-http-');
    sshPort = await freePort();
    ftpPort = await freePort();
    davPort = await freePort();
    mkdirSync(join(dir, 'webhome'));
    keyPath = join(dir, 'key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    const pub = readFileSync(`${keyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    receiver = await startReceiver((r) => {
      const b = r.body as { username?: string; password?: string; public_key?: string };
      if (b?.username === 'webext' && b.password === 'web-pass')
        return { status: 200, body: { username: 'webext', home_dir: join(dir, 'webhome'), permissions: { '/': ['*'] } } };
      if (b?.username === 'webkey' && b.public_key === pub)
        return { status: 200, body: { username: 'webkey', home_dir: join(dir, 'webhome'), permissions: { '/': ['*'] } } };
      if (b?.username === 'emptyname') return { status: 200, body: { username: '' } };
      if (b?.username === 'badschema') return { status: 200, body: { username: 'badschema', permissions: 'everything' } };
      if (b?.username === 'norole') return { status: 200, body: { username: 'norole', home_dir: join(dir, 'webhome'), permissions: { '/': ['*'] }, role: 'mars' } };
      return { status: 403, body: 'no' };
    });
    const yaml = `
${protocolsYaml({ sftp: sshPort, ftp: ftpPort, dav: davPort })}
data_provider:
  external_auth_hook: ${receiver.url}/auth
  external_auth_scope: 3
`;
    server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug' } });
  });

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
  });

  test('POSTs the attempt as JSON and accepts the user it answers', async () => {
    expect(await ftpLogin(ftpPort, 'webext', 'web-pass')).toBe(230);
    const req = await receiver.waitFor((r) => (r.body as { username?: string })?.username === 'webext');
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/auth');
    expect(req.body).toMatchObject({ username: 'webext', password: 'web-pass', ip: '127.0.0.1', protocol: 'FTP', public_key: '', keyboard_interactive: '', user: null });
    expect(dump(server).users.get('webext')?.source).toBe('runtime');
  });

  test('without a cache time every login asks the hook again, whatever the protocol', async () => {
    const before = receiver.requests.length;
    expect((await sftpPassword(sshPort, 'webext', 'web-pass', ['ls'])).status).toBe(0);
    const req = receiver.requests.slice(before).find((r) => (r.body as { protocol?: string }).protocol === 'SSH');
    expect(req).toBeDefined();
    // The stored user now travels with the request.
    expect((req!.body as { user?: { username?: string; password?: string } }).user?.username).toBe('webext');
    expect((req!.body as { user?: Record<string, unknown> }).user).not.toHaveProperty('password');
  });

  test('over WebDAV too (curl), with the protocol named DAV', async () => {
    const before = receiver.requests.length;
    const ok = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', 'webext:web-pass', '-X', 'PROPFIND', '-H', 'Depth: 0', `http://127.0.0.1:${davPort}/`]);
    expect(ok.stdout).toBe('207');
    expect(receiver.requests.slice(before).some((r) => (r.body as { protocol?: string }).protocol === 'DAV')).toBe(true);
    const bad = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', 'webext:nope', '-X', 'PROPFIND', '-H', 'Depth: 0', `http://127.0.0.1:${davPort}/`]);
    expect(bad.stdout).toBe('401');
  });

  test('an SSH key login asks the hook once (the query answer serves the signature) and sends the key', async () => {
    const asked = (): number => receiver.requests.filter((r) => (r.body as { username?: string }).username === 'webkey').length;
    expect((await sftpKey(sshPort, 'webkey', keyPath, ['ls'])).status).toBe(0);
    expect(asked()).toBe(1);
    expect((await sftpKey(sshPort, 'webkey', keyPath, ['ls'])).status).toBe(0);
    expect(asked()).toBe(2);
  });

  test('a non-2xx status, an empty username or an invalid user definition denies', async () => {
    expect(await ftpLogin(ftpPort, 'webext', 'wrong')).toBe(530);
    expect(await ftpLogin(ftpPort, 'emptyname', 'x')).toBe(530);
    expect(await ftpLogin(ftpPort, 'badschema', 'x')).toBe(530);
    await server.waitForLog((l) => l.event === 'hook_user_invalid' && l.username === 'badschema');
    // A role that does not exist is an invalid user too.
    expect(await ftpLogin(ftpPort, 'norole', 'x')).toBe(530);
    expect(await server.waitForLog((l) => l.event === 'hook_user_invalid' && l.username === 'norole')).toMatchObject({ errors: ['role: role "mars" does not exist'] });
    expect(dump(server).users.has('badschema')).toBe(false);
  });
});
