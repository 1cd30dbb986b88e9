// Refusals of the WebDAV front-end: permissions (403, nothing changed on disk), confinement (dot
// segments, encoded or not, and symlinks out of the home), login refusals with their fail2ban
// log lines, hostile bodies and headers (400, and the server lives on), locks held by another
// request, the URL prefix, CORS preflights, and the credentials cache following password changes.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs } from '../../support/tmp.ts';
import { DAV_PASSWORD, startDavd, type Davd } from '../../support/webdav.ts';

let d: Davd;

beforeAll(async () => {
  d = await startDavd(
    [
      { username: 'alice' },
      { username: 'bob', permissions: { '/': ['list', 'download'] } },
      { username: 'carol', extra: '    filters:\n      denied_protocols: [DAV]\n' },
    ],
    { webdavdExtra: '  cors:\n    enabled: true\n    allowed_origins: ["https://app.example"]\n    max_age: 600\n' },
  );
  writeFileSync(join(d.homes.bob!, 'file.txt'), 'original');
  mkdirSync(join(d.homes.bob!, 'dir'));
  writeFileSync(join(d.homes.alice!, 'inside.txt'), 'in');
  symlinkSync('/etc/passwd', join(d.homes.alice!, 'pw'));
});

afterAll(async () => {
  await d?.server.stop();
  removeTempDirs();
});

interface Res {
  status: number;
  body: string;
  headers: string;
}

let calls = 0;

function curl(args: string[], opts: { user?: string | null; password?: string } = {}): Promise<Res> {
  const auth = opts.user === null ? [] : ['-u', `${opts.user ?? 'alice'}:${opts.password ?? DAV_PASSWORD}`];
  const headerFile = join(d.dir, `headers-${++calls}.txt`);
  return new Promise((resolve) => {
    const p = spawn('curl', ['-sS', '--max-time', '20', '-D', headerFile, '-w', '\n%{http_code}', ...auth, ...args]);
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.on('close', () => {
      const nl = out.lastIndexOf('\n');
      let headers = '';
      try {
        headers = readFileSync(headerFile, 'latin1');
      } catch {
        // No answer at all.
      }
      resolve({ status: Number(out.slice(nl + 1)), body: out.slice(0, nl), headers });
    });
  });
}

const alive = async (): Promise<void> => {
  expect((await curl(['-X', 'PROPFIND', '-H', 'Depth: 0', `${d.url}/`])).status).toBe(207);
};

function snapshot(dir: string): string {
  return readdirSync(dir, { recursive: true }).map(String).sort().join('\n') + readFileSync(join(dir, 'file.txt'), 'utf8');
}

describe('permissions', () => {
  test('a list+download user: every write is 403 and nothing changes on disk', async () => {
    const before = snapshot(d.homes.bob!);
    const u = { user: 'bob' };
    expect((await curl(['-X', 'PUT', '--data-binary', 'x', `${d.url}/new.txt`], u)).status).toBe(403);
    expect((await curl(['-X', 'PUT', '--data-binary', 'x', `${d.url}/file.txt`], u)).status).toBe(403);
    expect((await curl(['-X', 'DELETE', `${d.url}/file.txt`], u)).status).toBe(403);
    expect((await curl(['-X', 'DELETE', `${d.url}/dir/`], u)).status).toBe(403);
    expect((await curl(['-X', 'MKCOL', `${d.url}/newdir`], u)).status).toBe(403);
    expect((await curl(['-X', 'MOVE', '-H', `Destination: ${d.url}/moved.txt`, `${d.url}/file.txt`], u)).status).toBe(403);
    expect((await curl(['-X', 'COPY', '-H', `Destination: ${d.url}/copied.txt`, `${d.url}/file.txt`], u)).status).toBe(403);
    const pp = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getlastmodified>Mon, 01 Jan 2001 00:00:00 GMT</D:getlastmodified></D:prop></D:set></D:propertyupdate>';
    expect((await curl(['-X', 'PROPPATCH', '--data-binary', pp, `${d.url}/file.txt`], u)).status).toBe(403);
    expect(snapshot(d.homes.bob!)).toBe(before);
    // What bob may do still works.
    expect((await curl([`${d.url}/file.txt`], u)).body).toBe('original');
  });
});

describe('confinement', () => {
  test('dot segments, raw or percent-encoded, are refused; nothing outside the home is served', async () => {
    for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/a/%2E%2E/%2E%2E/etc/passwd', '/..%2f..%2fetc/passwd']) {
      const r = await curl(['--path-as-is', `${d.url}${path}`]);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain('root:');
    }
    const dest = await curl(['-X', 'COPY', '-H', `Destination: ${d.url}/../../tmp/escaped.txt`, `${d.url}/inside.txt`]);
    expect(dest.status).toBeGreaterThanOrEqual(400);
    const link = await curl([`${d.url}/pw`]);
    expect(link.body).not.toContain('root:');
  });

  test('a path outside the binding prefix is 404; inside it hrefs carry the prefix', async () => {
    const base = `http://127.0.0.1:${d.ports.prefixed}`;
    expect((await curl([`${base}/inside.txt`])).status).toBe(404);
    expect((await curl([`${base}/davx/inside.txt`])).status).toBe(404);
    expect((await curl([`${base}/dav/inside.txt`])).body).toBe('in');
    const pf = await curl(['-X', 'PROPFIND', '-H', 'Depth: 1', `${base}/dav/`]);
    expect(pf.status).toBe(207);
    expect(pf.body).toContain('<D:href>/dav/inside.txt</D:href>');
    expect(pf.body).toContain('<D:href>/dav/</D:href>');
  });
});

describe('login', () => {
  test('no credentials: 401 with a Basic challenge', async () => {
    const r = await curl([`${d.url}/`], { user: null });
    expect(r.status).toBe(401);
    expect(r.headers).toMatch(/WWW-Authenticate: Basic realm="[^"]+"/i);
  });

  test('a wrong password and a denied protocol are 401 and logged for fail2ban', async () => {
    expect((await curl([`${d.url}/`], { password: 'wrong' })).status).toBe(401);
    expect((await curl([`${d.url}/`], { user: 'carol' })).status).toBe(401);
    await d.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'alice' && l.reason === 'invalid_credentials');
    const carol = await d.server.waitForLog((l) => l.event === 'login_failed' && l.username === 'carol');
    expect(carol).toMatchObject({ ip: '127.0.0.1', protocol: 'DAV', method: 'password', reason: 'protocol_denied' });
  });

  test('the credentials cache forgets a password the config no longer has', async () => {
    await alive();
    const yaml = readFileSync(d.server.configPath, 'utf8').replace(
      /(username: alice\n\s+password: )"[^"]+"/,
      '$1"new-Secret-2"',
    );
    writeFileSync(d.server.configPath, yaml);
    const seen = d.server.logs.length;
    d.server.proc.kill('SIGHUP');
    await d.server.waitForLog((l) => l.event === 'reload_applied' && d.server.logs.indexOf(l) >= seen);
    expect((await curl(['-X', 'PROPFIND', '-H', 'Depth: 0', `${d.url}/`])).status).toBe(401);
    expect((await curl(['-X', 'PROPFIND', '-H', 'Depth: 0', `${d.url}/`], { password: 'new-Secret-2' })).status).toBe(207);
    writeFileSync(d.server.configPath, yaml.replace('new-Secret-2', DAV_PASSWORD));
    const seen2 = d.server.logs.length;
    d.server.proc.kill('SIGHUP');
    await d.server.waitForLog((l) => l.event === 'reload_applied' && d.server.logs.indexOf(l) >= seen2);
    await alive();
  }, 30_000);
});

describe('hostile requests get 400 and the server lives on', () => {
  test('malformed XML bodies', async () => {
    const bodies = [
      '<D:propfind xmlns:D="DAV:"><D:prop>',
      '<propfind xmlns="DAV:"><allprop/></propfind><extra/>',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><D:propfind xmlns:D="DAV:"><D:prop>&lol2;</D:prop></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><x:foo/></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>',
      'not xml at all',
      '<a>&bogus;</a>',
    ];
    for (const b of bodies) {
      const r = await curl(['-X', 'PROPFIND', '-H', 'Depth: 0', '--data-binary', b, `${d.url}/`]);
      expect(r.status).toBe(400);
    }
    for (const m of ['PROPPATCH', 'LOCK']) expect((await curl(['-X', m, '--data-binary', '<oops', `${d.url}/inside.txt`])).status).toBe(400);
    await alive();
  });

  test('malformed If headers', async () => {
    const headers = ['(Not <DAV:no-lock>', '<http://x/a>', 'garbage', '([W/"x"', '()', '(<>)', '(Nothing)', '<a> <b> (<c>)'];
    for (const h of headers) {
      const r = await curl(['-X', 'PUT', '-H', `If: ${h}`, '--data-binary', 'x', `${d.url}/if.txt`]);
      expect(r.status).toBe(400);
    }
    // The shape webdav-server crashed on is valid, and true.
    expect((await curl(['-X', 'PUT', '-H', 'If: (Not <DAV:no-lock>)', '--data-binary', 'x', `${d.url}/if.txt`])).status).toBe(201);
    await alive();
  });

  test('Depth: infinity PROPFIND is refused with propfind-finite-depth', async () => {
    const r = await curl(['-X', 'PROPFIND', '-H', 'Depth: infinity', `${d.url}/`]);
    expect(r.status).toBe(403);
    expect(r.body).toContain('propfind-finite-depth');
  });
});

describe('locks', () => {
  test('a locked file cannot be changed without its token; with it, it can', async () => {
    const lockinfo = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>me</D:owner></D:lockinfo>';
    const l = await curl(['-X', 'LOCK', '-H', 'Timeout: Second-60', '--data-binary', lockinfo, `${d.url}/locked.txt`]);
    expect(l.status).toBe(201);
    const token = /Lock-Token: <([^>]+)>/i.exec(l.headers)![1]!;
    expect((await curl(['-X', 'PUT', '--data-binary', 'x', `${d.url}/locked.txt`])).status).toBe(423);
    expect((await curl(['-X', 'DELETE', `${d.url}/locked.txt`])).status).toBe(423);
    expect((await curl(['-X', 'MOVE', '-H', `Destination: ${d.url}/m.txt`, `${d.url}/locked.txt`])).status).toBe(423);
    expect((await curl(['-X', 'PUT', '-H', `If: (<${token}>)`, '--data-binary', 'y', `${d.url}/locked.txt`])).status).toBe(204);
    expect((await curl(['-X', 'UNLOCK', '-H', `Lock-Token: <${token}>`, `${d.url}/locked.txt`])).status).toBe(204);
    expect((await curl(['-X', 'DELETE', `${d.url}/locked.txt`])).status).toBe(204);
  });
});

describe('CORS', () => {
  test('a preflight from an allowed origin is answered without credentials', async () => {
    const r = await curl(['-X', 'OPTIONS', '-H', 'Origin: https://app.example', '-H', 'Access-Control-Request-Method: PROPFIND', `${d.url}/`], { user: null });
    expect(r.status).toBe(204);
    expect(r.headers).toMatch(/Access-Control-Allow-Origin: https:\/\/app\.example/i);
    expect(r.headers).toMatch(/Access-Control-Allow-Methods: .*PROPFIND/i);
    expect(r.headers).toMatch(/Access-Control-Max-Age: 600/i);
    const other = await curl(['-X', 'OPTIONS', '-H', 'Origin: https://evil.example', '-H', 'Access-Control-Request-Method: PROPFIND', `${d.url}/`], { user: null });
    expect(other.status).toBe(401);
    expect(other.headers).not.toMatch(/Access-Control-Allow-Origin/i);
  });
});
