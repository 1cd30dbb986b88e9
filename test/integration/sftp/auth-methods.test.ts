// SSH authentication beyond a password or a listed key, with real clients: OpenSSH user
// certificates signed by ssh-keygen, public key followed by a password (next_auth_methods),
// keyboard-interactive with and without the operator's hook, and TOTP over SSH and FTP. Every
// refusal is also checked in the log, with its stable reason.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '../../../src/lib/ssh2.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { run, type RunResult } from '../../support/run.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { PASSWORD, startSftpd, type Sftpd } from './harness.ts';

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];
// base32 of the RFC 6238 test key "12345678901234567890".
const TOTP_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

/** RFC 6238 written again here, independently of src/auth/totp.ts. */
function totpNow(offsetSteps = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offsetSteps));
  const mac = createHmac('sha1', Buffer.from('12345678901234567890')).update(counter).digest();
  const o = mac[19]! & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Waits until the current TOTP step has just begun, so a code stays valid through a login. */
async function freshStep(): Promise<void> {
  const into = (Date.now() / 1000) % 30;
  if (into > 20) await Bun.sleep((30 - into) * 1000 + 200);
}

let s: Sftpd; // no keyboard-interactive hook: certificates, multi-step, TOTP, password prompt
let h: Sftpd; // keyboard-interactive hook
let ftpPort: number;
let work: string;
let caKey: string;
let otherCa: string;

function keygen(path: string, type = 'ed25519'): string {
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', path]);
  return path;
}

/** A fresh key (not in any user's public_keys) with a certificate signed by `ca`. */
function certKey(name: string, ca: string, args: string[], type = 'ed25519'): string {
  const key = keygen(join(work, name), type);
  execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', `id-${name}`, ...args, `${key}.pub`]);
  return key;
}

function sftpWithKey(srv: Sftpd, user: string, key: string, extra: string[] = []): Promise<RunResult> {
  return run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no', '-i', key, ...extra, '-P', String(srv.port), '-b', '-', `${user}@127.0.0.1`], { input: 'pwd\n', timeout: 20_000 });
}

/** An sftp batch file that prints the working directory (sshpass needs stdin left alone). */
/**
 * Logs in with OpenSSH sftp under expect, answering each prompt of `dialog` in turn, then runs
 * `pwd` and quits; resolves with what expect saw.
 */
function sftpPwdByExpect(args: string[], dialog: [prompt: string, answer: string][]): Promise<RunResult> {
  const lines = [
    'set timeout 20',
    `spawn sftp ${[...SSH_OPTS, ...args].join(' ')}`,
    ...dialog.flatMap(([prompt, answer]) => [`expect "${prompt}"`, `send "${answer}\\r"`]),
    'expect "sftp>"', 'send "pwd\\r"', 'expect "Remote working directory"', 'send "bye\\r"', 'expect eof',
  ];
  return run('expect', ['-c', lines.join('\n')], { timeout: 30_000 });
}

function batchFile(): string {
  const path = join(work, 'batch');
  writeFileSync(path, 'pwd\n');
  return path;
}

const hookScript = (markerDir: string): string => `#!/bin/sh
case "$SFTPGO_AUTHD_USERNAME" in
  garbage) echo 'this is not json'; sleep 30 ;;
  sleeper) sleep 5; touch "${markerDir}/sleeper-survived" ;;
  *)
    echo '{"instruction":"Answer both","questions":["Colour: ","Secret: "],"echos":[true,false]}'
    read A1
    read A2
    if [ "$A1" = "blue" ] && [ "$A2" = "sesame" ]; then echo '{"auth_result":1}'; else echo '{"auth_result":-1}'; fi ;;
esac
`;

beforeAll(async () => {
  work = tempDir('auth-methods-');
  caKey = keygen(join(work, 'ca'));
  otherCa = keygen(join(work, 'other_ca'));
  ftpPort = await freePort();
  const totp = `    filters:\n      totp_config:\n        enabled: true\n        secret: ${TOTP_SECRET}\n        protocols: [SSH, FTP]\n`;
  s = await startSftpd(
    [
      { username: 'alice' },
      { username: 'multi', extra: '    filters:\n      next_auth_methods: [password]\n' },
      { username: 'multideny', extra: '    filters:\n      next_auth_methods: [password]\n      denied_login_methods: [publickey+password]\n' },
      { username: 'otp', extra: totp },
      { username: 'otpki', extra: totp },
      { username: 'otpftp', extra: totp },
      { username: 'otpkey', extra: totp },
      { username: 'otpssh', extra: totp },
    ],
    [
      `  trusted_user_ca_keys: [${caKey}.pub]`,
      '  keyboard_interactive_authentication: true',
      'ftpd:',
      '  bindings:',
      `    - { address: 127.0.0.1, port: ${ftpPort} }`,
    ].join('\n'),
  );
  const hookPath = join(work, 'kbdint-hook.sh');
  writeFileSync(hookPath, hookScript(work));
  chmodSync(hookPath, 0o755);
  h = await startSftpd([{ username: 'kiuser' }, { username: 'garbage' }, { username: 'sleeper' }],
    `  keyboard_interactive_authentication: true\n  keyboard_interactive_auth_hook: ${hookPath}\n`);
}, 60_000);

afterAll(async () => {
  await s?.server.stop();
  await h?.server.stop();
  removeTempDirs();
});

/** ssh2 login driven step by step; records which steps got partial success. */
function login(srv: Sftpd, user: string, steps: Record<string, unknown>[]): Promise<{ ok: boolean; partial: boolean[]; prompts: { prompt: string; echo?: boolean }[][] }> {
  const client = new Client();
  const partial: boolean[] = [];
  const prompts: { prompt: string; echo?: boolean }[][] = [];
  let i = 0;
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      client.end();
      resolve({ ok, partial, prompts });
    };
    client.once('ready', () => done(true));
    client.once('error', () => done(false));
    client.on('keyboard-interactive', (_name, _instr, _lang, p, finish) => {
      prompts.push(p.map((q) => ({ prompt: q.prompt, echo: q.echo })));
      const step = steps[i - 1] as { answers?: (n: number) => string[] };
      finish(step?.answers?.(prompts.length) ?? []);
    });
    client.connect({
      host: '127.0.0.1', port: srv.port, username: user, readyTimeout: 15_000, tryKeyboard: true,
      authHandler: ((_left: unknown, isPartial: boolean) => {
        if (i > 0) partial.push(isPartial);
        const step = steps[i++];
        if (!step) return false;
        // The string form makes ssh2 emit 'keyboard-interactive' events, answered above.
        return step.type === 'keyboard-interactive' ? 'keyboard-interactive' : { username: user, ...step };
      }) as never,
    } as never);
  });
}

describe('OpenSSH user certificates', () => {
  test('a certificate from the trusted CA logs in with a key the user does not list', async () => {
    const key = certKey('good', caKey, ['-n', 'alice', '-V', '-5m:+1h']);
    // Without the certificate the key is unknown: the refusal proves the certificate is what counts.
    const noCert = await sftpWithKey(s, 'alice', key, ['-o', 'CertificateFile=/dev/null']);
    expect(noCert.status).not.toBe(0);
    const r = await sftpWithKey(s, 'alice', key);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Remote working directory: /');
  });

  test('ECDSA and RSA user keys with certificates', async () => {
    for (const type of ['ecdsa', 'rsa']) {
      const r = await sftpWithKey(s, 'alice', certKey(`typed-${type}`, caKey, ['-n', 'alice', '-V', '-5m:+1h'], type));
      expect({ type, status: r.status, stderr: r.stderr }).toEqual({ type, status: 0, stderr: '' });
    }
  });

  const refused: [string, () => string, string][] = [
    ['wrong principal', () => certKey('bob', caKey, ['-n', 'bob', '-V', '+1h']), 'cert_principal_mismatch'],
    ['expired', () => certKey('expired', caKey, ['-n', 'alice', '-V', '20200101:20200201']), 'cert_expired'],
    ['untrusted CA', () => certKey('untrusted', otherCa, ['-n', 'alice', '-V', '+1h']), 'cert_untrusted_ca'],
    ['force-command', () => certKey('forced', caKey, ['-n', 'alice', '-V', '+1h', '-O', 'force-command=/bin/true']), 'cert_unsupported_critical_option'],
  ];
  for (const [name, make, reason] of refused) {
    test(`refused: ${name}`, async () => {
      const r = await sftpWithKey(s, 'alice', make());
      expect(r.status).not.toBe(0);
      expect(r.stdout).not.toContain('Remote working directory');
      expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.reason === reason && l.username === 'alice'))
        .toMatchObject({ ip: '127.0.0.1', method: 'publickey' });
    });
  }
});

describe('public key then password (next_auth_methods)', () => {
  const key = (): string => s.users.multi!.keyPath;

  test('the key alone is not enough', async () => {
    const r = await sftpWithKey(s, 'multi', key());
    expect(r.status).not.toBe(0);
    expect(await s.server.waitForLog((l) => l.event === 'login_partial' && l.username === 'multi')).toMatchObject({ next: ['password'] });
  });

  test('the password alone is refused', async () => {
    const r = await run('sshpass', ['-p', PASSWORD, 'sftp', ...SSH_OPTS, '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no',
      '-o', 'NumberOfPasswordPrompts=1', '-P', String(s.port), '-b', batchFile(), 'multi@127.0.0.1'], { timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'multi' && l.reason === 'publickey_required')).toBeDefined();
  });

  test('key then password logs in; key then a wrong password does not', async () => {
    const args = (pw: string): string[] => ['-p', pw, 'sftp', ...SSH_OPTS, '-o', 'BatchMode=no', '-o', 'PreferredAuthentications=publickey,password',
      '-o', 'IdentitiesOnly=yes', '-o', 'NumberOfPasswordPrompts=1', '-i', key(), '-P', String(s.port), '-b', batchFile(), 'multi@127.0.0.1'];
    const ok = await run('sshpass', args(PASSWORD), { timeout: 20_000 });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('Remote working directory: /');
    expect(await s.server.waitForLog((l) => l.event === 'login' && l.username === 'multi')).toMatchObject({ method: 'publickey+password' });
    const bad = await run('sshpass', args('wrong'), { timeout: 20_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).not.toContain('Remote working directory');
  });

  test('a denied publickey+password leaves no way in', async () => {
    const privateKey = readFileSync(s.users.multideny!.keyPath);
    const r = await login(s, 'multideny', [{ type: 'publickey', key: privateKey }, { type: 'password', password: PASSWORD }]);
    expect(r.ok).toBe(false);
    expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'multideny' && l.reason === 'no_next_method')).toBeDefined();
  });

  test('ssh2 sees partial success after the key', async () => {
    const privateKey = readFileSync(key());
    const r = await login(s, 'multi', [{ type: 'publickey', key: privateKey }, { type: 'password', password: PASSWORD }]);
    expect(r).toMatchObject({ ok: true, partial: [true] });
  });
});

describe('keyboard-interactive without a hook', () => {
  test('one hidden "Password:" prompt, checked as the password', async () => {
    const ok = await login(s, 'alice', [{ type: 'keyboard-interactive', answers: () => [PASSWORD] }]);
    expect(ok.ok).toBe(true);
    expect(ok.prompts).toEqual([[{ prompt: 'Password: ', echo: false }]]);
    const bad = await login(s, 'alice', [{ type: 'keyboard-interactive', answers: () => ['nope'] }]);
    expect(bad.ok).toBe(false);
    expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'alice' && l.method === 'keyboard-interactive'))
      .toMatchObject({ reason: 'invalid_credentials' });
  });
});

describe('keyboard-interactive hook', () => {
  test('two questions, one echoed: the right answers log in, wrong ones do not', async () => {
    const ok = await login(h, 'kiuser', [{ type: 'keyboard-interactive', answers: () => ['blue', 'sesame'] }]);
    expect(ok.ok).toBe(true);
    expect(ok.prompts).toEqual([[{ prompt: 'Colour: ', echo: true }, { prompt: 'Secret: ', echo: false }]]);
    const bad = await login(h, 'kiuser', [{ type: 'keyboard-interactive', answers: () => ['blue', 'wrong'] }]);
    expect(bad.ok).toBe(false);
    expect(await h.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'kiuser' && l.reason === 'kbdint_hook_denied')).toBeDefined();
  });

  test('OpenSSH answers the hook through expect', async () => {
    const r = await sftpPwdByExpect(['-o', 'PreferredAuthentications=keyboard-interactive', '-P', String(h.port), 'kiuser@127.0.0.1'],
      [['Colour: ', 'blue'], ['Secret: ', 'sesame']]);
    expect(r.stdout).toContain('Remote working directory: /');
  });

  test('garbage from the program refuses, and the server keeps serving', async () => {
    const r = await login(h, 'garbage', [{ type: 'keyboard-interactive', answers: () => [] }]);
    expect(r.ok).toBe(false);
    expect(await h.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'garbage' && l.reason === 'kbdint_hook_bad_output')).toBeDefined();
    expect((await login(h, 'kiuser', [{ type: 'keyboard-interactive', answers: () => ['blue', 'sesame'] }])).ok).toBe(true);
  });

  test('a hook still running when the client leaves is killed', async () => {
    const client = new Client();
    const started = new Promise<void>((resolve) => {
      client.on('error', () => resolve());
      client.connect({ host: '127.0.0.1', port: h.port, username: 'sleeper', tryKeyboard: true, readyTimeout: 1_000 });
    });
    await started;
    client.end();
    expect(await h.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'sleeper' && l.reason === 'client_disconnected')).toBeDefined();
    await Bun.sleep(5_500);
    expect(existsSync(join(work, 'sleeper-survived'))).toBe(false);
    expect((await login(h, 'kiuser', [{ type: 'keyboard-interactive', answers: () => ['blue', 'sesame'] }])).ok).toBe(true);
  }, 30_000);
});

describe('TOTP', () => {
  test('SSH: password, then the code by keyboard-interactive', async () => {
    await freshStep();
    const r = await login(s, 'otp', [{ type: 'password', password: PASSWORD }, { type: 'keyboard-interactive', answers: () => [totpNow()] }]);
    expect(r).toMatchObject({ ok: true, partial: [true] });
    expect(r.prompts).toEqual([[{ prompt: 'Authentication code: ', echo: false }]]);
    expect(await s.server.waitForLog((l) => l.event === 'login' && l.username === 'otp')).toMatchObject({ method: 'password+totp' });
  });

  test('SSH: the password alone, a wrong code, a replayed code are refused', async () => {
    expect((await login(s, 'otp', [{ type: 'password', password: PASSWORD }])).ok).toBe(false);
    expect((await login(s, 'otp', [{ type: 'password', password: PASSWORD }, { type: 'keyboard-interactive', answers: () => [totpNow(-5)] }])).ok).toBe(false);
    expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'otp' && l.reason === 'totp_invalid')).toBeDefined();
    // The next step's code is inside the drift window and newer than the one used above: good once.
    const code = totpNow(1);
    const first = await login(s, 'otp', [{ type: 'password', password: PASSWORD }, { type: 'keyboard-interactive', answers: () => [code] }]);
    expect(first.ok).toBe(true);
    const again = await login(s, 'otp', [{ type: 'password', password: PASSWORD }, { type: 'keyboard-interactive', answers: () => [code] }]);
    expect(again.ok).toBe(false);
    expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'otp' && l.reason === 'totp_replayed')).toBeDefined();
  });

  test('SSH: keyboard-interactive alone asks the password, then the code', async () => {
    await freshStep();
    const r = await login(s, 'otpki', [{ type: 'keyboard-interactive', answers: (n: number) => (n === 1 ? [PASSWORD] : [totpNow()]) }]);
    expect(r.ok).toBe(true);
    expect(r.prompts).toEqual([[{ prompt: 'Password: ', echo: false }], [{ prompt: 'Authentication code: ', echo: false }]]);
  });

  test('SSH: a public key, then the code', async () => {
    await freshStep();
    const key = readFileSync(s.users.otpkey!.keyPath);
    expect((await login(s, 'otpkey', [{ type: 'publickey', key }])).ok).toBe(false);
    const r = await login(s, 'otpkey', [{ type: 'publickey', key }, { type: 'keyboard-interactive', answers: () => [totpNow()] }]);
    expect(r).toMatchObject({ ok: true, partial: [true] });
    expect(await s.server.waitForLog((l) => l.event === 'login' && l.username === 'otpkey')).toMatchObject({ method: 'publickey+totp' });
  });

  test('SSH with OpenSSH: password, then "Authentication code:" (expect)', async () => {
    await freshStep();
    const r = await sftpPwdByExpect(['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', '-P', String(s.port), 'otpssh@127.0.0.1'],
      [['password:', PASSWORD], ['Authentication code: ', totpNow()]]);
    expect(r.stdout).toContain('Remote working directory: /');
  });

  test('FTP: the password with the code appended', async () => {
    // One connection per attempt: the FTP server drops a connection after three failures.
    const ftpLogin = async (user: string, pass: string): Promise<number> => {
      const c = await FtpControl.connect(ftpPort);
      const code = (await c.login(user, pass)).code;
      await c.send('QUIT').catch(() => undefined);
      return code;
    };
    await freshStep();
    expect(await ftpLogin('otpftp', PASSWORD)).toBe(530);
    expect(await ftpLogin('otpftp', `${PASSWORD}${totpNow(-5)}`)).toBe(530);
    expect(await ftpLogin('otpftp', `wrong${totpNow()}`)).toBe(530);
    expect(await ftpLogin('otpftp', `${PASSWORD}${totpNow()}`)).toBe(230);
    // The same code again is refused.
    expect(await ftpLogin('otpftp', `${PASSWORD}${totpNow()}`)).toBe(530);
    expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'otpftp' && l.reason === 'totp_replayed')).toMatchObject({ protocol: 'FTP' });
    // alice has no TOTP: her password alone still works over FTP.
    expect(await ftpLogin('alice', PASSWORD)).toBe(230);
  });
});
