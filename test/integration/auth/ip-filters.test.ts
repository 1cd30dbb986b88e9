// Per-user allowed_ip / denied_ip: applied once in the login pipeline, so SFTP, FTP and WebDAV
// refuse the same addresses with the same `login_failed` reason. Clients pick their source address
// on the loopback network (127.0.0.2 is as local as 127.0.0.1 on Linux).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeProtocolPorts, protocolsYaml, type ProtocolPorts } from '../../support/protocols.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'ip-Secret-1';
const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null',
  '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'];

let server: RunningServer;
let dir: string;
let homes: Record<string, string>;
let ports: ProtocolPorts;

beforeAll(async () => {
  dir = tempDir('ipf-');
  ports = await freeProtocolPorts({ passive: true });
  const users = usersYaml(dir, [
    // Only from 127.0.0.2.
    { username: 'only2', extra: '    filters:\n      allowed_ip: ["127.0.0.2/32"]\n' },
    // Anything but 127.0.0.2, even though the allow list covers it.
    { username: 'not2', extra: '    filters:\n      allowed_ip: ["127.0.0.0/8"]\n      denied_ip: ["127.0.0.2"]\n' },
  ], PASSWORD);
  homes = users.homes;
  const yaml = [
    protocolsYaml(ports),
    'users:',
    users.yaml,
    '',
  ].join('\n');
  server = await startServer({ yaml, cwd: dir });
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

function sftpPut(user: string, from: string, name: string): Promise<{ status: number | null }> {
  const src = join(dir, `${name}.src`);
  writeFileSync(src, name);
  const batch = join(dir, `${name}.batch`);
  writeFileSync(batch, `put ${src} ${name}\n`);
  return run('sshpass', ['-p', PASSWORD, 'sftp', ...SSH_OPTS, '-o', `BindAddress=${from}`, '-P', String(ports.sftp), '-b', batch, `${user}@127.0.0.1`]);
}

function ftpPut(user: string, from: string, name: string): Promise<{ status: number | null }> {
  const src = join(dir, `${name}.src`);
  writeFileSync(src, name);
  return run('curl', ['-sS', '--max-time', '20', '--interface', from, '-T', src, '-u', `${user}:${PASSWORD}`, `ftp://127.0.0.1:${ports.ftp}/${name}`]);
}

async function davPut(user: string, from: string, name: string): Promise<string> {
  const src = join(dir, `${name}.src`);
  writeFileSync(src, name);
  const r = await run('curl', ['-sS', '--max-time', '20', '--interface', from, '-o', '/dev/null', '-w', '%{http_code}', '-T', src, '-u', `${user}:${PASSWORD}`,
    `http://127.0.0.1:${ports.dav}/${name}`]);
  return r.stdout.trim();
}

function ipDenied(user: string, protocol: string, ip: string): boolean {
  return server.logs.some((l) => l.event === 'login_failed' && l.username === user && l.protocol === protocol && l.ip === ip && l.reason === 'ip_denied');
}

describe('allowed_ip', () => {
  test('a user limited to 127.0.0.2 logs in from there and is refused from 127.0.0.1 on SFTP, FTP and WebDAV', async () => {
    expect((await sftpPut('only2', '127.0.0.2', 'sftp-ok.txt')).status).toBe(0);
    expect((await sftpPut('only2', '127.0.0.1', 'sftp-no.txt')).status).not.toBe(0);
    expect((await ftpPut('only2', '127.0.0.2', 'ftp-ok.txt')).status).toBe(0);
    expect((await ftpPut('only2', '127.0.0.1', 'ftp-no.txt')).status).not.toBe(0);
    expect(await davPut('only2', '127.0.0.2', 'dav-ok.txt')).toBe('201');
    expect(await davPut('only2', '127.0.0.1', 'dav-no.txt')).toBe('401');

    for (const ok of ['sftp-ok.txt', 'ftp-ok.txt', 'dav-ok.txt']) expect(existsSync(join(homes.only2!, ok))).toBe(true);
    for (const no of ['sftp-no.txt', 'ftp-no.txt', 'dav-no.txt']) expect(existsSync(join(homes.only2!, no))).toBe(false);
    for (const p of ['SSH', 'FTP', 'DAV']) expect(ipDenied('only2', p, '127.0.0.1')).toBe(true);
    expect(server.logs.some((l) => l.event === 'login_failed' && l.username === 'only2' && l.ip === '127.0.0.2')).toBe(false);
  }, 60_000);
});

describe('denied_ip', () => {
  test('denied_ip wins over a covering allowed_ip', async () => {
    expect((await sftpPut('not2', '127.0.0.1', 'a.txt')).status).toBe(0);
    expect((await sftpPut('not2', '127.0.0.2', 'b.txt')).status).not.toBe(0);
    expect((await ftpPut('not2', '127.0.0.2', 'c.txt')).status).not.toBe(0);
    expect(await davPut('not2', '127.0.0.2', 'd.txt')).toBe('401');
    expect(existsSync(join(homes.not2!, 'a.txt'))).toBe(true);
    for (const no of ['b.txt', 'c.txt', 'd.txt']) expect(existsSync(join(homes.not2!, no))).toBe(false);
    for (const p of ['SSH', 'FTP', 'DAV']) expect(ipDenied('not2', p, '127.0.0.2')).toBe(true);
  }, 60_000);
});
