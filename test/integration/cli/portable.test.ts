// `sftpgo portable` serves one directory with no config file: real OpenSSH sftp (password and key),
// lftp and curl against it, and after SIGTERM no temp dir is left and the directory holds only what
// was uploaded.
import { afterAll, expect, test } from 'bun:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';
import { BUN, ROOT } from '../../support/server.ts';
import { keepLog, keepOutput, newLogFile } from '../../support/test-logs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

interface Portable {
  proc: ChildProcess;
  /** What it printed on stdout up to its "Stop with" line. */
  banner: string;
  /** The TMPDIR it ran with: its store and host keys go there. */
  tmp: string;
  /** Its log lines so far. */
  stderr(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts `sftpgo portable ARGS` with its own TMPDIR and waits for the connect instructions. What it
 * prints is kept for the leak check, under test-results/logs or `logsDir`.
 */
async function startPortable(args: string[], opts: { logsDir?: string } = {}): Promise<Portable> {
  const tmp = tempDir('portable-tmp-');
  const proc = spawn(BUN, [join(ROOT, 'src/main.ts'), 'portable', ...args], { cwd: tmp, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  keepOutput(proc, { kind: 'portable', ...(opts.logsDir ? { dir: opts.logsDir } : {}) });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`portable did not start:\n${out}\n${err}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Stop with')) (clearTimeout(timer), resolve(out));
    });
    void exited.then((code) => reject(new Error(`portable exited with ${code}:\n${out}\n${err}`)));
  });
  return {
    proc,
    banner,
    tmp,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

function portOf(banner: string, pattern: RegExp): number {
  const m = pattern.exec(banner);
  if (!m) throw new Error(`no port in:\n${banner}`);
  return Number(m[1]);
}

test('password login: SFTP, FTP and WebDAV upload and download in the directory; SIGTERM leaves nothing behind', async () => {
  const served = tempDir('portable-dir-');
  const work = tempDir('portable-work-');
  writeFileSync(join(served, 'existing.txt'), 'was here\n');
  writeFileSync(join(work, 'up.txt'), 'sent by sftp\n');
  const p = await startPortable(['--directory', served, '--permissions', 'list,download', '-g', 'upload', '--ftpd-port', '0', '--webdav-port', '0']);
  try {
    // No username or password given: SFTPGo's default name and a generated password, printed
    const password = /\(password: (\S+)\)/.exec(p.banner)?.[1] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(p.banner).toContain(`Serving ${served} to user "user"`);
    expect(p.banner).toContain('with permissions: list, download, upload');
    const sftp = portOf(p.banner, /SFTP: +sftp -P (\d+) user@127\.0\.0\.1/);
    const ftp = portOf(p.banner, /FTP: +ftp:\/\/user@127\.0\.0\.1:(\d+)\//);
    const dav = portOf(p.banner, /WebDAV: +http:\/\/user@127\.0\.0\.1:(\d+)\//);

    const s = sftpBatchSync({ port: sftp, user: 'user', password, dir: work, lines: [`put ${join(work, 'up.txt')} sftp.txt`, `get existing.txt ${join(work, 'existing.txt')}`] });
    expect(s.status).toBe(0);
    expect(readFileSync(join(served, 'sftp.txt'), 'utf8')).toBe('sent by sftp\n');
    expect(readFileSync(join(work, 'existing.txt'), 'utf8')).toBe('was here\n');
    // The permissions given, and no more: delete was not granted
    expect(sftpBatchSync({ port: sftp, user: 'user', password, dir: work, lines: ['rm existing.txt'] }).status).not.toBe(0);

    const f = await run('lftp', [
      '-u', `user,${password}`,
      '-e', `set net:max-retries 1; set cmd:fail-exit yes; set ftp:ssl-allow no; put ${join(work, 'up.txt')} -o ftp.txt; get sftp.txt -o ${join(work, 'via-ftp.txt')}; bye`,
      `ftp://127.0.0.1:${ftp}`,
    ]);
    expect(f.status).toBe(0);
    expect(readFileSync(join(served, 'ftp.txt'), 'utf8')).toBe('sent by sftp\n');
    expect(readFileSync(join(work, 'via-ftp.txt'), 'utf8')).toBe('sent by sftp\n');

    const put = await run('curl', ['-sS', '--max-time', '30', '-u', `user:${password}`, '-T', join(work, 'up.txt'), '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${dav}/dav.txt`]);
    expect(put.stdout).toBe('201');
    const get = await run('curl', ['-sS', '--max-time', '30', '-u', `user:${password}`, `http://127.0.0.1:${dav}/existing.txt`]);
    expect(get.stdout).toBe('was here\n');
    const wrong = await run('curl', ['-sS', '--max-time', '30', '-u', 'user:wrong', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${dav}/existing.txt`]);
    expect(wrong.stdout).toBe('401');

    expect(p.stderr()).toContain('"event":"serve_ready"');
    // While it runs, its store and host keys are in one temp dir under TMPDIR
    expect(readdirSync(p.tmp).filter((n) => n.startsWith('sftpgo-portable-'))).toHaveLength(1);
  } finally {
    expect(await p.stop()).toBe(0);
  }
  expect(readdirSync(p.tmp)).toEqual([]);
  expect(readdirSync(served).sort()).toEqual(['dav.txt', 'existing.txt', 'ftp.txt', 'sftp.txt']);
}, 120_000);

test('public-key login, given by file and as key text, with a fixed port and username; no password is made', async () => {
  const served = tempDir('portable-dir-');
  const work = tempDir('portable-work-');
  const key = join(work, 'id_ed25519');
  expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status).toBe(0);
  const other = join(work, 'other');
  expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]).status).toBe(0);
  writeFileSync(join(work, 'keys'), `# authorized keys\n${readFileSync(`${key}.pub`, 'utf8')}`);
  mkdirSync(join(served, 'sub'));
  const fixed = await freePort();
  const p = await startPortable(['-d', served, '-u', 'ann', '-s', String(fixed), '-k', join(work, 'keys'), '-k', readFileSync(`${other}.pub`, 'utf8').trim(), '-g', '*', '--log-level', 'warn']);
  try {
    expect(p.banner).toContain('to user "ann" (2 public key(s)) with permissions: *');
    expect(p.banner).not.toContain('password');
    const port = portOf(p.banner, /sftp -P (\d+) ann@/);
    expect(port).toBe(fixed);
    const sftp = (identity: string, input: string) =>
      spawnSync(
        'sftp',
        ['-i', identity, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-P', String(port), '-b', '-', 'ann@127.0.0.1'],
        { input, encoding: 'utf8', timeout: 60_000 },
      );
    writeFileSync(join(work, 'k.txt'), 'by key\n');
    expect(sftp(key, `put ${join(work, 'k.txt')} sub/k.txt\n`).status).toBe(0);
    expect(sftp(other, `rename sub/k.txt sub/moved.txt\n`).status).toBe(0);
    expect(readFileSync(join(served, 'sub/moved.txt'), 'utf8')).toBe('by key\n');
    // A key it was not given
    const stranger = join(work, 'stranger');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]).status).toBe(0);
    expect(sftp(stranger, 'ls\n').status).not.toBe(0);
    // --log-level warn: none of the info lines the default level writes (see the first test)
    expect(p.stderr()).not.toContain('"level":"info"');
  } finally {
    expect(await p.stop()).toBe(0);
  }
  expect(readdirSync(p.tmp)).toEqual([]);
  expect(readdirSync(served)).toEqual(['sub']);
}, 120_000);

test('start directory, file patterns and SSH commands reach the account', async () => {
  const served = tempDir('portable-dir-');
  const work = tempDir('portable-work-');
  mkdirSync(join(served, 'in'));
  writeFileSync(join(served, 'in/a.txt'), 'abc');
  writeFileSync(join(work, 'x.exe'), 'MZ');
  const p = await startPortable(['-d', served, '-p', 'pw-portable', '-g', '*', '--start-directory', '/in', '--denied-patterns', '/::*.exe', '--ssh-commands', 'md5sum', '-l', join(work, 'log.jsonl')]);
  try {
    const port = portOf(p.banner, /sftp -P (\d+) user@/);
    expect(p.banner).toContain('(the given password)');
    const s = sftpBatchSync({ port, user: 'user', password: 'pw-portable', dir: work, lines: ['pwd', 'get a.txt ' + join(work, 'a.txt')] });
    expect(s.status).toBe(0);
    expect(s.stdout).toContain('Remote working directory: /in');
    expect(readFileSync(join(work, 'a.txt'), 'utf8')).toBe('abc');
    expect(sftpBatchSync({ port, user: 'user', password: 'pw-portable', dir: work, lines: [`put ${join(work, 'x.exe')} /x.exe`] }).status).not.toBe(0);
    const ssh = (command: string) =>
      run('sshpass', ['-p', 'pw-portable', 'ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-p', String(port), 'user@127.0.0.1', command]);
    const md5 = await ssh('md5sum /in/a.txt');
    expect(md5.stdout).toContain('900150983cd24fb0d6963f7d28e17f72');
    expect((await ssh('sha1sum /in/a.txt')).status).not.toBe(0);
  } finally {
    expect(await p.stop()).toBe(0);
  }
  const logFile = readFileSync(join(work, 'log.jsonl'), 'utf8');
  // The log it wrote to a file instead of stderr is kept for the leak check too
  keepLog(newLogFile('portable'), logFile);
  expect(logFile).toContain('"event":"serve_ready"');
  expect(readdirSync(served)).toEqual(['in']);
  expect(readdirSync(join(served, 'in'))).toEqual(['a.txt']);
}, 120_000);

test("SFTPGo flags it does not implement, and bad values, are refused before anything starts", () => {
  const dir = tempDir('portable-refused-');
  const cases: [string[], string][] = [
    [['--s3-bucket', 'b'], '--s3-bucket is not supported: portable mode serves a local directory only'],
    [['-f', 's3fs'], '-f is not supported: portable mode serves a local directory only'],
    [['--ftpd-cert=c.pem'], '--ftpd-cert is not supported: portable mode serves plain FTP and WebDAV'],
    [['--httpd-port', '8080'], '--httpd-port is not supported'],
    [['--sftpd-port', 'x'], '--sftpd-port must be a port number'],
    [['--sftpd-port', '-1'], 'every protocol is disabled'],
    [['--permissions', 'list,fly'], 'users[0].permissions./'],
    [['--allowed-patterns', '*.jpg'], '--allowed-patterns takes "/dir::pattern1,pattern2"'],
    [['--password', 'a', '--password-file', 'f'], 'give --password or --password-file, not both'],
    [['--no-such-flag'], "Unknown option '--no-such-flag'"],
  ];
  for (const [args, message] of cases) {
    const r = runCli(['portable', '-d', dir, ...args], { cwd: dir, env: { TMPDIR: dir } });
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringContaining(message) });
  }
  // Nothing was created: no temp dir, nothing in the directory
  expect(readdirSync(dir)).toEqual([]);
});

test('what it prints reaches the leak check: a secret in its banner or its log lines is reported, the password it was given is in neither', async () => {
  const served = tempDir('portable-dir-');
  const work = tempDir('portable-work-');
  // Its own logs dir: the secret planted here must not fail the suite's check
  const logs = tempDir('portable-logs-');
  // The username is printed in the banner (stdout) and logged with each login (stderr)
  const planted = TEST_SECRETS.apiKey;
  const p = await startPortable(['-d', served, '-u', planted, '-p', TEST_SECRETS.userPassword], { logsDir: logs });
  try {
    const port = portOf(p.banner, /sftp -P (\d+) /);
    expect(sftpBatchSync({ port, user: planted, password: TEST_SECRETS.userPassword, dir: work, lines: ['ls'] }).status).toBe(0);
    for (let i = 0; !p.stderr().includes('"event":"login"') && i < 100; i++) await Bun.sleep(50);
    expect(p.stderr()).toContain('"event":"login"');
  } finally {
    expect(await p.stop()).toBe(0);
  }
  const check = spawnSync(BUN, [join(ROOT, 'scripts/leak-check.ts'), logs], { encoding: 'utf8' });
  expect(check.status).toBe(1);
  const hits = check.stdout.split('\n').filter((l) => l.includes('the test secret apiKey appears'));
  expect(hits.some((l) => l.includes('to user "<apiKey>"'))).toBe(true);
  expect(hits.some((l) => l.includes('"event":"login"'))).toBe(true);
  expect(check.stdout).not.toContain('the test secret userPassword appears');
}, 120_000);
