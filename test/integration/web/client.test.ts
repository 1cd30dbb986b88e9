// The web client driven by a real browser (Debian's chromium through playwright-core) against the
// real server: a refused login scored by the defender, login, a 20 MB upload through the file
// picker whose progress bar is seen part way (the user has an upload bandwidth limit) and at 100 %,
// the file downloaded back byte-identical, an upload held back by backpressure rather than buffered,
// drag and drop, a folder created, rename, move, copy and
// delete, a 5,000-entry directory shown page by page, text and image previews, the text editor and
// its size limit, a multi-selection downloaded as one zip (checked by unzip -t), a password-protected
// share made on the page that curl and then an anonymous browser download (refused without its
// password), its QR code decoded by zbarimg, TOTP enrolment (recovery codes shown once, one used)
// and the login that then asks for the code, share edit and delete, the profile, a user who must
// change the password, posts without the CSRF token, the Secure cookie over TLS, and a binding with
// enable_web_client: false. Screenshots of the main pages go to test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { base32Decode, hotp, totpStep } from '../../../src/auth/totp.ts';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';

const ALICE_PASSWORD = 'alice-Web-Client-1';
const ADMIN_PASSWORD = 'root-Web-Client-1';
const SHARE_PASSWORD = 'share-Secret-9';
const BOB_PASSWORD = 'bob-Web-Client-1';
const ED25519_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bob@host';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BIG = 20 * 1024 * 1024;

let server: RunningServer;
let dir: string;
let home: string;
let ports: { http: number; noClient: number; tls: number };
let browser: Browser;
let page: Page;
let origin: string;
let base: string;

beforeAll(async () => {
  dir = tempDir('web-client-');
  home = join(dir, 'homes', 'alice');
  ports = { http: await freePort(), noClient: await freePort(), tls: await freePort() };
  const cert = makeSelfSignedCert(dir);
  origin = `http://127.0.0.1:${ports.http}`;
  base = `${origin}/web/client`;
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(join(home, 'many'), { recursive: true });
  for (let i = 0; i < 5000; i++) writeFileSync(join(home, 'many', `f${String(i).padStart(4, '0')}.txt`), `${i}\n`);
  const yaml = `common:
  defender: { enabled: true, threshold: 100, score_valid: 1, score_invalid: 2, observation_time: 30 }
httpd:
  bindings:
    - { address: 127.0.0.1, port: ${ports.http} }
    - { address: 127.0.0.1, port: ${ports.noClient}, enable_web_client: false }
    - { address: 127.0.0.1, port: ${ports.tls}, enable_https: true, certificate_file: ${cert.cert}, certificate_key_file: ${cert.key} }
data_provider:
  users_base_dir: ${join(dir, 'homes')}
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: alice
    password: ${ALICE_PASSWORD}
    permissions: { "/": ["*"] }
    upload_bandwidth: 4096
  - username: bob
    password: ${BOB_PASSWORD}
    permissions: { "/": ["*"] }
    filters: { require_password_change: true }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
`;
  server = await startServer({ yaml, cwd: dir });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  page.on('dialog', (d) => void d.accept());
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `client-${name}.png`), fullPage: true });
}

async function login(password = ALICE_PASSWORD): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', password);
  await submit('button[type=submit]');
}

/** Clicks what leads to another page (a link, a form's button) and waits for that page. */
async function submit(selector: string, on: Page = page): Promise<void> {
  await Promise.all([on.waitForNavigation(), on.click(selector)]);
}

async function files(path = '/'): Promise<void> {
  await page.goto(`${base}/files?path=${encodeURIComponent(path)}`);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function rowNames(): Promise<string[]> {
  return page.locator('#files tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name') ?? ''));
}

async function flash(): Promise<string> {
  return (await page.locator('.flash').first().textContent()) ?? '';
}

function totpNow(secret: string): string {
  return hotp(base32Decode(secret)!, totpStep(Date.now() / 1000));
}

/** zbarimg's reading of an element's QR code, from a screenshot of it. */
async function decodeQr(selector: string, name: string): Promise<string> {
  const file = join(dir, `${name}.png`);
  await page.locator(selector).screenshot({ path: file });
  return execFileSync('zbarimg', ['--raw', '-q', '-Sbinary', file]).toString('utf8').replace(/\n$/, '');
}

describe('web client in a browser', () => {
  test('/web/client sends a visitor to the login page; the CSP allows scripts from this origin only', async () => {
    const res = await page.goto(`${base}`);
    expect(page.url()).toBe(`${base}/login`);
    const csp = res!.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await shot('login');
  });

  test('a wrong password is refused, logged as login_failed and scored by the defender', async () => {
    await login('not-the-password');
    expect(page.url()).toBe(`${base}/login`);
    expect(await flash()).toContain('Invalid credentials');
    const failed = await server.waitForLog((l) => l.event === 'login_failed' && l.protocol === 'HTTP' && l.username === 'alice');
    expect(failed.ip).toBe('127.0.0.1');
    const token = ((await (await fetch(`${origin}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } })).json()) as { access_token: string }).access_token;
    const hosts = (await (await fetch(`${origin}/api/v2/defender/hosts`, { headers: { authorization: `Bearer ${token}` } })).json()) as { ip: string; score: number }[];
    expect(hosts.find((h) => h.ip === '127.0.0.1')?.score ?? 0).toBeGreaterThan(0);
  });

  test('login sets an HttpOnly SameSite=Strict cookie and lands on the file list', async () => {
    await login();
    expect(page.url()).toBe(`${base}/files`);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'sftpgo_client_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/web/client', secure: false });
    await server.waitForLog((l) => l.event === 'login' && l.protocol === 'HTTP' && l.username === 'alice');
    expect(await rowNames()).toEqual(['many']);
    await shot('files-empty');
  });

  const bigFile = () => join(dir, 'big.bin');

  test('a 20 MB upload shows its progress part way and at 100 %, then the file is listed', async () => {
    writeFileSync(bigFile(), randomBytes(BIG));
    await page.setInputFiles('#upload-input', bigFile());
    // The user's 4 MB/s upload limit makes the transfer last about five seconds.
    const partway = await page.waitForFunction(() => {
      const v = (document.getElementById('upload-progress') as HTMLProgressElement).value;
      return v > 0 && v < 100 ? v : false;
    }, undefined, { polling: 50, timeout: 20_000 });
    const seen = (await partway.jsonValue()) as number;
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(100);
    expect(await page.textContent('#upload-status')).toMatch(/^\d+ %$/);
    await shot('upload-progress');
    await page.waitForFunction(() => (document.getElementById('upload-progress') as HTMLProgressElement).value === 100, undefined, { polling: 50, timeout: 30_000 });
    expect(await page.textContent('#upload-status')).toContain('100 %');
    expect(await page.getAttribute('#upload', 'data-state')).toBe('done');
    // The page reloads with the new file listed.
    await page.waitForSelector('tr[data-name="big.bin"]', { timeout: 10_000 });
    expect(await page.getAttribute('tr[data-name="big.bin"] td[data-size]', 'data-size')).toBe(String(BIG));
    expect(sha256(readFileSync(join(home, 'big.bin')))).toBe(sha256(readFileSync(bigFile())));
  });

  test('the file downloads back byte-identical, and a range of it is served', async () => {
    await files('/');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('tr[data-name="big.bin"] td:nth-child(2) a')]);
    const saved = join(dir, 'big.downloaded');
    await download.saveAs(saved);
    expect(sha256(readFileSync(saved))).toBe(sha256(readFileSync(bigFile())));
    const ranged = await page.request.get(`${base}/file?path=%2Fbig.bin`, { headers: { range: 'bytes=100-199' } });
    expect(ranged.status()).toBe(206);
    expect(Buffer.from(await ranged.body()).equals(readFileSync(bigFile()).subarray(100, 200))).toBe(true);
  });

  test('an upload streams: a client ahead of the 4 MB/s limit is held back rather than buffered', async () => {
    await files('/');
    const csrf = (await page.getAttribute('#upload', 'data-csrf'))!;
    const session = (await page.context().cookies()).find((c) => c.name === 'sftpgo_client_session')!;
    const size = 200 * 1024 * 1024;
    const req = httpRequest(`${base}/files/upload?path=%2Fpaced.bin`, {
      method: 'POST',
      headers: { cookie: `sftpgo_client_session=${session.value}`, 'x-csrf-token': csrf, 'content-length': String(size) },
    });
    req.on('error', () => undefined);
    const block = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && sent < size) {
      sent += block.length;
      if (!req.write(block)) await Promise.race([new Promise((r) => req.once('drain', r)), Bun.sleep(Math.max(0, deadline - Date.now()))]);
    }
    req.destroy();
    // About 8 MB written in 2 s plus the socket buffers; a server reading the body into memory would take it all.
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    // The server lives on and the page still answers.
    await page.reload();
    expect(await rowNames()).toContain('many');
  });

  test('a file dropped on the drop zone is uploaded', async () => {
    await files('/');
    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped by drag and drop\n'], 'dropped.txt', { type: 'text/plain' }));
      return dt;
    });
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
    await page.waitForSelector('tr[data-name="dropped.txt"]', { timeout: 10_000 });
    expect(readFileSync(join(home, 'dropped.txt'), 'utf8')).toBe('dropped by drag and drop\n');
    // The same name again: replaced once the user confirms.
    const asked: string[] = [];
    page.on('dialog', (d) => void asked.push(d.message()));
    const again = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped twice\n'], 'dropped.txt', { type: 'text/plain' }));
      return dt;
    });
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: again });
    await page.waitForFunction(() => document.getElementById('upload')?.getAttribute('data-state') === 'done', undefined, { timeout: 10_000 });
    expect(asked).toEqual(['dropped.txt already exists here: replace it?']);
    expect(readFileSync(join(home, 'dropped.txt'), 'utf8')).toBe('dropped twice\n');
    page.removeAllListeners('dialog');
    page.on('dialog', (d) => void d.accept());
  });

  test('create a folder, rename, move, copy and delete', async () => {
    await files('/');
    await page.fill('#mkdir input[name=name]', 'docs');
    await submit('#mkdir button');
    expect(await flash()).toContain('Directory "/docs" created');
    expect(await page.getAttribute('tr[data-name=docs]', 'data-type')).toBe('dir');

    await submit('tr[data-name="dropped.txt"] a:text-is("Rename / move / copy")');
    await page.fill('#rename input[name=name]', 'renamed.txt');
    await submit('#rename button');
    expect(await flash()).toContain('renamed to');
    expect(await rowNames()).toContain('renamed.txt');
    expect(await rowNames()).not.toContain('dropped.txt');

    await submit('tr[data-name="renamed.txt"] a:text-is("Rename / move / copy")');
    await page.fill('#move input[name=target]', '/docs/moved.txt');
    await submit('#move button');
    expect(await rowNames()).not.toContain('renamed.txt');
    expect(existsSync(join(home, 'docs', 'moved.txt'))).toBe(true);

    await files('/docs');
    expect(await page.locator('nav.crumbs').textContent()).toBe('Home/docs');
    await submit('tr[data-name="moved.txt"] a:text-is("Rename / move / copy")');
    await page.fill('#copy input[name=target]', '/docs/copied.txt');
    await submit('#copy button');
    expect(await rowNames()).toEqual(['copied.txt', 'moved.txt']);

    await submit('tr[data-name="copied.txt"] button:text-is("Delete")');
    expect(await flash()).toContain('deleted');
    expect(await rowNames()).toEqual(['moved.txt']);
    expect(existsSync(join(home, 'docs', 'copied.txt'))).toBe(false);
    await shot('files');
  });

  test('a directory of 5,000 entries is shown 100 a page', async () => {
    const started = Date.now();
    await files('/many');
    const firstPageMs = Date.now() - started;
    expect(await page.locator('#files tbody tr').count()).toBe(100);
    expect(await page.textContent('#page-of')).toBe('Page 1 of 50');
    expect((await rowNames())[0]).toBe('f0000.txt');
    await submit('a[rel=next]');
    expect(await page.textContent('#page-of')).toBe('Page 2 of 50');
    expect((await rowNames())[0]).toBe('f0100.txt');
    await submit('a:text-is("Last")');
    expect((await rowNames()).at(-1)).toBe('f4999.txt');
    await shot('files-many');
    console.log(`5,000-entry directory: first page in ${firstPageMs} ms`);
  });

  test('previews: a text file as text, an image as an image, each with nosniff', async () => {
    writeFileSync(join(home, 'notes.txt'), 'first line\n<b>not markup</b>\n');
    writeFileSync(join(home, 'picture.png'), await page.screenshot());
    await files('/');
    await submit('tr[data-name="notes.txt"] a:text-is("View")');
    expect(await page.textContent('#preview-text')).toBe('first line\n<b>not markup</b>\n');
    await shot('preview-text');
    await files('/');
    await submit('tr[data-name="picture.png"] a:text-is("View")');
    await page.waitForFunction(() => (document.getElementById('preview-image') as HTMLImageElement | null)?.naturalWidth ?? 0 > 0);
    expect(await page.evaluate(() => (document.getElementById('preview-image') as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await shot('preview-image');
    const inline = await page.request.get(`${base}/file?path=%2Fpicture.png&inline=1`);
    expect(inline.headers()['content-type']).toBe('image/png');
    expect(inline.headers()['content-disposition']).toStartWith('inline');
    expect(inline.headers()['x-content-type-options']).toBe('nosniff');
    writeFileSync(join(home, 'doc.pdf'), '%PDF-1.4\n%%EOF\n');
    const pdf = await page.request.get(`${base}/file?path=%2Fdoc.pdf&inline=1`);
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect(pdf.headers()['content-disposition']).toStartWith('inline');
    expect(pdf.headers()['content-security-policy']).not.toContain('sandbox');
    await page.goto(`${base}/viewfile?path=%2Fdoc.pdf`);
    expect(await page.getAttribute('#preview-pdf', 'data')).toBe('/web/client/file?path=%2Fdoc.pdf&inline=1');
    // HTML from the user's tree is never shown inline on this origin.
    writeFileSync(join(home, 'page.html'), '<script>alert(1)</script>');
    const html = await page.request.get(`${base}/file?path=%2Fpage.html&inline=1`);
    expect(html.headers()['content-disposition']).toStartWith('attachment');
    expect(html.headers()['content-security-policy']).toContain('sandbox');
  });

  test('a small text file is edited in place; a larger one than 2 MB is refused with a message', async () => {
    await files('/');
    await submit('tr[data-name="notes.txt"] a:text-is("Edit")');
    await page.fill('#editor textarea', 'edited line 1\nedited line 2\n');
    await shot('edit');
    await submit('#editor button');
    expect(await flash()).toContain('saved');
    expect(readFileSync(join(home, 'notes.txt'), 'utf8')).toBe('edited line 1\nedited line 2\n');
    writeFileSync(join(home, 'large.txt'), 'x'.repeat(2 * 1024 * 1024 + 1));
    await page.goto(`${base}/editfile?path=%2Flarge.txt`);
    expect(await page.textContent('.flash.error')).toContain('larger than 2.0 MiB');
  });

  test('a multi-selection downloads as one zip that unzip -t accepts', async () => {
    await files('/');
    await page.check('tr[data-name="notes.txt"] input[name=paths]');
    await page.check('tr[data-name=docs] input[name=paths]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#zipform button')]);
    const zip = join(dir, 'selection.zip');
    await download.saveAs(zip);
    const out = execFileSync('unzip', ['-t', zip]).toString();
    expect(out).toContain('No errors detected');
    expect(out).toContain('notes.txt');
    expect(out).toContain('docs/moved.txt');
  });

  test('a password-protected share made on the page: curl needs the password, and the QR code reads back the link', async () => {
    await files('/');
    await submit('tr[data-name="notes.txt"] a:text-is("Share")');
    expect(await page.inputValue('#share-form textarea[name=paths]')).toBe('/notes.txt');
    await page.fill('#share-form input[name=password]', SHARE_PASSWORD);
    await page.fill('#share-form input[name=max_tokens]', '5');
    await shot('share-new');
    await submit('#share-form button[type=submit]');
    expect(page.url()).toBe(`${base}/shares`);
    expect(await flash()).toContain('created');
    const id = (await page.getAttribute('[data-share-id]', 'data-share-id'))!;
    const link = `${base}/pubshares/${id}`;
    expect(await page.textContent('[data-share-link]')).toBe(link);
    expect(await page.getAttribute('[data-share-id] button[data-copy]', 'data-copy')).toBe(link);
    expect(await decodeQr('[data-share-id] [data-qr] svg', 'share-qr')).toBe(link);
    await shot('shares');
    const url = `${origin}/api/v2/shares/${id}?compress=false`;
    const without = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', url]).toString();
    expect(without).toBe('401');
    const withPassword = execFileSync('curl', ['-s', '-u', `anyone:${SHARE_PASSWORD}`, url]).toString();
    expect(withPassword).toBe('edited line 1\nedited line 2\n');

    // An anonymous browser (no cookie of the user's) follows the link: the password form first,
    // refused with a wrong password, then the download with the right one.
    const anonymous = await browser.newContext({ acceptDownloads: true });
    try {
      const visitor = await anonymous.newPage();
      await visitor.goto(link);
      expect(visitor.url()).toContain(`/pubshares/${id}/login`);
      await visitor.fill('input[name=share_password]', 'not-the-password');
      const [refused] = await Promise.all([visitor.waitForResponse((r) => r.request().method() === 'POST'), visitor.click('button[type=submit]')]);
      expect(refused.status()).toBe(401);
      expect(visitor.url()).toContain(`/pubshares/${id}/login`);
      await visitor.fill('input[name=share_password]', SHARE_PASSWORD);
      // Back to the link, which is the share's zip (as SFTPGo's).
      const [zip] = await Promise.all([visitor.waitForEvent('download'), visitor.click('button[type=submit]')]);
      const savedZip = join(dir, 'share-visitor.zip');
      await zip.saveAs(savedZip);
      expect(execFileSync('unzip', ['-p', savedZip, 'notes.txt']).toString()).toBe('edited line 1\nedited line 2\n');
      // The download page offers the file itself.
      await visitor.goto(`${link}/download`);
      await visitor.screenshot({ path: join(SHOTS, 'client-share-visitor.png') });
      const [download] = await Promise.all([visitor.waitForEvent('download'), visitor.click('#download')]);
      const saved = join(dir, 'share-visitor.txt');
      await download.saveAs(saved);
      expect(readFileSync(saved, 'utf8')).toBe('edited line 1\nedited line 2\n');
    } finally {
      await anonymous.close();
    }
  });

  test('a share is edited (its password kept) and deleted', async () => {
    const id = (await page.getAttribute('[data-share-id]', 'data-share-id'))!;
    await submit(`[data-share-id="${id}"] a:text-is("Edit")`);
    // three downloads so far (curl, the visitor's zip and file): one more is left
    await page.fill('#share-form input[name=max_tokens]', '4');
    await page.fill('#share-form input[name=description]', 'for the team');
    await submit('#share-form button[type=submit]');
    expect(await flash()).toContain('saved');
    expect(await page.textContent(`[data-share-id="${id}"]`)).toContain('for the team');
    expect(await page.textContent(`[data-share-id="${id}"]`)).toContain('of 4 times');
    const url = `${origin}/api/v2/shares/${id}?compress=false`;
    expect(execFileSync('curl', ['-s', '-u', `anyone:${SHARE_PASSWORD}`, url]).toString()).toBe('edited line 1\nedited line 2\n');
    await submit(`[data-share-id="${id}"] button:text-is("Delete")`);
    expect(await flash()).toContain('Share deleted');
    expect(await page.locator('[data-share-id]').count()).toBe(0);
    expect(execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', `anyone:${SHARE_PASSWORD}`, url]).toString()).toBe('404');
  });

  test('the profile saves email, description and public keys, as the user API shows them', async () => {
    await page.goto(`${base}/profile`);
    await page.fill('#profile input[name=email]', 'alice@example.com');
    await page.fill('#profile input[name=description]', 'Alice from accounting');
    await page.fill('#profile textarea[name=public_keys]', ED25519_KEY);
    await submit('#profile button[type=submit]');
    expect(await flash()).toContain('Profile updated');
    expect(await page.inputValue('#profile input[name=email]')).toBe('alice@example.com');
    const token = ((await (await fetch(`${origin}/api/v2/user/token`, { headers: { authorization: `Basic ${btoa(`alice:${ALICE_PASSWORD}`)}` } })).json()) as { access_token: string }).access_token;
    const profile = await (await fetch(`${origin}/api/v2/user/profile`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(profile).toMatchObject({ email: 'alice@example.com', description: 'Alice from accounting', public_keys: [ED25519_KEY] });
    await page.fill('#profile input[name=email]', 'not an address');
    await submit('#profile button[type=submit]');
    expect(await flash()).toContain('email');
  });

  test('TOTP enrolment in the profile, a login that then asks for the code, and TOTP turned off', async () => {
    await page.goto(`${base}/profile`);
    await shot('profile');
    await submit('button:text-is("Set up TOTP")');
    const secret = (await page.textContent('#totp-secret'))!;
    const url = (await page.getAttribute('#totp-qr', 'data-url'))!;
    expect(url).toContain(`secret=${secret}`);
    expect(await decodeQr('#totp-qr svg', 'totp-qr')).toBe(url);
    await shot('totp-setup');
    await page.fill('#totp-save input[name=passcode]', totpNow(secret));
    await submit('#totp-save button[type=submit]');
    // The recovery codes are shown once, right after the enrolment.
    const codes = await page.locator('ul.recovery-codes code').allTextContents();
    expect(codes).toHaveLength(12);
    for (const code of codes) expect(code).toMatch(/^RC-[A-Za-z0-9]{22}$/);
    await shot('recovery-codes');
    await page.goto(`${base}/profile`);
    expect(await page.locator('#totp-on').count()).toBe(1);

    await submit('header button:text-is("Log out")');
    expect(page.url()).toBe(`${base}/login`);
    await page.goto(`${base}/files`);
    expect(page.url()).toBe(`${base}/login`);

    await login();
    expect(page.url()).toBe(`${base}/twofactor`);
    await shot('twofactor');
    await page.fill('input[name=passcode]', '000000' === totpNow(secret) ? '111111' : '000000');
    await submit('button[type=submit]');
    // Back to the login form, which starts again from the password.
    expect(await flash()).toContain('Invalid authentication code');
    expect(await page.locator('input[name=password]').count()).toBe(1);
    await server.waitForLog((l) => l.event === 'login_failed' && l.username === 'alice' && String(l.reason ?? '').includes('totp'));

    // A recovery code works once in place of the code.
    await login();
    await page.fill('input[name=passcode]', codes[0]!);
    await submit('button[type=submit]');
    expect(page.url()).toBe(`${base}/files`);
    await submit('header button:text-is("Log out")');
    await login();
    await page.fill('input[name=passcode]', codes[0]!);
    await submit('button[type=submit]');
    expect(await flash()).toContain('Invalid authentication code');

    await login();
    expect(page.url()).toBe(`${base}/twofactor`);
    await page.fill('input[name=passcode]', totpNow(secret));
    await submit('button[type=submit]');
    expect(page.url()).toBe(`${base}/files`);

    // Turned off again: the next login needs the password alone.
    await page.goto(`${base}/profile`);
    await submit('button:text-is("Turn TOTP off")');
    expect(await flash()).toContain('TOTP configuration saved');
    expect(await page.locator('#totp-off').count()).toBe(1);
    await submit('header button:text-is("Log out")');
    await login();
    expect(page.url()).toBe(`${base}/files`);
  });

  test('a post without the CSRF token is refused 403, a form post and an upload alike', async () => {
    const form = await page.request.post(`${base}/dirs`, { form: { dir: '/', name: 'forged' } });
    expect(form.status()).toBe(403);
    const upload = await page.request.post(`${base}/files/upload?path=%2Fforged.txt`, { data: 'forged' });
    expect(upload.status()).toBe(403);
    expect(existsSync(join(home, 'forged'))).toBe(false);
    expect(existsSync(join(home, 'forged.txt'))).toBe(false);
    await server.waitForLog((l) => l.event === 'web_csrf_refused' && l.username === 'alice');
  });

  test('a user who must change the password reaches only the profile, changes it, and logs in with the new one', async () => {
    const own = await (await browser.newContext()).newPage();
    const loginBob = async (password: string) => {
      await own.goto(`${base}/login`);
      await own.fill('input[name=username]', 'bob');
      await own.fill('input[name=password]', password);
      await submit('button[type=submit]', own);
    };
    await loginBob(BOB_PASSWORD);
    expect(own.url()).toBe(`${base}/profile`);
    await own.goto(`${base}/files`);
    expect(own.url()).toBe(`${base}/profile`);
    expect(await own.textContent('.flash.error')).toContain('set a new password');
    await own.fill('#changepwd input[name=current_password]', BOB_PASSWORD);
    await own.fill('#changepwd input[name=new_password1]', 'bob-New-Password-2');
    await own.fill('#changepwd input[name=new_password2]', 'bob-New-Password-2');
    await submit('#changepwd button[type=submit]', own);
    expect(own.url()).toBe(`${base}/login?changed=1`);
    expect(await own.textContent('.flash.info')).toContain('Password changed');
    await loginBob('bob-New-Password-2');
    expect(own.url()).toBe(`${base}/files`);
    await own.context().close();
  });

  test('over TLS the session cookie is also Secure', () => {
    const jar = join(dir, 'tls-cookies');
    const url = `https://127.0.0.1:${ports.tls}/web/client/login`;
    const form = execFileSync('curl', ['-sk', '-c', jar, url]).toString();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1]!;
    const headers = execFileSync('curl', ['-sk', '-b', jar, '-o', '/dev/null', '-D', '-', '--data-urlencode', `_csrf=${csrf}`, '--data-urlencode', 'username=bob', '--data-urlencode', 'password=bob-New-Password-2', url]).toString();
    expect(headers).toContain('HTTP/1.1 303');
    expect(headers).toMatch(/set-cookie: sftpgo_client_session=[^;]+; Path=\/web\/client; HttpOnly; Secure; SameSite=Strict/i);
  });

  test('a binding with enable_web_client: false does not serve the web client', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.noClient}/web/client/login`);
    expect(res.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${ports.noClient}/web/admin/login`)).status).toBe(200);
  });
});
