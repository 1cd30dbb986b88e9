// filters.ftp_security 1: a user who must use FTPS. On the plain binding (AUTH TLS optional) such a
// user is refused at USER, before any password, with SFTPGo's "421 TLS is required"; the refusal is
// logged and not scored by the defender. With AUTH TLS the login works, and clear data connections
// are refused. Other users keep using plain FTP.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearDataAfterTls, FtpControl } from '../../support/ftp-client.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { curl, lftp, PASSWORD, startFtpd, type Ftpd } from '../ftp/harness.ts';

let f: Ftpd;
let local: string;

beforeAll(async () => {
  local = tempDir('ftp-security-local-');
  // A pre-login hook that turns "hooked" into a user with ftp_security 1 only when it runs at PASS:
  // the requirement is enforced on the record the login ends up with, not only the one USER saw.
  const hook = join(local, 'pre-login.sh');
  writeFileSync(hook, `#!/bin/sh
case "$SFTPGO_LOGIND_USER" in
  *'"username":"hooked"'*) printf '{"username":"hooked","password":"${PASSWORD}","home_dir":"${join(local, 'hooked')}","permissions":{"/":["*"]},"filters":{"ftp_security":1}}' ;;
esac
exit 0
`);
  chmodSync(hook, 0o755);
  f = await startFtpd(
    [
      { username: 'secure', extra: '    filters:\n      ftp_security: 1\n' },
      { username: 'relaxed', extra: '    filters:\n      ftp_security: 0\n' },
    ],
    {
      common: [
        // One scored failure bans the address: a refusal the defender counted would lock out
        // the logins that follow it.
        '  defender: { enabled: true, threshold: 2, score_valid: 2, score_invalid: 2, ban_time: 10, observation_time: 5 }',
        'data_provider:',
        `  pre_login_hook: ${hook}`,
      ].join('\n'),
    },
  );
});

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

describe('filters.ftp_security 1', () => {
  test('USER on a clear control connection: 421 TLS is required before PASS, then the server hangs up', async () => {
    const c = await FtpControl.connect(f.ports.plain);
    try {
      const r = await c.send('USER secure');
      expect(r.code).toBe(421);
      expect(r.text).toContain('TLS is required');
      const after = await c.send(`PASS ${PASSWORD}`).catch(() => ({ code: 0 }));
      expect(after.code).toBe(0);
    } finally {
      c.close();
    }
    const line = await f.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'secure' && l.reason === 'tls_required');
    expect(line.protocol).toBe('FTP');
    // No password was tried: no check of it, and no login line.
    expect(f.server.logs.some((l) => l.event === 'login' && l.username === 'secure')).toBe(false);
  });

  test('lftp with ftp:ssl-allow no fails; lftp with AUTH TLS and protected data works', async () => {
    const plain = await lftp(f, 'secure', 'cls', { tls: 'plain' });
    expect(plain.status).not.toBe(0);
    const data = randomBytes(400_000);
    writeFileSync(join(local, 'up.bin'), data);
    const r = await lftp(f, 'secure', `put ${join(local, 'up.bin')} -o up.bin; get up.bin -o ${join(local, 'down.bin')}; cls`, { tls: 'explicit', debug: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('---> AUTH TLS');
    expect(r.stderr).toContain('---> PROT P');
    expect(readFileSync(join(f.homes.secure!, 'up.bin')).equals(data)).toBe(true);
    expect(readFileSync(join(local, 'down.bin')).equals(data)).toBe(true);
  });

  test('curl: refused without --ssl-reqd, works with it (the refusals above were not scored)', async () => {
    writeFileSync(join(f.homes.secure!, 'c.txt'), 'over tls');
    const url = `ftp://127.0.0.1:${f.ports.plain}/c.txt`;
    const clear = await curl(['-u', `secure:${PASSWORD}`, url]);
    expect(clear.status).not.toBe(0);
    expect(clear.stdout).toBe('');
    const tls = await curl(['--ssl-reqd', '-k', '-u', `secure:${PASSWORD}`, url]);
    expect(tls.stderr).toBe('');
    expect(tls.stdout).toBe('over tls');
    expect(f.server.logs.some((l) => l.event === 'connection_refused' && l.reason === 'banned')).toBe(false);
  });

  test('after AUTH TLS: PROT C is refused and a clear data connection gets 521', async () => {
    expect(await clearDataAfterTls(f.ports.plain, 'secure', PASSWORD)).toEqual({ auth: 234, login: 230, pbsz: 200, prot: 534, nlst: 521, noop: 200 });
  });

  test('a login hook user with the filter, unknown at USER, is refused at PASS on a clear connection', async () => {
    const c = await FtpControl.connect(f.ports.plain);
    try {
      expect((await c.send('USER hooked')).code).toBe(331);
      const r = await c.send(`PASS ${PASSWORD}`);
      expect(r.code).toBe(421);
      expect(r.text).toContain('TLS is required');
    } finally {
      c.close();
    }
    await f.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'hooked' && l.reason === 'tls_required');
    const tls = await lftp(f, 'hooked', 'cls', { tls: 'explicit' });
    expect(tls.status).toBe(0);
  });

  test('a user without the filter keeps plain FTP; an unknown name is not answered differently at USER', async () => {
    writeFileSync(join(f.homes.relaxed!, 'p.txt'), 'plain');
    const r = await curl(['-u', `relaxed:${PASSWORD}`, `ftp://127.0.0.1:${f.ports.plain}/p.txt`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('plain');
    const c = await FtpControl.connect(f.ports.plain);
    try {
      expect((await c.send('USER nobody-here')).code).toBe(331);
    } finally {
      c.close();
    }
  });
});
