// The defender end to end with real clients: failed logins from 127.0.0.2 ban it on every protocol
// and in the API while 127.0.0.1 keeps working; the ban survives a restart and is listed and removed
// through the API; safelisted addresses are never banned; blocklist files and settings follow a
// reload; a short ban runs out on its own; failed admin API logins score too.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../../src/lib/ssh2.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import {
  ADMIN_PASSWORD,
  api,
  apiToken,
  curlStatus,
  davStatus,
  eventually,
  ftpLogin,
  hexId,
  PASSWORD,
  sftpLogin,
  startStack,
  type Stack,
} from './harness.ts';

let s: Stack;
const BLOCKLIST = 'blocklist.json';
const LONG_BAN = ['enabled: true', 'ban_time: 10', 'threshold: 10', 'observation_time: 5', 'safelist: ["127.0.0.3"]', `blocklist_file: ${BLOCKLIST}`].join('\n');

beforeAll(async () => {
  // The blocklist file is named relative to the working directory (the test dir), as other config paths.
  s = await startStack(LONG_BAN, { [BLOCKLIST]: JSON.stringify({ addresses: ['127.0.0.6'], networks: [] }) });
});

afterAll(async () => {
  await s?.server.stop();
  removeTempDirs();
});

/** An ssh2 connection from `from`: 'ready' with the right password, else why it ended. */
function sshConnect(from: string, password = PASSWORD): Promise<'ready' | 'refused'> {
  return new Promise((resolve) => {
    const c = new Client();
    c.once('ready', () => (c.end(), resolve('ready')));
    c.once('error', () => resolve('refused'));
    c.once('close', () => resolve('refused'));
    c.connect({ host: '127.0.0.1', port: s.ports.sftp, username: 'alice', password, localAddress: from, readyTimeout: 10_000 } as never);
  });
}

function refusals(ip: string): Record<string, unknown>[] {
  return s.server.logs.filter((l) => l.event === 'connection_refused' && l.ip === ip);
}

describe('banning', () => {
  test('10 failed SFTP logins from 127.0.0.2 ban it on SFTP, FTP, WebDAV and the API; 127.0.0.1 keeps working', async () => {
    for (let i = 0; i < 9; i++) {
      const r = await sftpLogin(s, '127.0.0.2', 'alice', 'wrong-password');
      expect(r.status).not.toBe(0);
    }
    // Nine failures are below the threshold: still admitted, the right password still works.
    expect(await ftpLogin(s, '127.0.0.2', 'alice', PASSWORD)).toBe(230);
    const r = await sftpLogin(s, '127.0.0.2', 'alice', 'wrong-password');
    expect(r.status).not.toBe(0);
    await s.server.waitForLog((l) => l.event === 'defender_ban' && l.ip === '127.0.0.2');

    // Closed right after accept, before any greeting, on every protocol, even with the right password.
    expect(await sshConnect('127.0.0.2')).toBe('refused');
    const banned = await sftpLogin(s, '127.0.0.2', 'alice', PASSWORD);
    expect(banned.status).not.toBe(0);
    expect(banned.stdout).not.toContain('hello.txt');
    expect(await ftpLogin(s, '127.0.0.2', 'alice', PASSWORD)).toBe('closed');
    expect(await davStatus(s, '127.0.0.2', 'alice', PASSWORD)).toBe(0);
    expect(await curlStatus('127.0.0.2', `http://127.0.0.1:${s.ports.api}/healthz`)).toBe(403);
    expect(await curlStatus('127.0.0.2', `http://127.0.0.1:${s.ports.api}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`])).toBe(403);
    await eventually(async () => new Set(refusals('127.0.0.2').map((l) => l.protocol)).size === 4, 10_000, 'refusal lines');
    expect(new Set(refusals('127.0.0.2').map((l) => l.protocol))).toEqual(new Set(['SSH', 'FTP', 'DAV', 'HTTP']));
    expect(refusals('127.0.0.2').every((l) => l.reason === 'banned')).toBe(true);

    // 127.0.0.1 is untouched.
    expect(await sshConnect('127.0.0.1')).toBe('ready');
    const ok = await sftpLogin(s, '127.0.0.1', 'alice', PASSWORD);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('hello.txt');
    expect(await ftpLogin(s, '127.0.0.1', 'alice', PASSWORD)).toBe(230);
    expect(await davStatus(s, '127.0.0.1', 'alice', PASSWORD)).toBe(207);
    expect(await curlStatus('127.0.0.1', `http://127.0.0.1:${s.ports.api}/healthz`)).toBe(200);
  }, 120_000);

  test('a ban that starts during a keep-alive WebDAV connection closes it at the next request', async () => {
    const url = `http://127.0.0.1:${s.ports.dav}/`;
    const bans = async () => Number(/sftpgo_defender_bans_total (\d+)/.exec(await (await fetch(`http://127.0.0.1:${s.ports.telemetry}/metrics`)).text())?.[1] ?? 0);
    const before = await bans();
    const r = await run('curl', ['-s', '--max-time', '20', '--interface', '127.0.0.8', '-u', 'alice:wrong', '-w', '%{http_code} %{num_connects}\n', ...Array.from({ length: 12 }, () => ['-o', '/dev/null', url]).flat()], { timeout: 30_000 });
    const replies = r.stdout.trim().split('\n').map((l) => l.split(' '));
    expect(replies.length).toBe(12);
    // Ten refusals over one connection (only the first one connects), then nothing more is answered.
    expect(replies.slice(0, 10).map(([code]) => code)).toEqual(Array(10).fill('401'));
    expect(replies.slice(1, 10).every(([, connects]) => connects === '0')).toBe(true);
    expect(replies.slice(10).map(([code]) => code)).toEqual(['000', '000']);
    expect(refusals('127.0.0.8').map((l) => l.protocol)).toContain('DAV');
    expect(await bans()).toBe(before + 1);
  }, 60_000);

  test('the API lists the ban; it survives a restart; DELETE unbans it', async () => {
    let token = await apiToken(s);
    const list = await api(s, 'GET', '/api/v2/defender/hosts', token);
    expect(list.status).toBe(200);
    const host = list.json.find((h: { ip: string }) => h.ip === '127.0.0.2');
    expect(host).toBeDefined();
    expect(host.id).toBe(hexId('127.0.0.2'));
    // Ten minutes, plus the increments the refused attempts above earned.
    expect(Date.parse(host.ban_time)).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect((await api(s, 'GET', `/api/v2/defender/hosts/${hexId('127.0.0.2')}`, token)).json.ip).toBe('127.0.0.2');
    expect((await api(s, 'GET', `/api/v2/defender/hosts/${hexId('127.0.0.9')}`, token)).status).toBe(404);

    await s.restart();
    expect(await ftpLogin(s, '127.0.0.2', 'alice', PASSWORD)).toBe('closed');
    token = await apiToken(s);
    const after = await api(s, 'GET', `/api/v2/defender/hosts/${hexId('127.0.0.2')}`, token);
    expect(after.status).toBe(200);
    expect(after.json.ban_time).toBeDefined();

    // viewer lacks view_defender and manage_defender.
    const viewer = await fetch(`http://127.0.0.1:${s.ports.api}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`viewer:${ADMIN_PASSWORD}`).toString('base64')}` } });
    const vt = ((await viewer.json()) as { access_token: string }).access_token;
    expect((await api(s, 'GET', '/api/v2/defender/hosts', vt)).status).toBe(403);
    expect((await api(s, 'DELETE', `/api/v2/defender/hosts/${hexId('127.0.0.2')}`, vt)).status).toBe(403);

    expect((await api(s, 'DELETE', `/api/v2/defender/hosts/${hexId('127.0.0.2')}`, token)).status).toBe(200);
    expect((await api(s, 'DELETE', `/api/v2/defender/hosts/${hexId('127.0.0.2')}`, token)).status).toBe(404);
    expect(await ftpLogin(s, '127.0.0.2', 'alice', PASSWORD)).toBe(230);
    expect(await sshConnect('127.0.0.2')).toBe('ready');

    // The unban is kept too: after another restart 127.0.0.2 is still welcome.
    await s.restart();
    expect(await davStatus(s, '127.0.0.2', 'alice', PASSWORD)).toBe(207);
  }, 120_000);

  test('the OpenAPI document describes the defender endpoints', async () => {
    const doc = (await (await fetch(`http://127.0.0.1:${s.ports.api}/api/v2/openapi.json`)).json()) as any;
    expect(doc.paths['/api/v2/defender/hosts'].get['x-sftpgo-permission']).toBe('view_defender');
    expect(doc.paths['/api/v2/defender/hosts/{id}'].delete['x-sftpgo-permission']).toBe('manage_defender');
    expect(doc.components.schemas.DefenderHost.properties.ban_time.format).toBe('date-time');
  });
});

describe('lists', () => {
  test('a safelisted address is never banned, whatever it does', async () => {
    for (let i = 0; i < 12; i++) expect(await davStatus(s, '127.0.0.3', 'nobody', 'wrong')).toBe(401);
    expect(await davStatus(s, '127.0.0.3', 'alice', PASSWORD)).toBe(207);
    const token = await apiToken(s);
    expect((await api(s, 'GET', `/api/v2/defender/hosts/${hexId('127.0.0.3')}`, token)).status).toBe(404);
    expect(s.server.logs.some((l) => l.event === 'defender_ban' && l.ip === '127.0.0.3')).toBe(false);
  }, 60_000);

  test('the blocklist file refuses its addresses, and a reload reads it again', async () => {
    expect(await ftpLogin(s, '127.0.0.6', 'alice', PASSWORD)).toBe('closed');
    expect(await ftpLogin(s, '127.0.0.7', 'alice', PASSWORD)).toBe(230);
    writeFileSync(join(s.dir, BLOCKLIST), JSON.stringify({ addresses: ['127.0.0.6'], networks: ['127.0.0.7/32'] }));
    const seen = s.server.logs.length;
    s.server.proc.kill('SIGHUP');
    await s.server.waitForLog((l) => l.event === 'reload_applied' && s.server.logs.indexOf(l) >= seen);
    expect(await ftpLogin(s, '127.0.0.7', 'alice', PASSWORD)).toBe('closed');
    expect(refusals('127.0.0.7').map((l) => l.reason)).toContain('blocklisted');
  }, 60_000);
});

describe('expiry, reload and the API', () => {
  test('settings follow a reload; a short ban runs out by itself', async () => {
    s.writeConfig(['enabled: true', 'ban_time: 0.05', 'ban_time_increment: 0', 'threshold: 4', 'observation_time: 1'].join('\n'));
    const seen = s.server.logs.length;
    s.server.proc.kill('SIGHUP');
    await s.server.waitForLog((l) => l.event === 'reload_applied' && s.server.logs.indexOf(l) >= seen);
    // Threshold 4 now: two unknown users (2 points each) over FTP ban 127.0.0.4.
    expect(await ftpLogin(s, '127.0.0.4', 'ghost', 'x')).toBe(530);
    expect(await ftpLogin(s, '127.0.0.4', 'ghost', 'x')).toBe(530);
    expect(await ftpLogin(s, '127.0.0.4', 'alice', PASSWORD)).toBe('closed');
    const bannedAt = Date.now();
    // 0.05 minutes is 3 seconds: poll until the door opens again.
    await eventually(async () => (await ftpLogin(s, '127.0.0.4', 'alice', PASSWORD)) === 230, 20_000, 'the ban to expire');
    expect(Date.now() - bannedAt).toBeGreaterThan(1_500);
    const token = await apiToken(s);
    expect((await api(s, 'GET', `/api/v2/defender/hosts/${hexId('127.0.0.4')}`, token)).status).toBe(404);
  }, 60_000);

  test('failed admin API logins score: repeated bad tokens from 127.0.0.5 get it banned', async () => {
    const base = `http://127.0.0.1:${s.ports.api}`;
    expect(await curlStatus('127.0.0.5', `${base}/api/v2/token`, ['-u', 'root:wrong'])).toBe(401);
    expect(await curlStatus('127.0.0.5', `${base}/api/v2/token`, ['-u', 'root:wrong'])).toBe(401);
    expect(await curlStatus('127.0.0.5', `${base}/api/v2/token`, ['-u', 'root:wrong'])).toBe(401);
    expect(await curlStatus('127.0.0.5', `${base}/api/v2/token`, ['-u', 'root:wrong'])).toBe(401);
    expect(await curlStatus('127.0.0.5', `${base}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`])).toBe(403);
    expect(await curlStatus('127.0.0.1', `${base}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`])).toBe(200);
  }, 60_000);

  test('failed user API logins score too: repeated bad passwords from 127.0.0.7 get it banned', async () => {
    const url = `http://127.0.0.1:${s.ports.api}/api/v2/user/token`;
    // User logins over HTTP are login attempts in the metrics, as SFTPGo counts them.
    const failedLogins = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${s.ports.telemetry}/metrics`)).text();
      return Number(/^sftpgo_login_ko_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    };
    const before = await failedLogins();
    for (let i = 0; i < 4; i++) expect(await curlStatus('127.0.0.7', url, ['-u', 'alice:wrong'])).toBe(401);
    expect(await failedLogins()).toBe(before + 4);
    expect(await curlStatus('127.0.0.7', url, ['-u', `alice:${PASSWORD}`])).toBe(403);
    expect(await curlStatus('127.0.0.1', url, ['-u', `alice:${PASSWORD}`])).toBe(200);
  }, 60_000);

  test('disabled by a reload: nobody is refused any more', async () => {
    s.writeConfig('enabled: false');
    const seen = s.server.logs.length;
    s.server.proc.kill('SIGHUP');
    await s.server.waitForLog((l) => l.event === 'reload_applied' && s.server.logs.indexOf(l) >= seen);
    expect(await curlStatus('127.0.0.5', `http://127.0.0.1:${s.ports.api}/healthz`)).toBe(200);
  }, 30_000);
});
