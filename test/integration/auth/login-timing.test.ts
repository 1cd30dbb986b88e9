// A username that does not exist is refused in the time a wrong password takes, on every login
// path: SSH password and keyboard-interactive, FTP, WebDAV Basic, the admin and user token
// endpoints, and the web admin's login form. The server hashes at bcrypt cost 10 (tens of
// milliseconds a check), tries run interleaved and are compared by their medians. A control
// attempt that the server refuses before any hash (a user whose protocols are all denied, a
// disabled admin) must come out clearly faster with the same statistic: it shows the measurement
// can tell a refusal without a hash check from one with it.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Client } from '../../../src/lib/ssh2.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = TEST_SECRETS.userPassword;
const ADMIN_PASSWORD = TEST_SECRETS.adminPassword;
const WRONG = 'Wr0ng-guess-5531';
const TRIES = 9;
// The unknown user's median must be within this ratio of the wrong password's; the control's must
// be below CONTROL_BOUND of it.
const LOW = 0.6;
const HIGH = 1.8;
const CONTROL_BOUND = 0.45;

let server: RunningServer;
let ports: { sftp: number; ftp: number; dav: number; http: number };

beforeAll(async () => {
  const dir = tempDir('login-timing-');
  ports = { sftp: await freePort(), ftp: await freePort(), dav: await freePort(), http: await freePort() };
  const yaml = `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
  keyboard_interactive_authentication: true
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.ftp} }]
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${ports.dav} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.http} }]
data_provider:
  users_base_dir: ${dir}/homes
  password_hashing: { bcrypt_options: { cost: 10 } }
users:
  - username: alice
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
  - username: fenced
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters: { denied_protocols: [SSH, FTP, DAV, HTTP] }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
  - username: retired
    password: "${ADMIN_PASSWORD}"
    status: 0
    permissions: ["*"]
`;
  server = await startServer({ yaml, cwd: dir });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** Milliseconds from the SSH auth request to its refusal (the handshake is not timed). */
function sshRefusal(username: string, password: string, method: 'password' | 'keyboard-interactive'): Promise<number> {
  const client = new Client();
  let started = 0;
  return new Promise((resolve, reject) => {
    client.once('ready', () => (client.end(), reject(new Error(`${username} logged in`))));
    client.once('error', () => (client.end(), resolve(performance.now() - started)));
    let asked = false;
    client.connect({
      host: '127.0.0.1', port: ports.sftp, username, readyTimeout: 30_000, tryKeyboard: true,
      authHandler: ((_left: unknown, _partial: boolean, next: (m: unknown) => void) => {
        if (asked) return next(false);
        asked = true;
        started = performance.now();
        if (method === 'password') return next({ type: 'password', username, password });
        // Timed from the answer: the prompt's round trip is not the server's check.
        const prompt = (_n: string, _i: string, _l: string, prompts: unknown[], finish: (a: string[]) => void): void => {
          started = performance.now();
          finish(prompts.map(() => password));
        };
        next({ type: 'keyboard-interactive', username, prompt });
      }) as never,
    } as never);
  });
}

async function ftpRefusal(username: string, password: string): Promise<number> {
  const c = await FtpControl.connect(ports.ftp);
  try {
    expect((await c.send(`USER ${username}`)).code).toBe(331);
    const t = performance.now();
    const r = await c.send(`PASS ${password}`);
    const ms = performance.now() - t;
    expect(r.code).toBe(530);
    return ms;
  } finally {
    c.close();
  }
}

async function httpRefusal(url: string, init: RequestInit, expected: number[]): Promise<number> {
  const t = performance.now();
  const r = await fetch(url, init);
  await r.arrayBuffer();
  const ms = performance.now() - t;
  expect(expected).toContain(r.status);
  return ms;
}

const basic = (u: string, p: string): RequestInit => ({ headers: { authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` } });

async function webLoginRefusal(username: string, password: string): Promise<number> {
  const base = `http://127.0.0.1:${ports.http}/web/admin/login`;
  const page = await fetch(base);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
  const body = new URLSearchParams({ _csrf: csrf, username, password });
  return httpRefusal(base, { method: 'POST', body, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' }, [401, 403]);
}

interface LoginPath {
  name: string;
  /** The known account a wrong password is tried for, and the control refused before any hash. */
  known: string;
  control: string;
  attempt(username: string, password: string): Promise<number>;
}

const PATHS: LoginPath[] = [
  { name: 'SSH password', known: 'alice', control: 'fenced', attempt: (u, p) => sshRefusal(u, p, 'password') },
  { name: 'SSH keyboard-interactive', known: 'alice', control: 'fenced', attempt: (u, p) => sshRefusal(u, p, 'keyboard-interactive') },
  { name: 'FTP', known: 'alice', control: 'fenced', attempt: ftpRefusal },
  { name: 'WebDAV Basic', known: 'alice', control: 'fenced', attempt: (u, p) => httpRefusal(`http://127.0.0.1:${ports.dav}/`, { method: 'PROPFIND', ...basic(u, p) }, [401]) },
  { name: 'GET /api/v2/user/token', known: 'alice', control: 'fenced', attempt: (u, p) => httpRefusal(`http://127.0.0.1:${ports.http}/api/v2/user/token`, basic(u, p), [401, 403]) },
  { name: 'GET /api/v2/token', known: 'root', control: 'retired', attempt: (u, p) => httpRefusal(`http://127.0.0.1:${ports.http}/api/v2/token`, basic(u, p), [401]) },
  { name: 'web admin login form', known: 'root', control: 'retired', attempt: webLoginRefusal },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

test('an unknown username is refused in the time of a wrong password, on every login path', async () => {
  const report: string[] = [];
  const failures: string[] = [];
  for (const path of PATHS) {
    const wrong: number[] = [];
    const unknown: number[] = [];
    const control: number[] = [];
    // Interleaved, so a burst of load elsewhere on the machine slows all three alike.
    for (let i = 0; i < TRIES; i++) {
      wrong.push(await path.attempt(path.known, WRONG));
      unknown.push(await path.attempt(`nobody-${i}`, WRONG));
      control.push(await path.attempt(path.control, WRONG));
    }
    const [w, u, c] = [median(wrong), median(unknown), median(control)];
    report.push(`${path.name}: wrong password ${w.toFixed(1)} ms, unknown user ${u.toFixed(1)} ms (x${(u / w).toFixed(2)}), refused before any hash ${c.toFixed(1)} ms (x${(c / w).toFixed(2)})`);
    if (u / w < LOW || u / w > HIGH) failures.push(`${path.name}: unknown user x${(u / w).toFixed(2)} of a wrong password`);
    if (c / w > CONTROL_BOUND) failures.push(`${path.name}: the control is not told apart (x${(c / w).toFixed(2)})`);
  }
  console.log(report.join('\n'));
  expect(failures).toEqual([]);
  // The server still answers after all those refusals.
  expect((await fetch(`http://127.0.0.1:${ports.http}/healthz`)).status).toBe(200);
}, 300_000);
