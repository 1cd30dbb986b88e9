// sftpd settings proven with OpenSSH: banner (the identification string), login_banner_file,
// host_keys, the algorithm lists (kex_algorithms, ciphers, macs, host_key_algorithms),
// enabled_ssh_commands and password_authentication; and common.setstat_mode with sftp's chmod.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run } from '../../support/run.ts';
import { tempDir } from '../../support/tmp.ts';
import { PASSWORD, sftpBatch, ssh, startSftpd, type Sftpd } from './harness.ts';

let s: Sftpd;
let hostKey: string;

beforeAll(async () => {
  const keys = tempDir('sftp-hostkey-');
  hostKey = join(keys, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const bannerFile = join(keys, 'login-banner.txt');
  writeFileSync(bannerFile, 'Authorised users only\n');
  s = await startSftpd(
    [{ username: 'alice' }],
    [
      '  banner: SettingsSSH_1.0',
      `  login_banner_file: ${bannerFile}`,
      `  host_keys: [${hostKey}]`,
      '  kex_algorithms: [curve25519-sha256]',
      '  ciphers: [aes256-ctr]',
      '  macs: [hmac-sha2-512]',
      '  host_key_algorithms: [ssh-ed25519]',
      '  enabled_ssh_commands: [sha256sum]',
      '  password_authentication: false',
      'common:',
      '  setstat_mode: 1',
    ].join('\n'),
  );
  writeFileSync(join(s.users.alice!.home, 'file.txt'), 'hello');
});

afterAll(async () => {
  await s?.server.stop();
});

const BASE = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];

/** An ssh run with the user's key and extra options; -v output is on stderr. */
function sshWith(opts: string[], command = 'sha256sum file.txt') {
  return run('ssh', [...BASE, '-v', '-i', s.users.alice!.keyPath, ...opts, '-p', String(s.port), 'alice@127.0.0.1', command], { timeout: 20_000 });
}

describe('sftpd settings', () => {
  test('banner is the identification string after SSH-2.0-', async () => {
    const line = await new Promise<string>((ok, fail) => {
      const sock = connect(s.port, '127.0.0.1');
      sock.once('data', (d: Buffer) => (ok(d.toString().split('\r\n')[0]!), sock.destroy()));
      sock.once('error', fail);
    });
    expect(line).toBe('SSH-2.0-SettingsSSH_1.0');
  });

  test('login_banner_file is shown before authentication', async () => {
    const r = await sshWith([]);
    expect(r.stderr).toContain('Authorised users only');
  });

  test('host_keys: the server proves the configured key', async () => {
    const r = await sshWith([]);
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
    expect(r.stderr).toContain(`Server host key: ssh-ed25519 ${fp}`);
  });

  test('kex_algorithms, ciphers, macs and host_key_algorithms: only the listed ones are negotiated', async () => {
    const ok = await sshWith([]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain('kex: algorithm: curve25519-sha256');
    expect(ok.stderr).toMatch(/kex: server->client cipher: aes256-ctr MAC: hmac-sha2-512 /);
    for (const opt of ['KexAlgorithms=ecdh-sha2-nistp256', 'Ciphers=aes128-ctr', 'MACs=hmac-sha2-256', 'HostKeyAlgorithms=rsa-sha2-512,ecdsa-sha2-nistp256']) {
      const r = await sshWith(['-o', opt]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/no matching/);
    }
  });

  test('enabled_ssh_commands: sha256sum runs, md5sum (not listed) is refused', async () => {
    const ok = await ssh(s, 'alice', ['sha256sum file.txt']);
    expect(ok.stdout).toContain('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    const refused = await ssh(s, 'alice', ['md5sum file.txt']);
    expect(refused.status).not.toBe(0);
    expect(refused.stdout).not.toContain('5d41402abc4b2a76b9719d911017c592');
  });

  test('password_authentication: false — the password method is not offered, the key still works', async () => {
    const noKey = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no'];
    const only = ['-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1', '-v'];
    const r = await run('sshpass', ['-p', PASSWORD, 'ssh', ...noKey, ...only, '-p', String(s.port), 'alice@127.0.0.1', 'sha256sum file.txt'], { timeout: 20_000 });
    expect(r.stderr).toMatch(/Authentications that can continue: [^\n]*publickey/);
    expect(r.stderr).not.toMatch(/Authentications that can continue: [^\n]*password/);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('2cf24dba');
    expect((await sshWith([])).status).toBe(0);
  });

  test('setstat_mode 1: chmod reports success and changes nothing', async () => {
    const path = join(s.users.alice!.home, 'file.txt');
    const before = statSync(path).mode & 0o777;
    const r = await sftpBatch(s, 'alice', ['chmod 600 file.txt'], { auth: 'key' });
    expect(r.status).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(before);
    expect(before).not.toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('hello');
  });
});
