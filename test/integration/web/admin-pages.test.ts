// The web admin's pages for API keys, groups, roles, IP lists, event rules and quota, driven by a
// real browser (Debian's chromium through playwright-core) against the real server, each change
// checked through the REST API: an API key created from the page is shown once and then works,
// a group created from the page is the API's, an IP list entry is added and deleted, an on-demand
// rule runs from its button, a quota scan starts. Screenshots go to test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';

const ADMIN_PASSWORD = 'root-Web-Pages-1';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: RunningServer;
let dir: string;
let port: number;
let browser: Browser;
let page: Page;
let base: string;

beforeAll(async () => {
  dir = tempDir('web-admin-pages-');
  port = await freePort();
  base = `http://127.0.0.1:${port}/web/admin`;
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(join(dir, 'homes/alice'), { recursive: true });
  writeFileSync(join(dir, 'homes/alice/data.bin'), Buffer.alloc(4096, 'a'));
  server = await startServer({
    cwd: dir,
    yaml: `httpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
roles:
  - { name: ops, description: operations }
groups:
  - { name: yaml-group, description: from the config }
users:
  - { username: alice, password: "alice-Web-Pages-1", home_dir: ${join(dir, 'homes/alice')}, permissions: { "/": ["*"] }, role: ops }
admins:
  - { username: root, password: "${ADMIN_PASSWORD}", permissions: ["*"] }
  - { username: robot, password: "robot-Web-Pages-1", permissions: [view_status], filters: { allow_api_key_auth: true } }
event_actions:
  - name: make-reports
    type: 9
    options:
      fs_config: { type: 3, mkdirs: ["/reports/{{.Year}}"] }
event_rules:
  - name: nightly
    trigger: 6
    conditions:
      options:
        names: [{ pattern: "ali*" }]
    actions: [{ name: make-reports }]
`,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', 'root');
  await page.fill('input[name=password]', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `admin-${name}.png`), fullPage: true });
}

async function api(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const t = await (await fetch(`http://127.0.0.1:${port}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } })).json();
  return fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${t.access_token}`, ...headers } });
}

async function submit(selector = 'form.stack button[type=submit]'): Promise<void> {
  await page.click(selector);
  await page.waitForLoadState();
}

describe('more web admin pages', () => {
  test('API keys: created from the page and shown once, then the API lists it and it authenticates; deleted from the page', async () => {
    await page.goto(`${base}/apikeys`);
    await page.fill('input[name=name]', 'ci-key');
    await page.fill('input[name=owner]', 'robot');
    await submit();
    const key = (await page.textContent('#new-api-key'))!.trim();
    expect(key).toMatch(/^[\w-]+\.[\w-]+$/);
    await shot('apikeys');
    const listed = (await (await api('/api/v2/apikeys')).json()) as { id: string; name: string; admin: string }[];
    const rec = listed.find((k) => k.name === 'ci-key')!;
    expect(rec).toMatchObject({ admin: 'robot' });
    expect(key.startsWith(`${rec.id}.`)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/api/v2/status`, { headers: { 'x-sftpgo-api-key': key } })).status).toBe(200);
    // Shown once: the list page has the key's id, never the key.
    await page.goto(`${base}/apikeys`);
    expect(await page.content()).not.toContain(key);
    expect(await page.locator(`#api-keys tr[data-name="ci-key"] [data-source=api]`).count()).toBe(1);
    await page.click(`#api-keys tr[data-name="ci-key"] button:text-is("Delete")`);
    await page.waitForLoadState();
    expect(((await (await api('/api/v2/apikeys')).json()) as unknown[]).length).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/api/v2/status`, { headers: { 'x-sftpgo-api-key': key } })).status).toBe(401);
  });

  test('groups: the YAML one is shown as such; one created from the page is the API\'s, and deleted', async () => {
    await page.goto(`${base}/groups`);
    expect(await page.getAttribute('#groups tr[data-name="yaml-group"] [data-source]', 'data-source')).toBe('yaml');
    await page.fill('input[name=name]', 'devs');
    await page.fill('input[name=description]', 'made in the browser');
    await submit();
    expect(await page.textContent('.flash')).toContain('Group devs created');
    await shot('groups');
    const g = await api('/api/v2/groups/devs');
    expect(g.status).toBe(200);
    expect(((await g.json()) as { description: string }).description).toBe('made in the browser');
    expect(await page.getAttribute('#groups tr[data-name="devs"] [data-source]', 'data-source')).toBe('api');
    // A bad name is refused with the API's reason.
    await page.fill('input[name=name]', 'bad/name');
    await submit();
    expect(await page.textContent('.flash.error')).toContain('name');
    await page.click('#groups tr[data-name="devs"] button:text-is("Delete")');
    await page.waitForLoadState();
    expect((await api('/api/v2/groups/devs')).status).toBe(404);
  });

  test('roles list their members and source', async () => {
    await page.goto(`${base}/roles`);
    expect(await page.textContent('#roles tr[data-name="ops"]')).toContain('alice');
    expect(await page.getAttribute('#roles tr[data-name="ops"] [data-source]', 'data-source')).toBe('yaml');
  });

  test('IP lists: an entry added to the defender list from the page is the API\'s, and deleted', async () => {
    await page.goto(`${base}/iplists?type=2`);
    await page.fill('input[name=ipornet]', '203.0.113.0/24');
    await page.check('input[name=mode][value="2"]');
    await page.fill('input[name=description]', 'bad network');
    await submit();
    const e = await api(`/api/v2/iplists/2/${encodeURIComponent('203.0.113.0/24')}`);
    expect(e.status).toBe(200);
    expect(await e.json()).toMatchObject({ ipornet: '203.0.113.0/24', mode: 2, description: 'bad network' });
    await shot('iplists');
    await page.click('#ip-list tr[data-ipornet="203.0.113.0/24"] button:text-is("Delete")');
    await page.waitForLoadState();
    expect((await api(`/api/v2/iplists/2/${encodeURIComponent('203.0.113.0/24')}`)).status).toBe(404);
    await page.fill('input[name=ipornet]', 'not-an-address');
    await submit();
    expect(await page.textContent('.flash.error')).toContain('invalid IP or network');
  });

  test('an on-demand event rule runs from its button', async () => {
    await page.goto(`${base}/eventrules`);
    expect(await page.getAttribute('#event-rules tr[data-name="nightly"] [data-source]', 'data-source')).toBe('yaml');
    await page.click('#event-rules tr[data-name="nightly"] button:text-is("Run")');
    await page.waitForLoadState();
    expect(await page.textContent('.flash')).toContain('nightly started');
    await server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'nightly');
    expect(existsSync(join(dir, 'homes/alice/reports', String(new Date().getUTCFullYear())))).toBe(true);
    await page.goto(`${base}/eventactions/make-reports`);
    expect(await page.textContent('#event-record')).toContain('/reports/{{.Year}}');
    await shot('event-action');
  });

  test("quota: a user's scan starts from the page; usage and transfer counters are listed", async () => {
    await page.goto(`${base}/quota`);
    await page.fill('input[name=username]', 'alice');
    await submit('form.search button[type=submit]');
    expect(await page.textContent('.flash')).toContain('Quota scan of alice started');
    await server.waitForLog((l) => l.event === 'quota_scan_started' && l.name === 'alice');
    const deadline = Date.now() + 10_000;
    for (;;) {
      await page.goto(`${base}/quota`);
      const cells = await page.locator('#usage tr[data-username="alice"] td').allTextContents();
      if (cells[1]?.startsWith('4096')) break;
      if (Date.now() > deadline) throw new Error(`usage not updated: ${cells.join(' | ')}`);
      await Bun.sleep(100);
    }
    await shot('quota');
    await page.fill('input[name=username]', 'nobody');
    await submit('form.search button[type=submit]');
    expect(await page.textContent('.flash.error')).toContain('user "nobody" not found');
  });
});
