// The shipped fail2ban filter against a log file the real server wrote: Debian's fail2ban-regex must
// match every failed login and refused connection (SFTP, FTP, WebDAV, API) and nothing else, with
// the client address as the host and every line's timestamp understood.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run } from '../../support/run.ts';
import { ROOT } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { ADMIN_PASSWORD, curlStatus, davStatus, ftpLogin, PASSWORD, sftpLogin, startStack, type Stack } from './harness.ts';

const FILTER = join(ROOT, 'packaging/fail2ban/filter.d/sftpgo.conf');
const F2B = ['/usr/bin/fail2ban-regex', '/usr/local/bin/fail2ban-regex'].find(existsSync);
const F2B_CLIENT = F2B?.replace(/-regex$/, '-client');

let s: Stack;

beforeAll(async () => {
  // The defender is on (with a high threshold) so a blocklisted address yields a connection_refused line.
  s = await startStack(['enabled: true', 'threshold: 1000', 'blocklist: ["127.0.0.9"]'].join('\n'));
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

/** Sends `text` from `from` and resolves with what the server answered before closing. */
function rawRequest(from: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const c = connect({ host: '127.0.0.1', port, localAddress: from }, () => c.write(text));
    c.setEncoding('utf8');
    c.on('data', (d: string) => (got += d));
    c.on('close', () => resolve(got));
    c.on('error', reject);
    c.setTimeout(10_000, () => c.destroy());
  });
}

describe('fail2ban filter', () => {
  test.skipIf(!F2B)('fail2ban-regex matches exactly the failures, with the client address', async () => {
    const api = `http://127.0.0.1:${s.ports.api}`;
    // Normal traffic: successful logins and requests on every protocol.
    const ok = await sftpLogin(s, '127.0.0.1', 'alice', PASSWORD);
    expect(ok.stdout).toContain('hello.txt');
    expect(await ftpLogin(s, '127.0.0.1', 'alice', PASSWORD)).toBe(230);
    expect(await davStatus(s, '127.0.0.1', 'alice', PASSWORD)).toBe(207);
    expect(await curlStatus('127.0.0.1', `http://127.0.0.1:${s.ports.dav}/hello.txt`, ['-u', `alice:${PASSWORD}`])).toBe(200);
    expect(await curlStatus('127.0.0.1', `${api}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`])).toBe(200);
    expect(await curlStatus('127.0.0.1', `${api}/healthz`)).toBe(200);

    // The failures, each from its own address so the hosts can be checked too.
    expect((await sftpLogin(s, '127.0.0.11', 'alice', 'wrong')).status).not.toBe(0);
    expect((await sftpLogin(s, '127.0.0.12', 'nobody', 'wrong')).status).not.toBe(0);
    expect(await ftpLogin(s, '127.0.0.13', 'alice', 'wrong')).toBe(530);
    expect(await davStatus(s, '127.0.0.14', 'alice', 'wrong')).toBe(401);
    expect(await curlStatus('127.0.0.15', `${api}/api/v2/token`, ['-u', 'root:wrong'])).toBe(401);
    expect(await ftpLogin(s, '127.0.0.9', 'alice', PASSWORD)).toBe('closed');
    // A username crafted to look like another address must not move the ban onto 6.6.6.6.
    expect(await ftpLogin(s, '127.0.0.16', 'x","ip":"6.6.6.6', 'wrong')).toBe(530);
    const failures = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15', '127.0.0.9', '127.0.0.16'];
    // Protocol errors, which only the aggressive mode counts: an SSH client offering only a cipher
    // the server does not have, and a request that is not HTTP.
    const sshBad = await run('ssh', ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'Ciphers=aes128-cbc', '-o', 'BindAddress=127.0.0.21', '-p', String(s.ports.sftp), 'alice@127.0.0.1', 'true'], { timeout: 30_000 });
    expect(sshBad.status).not.toBe(0);
    expect(await rawRequest('127.0.0.22', s.ports.dav, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    const protocolErrors = ['127.0.0.21', '127.0.0.22'];
    // More normal traffic after the failures.
    expect((await sftpLogin(s, '127.0.0.1', 'alice', PASSWORD)).status).toBe(0);

    await s.server.stop();
    const lines = readFileSync(s.logFile, 'utf8').split('\n').filter(Boolean);
    const failureLines = lines.filter((l) => /"event":"(login_failed|connection_refused)"/.test(l));
    expect(failureLines.map((l) => JSON.parse(l).ip).sort()).toEqual([...failures].sort());
    expect(lines.length).toBeGreaterThan(failureLines.length + 5);

    const r = await run(F2B!, ['--print-all-matched', s.logFile, FILTER], { timeout: 60_000 });
    expect(r.status).toBe(0);
    const summary = /Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/.exec(r.stdout);
    expect(summary).not.toBeNull();
    const [, total, ignored, matched, missed] = summary!.map(Number) as number[];
    expect(total).toBe(lines.length);
    expect(ignored).toBe(0);
    expect(matched).toBe(failures.length);
    expect(missed).toBe(lines.length - failures.length);
    // Every line's timestamp was recognised by the filter's datepattern.
    const dateHits = /\|\s+\[(\d+)\] \^\\\{"time"/.exec(r.stdout);
    expect(dateHits?.[1]).toBe(String(lines.length));
    // The matched lines are exactly the failure lines.
    const section = r.stdout.slice(r.stdout.indexOf('|- Matched line(s):'));
    const printed = section.slice(0, section.indexOf('`-')).split('\n').slice(1).map((l) => l.replace(/^\|  /, '')).filter(Boolean);
    expect(printed.sort()).toEqual([...failureLines].sort());
    // And the host fail2ban would ban for each is the client address.
    const hosts = await run(F2B!, ['-o', 'ip', s.logFile, FILTER], { timeout: 60_000 });
    expect(hosts.stdout.split('\n').filter(Boolean).sort()).toEqual([...failures].sort());

    // The aggressive mode adds the protocol errors, and only them.
    expect(lines.filter((l) => l.includes('"event":"protocol_error"')).map((l) => JSON.parse(l).ip).sort()).toEqual(protocolErrors);
    const aggressive = await run(F2B!, ['-o', 'ip', s.logFile, `${FILTER}[mode=aggressive]`], { timeout: 60_000 });
    expect(aggressive.stdout.split('\n').filter(Boolean).sort()).toEqual([...failures, ...protocolErrors].sort());
  }, 120_000);

  test.skipIf(!F2B_CLIENT || !existsSync('/etc/fail2ban/jail.conf'))('both jails load in a stock fail2ban config', async () => {
    for (const [jail, backend] of [['sftpgo.conf', 'auto'], ['sftpgo-systemd.conf', 'systemd']] as const) {
      // A copy of the system's fail2ban config with only our filter and one of our jails added.
      const conf = join(tempDir('f2b-conf-'), 'fail2ban');
      cpSync('/etc/fail2ban', conf, { recursive: true });
      for (const f of readdirSync(join(conf, 'jail.d'))) rmSync(join(conf, 'jail.d', f));
      copyFileSync(FILTER, join(conf, 'filter.d/sftpgo.conf'));
      const logFile = join(conf, 'sftpgo.log');
      writeFileSync(logFile, '');
      writeFileSync(join(conf, 'jail.d', jail), readFileSync(join(ROOT, 'packaging/fail2ban/jail.d', jail), 'utf8').replace('/var/log/sftpgo/sftpgo.log', logFile));
      const t = await run(F2B_CLIENT!, ['-c', conf, '--test'], { timeout: 60_000 });
      expect(t.stdout + t.stderr).toContain('configuration test is successful');
      const dump = await run(F2B_CLIENT!, ['-c', conf, '-d'], { timeout: 60_000 });
      expect(dump.stdout).toContain(`['add', 'sftpgo', '${backend}']`);
      expect(dump.stdout).toContain('login_failed|connection_refused');
      if (backend === 'systemd') expect(dump.stdout).toContain("'addjournalmatch', '_SYSTEMD_UNIT=sftpgo.service'");
      else expect(dump.stdout).toContain(logFile);
    }
  }, 60_000);
});
