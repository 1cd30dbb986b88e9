// Two-factor authentication in the web admin, driven by a real browser (Debian's chromium through
// playwright-core) against the real server: a YAML admin with TOTP is asked for the code after its
// password (a wrong code refused and scored by the defender); an admin enrols from its profile page
// (the QR code, read back by zbarimg from a screenshot, is the otpauth URL of the secret shown and
// matches lib/qr.ts's SVG of it), sees its recovery codes once, logs in with one of them once, and
// changes its password; a super admin turns another admin's TOTP off. Screenshots go to
// test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { base32Decode, hotp, totpStep } from '../../../src/auth/totp.ts';
import { qrSvg } from '../../../src/lib/qr.ts';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';

const ROOT_PASSWORD = 'root-Web-Totp-1';
const OTP_PASSWORD = 'otp-Web-Totp-1';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: RunningServer;
let dir: string;
let port: number;
let browser: Browser;
let page: Page;
let base: string;

function code(secret: string, offset = 0): string {
  return hotp(base32Decode(secret)!, totpStep(Date.now() / 1000) + offset);
}

beforeAll(async () => {
  dir = tempDir('web-admin-totp-');
  port = await freePort();
  base = `http://127.0.0.1:${port}/web/admin`;
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer({
    cwd: dir,
    yaml: `common:
  defender: { enabled: true, threshold: 1000, score_valid: 1, score_invalid: 2, observation_time: 30 }
httpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
admins:
  - { username: root, password: "${ROOT_PASSWORD}", permissions: ["*"] }
  - username: otpadmin
    password: "${OTP_PASSWORD}"
    permissions: ["*"]
    filters:
      totp_config: { enabled: true, config_name: Default, secret: "${SECRET}" }
`,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `admin-totp-${name}.png`), fullPage: true });
}

async function passwordStep(username: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
}

/** Submits a form's code; the status of the answer (303: accepted, on to the next page). */
async function codeStep(value: string): Promise<number> {
  await page.fill('input[name=passcode]', value);
  const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('form.stack button[type=submit]')]);
  await page.waitForLoadState();
  return res.status();
}

async function logout(): Promise<void> {
  await page.click('header form button');
  await page.waitForLoadState();
}

async function defenderScore(): Promise<number> {
  const t = await (await fetch(`http://127.0.0.1:${port}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ROOT_PASSWORD}`)}` } })).json();
  const hosts = (await (await fetch(`http://127.0.0.1:${port}/api/v2/defender/hosts`, { headers: { authorization: `Bearer ${t.access_token}` } })).json()) as { ip: string; score?: number }[];
  return hosts.find((h) => h.ip === '127.0.0.1')?.score ?? 0;
}

describe('web admin two-factor authentication', () => {
  test('an admin with TOTP is asked for the code after the password; a wrong one is refused and scored', async () => {
    page = await browser.newPage();
    await passwordStep('otpadmin', OTP_PASSWORD);
    expect(page.url()).toBe(`${base}/login/2fa`);
    // No session yet: the pages still lead to the login.
    await page.goto(`${base}/users`);
    expect(page.url()).toBe(`${base}/login`);
    await page.goto(`${base}/login/2fa`);
    await shot('second-step');
    const before = await defenderScore();
    expect(await codeStep(code(SECRET, 7))).toBe(401);
    expect(await page.textContent('[role=alert]')).toContain('Invalid code');
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'otpadmin' && l.reason === 'totp_invalid');
    expect(await defenderScore()).toBeGreaterThan(before);
    expect(await codeStep(code(SECRET))).toBe(303);
    expect(page.url()).toBe(`${base}/users`);
    await page.close();
  });

  let recovery: string[] = [];

  test('enrolment from the profile page: the QR code is the otpauth URL of the secret shown; recovery codes are shown once', async () => {
    page = await browser.newPage();
    await passwordStep('root', ROOT_PASSWORD);
    expect(page.url()).toBe(`${base}/users`);
    await page.click('nav a:text-is("Profile")');
    await page.waitForLoadState();
    expect(await page.textContent('#totp-status')).toContain('Disabled');
    await shot('profile');
    await page.click('button:text-is("Set up two-factor authentication")');
    await page.waitForLoadState();
    expect(page.url()).toBe(`${base}/profile/totp`);
    const secret = (await page.textContent('#totp-secret'))!.trim();
    const url = `otpauth://totp/SFTPGo%3AAdmin%20%22root%22?algorithm=SHA1&digits=6&issuer=SFTPGo&period=30&secret=${secret}`;
    // The DOM writes empty elements out in full (<rect></rect>).
    const expected = qrSvg(url, { title: 'TOTP QR code' }).replace(/<(\w+)([^<>]*)\/>/g, '<$1$2></$1>');
    expect(await page.innerHTML('#totp-qr')).toBe(expected);
    const qrFile = join(dir, 'qr.png');
    await page.locator('#totp-qr svg').screenshot({ path: qrFile });
    expect(execFileSync('zbarimg', ['--raw', '-q', qrFile]).toString('utf8').trim()).toBe(url);
    await shot('enrol');

    expect(await codeStep(code(secret, 9))).toBe(400);
    expect(await page.textContent('[role=alert]')).toContain('does not match');
    expect(await codeStep(code(secret))).toBe(200);
    recovery = (await page.locator('#recovery-codes code').allTextContents()).map((s) => s.trim());
    expect(recovery).toHaveLength(12);
    for (const c of recovery) expect(c).toMatch(/^RC-[A-Z2-9]{22}$/);
    await shot('recovery-codes');
    // Shown once: the profile page has only their count.
    await page.goto(`${base}/profile`);
    expect(await page.textContent('#unused-codes')).toBe('12');
    expect(await page.content()).not.toContain(recovery[0]!);
    // The API asks root for a code from now on.
    const token = await fetch(`http://127.0.0.1:${port}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ROOT_PASSWORD}`)}` } });
    expect(token.status).toBe(401);
    await logout();
  });

  test('a recovery code logs in once in place of the code', async () => {
    await passwordStep('root', ROOT_PASSWORD);
    expect(page.url()).toBe(`${base}/login/2fa`);
    expect(await codeStep(recovery[0]!)).toBe(303);
    expect(page.url()).toBe(`${base}/users`);
    await page.goto(`${base}/profile`);
    expect(await page.textContent('#unused-codes')).toBe('11');
    await logout();
    await passwordStep('root', ROOT_PASSWORD);
    expect(await codeStep(recovery[0]!)).toBe(401);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'root' && l.reason === 'recovery_code_invalid');
    expect(await codeStep(recovery[1]!)).toBe(303);
  });

  test('the password changes from the profile page; turning TOTP off drops the second step', async () => {
    await page.goto(`${base}/profile`);
    await page.fill('input[name=current_password]', ROOT_PASSWORD);
    await page.fill('input[name=new_password]', 'root-Web-Totp-2');
    await page.fill('input[name=new_password_again]', 'root-Web-Totp-2');
    await page.click('button:text-is("Change password")');
    await page.waitForLoadState();
    expect(await page.textContent('.flash')).toContain('Password changed');
    await page.click('button:text-is("Turn two-factor authentication off")');
    await page.waitForLoadState();
    expect(await page.textContent('#totp-status')).toContain('Disabled');
    await logout();
    await passwordStep('root', 'root-Web-Totp-2');
    expect(page.url()).toBe(`${base}/users`);
  });

  test("a super admin turns another admin's TOTP off from the admins list", async () => {
    await page.goto(`${base}/admins`);
    expect(await page.textContent('#admins tr[data-username="otpadmin"]')).toContain('TOTP');
    await page.click('#admins tr[data-username="otpadmin"] button:text-is("Turn off")');
    await page.waitForLoadState();
    expect(await page.textContent('.flash')).toContain('Two-factor authentication of otpadmin turned off');
    const token = await fetch(`http://127.0.0.1:${port}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`otpadmin:${OTP_PASSWORD}`)}` } });
    expect(token.status).toBe(200);
  });
});
