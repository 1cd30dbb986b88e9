// The user REST API's file routes against a real server: listings in SFTPGo's DirEntry shape,
// directories, downloads with ranges (curl), multipart and raw uploads (curl), rename, copy, move,
// delete, the streamed zip (unzip), metadata, profile and password; permission and file-pattern
// denials, a quota cut in atomic mode, path escapes, virtual folders, and the custom actions the
// operations fire with protocol HTTP.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { Receiver } from '../actions/receiver.ts';

const PASSWORD = 'ann-Secret-1';

let server: RunningServer;
let rx: Receiver;
let dir: string;
let port: number;
let annHome: string;
let folder: string;
let outside: string;
let token: string;

function config(): string {
  return `common:
  upload_mode: 1
  actions:
    execute_on: [upload, download, delete, mkdir, rmdir, rename]
    hook: ${rx.url}
    timeout: 10
httpd:
  token_validity: 600
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
folders:
  - name: vf
    mapped_path: ${folder}
users:
  - username: ann
    password: "${PASSWORD}"
    home_dir: ${annHome}
    email: ann@example.com
    permissions:
      "/": ["*"]
      "/ro": [list, download]
      "/nolist": [download]
    virtual_folders:
      - { name: vf, virtual_path: /vf }
    filters:
      file_patterns:
        - { path: /, denied_patterns: ["*.exe"] }
  - username: quo
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'quo')}
    quota_size: 100000
    permissions: { "/": ["*"] }
  - username: pwd
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'pwd')}
    permissions: { "/": ["*"] }
    filters: { require_password_change: true }
`;
}

beforeAll(async () => {
  rx = await Receiver.start();
  dir = tempDir('user-api-');
  port = await freePort();
  annHome = join(dir, 'ann');
  folder = join(dir, 'vf');
  outside = join(dir, 'outside');
  for (const d of [annHome, folder, outside, join(annHome, 'ro'), join(annHome, 'nolist')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(annHome, 'ro', 'readme.txt'), 'read only');
  writeFileSync(join(annHome, 'nolist', 'n.txt'), 'x');
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
  symlinkSync(outside, join(annHome, 'escape'));
  server = await startServer({ yaml: config(), cwd: dir });
  token = await userToken('ann');
});
afterAll(async () => {
  await server?.stop();
  await rx?.stop();
  removeTempDirs();
});

function url(path: string, query: Record<string, string> = {}): string {
  const q = new URLSearchParams(query).toString();
  return `http://127.0.0.1:${port}${path}${q ? `?${q}` : ''}`;
}

async function userToken(user: string, password = PASSWORD): Promise<string> {
  const res = await fetch(url('/api/v2/user/token'), { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
  const body = (await res.json()) as { access_token: string };
  if (res.status !== 200) throw new Error(`token for ${user}: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

async function api(method: string, path: string, opts: { query?: Record<string, string>; body?: unknown; raw?: BodyInit; headers?: Record<string, string>; as?: string } = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.as ?? token}`, ...opts.headers };
  let body: BodyInit | undefined = opts.raw;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(url(path, opts.query), { method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

function curl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return run('curl', ['-sS', '-H', `Authorization: Bearer ${token}`, ...args]);
}

describe('directories', () => {
  test('list: SFTPGo DirEntry shape, virtual folders included', async () => {
    writeFileSync(join(annHome, 'a.txt'), 'hello');
    const r = await api('GET', '/api/v2/user/dirs');
    expect(r.status).toBe(200);
    const byName = new Map((r.json as any[]).map((e) => [e.name, e]));
    expect(byName.get('a.txt')).toMatchObject({ name: 'a.txt', size: 5, mode: 0o644 & statSync(join(annHome, 'a.txt')).mode });
    expect(byName.get('a.txt').last_modified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(byName.get('ro').mode).toBeGreaterThanOrEqual(2 ** 31);
    expect(byName.get('ro').size).toBeUndefined();
    expect(byName.has('vf')).toBe(true);
  });

  test('create with mkdir_parents, rename, delete; actions fire with protocol HTTP', async () => {
    const since = Date.now();
    expect((await api('POST', '/api/v2/user/dirs', { query: { path: '/x/y/z' } })).status).toBe(404);
    const made = await api('POST', '/api/v2/user/dirs', { query: { path: '/x/y/z', mkdir_parents: 'true' } });
    expect(made.status).toBe(201);
    expect(made.json.message).toBe('Directory "/x/y/z" created');
    expect(statSync(join(annHome, 'x/y/z')).isDirectory()).toBe(true);
    const mk = await rx.waitFor((b) => b.action === 'mkdir' && b.virtual_path === '/x/y/z');
    expect(mk.protocol).toBe('HTTP');
    expect(mk.username).toBe('ann');
    const ren = await api('PATCH', '/api/v2/user/dirs', { query: { path: '/x', target: '/x2' } });
    expect(ren.status).toBe(200);
    expect(ren.json.message).toBe('"/x" renamed to "/x2"');
    expect(existsSync(join(annHome, 'x2/y/z'))).toBe(true);
    expect((await rx.waitFor((b) => b.action === 'rename' && b.virtual_path === '/x')).protocol).toBe('HTTP');
    const del = await api('DELETE', '/api/v2/user/dirs', { query: { path: '/x2' } });
    expect(del.status).toBe(200);
    expect(existsSync(join(annHome, 'x2'))).toBe(false);
    expect((await rx.waitFor((b) => b.action === 'rmdir' && b.virtual_path === '/x2/y/z')).protocol).toBe('HTTP');
    void since;
  });

  test('permission denials are 403 with SFTPGo\'s error text', async () => {
    const r = await api('POST', '/api/v2/user/dirs', { query: { path: '/ro/sub' } });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ message: 'Unable to create directory "/ro/sub"', error: 'permission denied' });
    expect((await api('GET', '/api/v2/user/dirs', { query: { path: '/nolist' } })).status).toBe(403);
    expect((await api('DELETE', '/api/v2/user/dirs', { query: { path: '/ro' } })).status).toBe(403);
    expect(existsSync(join(annHome, 'ro/readme.txt'))).toBe(true);
  });
});

describe('downloads', () => {
  test('whole file and a byte range with curl (206, Content-Range)', async () => {
    writeFileSync(join(annHome, 'digits.txt'), '0123456789');
    const whole = await curl(['-D', '-', url('/api/v2/user/files', { path: '/digits.txt' })]);
    expect(whole.stdout).toMatch(/^HTTP\/1.1 200/);
    expect(whole.stdout).toMatch(/content-disposition: attachment; filename="digits.txt"/i);
    expect(whole.stdout).toMatch(/accept-ranges: bytes/i);
    expect(whole.stdout.endsWith('0123456789')).toBe(true);
    const part = await curl(['-D', '-', '-r', '2-5', url('/api/v2/user/files', { path: '/digits.txt' })]);
    expect(part.stdout).toMatch(/^HTTP\/1.1 206/);
    expect(part.stdout).toMatch(/content-range: bytes 2-5\/10/i);
    expect(part.stdout.endsWith('2345')).toBe(true);
    const tail = await api('GET', '/api/v2/user/files', { query: { path: '/digits.txt' }, headers: { range: 'bytes=-3' } });
    expect(tail.status).toBe(206);
    expect(tail.text).toBe('789');
    expect((await api('GET', '/api/v2/user/files', { query: { path: '/digits.txt' }, headers: { range: 'bytes=20-' } })).status).toBe(416);
    expect((await api('GET', '/api/v2/user/files', { query: { path: '/digits.txt' }, headers: { range: 'bytes=0-1,3-4' } })).status).toBe(416);
    const inline = await api('GET', '/api/v2/user/files', { query: { path: '/digits.txt', inline: 'true' } });
    expect(inline.headers.get('content-disposition')).toMatch(/^inline/);
    expect(inline.headers.get('content-type')).toBe('text/plain');
    expect((await rx.waitFor((b) => b.action === 'download' && b.virtual_path === '/digits.txt')).protocol).toBe('HTTP');
  });

  test('a directory, the root, a missing file: 400, 400, 404', async () => {
    expect((await api('GET', '/api/v2/user/files', { query: { path: '/ro' } })).status).toBe(400);
    expect((await api('GET', '/api/v2/user/files', { query: { path: '/' } })).status).toBe(400);
    expect((await api('GET', '/api/v2/user/files', { query: { path: '/nope' } })).status).toBe(404);
  });
});

describe('uploads', () => {
  test('multipart with several files (curl), into a new directory with mkdir_parents', async () => {
    const src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'one.txt'), 'first file');
    writeFileSync(join(src, 'two.bin'), Buffer.alloc(300_000, 7));
    const r = await curl(['-w', '\\n%{http_code}', '-F', `filenames=@${join(src, 'one.txt')}`, '-F', `filenames=@${join(src, 'two.bin')}`, url('/api/v2/user/files', { path: '/up/in', mkdir_parents: 'true' })]);
    expect(r.stdout.split('\n').pop()).toBe('201');
    expect(readFileSync(join(annHome, 'up/in/one.txt'), 'utf8')).toBe('first file');
    expect(readFileSync(join(annHome, 'up/in/two.bin')).equals(Buffer.alloc(300_000, 7))).toBe(true);
    const up = await rx.waitFor((b) => b.action === 'upload' && b.virtual_path === '/up/in/two.bin');
    expect(up.protocol).toBe('HTTP');
    expect(up.file_size).toBe(300_000);
  });

  test('a file name with a path lands by its base name only', async () => {
    const form = new FormData();
    form.append('filenames', new Blob(['sneaky']), '../../../escaped.txt');
    const r = await api('POST', '/api/v2/user/files', { query: { path: '/' }, raw: form });
    expect(r.status).toBe(201);
    expect(readFileSync(join(annHome, 'escaped.txt'), 'utf8')).toBe('sneaky');
    expect(existsSync(join(dir, 'escaped.txt'))).toBe(false);
  });

  test('raw upload with X-SFTPGO-MTIME (curl --data-binary)', async () => {
    const file = join(dir, 'raw.dat');
    writeFileSync(file, 'raw body');
    const r = await curl(['-w', '\\n%{http_code}', '-H', 'X-SFTPGO-MTIME: 1500000000000', '--data-binary', `@${file}`, url('/api/v2/user/files/upload', { path: '/deep/raw.dat', mkdir_parents: 'true' })]);
    expect(r.stdout.split('\n').pop()).toBe('201');
    expect(readFileSync(join(annHome, 'deep/raw.dat'), 'utf8')).toBe('raw body');
    expect(statSync(join(annHome, 'deep/raw.dat')).mtimeMs).toBe(1500000000000);
  });

  test('file patterns and permissions refuse an upload, nothing is written', async () => {
    const bad = await api('POST', '/api/v2/user/files/upload', { query: { path: '/tool.exe' }, raw: 'MZ' });
    expect(bad.status).toBe(403);
    expect(existsSync(join(annHome, 'tool.exe'))).toBe(false);
    const ro = await api('POST', '/api/v2/user/files/upload', { query: { path: '/ro/new.txt' }, raw: 'x' });
    expect(ro.status).toBe(403);
    expect(ro.json.error).toBe('permission denied');
    expect(existsSync(join(annHome, 'ro/new.txt'))).toBe(false);
  });

  test('over quota: 413 and nothing partial left in atomic mode', async () => {
    const quo = await userToken('quo');
    const ok = await api('POST', '/api/v2/user/files/upload', { as: quo, query: { path: '/small.bin' }, raw: Buffer.alloc(60_000, 1) });
    expect(ok.status).toBe(201);
    const big = await api('POST', '/api/v2/user/files/upload', { as: quo, query: { path: '/big.bin' }, raw: Buffer.alloc(80_000, 2) });
    expect(big.status).toBe(413);
    expect(big.json.error).toBe('denying write due to space limit');
    expect(readdirSync(join(dir, 'quo'))).toEqual(['small.bin']);
  });

  test('metadata: modification_time in ms', async () => {
    const r = await api('PATCH', '/api/v2/user/files/metadata', { query: { path: '/a.txt' }, body: { modification_time: 1600000000000 } });
    expect(r.status).toBe(200);
    expect(statSync(join(annHome, 'a.txt')).mtimeMs).toBe(1600000000000);
    expect((await api('PATCH', '/api/v2/user/files/metadata', { query: { path: '/a.txt' }, body: {} })).status).toBe(400);
  });
});

describe('rename, copy, move, delete', () => {
  test('files: PATCH rename, copy, move across a virtual folder, delete', async () => {
    writeFileSync(join(annHome, 'r1.txt'), 'rename me');
    expect((await api('PATCH', '/api/v2/user/files', { query: { path: '/r1.txt', target: '/r2.txt' } })).status).toBe(200);
    expect(readFileSync(join(annHome, 'r2.txt'), 'utf8')).toBe('rename me');
    const cp = await api('POST', '/api/v2/user/file-actions/copy', { query: { path: '/r2.txt', target: '/vf/' } });
    expect(cp.status).toBe(200);
    expect(readFileSync(join(folder, 'r2.txt'), 'utf8')).toBe('rename me');
    const mv = await api('POST', '/api/v2/user/file-actions/move', { query: { path: '/vf/r2.txt', target: '/vf/r3.txt' } });
    expect(mv.status).toBe(200);
    expect(existsSync(join(folder, 'r3.txt'))).toBe(true);
    const del = await api('DELETE', '/api/v2/user/files', { query: { path: '/r2.txt' } });
    expect(del.status).toBe(200);
    expect(del.json.message).toBe('File "/r2.txt" deleted');
    expect(existsSync(join(annHome, 'r2.txt'))).toBe(false);
    expect((await rx.waitFor((b) => b.action === 'delete' && b.virtual_path === '/r2.txt')).protocol).toBe('HTTP');
    expect((await api('DELETE', '/api/v2/user/files', { query: { path: '/ro' } })).status).toBe(400);
    expect((await api('DELETE', '/api/v2/user/files', { query: { path: '/ro/readme.txt' } })).status).toBe(403);
  });
});

describe('path escapes', () => {
  test('.., encoded .., absolute paths stay inside the home', async () => {
    for (const p of ['../outside/secret.txt', '/../../outside/secret.txt', '%2e%2e/outside/secret.txt', `${outside}/secret.txt`]) {
      const r = await api('GET', `/api/v2/user/files?path=${p.includes('%') ? p : encodeURIComponent(p)}`);
      expect(r.status).toBe(404);
      expect(r.text).not.toContain('top secret');
    }
    const up = await api('POST', `/api/v2/user/files/upload?path=${encodeURIComponent('../../planted.txt')}`, { raw: 'x' });
    expect(up.status).toBe(201);
    expect(existsSync(join(dir, 'planted.txt'))).toBe(false);
    expect(existsSync(join(annHome, 'planted.txt'))).toBe(true);
  });

  test('a symlink out of the home is not followed', async () => {
    const r = await api('GET', '/api/v2/user/files', { query: { path: '/escape/secret.txt' } });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.text).not.toContain('top secret');
    const list = await api('GET', '/api/v2/user/dirs', { query: { path: '/escape' } });
    expect(list.status).toBeGreaterThanOrEqual(400);
    const up = await api('POST', '/api/v2/user/files/upload', { query: { path: '/escape/new.txt' }, raw: 'x' });
    expect(up.status).toBeGreaterThanOrEqual(400);
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
  });
});

describe('streamzip', () => {
  test('files and directories as one zip that unzip accepts', async () => {
    mkdirSync(join(annHome, 'z/sub'), { recursive: true });
    writeFileSync(join(annHome, 'z/one.txt'), 'one');
    writeFileSync(join(annHome, 'z/sub/two.txt'), 'two two');
    const res = await fetch(url('/api/v2/user/streamzip'), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(['/z', '/a.txt', '/z']) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toContain('ann-download.zip');
    const zip = join(dir, 'out.zip');
    writeFileSync(zip, Buffer.from(await res.arrayBuffer()));
    const t = await run('unzip', ['-t', zip]);
    expect(t.status).toBe(0);
    const out = join(dir, 'unzipped');
    expect((await run('unzip', ['-q', zip, '-d', out])).status).toBe(0);
    expect(readFileSync(join(out, 'z/sub/two.txt'), 'utf8')).toBe('two two');
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('hello');
  });

  test('a path the user may not read is refused before any byte', async () => {
    const r = await api('POST', '/api/v2/user/streamzip', { body: ['/a.txt', '/nolist/n.txt'] });
    expect(r.status).toBe(403);
    expect((await api('POST', '/api/v2/user/streamzip', { body: ['/a.txt', '/missing'] })).status).toBe(404);
    expect((await api('POST', '/api/v2/user/streamzip', { body: { not: 'a list' } })).status).toBe(400);
  });
});

describe('profile and password', () => {
  test('GET and PUT the profile', async () => {
    const r = await api('GET', '/api/v2/user/profile');
    expect(r.json).toEqual({ email: 'ann@example.com', description: '', allow_api_key_auth: false, public_keys: [] });
    const keyFile = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ann', '-f', keyFile]);
    const key = readFileSync(`${keyFile}.pub`, 'utf8').trim();
    expect((await api('PUT', '/api/v2/user/profile', { body: { email: 'ann@example.org', description: 'me', public_keys: [key] } })).status).toBe(200);
    expect((await api('GET', '/api/v2/user/profile')).json).toMatchObject({ email: 'ann@example.org', description: 'me', public_keys: [key] });
    expect((await api('PUT', '/api/v2/user/profile', { body: { public_keys: ['not a key'] } })).status).toBe(400);
    expect((await api('PUT', '/api/v2/user/profile', { body: { allow_api_key_auth: true } })).status).toBe(400);
  });

  test('a user who must change its password gets a token for changepwd only', async () => {
    const t = await userToken('pwd');
    const blocked = await api('GET', '/api/v2/user/dirs', { as: t });
    expect(blocked.status).toBe(403);
    expect((await api('PUT', '/api/v2/user/changepwd', { as: t, body: { current_password: 'wrong', new_password: 'pwd-New-Secret-2' } })).status).toBe(400);
    const changed = await api('PUT', '/api/v2/user/changepwd', { as: t, body: { current_password: PASSWORD, new_password: 'pwd-New-Secret-2' } });
    expect(changed.status).toBe(200);
    // The token used is revoked; the new password logs in with full access.
    expect((await api('GET', '/api/v2/user/profile', { as: t })).status).toBe(401);
    const fresh = await userToken('pwd', 'pwd-New-Secret-2');
    expect((await api('GET', '/api/v2/user/dirs', { as: fresh })).status).toBe(200);
  });
});
// An unexpected 500 names its cause in the server's log: show it with the failure.
afterAll(() => {
  for (const l of server.logs) if (l.event === 'api_error') console.error(JSON.stringify(l));
});
