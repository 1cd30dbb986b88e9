// Permissions (exact 550s, nothing changed on disk), confinement to the user's tree, login
// refusals with their fail2ban log lines, active mode switched off and the passive address rules.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { passiveAddress } from '../../../src/protocols/ftp/passive.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { curl, lftp, PASSWORD, startFtpd, type Ftpd } from './harness.ts';

let f: Ftpd;

beforeAll(async () => {
  f = await startFtpd(
    [
      { username: 'alice' },
      { username: 'bob', permissions: { '/': ['list', 'download'] } },
      { username: 'carol', extra: '    filters:\n      denied_protocols: [FTP]\n' },
    ],
    { ftpdExtra: '  disable_active_mode: true', bindingExtra: ', force_passive_ip: 10.9.8.7' },
  );
  const bob = f.homes.bob!;
  writeFileSync(join(bob, 'file.txt'), 'original');
  mkdirSync(join(bob, 'dir'));
  const alice = f.homes.alice!;
  writeFileSync(join(alice, 'inside.txt'), 'in');
  symlinkSync('/etc/passwd', join(alice, 'pw'));
  symlinkSync('/', join(alice, 'root-link'));
});

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

async function login(user: string): Promise<FtpControl> {
  const c = await FtpControl.connect(f.ports.plain);
  expect((await c.login(user, PASSWORD)).code).toBe(230);
  return c;
}

function snapshot(dir: string): string {
  return readdirSync(dir, { recursive: true }).map(String).sort().join('\n') + readFileSync(join(dir, 'file.txt'), 'utf8');
}

describe('permissions', () => {
  test('a list+download user: every write is 550 and nothing changes on disk', async () => {
    const before = snapshot(f.homes.bob!);
    const c = await login('bob');
    try {
      expect((await c.transfer('STOR new.txt', Buffer.from('x'))).first.code).toBe(550);
      expect((await c.transfer('STOR file.txt', Buffer.from('x'))).first.code).toBe(550);
      expect((await c.transfer('APPE file.txt', Buffer.from('x'))).first.code).toBe(550);
      expect((await c.send('DELE file.txt')).code).toBe(550);
      expect((await c.send('MKD newdir')).code).toBe(550);
      expect((await c.send('RMD dir')).code).toBe(550);
      expect((await c.send('RNFR file.txt')).code).toBe(350);
      expect((await c.send('RNTO moved.txt')).code).toBe(550);
      expect((await c.send('SITE CHMOD 777 file.txt')).code).toBe(550);
      expect((await c.send('MFMT 20200101000000 file.txt')).code).toBe(550);
      const got = await c.transfer('RETR file.txt');
      expect(got.last?.code).toBe(226);
      expect(got.data.toString()).toBe('original');
    } finally {
      c.close();
    }
    const r = await lftp(f, 'bob', 'put /etc/hostname -o up.txt');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('550');
    expect(snapshot(f.homes.bob!)).toBe(before);
  });
});

describe('confinement', () => {
  test('../ and absolute paths stay inside the home; links out of it are refused', async () => {
    const c = await login('alice');
    try {
      expect((await c.send('CWD ../../..')).code).toBe(250);
      expect((await c.send('PWD')).text).toContain('"/"');
      expect((await c.transfer('RETR ../../etc/passwd')).first.code).toBe(550);
      expect((await c.transfer('RETR /etc/passwd')).first.code).toBe(550);
      expect((await c.transfer('RETR pw')).first.code).toBe(550);
      expect((await c.send('CWD /etc')).code).toBe(550);
      expect((await c.send('SIZE ../../../etc/passwd')).code).toBe(550);
      const l = await c.transfer('NLST ../..');
      expect(l.data.toString().split('\r\n').filter(Boolean).sort()).toEqual(['inside.txt', 'pw', 'root-link']);
      expect((await c.transfer('NLST root-link')).first.code).toBe(550);
    } finally {
      c.close();
    }
    const r = await curl(['-u', `alice:${PASSWORD}`, `ftp://127.0.0.1:${f.ports.plain}/%2Fetc%2Fpasswd`]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('root:');
  });
});

describe('login refusals', () => {
  test('a user with FTP in denied_protocols is refused and logged', async () => {
    const c = await FtpControl.connect(f.ports.plain);
    try {
      expect((await c.login('carol', PASSWORD)).code).toBe(530);
      expect((await c.send('LIST')).code).toBe(530);
    } finally {
      c.close();
    }
    const line = await f.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'carol');
    expect(line).toMatchObject({ protocol: 'FTP', method: 'password', reason: 'protocol_denied', ip: '127.0.0.1' });
  });

  test('a wrong password is 530; the third failure closes the connection', async () => {
    const c = await FtpControl.connect(f.ports.plain);
    try {
      expect((await c.login('alice', 'nope')).code).toBe(530);
      expect((await c.login('nobody', 'nope')).code).toBe(530);
      expect((await c.login('alice', 'nope')).code).toBe(421);
      await c.read().catch(() => undefined);
      expect(c.closed).toBe(true);
    } finally {
      c.close();
    }
    await f.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'nobody' && l.reason === 'user_not_found');
    await f.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'alice' && l.reason === 'invalid_credentials');
  });
});

describe('data connection rules', () => {
  test('active mode disabled: PORT and EPRT are 502 (lftp too)', async () => {
    const c = await login('alice');
    try {
      expect((await c.send('PORT 127,0,0,1,200,10')).code).toBe(502);
      expect((await c.send('EPRT |1|127.0.0.1|51210|')).code).toBe(502);
      expect((await c.send('NOOP')).code).toBe(200);
    } finally {
      c.close();
    }
    // lftp falls back to passive mode once active mode is refused.
    const r = await lftp(f, 'alice', 'set ftp:passive-mode off; cls', { debug: true });
    expect(r.stderr).toMatch(/---> (PORT|EPRT) .*\n<--- 502 /);
  });

  test('PASV announces force_passive_ip; EPSV still works', async () => {
    const c = await login('alice');
    try {
      const pasv = await c.send('PASV');
      expect(pasv.code).toBe(227);
      expect(pasv.text).toMatch(/\(10,9,8,7,\d+,\d+\)/);
      expect((await c.transfer('NLST')).last?.code).toBe(226);
    } finally {
      c.close();
    }
  });

  test('passive_ip_overrides pick the address by client network', () => {
    const binding = { port: 21, force_passive_ip: '203.0.113.9', passive_ip_overrides: [{ networks: ['10.0.0.0/8', '192.168.1.7'], ip: '10.0.0.1' }, { networks: ['fd00::/8'], ip: '10.0.0.2' }] };
    expect(passiveAddress(binding, '10.20.30.40', '127.0.0.1')).toBe('10.0.0.1');
    expect(passiveAddress(binding, '192.168.1.7', '127.0.0.1')).toBe('10.0.0.1');
    expect(passiveAddress(binding, 'fd12::1', '127.0.0.1')).toBe('10.0.0.2');
    expect(passiveAddress(binding, '8.8.8.8', '127.0.0.1')).toBe('203.0.113.9');
    expect(passiveAddress({ port: 21 }, '8.8.8.8', '127.0.0.1')).toBe('127.0.0.1');
  });
});
