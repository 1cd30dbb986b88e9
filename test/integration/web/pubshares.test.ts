// The public share pages (/web/client/pubshares/{id}) driven by a real browser (Debian's chromium
// through playwright-core) against the real server: a share made through the user API with a
// password is refused to an anonymous browser without it and with a wrong one (scored by the
// defender), then downloads byte-identical with it; a read-write share takes an upload from its
// page; an expired share and a share whose owner lost the permission are refused; a form posted
// without its CSRF token is refused. Screenshots go to test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';

const ADMIN_PASSWORD = 'root-Share-Pages-1';
const BOB_PASSWORD = 'bob-Share-Pages-1';
const SHARE_PASSWORD = 'share-Pass-1';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: RunningServer;
let dir: string;
let port: number;
let browser: Browser;
let visitor: BrowserContext;
let page: Page;
const payload = randomBytes(300 * 1024 + 17);

const url = (p: string) => `http://127.0.0.1:${port}${p}`;
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
const shareUrl = (id: string, tail = '') => url(`/web/client/pubshares/${id}${tail}`);

beforeAll(async () => {
  dir = tempDir('web-pubshares-');
  port = await freePort();
  mkdirSync(SHOTS, { recursive: true });
  for (const d of ['homes/bob/docs', 'homes/bob/inbox', 'homes/carol/pub']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'homes/bob/docs/report.bin'), payload);
  writeFileSync(join(dir, 'homes/carol/pub/notes.txt'), 'carol notes\n');
  writeFileSync(join(dir, 'upload-me.txt'), 'uploaded from the share page\n');
  const yaml = `common:
  defender: { enabled: true, threshold: 100, score_valid: 1, score_invalid: 2, observation_time: 30 }
httpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - { username: bob, password: "${BOB_PASSWORD}", home_dir: ${join(dir, 'homes/bob')}, permissions: { "/": ["*"] } }
  - { username: carol, password: "${BOB_PASSWORD}", home_dir: ${join(dir, 'homes/carol')}, permissions: { "/": ["*"] } }
admins:
  - { username: root, password: "${ADMIN_PASSWORD}", permissions: ["*"] }
`;
  server = await startServer({ yaml, cwd: dir });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  visitor = await browser.newContext({ acceptDownloads: true });
  page = await visitor.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `pubshare-${name}.png`), fullPage: true });
}

async function token(path: string, user: string, password: string): Promise<string> {
  const r = await fetch(url(path), { headers: { authorization: basic(user, password) } });
  return ((await r.json()) as { access_token: string }).access_token;
}

/** A share made by `user` through the user API; its id. */
async function share(user: string, body: Record<string, unknown>): Promise<string> {
  const t = await token('/api/v2/user/token', user, BOB_PASSWORD);
  const r = await fetch(url('/api/v2/user/shares'), { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status !== 201) throw new Error(`share: ${r.status} ${await r.text()}`);
  return r.headers.get('x-object-id')!;
}

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  const t = await token('/api/v2/token', 'root', ADMIN_PASSWORD);
  return fetch(url(path), { method, headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
}

describe('public share pages in a browser', () => {
  test('a password share: refused without the password and with a wrong one (scored), downloaded byte-identical with it', async () => {
    const id = await share('bob', { name: 'report', scope: 1, paths: ['/docs/report.bin'], password: SHARE_PASSWORD });
    // Without a session the link itself gives no byte: it leads to the password form.
    const direct = await fetch(shareUrl(id, '?compress=false'), { redirect: 'manual' });
    expect(direct.status).toBe(302);
    expect(direct.headers.get('location')).toContain(`/web/client/pubshares/${id}/login`);
    const res = await page.goto(shareUrl(id, '/download'));
    expect(page.url()).toContain(`/pubshares/${id}/login`);
    const csp = res!.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(await page.locator('script').count()).toBe(0);
    await shot('login');

    await page.fill('input[name=share_password]', 'not-the-password');
    const refused = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
    expect(refused[0].status()).toBe(401);
    expect(await page.textContent('[role=alert]')).toContain('Invalid credentials');
    const hosts = (await (await admin('GET', '/api/v2/defender/hosts')).json()) as { ip: string; score: number }[];
    expect(hosts.find((h) => h.ip === '127.0.0.1')?.score).toBeGreaterThan(0);
    await server.waitForLog((l) => l.event === 'login_failed' && l.reason === 'share_invalid_password');

    await page.fill('input[name=share_password]', SHARE_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    expect(page.url()).toBe(shareUrl(id, '/download'));
    await shot('download');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const saved = join(dir, 'downloaded.bin');
    await download.saveAs(saved);
    expect(readFileSync(saved).equals(payload)).toBe(true);

    // The cookie is the share's alone: another password share still asks for its own password.
    const other = await share('bob', { name: 'other', scope: 1, paths: ['/docs'], password: 'other-Pass-1' });
    await page.goto(shareUrl(other, '/browse'));
    expect(page.url()).toContain(`/pubshares/${other}/login`);
  });

  test('a read-write share receives an upload from its page, and lists it', async () => {
    const id = await share('bob', { name: 'inbox', scope: 3, paths: ['/inbox'] });
    await page.goto(shareUrl(id, '/upload'));
    await page.setInputFiles('input[name=filenames]', join(dir, 'upload-me.txt'));
    await shot('upload');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    expect(await page.textContent('#message')).toContain('1 file(s) uploaded');
    expect(readFileSync(join(dir, 'homes/bob/inbox/upload-me.txt'), 'utf8')).toBe('uploaded from the share page\n');
    await page.goto(shareUrl(id, '/browse'));
    expect(await page.locator('#entries tr[data-name="upload-me.txt"]').count()).toBe(1);
    await shot('browse');
    // A file's link downloads it.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#entries tr[data-name="upload-me.txt"] a')]);
    expect(readFileSync((await download.path())!, 'utf8')).toBe('uploaded from the share page\n');
    // Nothing outside the shared directory: a path climbing out is refused by the API's check.
    const out = await page.goto(shareUrl(id, `/browse?path=${encodeURIComponent('../docs/report.bin')}`));
    expect(out!.status()).toBe(400);
    expect(await page.textContent('#message')).toContain('Invalid path');
  });

  test('an upload posted without the form token is refused and stores nothing', async () => {
    const id = await share('bob', { name: 'inbox2', scope: 2, paths: ['/inbox'] });
    const form = new FormData();
    form.append('filenames', new Blob(['forged']), 'forged.txt');
    const r = await fetch(shareUrl(id, '/upload'), { method: 'POST', body: form });
    expect(r.status).toBe(403);
    expect(() => readFileSync(join(dir, 'homes/bob/inbox/forged.txt'))).toThrow();
    // A read share has no upload page.
    const read = await share('bob', { name: 'ro', scope: 1, paths: ['/docs'] });
    const page2 = await page.goto(shareUrl(read, '/upload'));
    expect(page2!.status()).toBe(403);
    expect(await page.textContent('#message')).toContain('invalid share scope');
  });

  test('an expired share is refused', async () => {
    const id = await share('bob', { name: 'soon', scope: 1, paths: ['/docs'], expires_at: Date.now() + 1500 });
    expect((await page.goto(shareUrl(id, '/browse')))!.status()).toBe(200);
    await Bun.sleep(1600);
    const res = await page.goto(shareUrl(id, '/browse'));
    expect(res!.status()).toBe(404);
    expect(await page.textContent('#message')).toContain('share expired');
    await shot('expired');
  });

  test("a share whose owner lost the permission is refused, at the owner's next request", async () => {
    const id = await share('carol', { name: 'pub', scope: 1, paths: ['/pub'] });
    const ok = await page.goto(shareUrl(id, '/browse'));
    expect(ok!.status()).toBe(200);
    expect(await page.locator('#entries tr[data-name="notes.txt"]').count()).toBe(1);
    const current = (await (await admin('GET', '/api/v2/users/carol')).json()) as Record<string, unknown>;
    const put = await admin('PUT', '/api/v2/users/carol', { ...current, permissions: { '/': ['upload'] } });
    expect(put.status).toBe(200);
    const res = await page.goto(shareUrl(id, '/browse'));
    // The API's answer for an unreadable share directory (400), with the owner's refusal as reason.
    expect(res!.status()).toBe(400);
    expect(await page.textContent('#message')).toContain('list not allowed on /pub');
    await shot('owner-denied');
    const zip = await fetch(shareUrl(id));
    expect(zip.status).toBe(403);
  });
});
