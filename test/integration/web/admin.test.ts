// The web admin driven by a real browser (Debian's chromium through playwright-core) against the
// real server: login (and a refused one, scored by the defender), creating a user who then logs in
// with OpenSSH sftp, a YAML user shown as from the config, disabled through an override that the
// REST API shows and sftp obeys, the override dropped again, a delete refused for a YAML user, the
// status and drift pages, a live sftp session disconnected from the connections page, the
// defender's score forgotten, the folders and admins lists, a form posted without its CSRF token,
// and the cookie and CSP headers.
// Screenshots of the main pages go to test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { tempDir } from '../../support/tmp.ts';

const ADMIN_PASSWORD = 'root-Web-Admin-1';
const ALICE_PASSWORD = 'alice-Web-Admin-1';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: RunningServer;
let dir: string;
let ports: { sftp: number; http: number };
let browser: Browser;
let page: Page;
let base: string;

beforeAll(async () => {
  dir = tempDir('web-admin-');
  ports = { sftp: await freePort(), http: await freePort() };
  base = `http://127.0.0.1:${ports.http}/web/admin`;
  mkdirSync(SHOTS, { recursive: true });
  const yaml = `common:
  defender: { enabled: true, threshold: 100, score_valid: 1, score_invalid: 2, observation_time: 30 }
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.http} }]
data_provider:
  users_base_dir: ${join(dir, 'homes')}
  password_hashing: { bcrypt_options: { cost: 4 } }
folders:
  - { name: shared, mapped_path: ${join(dir, 'shared')} }
users:
  - username: alice
    password: ${ALICE_PASSWORD}
    permissions: { "/": ["*"] }
    virtual_folders: [{ name: shared, virtual_path: /shared }]
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
`;
  server = await startServer({ yaml, cwd: dir });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `admin-${name}.png`), fullPage: true });
}

async function login(password = ADMIN_PASSWORD): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', 'root');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
}

async function apiToken(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${ports.http}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
  return ((await r.json()) as { access_token: string }).access_token;
}

async function apiUser(name: string): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${ports.http}/api/v2/users/${name}`, { headers: { authorization: `Bearer ${await apiToken()}` } });
  return (await r.json()) as Record<string, unknown>;
}

async function apiConnections(): Promise<{ username: string; protocol: string }[]> {
  const r = await fetch(`http://127.0.0.1:${ports.http}/api/v2/connections`, { headers: { authorization: `Bearer ${await apiToken()}` } });
  return (await r.json()) as { username: string; protocol: string }[];
}

/** Re-checks `cond` until it holds (10 s at most). */
async function until(cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in 10 s');
    await Bun.sleep(50);
  }
}

function sftpLs(user: string, password: string) {
  return sftpBatchSync({ port: ports.sftp, user, password, dir, lines: ['ls /'] });
}

async function postButton(label: string): Promise<void> {
  await page.click(`form button:text-is("${label}")`);
  await page.waitForLoadState();
}

describe('web admin in a browser', () => {
  test('/web/admin sends a visitor to the login page; the page has a strict CSP and no script', async () => {
    const res = await page.goto(base);
    expect(page.url()).toBe(`${base}/login`);
    const csp = res!.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await page.locator('script').count()).toBe(0);
    await shot('login');
  });

  test('a wrong password shows an error, writes login_failed and scores the address in the defender', async () => {
    await login('not-the-password');
    await expect(page.locator('.flash.error').textContent()).resolves.toContain('Invalid credentials');
    const failed = await server.waitForLog((l) => l.event === 'login_failed' && l.protocol === 'HTTP' && l.username === 'root');
    expect(failed.ip).toBe('127.0.0.1');
    const r = await fetch(`http://127.0.0.1:${ports.http}/api/v2/defender/hosts`, { headers: { authorization: `Bearer ${await apiToken()}` } });
    const hosts = (await r.json()) as { ip: string; score: number }[];
    expect(hosts.find((h) => h.ip === '127.0.0.1')?.score ?? 0).toBeGreaterThan(0);
  });

  test('login sets an HttpOnly SameSite=Strict session cookie and lands on the users page', async () => {
    await login();
    expect(page.url()).toBe(`${base}/users`);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'sftpgo_admin_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/web/admin', secure: false });
    // The YAML user is listed as from the config.
    await expect(page.locator('tr[data-username=alice] [data-source]').getAttribute('data-source')).resolves.toBe('yaml');
    await shot('users');
  });

  test('an admin creates a user, who then logs in with sftp', async () => {
    await page.click('text=Add user');
    await page.fill('input[name=username]', 'bob');
    await page.fill('input[name=password]', 'bob-Web-Admin-1');
    await page.fill('input[name=quota_files]', '100');
    await shot('user-new');
    await page.click('button:text-is("Create")');
    expect(page.url()).toBe(`${base}/users/bob`);
    await expect(page.locator('.flash.info').textContent()).resolves.toContain('User bob created');
    await expect(page.locator('h1 [data-source]').getAttribute('data-source')).resolves.toBe('api');
    expect(await apiUser('bob')).toMatchObject({ username: 'bob', quota_files: 100, status: 1, source: 'runtime' });
    const r = sftpLs('bob', 'bob-Web-Admin-1');
    expect(r.status).toBe(0);
  });

  test('a form refused by validation shows the reason and keeps the values', async () => {
    await page.goto(`${base}/users/new`);
    await page.fill('input[name=username]', 'bad/name');
    await page.click('button:text-is("Create")');
    await expect(page.locator('.flash.error').textContent()).resolves.toContain('username');
    expect(await page.inputValue('input[name=username]')).toBe('bad/name');
  });

  test('disabling a YAML user makes an override that the page, the API and sftp show; dropping it restores the login', async () => {
    expect(sftpLs('alice', ALICE_PASSWORD).status).toBe(0);
    await page.goto(`${base}/users/alice`);
    await expect(page.locator('#origin-note').textContent()).resolves.toContain('Declared in the YAML config');
    await expect(page.locator('tr[data-field=status]').getAttribute('data-origin')).resolves.toBe('yaml');
    await shot('user-yaml');
    await postButton('Disable');
    await expect(page.locator('.flash.info').textContent()).resolves.toContain('override');
    await expect(page.locator('tr[data-field=status]').getAttribute('data-origin')).resolves.toBe('override');
    await expect(page.locator('tr[data-field=status] td').nth(2).textContent()).resolves.toContain('override by root');
    await shot('user-override');
    const api = await apiUser('alice');
    expect(api.status).toBe(0);
    expect(api.overrides).toMatchObject({ fields: { status: 0 }, updated_by: 'root' });
    expect(sftpLs('alice', ALICE_PASSWORD).status).not.toBe(0);

    await page.goto(`${base}/drift`);
    await expect(page.locator('tr[data-kind=user][data-name=alice] td').nth(2).textContent()).resolves.toBe('status');
    await shot('drift');
    await page.click('tr[data-name=alice] a');
    await postButton('Drop override');
    await expect(page.locator('.flash.info').textContent()).resolves.toContain('Override dropped');
    expect((await apiUser('alice')).overrides).toBeUndefined();
    expect(sftpLs('alice', ALICE_PASSWORD).status).toBe(0);
  });

  test('editing a YAML user says the change becomes an override', async () => {
    await page.goto(`${base}/users/alice/edit`);
    await expect(page.locator('#override-note').textContent()).resolves.toContain('override');
    await page.fill('input[name=quota_files]', '7');
    await page.click('button:text-is("Save")');
    await expect(page.locator('tr[data-field=quota_files]').getAttribute('data-origin')).resolves.toBe('override');
    expect((await apiUser('alice')).overrides).toMatchObject({ fields: { quota_files: 7 } });
    await postButton('Drop override');
  });

  test('deleting a YAML user is refused with the reason; a runtime user is deleted', async () => {
    await page.goto(`${base}/users/alice`);
    await postButton('Delete');
    await expect(page.locator('.flash.error').textContent()).resolves.toContain('declared in the config file');
    await page.goto(`${base}/users/bob`);
    await postButton('Delete');
    expect(page.url()).toBe(`${base}/users`);
    expect(await page.locator('tr[data-username=bob]').count()).toBe(0);
  });

  test('the status page shows the services, the store and the config source', async () => {
    await page.goto(`${base}/status`);
    await expect(page.locator('tr[data-service=ssh] td').nth(1).textContent()).resolves.toBe('yes');
    await expect(page.locator('tr[data-service=ssh] td').nth(2).textContent()).resolves.toBe(`127.0.0.1:${ports.sftp}`);
    await expect(page.locator('#config td').first().textContent()).resolves.toBe('file');
    await shot('status');
  });

  test('the connections page lists a live sftp session and disconnects it', async () => {
    // A batch read from stdin, kept open: the session lives until the server closes it.
    const client = spawn('sshpass', ['-p', ALICE_PASSWORD, 'sftp', '-o', 'BatchMode=no', '-b', '-', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-P', String(ports.sftp), 'alice@127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      // sftp's stdout is a pipe, so it buffers what it prints until exit: ask the API instead.
      client.stdin.write('pwd\n');
      await until(async () => (await apiConnections()).some((c) => c.username === 'alice' && c.protocol === 'SFTP'));
      await page.goto(`${base}/connections`);
      await expect(page.locator('tr[data-username=alice] td').nth(1).textContent()).resolves.toBe('SFTP');
      await shot('connections');
      await postButton('Disconnect');
      await expect(page.locator('.flash.info').textContent()).resolves.toContain('closed');
      await until(async () => !(await apiConnections()).some((c) => c.username === 'alice'));
      await page.goto(`${base}/connections`);
      expect(await page.locator('tr[data-username=alice]').count()).toBe(0);
    } finally {
      client.kill();
    }
  });

  test('the defender page shows the scored address and forgets it on request', async () => {
    await page.goto(`${base}/defender`);
    await expect(page.locator('tr[data-ip="127.0.0.1"] td').nth(2).textContent()).resolves.toMatch(/^[1-9]/);
    await shot('defender');
    await postButton('Forget score');
    await expect(page.locator('.flash.info').textContent()).resolves.toContain('127.0.0.1');
    expect(await page.locator('tr[data-ip="127.0.0.1"]').count()).toBe(0);
  });

  test('folders and admins are listed with their source', async () => {
    await page.goto(`${base}/folders`);
    await expect(page.locator('tr[data-name=shared] [data-source]').getAttribute('data-source')).resolves.toBe('yaml');
    await expect(page.locator('tr[data-name=shared] td').nth(3).textContent()).resolves.toBe('alice');
    await page.goto(`${base}/admins`);
    await expect(page.locator('tr[data-username=root] td').nth(3).textContent()).resolves.toBe('*');
  });

  test('a form posted without the CSRF token is refused and changes nothing', async () => {
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'sftpgo_admin_session')!.value;
    const r = await fetch(`${base}/users/alice/status`, { method: 'POST', redirect: 'manual', headers: { cookie: `sftpgo_admin_session=${session}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('CSRF');
    expect((await apiUser('alice')).status).toBe(1);
    await server.waitForLog((l) => l.event === 'web_csrf_refused');
  });

  test('logout ends the session', async () => {
    await postButton('Log out');
    expect(page.url()).toBe(`${base}/login`);
    await page.goto(`${base}/users`);
    expect(page.url()).toBe(`${base}/login`);
  });
});
