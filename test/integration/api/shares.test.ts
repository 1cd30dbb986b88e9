// Share links end to end against a real `serve`: a user creates shares through the user API, and
// visitors use them over plain HTTP (fetch and curl, archives checked with Debian's unzip): each
// scope, the password, expiry, max_tokens, allow_from, the owner's permissions and status read
// afresh on every request, path escapes (.., encoded, links), and uploads that land in the owner's
// directory whole or not at all.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'bob-Secret-1';
const ADMIN = 'admin-Secret-1';

let server: RunningServer;
let dir: string;
let home: string;
let port: number;
let userToken: string;
let adminToken: string;

const url = (p: string) => `http://127.0.0.1:${port}${p}`;
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

beforeAll(async () => {
  dir = tempDir('shares-it-');
  home = join(dir, 'homes/bob');
  mkdirSync(join(home, 'docs/sub'), { recursive: true });
  mkdirSync(join(home, 'inbox'), { recursive: true });
  mkdirSync(join(dir, 'homes/carol'), { recursive: true });
  mkdirSync(join(home, 'big'), { recursive: true });
  writeFileSync(join(home, 'big/blob.bin'), Buffer.alloc(64 * 1024 * 1024, 'z'));
  writeFileSync(join(home, 'big/empty.txt'), '');
  writeFileSync(join(home, 'docs/a.txt'), 'alpha\n');
  writeFileSync(join(home, 'docs/sub/b.txt'), 'bravo bravo\n');
  writeFileSync(join(home, 'secret.txt'), 'not shared\n');
  writeFileSync(join(home, 'report.pdf'), Buffer.alloc(5000, 'r'));
  // Links below a shared directory that point elsewhere in the owner's home.
  symlinkSync('../secret.txt', join(home, 'docs/link.txt'));
  symlinkSync('..', join(home, 'docs/up'));
  symlinkSync('..', join(home, 'inbox/up'));
  // What visitors upload.
  writeFileSync(join(dir, 'm1.txt'), 'one');
  writeFileSync(join(dir, 'm2.txt'), 'two');
  port = await freePort();
  const sftpPort = await freePort();
  server = await startServer({
    cwd: dir,
    yaml: `common:
  upload_mode: atomic
  defender:
    enabled: true
    threshold: 100
sftpd:
  bindings:
    - { address: 127.0.0.1, port: ${sftpPort} }
httpd:
  bindings:
    - { address: 127.0.0.1, port: ${port} }
data_provider:
  password_hashing:
    bcrypt_options: { cost: 4 }
users:
  - username: bob
    password: "${PASSWORD}"
    home_dir: ${home}
    permissions: { "/": ["*"] }
  - username: carol
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'homes/carol')}
    permissions: { "/": ["*"] }
    filters: { default_shares_expiration: 2, max_shares_expiration: 5 }
admins:
  - username: root
    password: "${ADMIN}"
    permissions: ["*"]
`,
  });
  userToken = (await (await fetch(url('/api/v2/user/token'), { headers: { authorization: basic('bob', PASSWORD) } })).json()).access_token;
  adminToken = (await (await fetch(url('/api/v2/token'), { headers: { authorization: basic('root', ADMIN) } })).json()).access_token;
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

async function userApi(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(url(path), {
    method,
    headers: { authorization: `Bearer ${userToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function share(body: Record<string, unknown>): Promise<string> {
  const r = await userApi('POST', '/api/v2/user/shares', body);
  if (r.status !== 201) throw new Error(`share: ${r.status} ${JSON.stringify(r.json)}`);
  return r.headers.get('x-object-id')!;
}

/** Changes the owner through the admin API (a PUT replaces the user: the current one is sent back changed). */
async function setOwner(fields: Record<string, unknown>): Promise<void> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const current = await (await fetch(url('/api/v2/users/bob'), { headers })).json();
  const res = await fetch(url('/api/v2/users/bob'), { method: 'PUT', headers, body: JSON.stringify({ ...current, ...fields }) });
  if (res.status !== 200) throw new Error(`PUT user: ${res.status} ${await res.text()}`);
}

/** curl's answer: the body (or, with `out`, the headers) and the status. */
function curl(args: string[], out?: string): { status: number; body: string } {
  const r = spawnSync('curl', ['-sS', ...(out ? ['-o', out] : []), '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const at = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
}

function unzip(args: string[]): string {
  const r = spawnSync('unzip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`unzip ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('the user API for shares', () => {
  test("SFTPGo's validation, and paths checked against the owner's tree", async () => {
    const bad = async (body: Record<string, unknown>, status: number, text: string) => {
      const r = await userApi('POST', '/api/v2/user/shares', body);
      expect(r.status).toBe(status);
      expect(JSON.stringify(r.json)).toContain(text);
    };
    await bad({ scope: 2, paths: ['/docs', '/inbox'] }, 400, 'the write share scope requires exactly one path');
    await bad({ scope: 1, paths: ['/docs', '/docs/sub'] }, 400, 'shared paths cannot be nested');
    await bad({ scope: 1, paths: ['/nothing'] }, 400, 'does not exist');
    await bad({ scope: 2, paths: ['/secret.txt'] }, 400, 'requires a directory');
    await bad({ scope: 5, paths: ['/docs'] }, 400, 'invalid scope');
    await bad({ scope: 1, paths: ['/docs'], expires_at: Date.now() - 1000 }, 400, 'expiration must be in the future');
  });

  test('filters.default_shares_expiration and max_shares_expiration, as SFTPGo applies them', async () => {
    const headers = { authorization: `Bearer ${(await (await fetch(url('/api/v2/user/token'), { headers: { authorization: basic('carol', PASSWORD) } })).json()).access_token}`, 'content-type': 'application/json' };
    const post = (body: Record<string, unknown>) => fetch(url('/api/v2/user/shares'), { method: 'POST', headers, body: JSON.stringify(body) });
    const created = await post({ scope: 1, paths: ['/'] });
    expect(created.status).toBe(201);
    const id = created.headers.get('x-object-id')!;
    const got = await (await fetch(url(`/api/v2/user/shares/${id}`), { headers })).json();
    expect(got.expires_at - Date.now()).toBeGreaterThan(2 * 86_400_000 - 60_000);
    expect(got.expires_at - Date.now()).toBeLessThanOrEqual(2 * 86_400_000);
    const late = await post({ scope: 1, paths: ['/'], expires_at: Date.now() + 7 * 86_400_000 });
    expect(late.status).toBe(400);
    expect((await late.json()).error).toMatch(/^the share must expire before \d{4}-\d\d-\d\d$/);
    const put = await fetch(url(`/api/v2/user/shares/${id}`), { method: 'PUT', headers, body: JSON.stringify({ ...got, expires_at: 0 }) });
    expect(put.status).toBe(400);
    expect((await post({ scope: 1, paths: ['/'], expires_at: Date.now() + 4 * 86_400_000 })).status).toBe(201);
  });

  test('create, get (password redacted), list with paging, replace keeping the password, delete', async () => {
    const r = await userApi('POST', '/api/v2/user/shares', { name: 'crud', scope: 1, paths: ['docs/'], password: 'pw-1' });
    expect(r.status).toBe(201);
    const id = r.headers.get('x-object-id')!;
    expect(id).toMatch(/^[0-9a-v]{20}$/);
    expect(r.headers.get('location')).toBe(`/api/v2/user/shares/${id}`);
    const got = await userApi('GET', `/api/v2/user/shares/${id}`);
    expect(got.json).toMatchObject({ id, name: 'crud', scope: 1, paths: ['/docs'], username: 'bob', password: '[**redacted**]' });
    const second = await share({ name: 'crud2', scope: 1, paths: ['/secret.txt'] });
    const ids = [id, second].sort();
    expect((await userApi('GET', '/api/v2/user/shares?limit=1')).json.map((s: any) => s.id)).toEqual([ids[0]]);
    expect((await userApi('GET', '/api/v2/user/shares?limit=1&offset=1')).json.map((s: any) => s.id)).toEqual([ids[1]]);
    expect((await userApi('GET', '/api/v2/user/shares?order=DESC')).json.map((s: any) => s.id).filter((x: string) => ids.includes(x))).toEqual([ids[1], ids[0]]);
    expect((await userApi('PUT', `/api/v2/user/shares/${id}`, { ...got.json, description: 'now described' })).status).toBe(200);
    // The password sent back redacted is kept: the share still asks for it.
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`))).status).toBe(401);
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`), { headers: { authorization: basic('x', 'pw-1') } })).status).toBe(200);
    expect((await userApi('GET', `/api/v2/user/shares/${id}`)).json.description).toBe('now described');
    expect((await userApi('DELETE', `/api/v2/user/shares/${id}`)).status).toBe(200);
    for (const action of ['create', 'updated', 'delete'])
      expect(await server.waitForLog((l) => l.event === 'api_change' && l.kind === 'share' && l.name === id && l.action === action)).toMatchObject({ by: 'bob' });
    expect((await userApi('GET', `/api/v2/user/shares/${id}`)).status).toBe(404);
    expect((await fetch(url(`/api/v2/shares/${id}`))).status).toBe(404);
  });
});

describe('read shares', () => {
  test('a directory downloads as a zip of its contents, without the links in it', async () => {
    const id = await share({ name: 'docs', scope: 1, paths: ['/docs'] });
    const out = join(dir, 'docs.zip');
    const r = curl(['-D', '-', url(`/api/v2/shares/${id}`)], out);
    expect(r.body).toContain('attachment; filename="share-docs.zip"');
    expect(unzip(['-t', out])).toContain('No errors detected');
    const listed = unzip(['-Z1', out]).trim().split('\n').sort();
    expect(listed).toEqual(['a.txt', 'sub/', 'sub/b.txt']);
    expect(unzip(['-p', out, 'sub/b.txt'])).toBe('bravo bravo\n');
  });

  test('several paths keep their names; one file with compress=false comes as itself', async () => {
    const id = await share({ name: 'two', scope: 1, paths: ['/docs/sub', '/report.pdf'] });
    const out = join(dir, 'two.zip');
    curl([url(`/api/v2/shares/${id}`)], out);
    expect(unzip(['-Z1', out]).trim().split('\n').sort()).toEqual(['docs/sub/', 'docs/sub/b.txt', 'report.pdf']);
    const one = await share({ name: 'one', scope: 1, paths: ['/report.pdf'] });
    const raw = await fetch(url(`/api/v2/shares/${one}?compress=false`));
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-disposition')).toBe('attachment; filename="report.pdf"');
    expect((await raw.arrayBuffer()).byteLength).toBe(5000);
    const zipped = join(dir, 'one.zip');
    curl([url(`/api/v2/shares/${one}`)], zipped);
    expect(unzip(['-Z1', zipped]).trim()).toBe('report.pdf');
  });

  test("browsing: DirEntry lists, file downloads with ranges, and nothing outside the shared directory", async () => {
    const id = await share({ name: 'browse', scope: 1, paths: ['/docs'] });
    const root = await (await fetch(url(`/api/v2/shares/${id}/dirs`))).json();
    expect(root.map((e: any) => e.name).sort()).toEqual(['a.txt', 'sub']);
    expect(root.find((e: any) => e.name === 'sub').mode).toBe(2147483648 + 0o755);
    expect(root.find((e: any) => e.name === 'a.txt')).toMatchObject({ size: 6, last_modified: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect((await (await fetch(url(`/api/v2/shares/${id}/dirs?path=sub`))).json()).map((e: any) => e.name)).toEqual(['b.txt']);
    expect(await (await fetch(url(`/api/v2/shares/${id}/files?path=sub/b.txt`))).text()).toBe('bravo bravo\n');
    const ranged = await fetch(url(`/api/v2/shares/${id}/files?path=sub/b.txt`), { headers: { range: 'bytes=6-' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 6-11/12');
    expect(await ranged.text()).toBe('bravo\n');
    expect((await fetch(url(`/api/v2/shares/${id}/files?path=sub`))).status).toBe(400);
    // Escapes: plain and encoded "..", and links that point out of the shared directory.
    for (const p of ['../secret.txt', '%2e%2e%2fsecret.txt', '..%2F..%2Fsecret.txt', 'sub/../../secret.txt']) {
      const r = await fetch(url(`/api/v2/shares/${id}/files?path=${p}`));
      expect(r.status).toBe(400);
      expect(await r.text()).not.toContain('not shared');
    }
    for (const p of ['link.txt', 'up/secret.txt']) {
      const r = await fetch(url(`/api/v2/shares/${id}/files?path=${p}`));
      expect(r.status).toBe(403);
      expect(await r.text()).not.toContain('not shared');
    }
    expect((await fetch(url(`/api/v2/shares/${id}/dirs?path=up`))).status).toBe(403);
    expect((await fetch(url(`/api/v2/shares/${id}/dirs?path=..`))).status).toBe(400);
    // A read share takes no uploads.
    expect((await fetch(url(`/api/v2/shares/${id}/x.txt`), { method: 'POST', body: 'x' })).status).toBe(403);
  });

  test("the password: asked with a Basic challenge, a wrong one refused and scored by the defender", async () => {
    const id = await share({ name: 'locked', scope: 1, paths: ['/docs'], password: 'open-sesame' });
    const none = await fetch(url(`/api/v2/shares/${id}/dirs`));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="SFTPGo Web"');
    expect(await none.json()).toEqual({ message: 'Unauthorized', error: 'invalid credentials' });
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`), { headers: { authorization: basic('any', 'wrong') } })).status).toBe(401);
    const line = await server.waitForLog((l) => l.event === 'login_failed' && l.reason === 'share_invalid_password');
    expect(line).toMatchObject({ username: 'bob', protocol: 'HTTP', ip: '127.0.0.1' });
    const hosts = await (await fetch(url('/api/v2/defender/hosts'), { headers: { authorization: `Bearer ${adminToken}` } })).json();
    expect(hosts.find((h: any) => h.ip === '127.0.0.1')?.score).toBeGreaterThan(0);
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`), { headers: { authorization: basic('', 'open-sesame') } })).status).toBe(200);
  });

  test('max_tokens: each download is one use; then 404, and a use a failed download reserved is given back', async () => {
    const id = await share({ name: 'twice', scope: 1, paths: ['/docs'], max_tokens: 2 });
    expect((await fetch(url(`/api/v2/shares/${id}/files?path=nothing.txt`))).status).toBe(404);
    // Browsing is not a use.
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`))).status).toBe(200);
    expect((await fetch(url(`/api/v2/shares/${id}/files?path=a.txt`))).status).toBe(200);
    const zip = await fetch(url(`/api/v2/shares/${id}`));
    expect(zip.status).toBe(200);
    await zip.arrayBuffer();
    // Used up, as in SFTPGo, the share answers nothing more, browsing included.
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`))).status).toBe(404);
    const third = await fetch(url(`/api/v2/shares/${id}/files?path=a.txt`));
    expect(third.status).toBe(404);
    expect((await third.json()).message).toBe('max share usage exceeded');
    expect((await userApi('GET', `/api/v2/user/shares/${id}`)).json).toMatchObject({ used_tokens: 2, last_use_at: expect.any(Number) });
  });

  test('expired shares are 404, and allow_from refuses other addresses with 403', async () => {
    const soon = await share({ name: 'soon', scope: 1, paths: ['/docs'], expires_at: Date.now() + 1500 });
    expect((await fetch(url(`/api/v2/shares/${soon}/dirs`))).status).toBe(200);
    await Bun.sleep(1600);
    const gone = await fetch(url(`/api/v2/shares/${soon}/dirs`));
    expect(gone.status).toBe(404);
    expect((await gone.json()).message).toBe('share expired');
    const fenced = await share({ name: 'fenced', scope: 1, paths: ['/docs'], allow_from: ['192.0.2.0/24'] });
    const refused = await fetch(url(`/api/v2/shares/${fenced}/dirs`));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toBe('login is not allowed from this IP');
    const open = await share({ name: 'local', scope: 1, paths: ['/docs'], allow_from: ['192.0.2.0/24', '127.0.0.0/8'] });
    expect((await fetch(url(`/api/v2/shares/${open}/dirs`))).status).toBe(200);
  });

  test("the owner's permissions and status apply to every request", async () => {
    const id = await share({ name: 'owner', scope: 1, paths: ['/docs'] });
    expect((await fetch(url(`/api/v2/shares/${id}/files?path=a.txt`))).status).toBe(200);
    await setOwner({ permissions: { '/': ['list'] } });
    try {
      const r = await fetch(url(`/api/v2/shares/${id}/files?path=a.txt`));
      const text = await r.text();
      expect(`${r.status} ${text}`).toStartWith('403');
      expect(JSON.parse(text)).toEqual({ message: 'Unable to read the requested file', error: expect.stringContaining('download not allowed') });
      // Listing is still granted.
      expect((await fetch(url(`/api/v2/shares/${id}/dirs`))).status).toBe(200);
    } finally {
      await setOwner({ permissions: { '/': ['*'] } });
    }
    expect((await fetch(url(`/api/v2/shares/${id}/files?path=a.txt`))).status).toBe(200);
    await setOwner({ status: 0 });
    try {
      const r = await fetch(url(`/api/v2/shares/${id}/dirs`));
      expect(r.status).toBe(403);
      expect((await r.json()).error).toContain('user_disabled');
    } finally {
      await setOwner({ status: 1 });
    }
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`))).status).toBe(200);
  });
});

describe('sessions', () => {
  test('a visitor who leaves mid-download releases the session, and the use is given back', async () => {
    const id = await share({ name: 'big', scope: 1, paths: ['/big'], max_tokens: 5 });
    const adminGet = async (p: string) => (await fetch(url(p), { headers: { authorization: `Bearer ${adminToken}` } })).json();
    for (const path of [`/api/v2/shares/${id}`, `/api/v2/shares/${id}/files?path=blob.bin`]) {
      const ac = new AbortController();
      const res = await fetch(url(path), { signal: ac.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      await reader.read();
      // While it runs, the owner's session is listed with protocol HTTPShare.
      expect((await adminGet('/api/v2/connections')).map((c: any) => c.protocol)).toContain('HTTPShare');
      ac.abort();
      await reader.cancel().catch(() => undefined);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await adminGet('/api/v2/connections')).some((c: any) => c.protocol === 'HTTPShare')) await Bun.sleep(50);
      expect((await adminGet('/api/v2/connections')).filter((c: any) => c.protocol === 'HTTPShare')).toEqual([]);
    }
    // An empty file is a whole download too: one use, and nothing left open.
    const empty = await fetch(url(`/api/v2/shares/${id}/files?path=empty.txt`));
    expect(empty.status).toBe(200);
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
    expect((await adminGet('/api/v2/connections')).filter((c: any) => c.protocol === 'HTTPShare')).toEqual([]);
    let used = -1;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (used = (await userApi('GET', `/api/v2/user/shares/${id}`)).json.used_tokens ?? 0) !== 1) await Bun.sleep(50);
    expect(used).toBe(1);
  });
});

describe('write shares', () => {
  test("raw and multipart uploads land in the owner's directory; nothing lands outside it", async () => {
    const id = await share({ name: 'drop', scope: 2, paths: ['/inbox'] });
    const raw = await fetch(url(`/api/v2/shares/${id}/hello.txt`), { method: 'POST', body: 'hello share\n' });
    expect(raw.status).toBe(201);
    expect(readFileSync(join(home, 'inbox/hello.txt'), 'utf8')).toBe('hello share\n');
    const multi = curl(['-F', `filenames=@${join(dir, 'm1.txt')}`, '-F', `filenames=@${join(dir, 'm2.txt')};filename=../../m2.txt`, url(`/api/v2/shares/${id}`)]);
    expect(multi.status).toBe(201);
    expect(readFileSync(join(home, 'inbox/m1.txt'), 'utf8')).toBe('one');
    // A multipart name only keeps its last element.
    expect(readFileSync(join(home, 'inbox/m2.txt'), 'utf8')).toBe('two');
    expect((await fetch(url(`/api/v2/shares/${id}/deep%2Fer%2Ffile.txt?mkdir_parents=true`), { method: 'POST', body: 'deep' })).status).toBe(201);
    expect(readFileSync(join(home, 'inbox/deep/er/file.txt'), 'utf8')).toBe('deep');
    for (const name of ['..%2Fescaped.txt', '%2e%2e%2fescaped.txt', '..%2F..%2Fescaped.txt']) {
      const r = await fetch(url(`/api/v2/shares/${id}/${name}`), { method: 'POST', body: 'escaped' });
      expect(r.status).toBe(403);
    }
    const viaLink = await fetch(url(`/api/v2/shares/${id}/up%2Fescaped.txt`), { method: 'POST', body: 'escaped' });
    expect(viaLink.status).toBe(403);
    const mkdirViaLink = await fetch(url(`/api/v2/shares/${id}/up%2Fmade%2Fescaped.txt?mkdir_parents=true`), { method: 'POST', body: 'escaped' });
    expect(mkdirViaLink.status).toBe(403);
    expect(existsSync(join(home, 'made'))).toBe(false);
    expect(existsSync(join(home, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(dir, 'homes/escaped.txt'))).toBe(false);
    // A write-only share cannot be read.
    expect((await fetch(url(`/api/v2/shares/${id}`))).status).toBe(403);
    expect((await fetch(url(`/api/v2/shares/${id}/dirs`))).status).toBe(403);
  });

  test('max_tokens counts uploaded files: a multipart upload stops where the uses run out', async () => {
    const id = await share({ name: 'three', scope: 3, paths: ['/inbox'], max_tokens: 3 });
    expect((await fetch(url(`/api/v2/shares/${id}/t0.txt`), { method: 'POST', body: '0' })).status).toBe(201);
    const r = curl(['-F', `filenames=@${join(dir, 'm1.txt')};filename=t1.txt`, '-F', `filenames=@${join(dir, 'm1.txt')};filename=t2.txt`, '-F', `filenames=@${join(dir, 'm1.txt')};filename=t3.txt`, url(`/api/v2/shares/${id}`)]);
    expect(r.status).toBe(400);
    expect(r.body).toContain('Allowed usage exceeded: 2 file(s) stored');
    expect(['t0.txt', 't1.txt', 't2.txt', 't3.txt'].map((n) => existsSync(join(home, 'inbox', n)))).toEqual([true, true, true, false]);
    const used = await fetch(url(`/api/v2/shares/${id}/t4.txt`), { method: 'POST', body: '4' });
    expect(used.status).toBe(404);
    expect((await used.json()).message).toBe('max share usage exceeded');
    expect(existsSync(join(home, 'inbox/t4.txt'))).toBe(false);
    expect((await userApi('GET', `/api/v2/user/shares/${id}`)).json.used_tokens).toBe(3);
  });

  test('an upload cut mid-body leaves nothing in the directory, and the server lives on', async () => {
    const id = await share({ name: 'cut', scope: 2, paths: ['/inbox'] });
    const before = readdirSync(join(home, 'inbox')).sort();
    await new Promise<void>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write(`POST /api/v2/shares/${id}/partial.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n`);
        sock.write(Buffer.alloc(300_000, 'p'), () => setTimeout(() => sock.destroy(), 200));
      });
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    // The server saw the body end early and aborted the upload it had started.
    const line = await server.waitForLog((l) => l.event === 'share_request_failed' && l.share === id);
    expect(String(line.what)).toContain('partial.bin');
    expect(readdirSync(join(home, 'inbox')).sort()).toEqual(before);
    expect(existsSync(join(home, 'inbox/partial.bin'))).toBe(false);
    expect((await fetch(url(`/api/v2/shares/${id}/whole.bin`), { method: 'POST', body: Buffer.alloc(300_000, 'w') })).status).toBe(201);
    expect(readFileSync(join(home, 'inbox/whole.bin')).length).toBe(300_000);
  });
});
