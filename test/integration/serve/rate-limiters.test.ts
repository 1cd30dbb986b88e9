// common.rate_limiters on a real server in this process: per-source token buckets of 10 per second
// (burst 10), one for SSH and FTP connections with generate_defender_events, one for WebDAV and
// REST API requests without. Real clients bound to different loopback addresses (the ssh2 client,
// curl running its transfers in parallel) prove that the 11th login or request from one address is
// refused with the protocol's answer while another address goes on, that the rate limiters' safe
// list (IP lists type 3) is exempt, and that with defender events a flood gets the address banned.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../../src/lib/ssh2.ts';
import type { Server } from '../../../src/serve/serve.ts';
import { run } from '../../support/run.ts';
import { startDoorServer, type DoorPorts } from '../../support/door-server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'Rate-Secret-1';
let server: Server;
let ports: DoorPorts;
let lines: Record<string, unknown>[];

beforeAll(async () => {
  const door = await startDoorServer({
    prefix: 'ratelimit-',
    username: 'erin',
    password: PASSWORD,
    common: `  rate_limiters:
    - { average: 10, period: 1000, burst: 10, type: 2, protocols: [SSH, FTP], generate_defender_events: true }
    - { average: 10, period: 1000, burst: 10, protocols: [DAV, HTTP] }
  defender:
    enabled: true
    threshold: 6
    score_limit_exceeded: 3
`,
    extra: `ip_lists:
  - { ipornet: 127.0.0.8/32, type: 3, description: monitoring }
`,
  });
  ({ server, ports, lines } = door);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** An SSH login by password from `from`: whether it got a session. */
function sshLogin(from: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new Client();
    c.on('ready', () => {
      c.end();
      resolve(true);
    });
    c.on('error', () => resolve(false));
    c.on('close', () => resolve(false));
    c.connect({ host: '127.0.0.1', port: ports.sftp, localAddress: from, username: 'erin', password: PASSWORD, readyTimeout: 20_000 });
  });
}

/**
 * One curl process from `from` running `count` transfers of `url` at once, each on its own
 * connection: the status code of each (HTTP status, or the FTP server's last reply) and the headers.
 */
async function parallel(from: string, url: string, count: number, extra: string[] = [], bodies?: string): Promise<{ codes: number[]; headers: string }> {
  const args = ['-s', '-Z', '--parallel-immediate', '--parallel-max', String(count), '--max-time', '20', '--interface', from, '-D', '-', '-w', 'code=%{response_code}\\n', ...extra];
  for (let i = 0; i < count; i++) args.push('-o', bodies ? join(bodies, String(i)) : '/dev/null', url);
  const r = await run('curl', args);
  const codes = [...r.stdout.matchAll(/code=(\d+)/g)].map((m) => Number(m[1]));
  return { codes, headers: r.stdout };
}

const count = (codes: number[], code: number) => codes.filter((c) => c === code).length;
const rateRefusals = (ip: string, protocol: string) => lines.filter((l) => l.event === 'connection_refused' && l.reason === 'rate_limit_exceeded' && l.ip === ip && l.protocol === protocol).length;

describe('10 per second per source', () => {
  test('SSH: the 11th login at once from one address is refused before authentication; another address logs in', async () => {
    const results = await Promise.all(Array.from({ length: 11 }, () => sshLogin('127.0.0.2')));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(rateRefusals('127.0.0.2', 'SSH')).toBe(1);
    expect(lines.some((l) => l.event === 'login_failed' && l.ip === '127.0.0.2')).toBe(false);
    expect(await sshLogin('127.0.0.3')).toBe(true);
    // generate_defender_events: scored, not banned yet.
    expect(server.context.defender.host('127.0.0.2')).toMatchObject({ score: 3 });
  });

  test('FTP: the 11th login at once is answered 421; a second flood gets the address banned', async () => {
    const first = await parallel('127.0.0.4', `ftp://127.0.0.1:${ports.ftp}/hello.txt`, 11, ['-u', `erin:${PASSWORD}`]);
    expect(first.codes).toHaveLength(11);
    expect(count(first.codes, 421)).toBe(1);
    expect(rateRefusals('127.0.0.4', 'FTP')).toBe(1);
    // Another address is not limited by 127.0.0.4's bucket.
    const other = await parallel('127.0.0.5', `ftp://127.0.0.1:${ports.ftp}/hello.txt`, 1, ['-u', `erin:${PASSWORD}`]);
    expect(other.codes).toEqual([226]);
    // A second flood: its first refusal reaches the threshold (3 + 3 = 6).
    const second = await parallel('127.0.0.4', `ftp://127.0.0.1:${ports.ftp}/hello.txt`, 25, ['-u', `erin:${PASSWORD}`]);
    expect(count(second.codes, 421)).toBeGreaterThan(0);
    expect(server.context.defender.host('127.0.0.4')?.ban_time).toBeDefined();
    expect(lines.some((l) => l.event === 'defender_ban' && l.ip === '127.0.0.4')).toBe(true);
    const banned = await parallel('127.0.0.4', `ftp://127.0.0.1:${ports.ftp}/hello.txt`, 1, ['-u', `erin:${PASSWORD}`]);
    expect(banned.codes).toEqual([421]);
    expect(lines.some((l) => l.event === 'connection_refused' && l.reason === 'banned' && l.ip === '127.0.0.4' && l.protocol === 'FTP')).toBe(true);
  });

  test('WebDAV: the 11th request at once is answered 429 with Retry-After; not scored without defender events', async () => {
    // Without credentials: the limiter counts requests before authentication, and 10 password
    // checks ahead of the 11th would stretch the burst past the limiter's 50 ms grace.
    const r = await parallel('127.0.0.6', `http://127.0.0.1:${ports.dav}/hello.txt`, 11);
    expect(count(r.codes, 401)).toBe(10);
    expect(count(r.codes, 429)).toBe(1);
    expect(r.headers).toMatch(/^Retry-After: 1\r?$/im);
    expect(r.headers).toMatch(/^X-Retry-In: \d+(\.\d+)?m?s\r?$/im);
    expect(rateRefusals('127.0.0.6', 'DAV')).toBe(1);
    expect(server.context.defender.host('127.0.0.6')).toBeUndefined();
    // Another address is served.
    expect((await parallel('127.0.0.5', `http://127.0.0.1:${ports.dav}/hello.txt`, 1, ['-u', `erin:${PASSWORD}`])).codes).toEqual([200]);
  });

  test('REST API: the 11th request at once is answered 429 with Retry-After in SFTPGo\'s error shape', async () => {
    const bodies = tempDir('ratelimit-bodies-');
    const r = await parallel('127.0.0.7', `http://127.0.0.1:${ports.api}/api/v2/token`, 11, [], bodies);
    expect(count(r.codes, 429)).toBe(1);
    expect(count(r.codes, 401)).toBe(10);
    expect(r.headers).toMatch(/^Retry-After: 1\r?$/im);
    expect(r.headers).toMatch(/^X-Retry-In: \d+(\.\d+)?m?s\r?$/im);
    const refused = readdirSync(bodies).map((f) => readFileSync(join(bodies, f), 'utf8')).filter((b) => b.includes('rate limit'));
    expect(refused.map((b) => JSON.parse(b))).toEqual([{ message: '', error: 'rate limit exceeded' }]);
  });

  test("the rate limiters' safe list (IP lists type 3) is never limited", async () => {
    const r = await parallel('127.0.0.8', `http://127.0.0.1:${ports.api}/api/v2/token`, 15);
    expect(count(r.codes, 401)).toBe(15);
    const logins = await Promise.all(Array.from({ length: 12 }, () => sshLogin('127.0.0.8')));
    expect(logins.every(Boolean)).toBe(true);
    expect(rateRefusals('127.0.0.8', 'HTTP') + rateRefusals('127.0.0.8', 'SSH')).toBe(0);
  });
});
