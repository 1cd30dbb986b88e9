// data_provider.password_caching (on by default, as in SFTPGo): a user or admin who logs in again
// with a password that verified skips the slow hash. Shown by the server's own CPU time, read from
// /proc, with bcrypt at cost 12 (a few hundred ms of CPU a check): logins after the first cost a
// small fraction of the first with caching on, and as much as the first with it off. What the
// cache must never do is checked beside it: a wrong password after a cached login is refused, and
// a password changed through the API takes effect at once (the old one refused, the new one taken).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'cache-Secret-1';
const ADMIN_PASSWORD = 'cache-Admin-1';
const LOGINS = 4;

interface Running {
  server: RunningServer;
  ftp: number;
  http: number;
}

async function start(caching: boolean | undefined): Promise<Running> {
  const dir = tempDir('pwcache-');
  const ftp = await freePort();
  const http = await freePort();
  const yaml = `ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${http} }]
data_provider:
  users_base_dir: ${dir}/homes
  password_hashing: { bcrypt_options: { cost: 12 } }
${caching === undefined ? '' : `  password_caching: ${caching}\n`}users:
  - username: alice
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
`;
  return { server: await startServer({ yaml, cwd: dir }), ftp, http };
}

/** The server process's user + system CPU time in ms (its JavaScript and hashing run in it). */
function cpuMs(s: Running): number {
  const stat = readFileSync(`/proc/${s.server.proc.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function ftpLogin(s: Running, password: string): Promise<number> {
  const c = await FtpControl.connect(s.ftp);
  try {
    return (await c.login('alice', password)).code;
  } finally {
    c.close();
  }
}

async function adminToken(s: Running): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${s.http}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`root:${ADMIN_PASSWORD}`).toString('base64')}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** CPU ms of the first of `n` logins, and of the n - 1 after it. */
async function loginCosts(s: Running, login: () => Promise<unknown>, n: number): Promise<{ first: number; rest: number }> {
  const t0 = cpuMs(s);
  await login();
  const t1 = cpuMs(s);
  for (let i = 1; i < n; i++) await login();
  return { first: t1 - t0, rest: cpuMs(s) - t1 };
}

let cached: Running;
let uncached: Running;

beforeAll(async () => {
  [cached, uncached] = await Promise.all([start(undefined), start(false)]);
});

afterAll(async () => {
  await Promise.all([cached?.server.stop(), uncached?.server.stop()]);
  removeTempDirs();
});

describe('password_caching', () => {
  test('on by default: FTP logins and admin tokens after the first skip the hash; off: every one pays it', async () => {
    const ftpOn = await loginCosts(cached, async () => expect(await ftpLogin(cached, PASSWORD)).toBe(230), LOGINS);
    const ftpOff = await loginCosts(uncached, async () => expect(await ftpLogin(uncached, PASSWORD)).toBe(230), LOGINS);
    const adminOn = await loginCosts(cached, () => adminToken(cached), LOGINS);
    const adminOff = await loginCosts(uncached, () => adminToken(uncached), LOGINS);
    const figures = JSON.stringify({ ftpOn, ftpOff, adminOn, adminOff });
    // The first login hashes on both servers: hundreds of ms at cost 12.
    for (const c of [ftpOn, ftpOff, adminOn, adminOff]) expect(c.first, figures).toBeGreaterThan(80);
    // Without the cache each later login costs about as much again.
    expect(ftpOff.rest, figures).toBeGreaterThan(ftpOff.first * (LOGINS - 1) * 0.5);
    expect(adminOff.rest, figures).toBeGreaterThan(adminOff.first * (LOGINS - 1) * 0.5);
    // With it, all of them together cost less than a third of one hash.
    expect(ftpOn.rest, figures).toBeLessThan(ftpOn.first / 3);
    expect(adminOn.rest, figures).toBeLessThan(adminOn.first / 3);
  }, 120_000);

  test('a wrong password after a cached login is refused, and a changed password takes effect at once', async () => {
    expect(await ftpLogin(cached, PASSWORD)).toBe(230);
    expect(await ftpLogin(cached, PASSWORD)).toBe(230);
    expect(await ftpLogin(cached, 'cache-Wrong-1')).toBe(530);
    const token = await adminToken(cached);
    const res = await fetch(`http://127.0.0.1:${cached.http}/api/v2/users/alice`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'cache-Secret-2' }),
    });
    expect(res.status).toBe(200);
    expect(await ftpLogin(cached, PASSWORD)).toBe(530);
    expect(await ftpLogin(cached, 'cache-Secret-2')).toBe(230);
    expect(await ftpLogin(cached, 'cache-Secret-2')).toBe(230);
  }, 120_000);
});
