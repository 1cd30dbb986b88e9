// Real clients against the WebDAV front-end: rclone's webdav backend (copy a tree, check it) and
// curl for ranges, a large streamed PUT/GET round trip, and the HTTPS binding.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { DAV_PASSWORD, startDavd, type Davd } from '../../support/webdav.ts';
import { evictFromPageCache } from '../../support/page-cache.ts';

let d: Davd;

beforeAll(async () => {
  d = await startDavd([{ username: 'alice' }, { username: 'dave' }]);
});

afterAll(async () => {
  await d?.server.stop();
  removeTempDirs();
});


function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; out: string; err: string; raw: Buffer }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c) => (err += c));
    p.on('close', (status) => {
      const raw = Buffer.concat(out);
      resolve({ status, out: raw.toString('utf8'), err, raw });
    });
  });
}

/** curl as alice; `-i` output split into status, headers and body. */
async function curl(args: string[], opts: { user?: string } = {}): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const r = await run('curl', ['-sS', '--max-time', '60', '-i', '-u', `${opts.user ?? 'alice'}:${DAV_PASSWORD}`, ...args]);
  let raw = r.raw;
  // Skip interim 100 Continue answers.
  for (;;) {
    const end = raw.indexOf('\r\n\r\n');
    const head = raw.subarray(0, end).toString('latin1');
    raw = raw.subarray(end + 4);
    if (!/^HTTP\/1\.1 100/.test(head)) {
      const [first, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const c = l.indexOf(':');
        headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
      }
      return { status: Number(first!.split(' ')[1]), headers, body: raw };
    }
  }
}

describe('curl', () => {
  test('range GET: 206 with the exact bytes and the total size; suffix ranges; 416 past the end', async () => {
    const data = randomBytes(100_000);
    writeFileSync(join(d.homes.alice!, 'ranged.bin'), data);
    const r = await curl(['-r', '1000-1999', `${d.url}/ranged.bin`]);
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe('bytes 1000-1999/100000');
    expect(r.body.equals(data.subarray(1000, 2000))).toBe(true);
    const tail = await curl(['-H', 'Range: bytes=-100', `${d.url}/ranged.bin`]);
    expect(tail.status).toBe(206);
    expect(tail.headers['content-range']).toBe('bytes 99900-99999/100000');
    expect(tail.body.equals(data.subarray(99_900))).toBe(true);
    const open = await curl(['-H', 'Range: bytes=99990-', `${d.url}/ranged.bin`]);
    expect(open.body.equals(data.subarray(99_990))).toBe(true);
    const bad = await curl(['-H', 'Range: bytes=100000-', `${d.url}/ranged.bin`]);
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe('bytes */100000');
    const full = await curl([`${d.url}/ranged.bin`]);
    expect(full.status).toBe(200);
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.body.equals(data)).toBe(true);
  });

  test('PUT then GET of a 20 MB file round-trips (sha256); 201 then 204 on overwrite', async () => {
    const dir = tempDir('dav-big-');
    const src = join(dir, 'big.bin');
    const data = randomBytes(20 * 1024 * 1024);
    writeFileSync(src, data);
    const sha = createHash('sha256').update(data).digest('hex');
    const put = await curl(['-T', src, `${d.url}/big.bin`]);
    expect(put.status).toBe(201);
    expect(put.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(createHash('sha256').update(readFileSync(join(d.homes.alice!, 'big.bin'))).digest('hex')).toBe(sha);
    const back = join(dir, 'back.bin');
    const get = await run('curl', ['-sS', '-f', '-u', `alice:${DAV_PASSWORD}`, '-o', back, `${d.url}/big.bin`]);
    expect(get.status).toBe(0);
    expect(createHash('sha256').update(readFileSync(back)).digest('hex')).toBe(sha);
    const again = await curl(['-T', src, `${d.url}/big.bin`]);
    expect(again.status).toBe(204);
  }, 60_000);

  test('large bodies on one keep-alive connection: from the disk, whole, ranged and slowly read, each byte-exact and in order', async () => {
    // Bodies from local storage go by sendfile past the response head: the head must come first,
    // a range must stop at its end, and the next response on the connection must start clean.
    const dir = tempDir('dav-keepalive-');
    const data = randomBytes(6 * 1024 * 1024 + 12_345);
    writeFileSync(join(d.homes.alice!, 'ka.bin'), data);
    // Not in the page cache: the first body is read from the disk through the thread pool, not
    // sent by sendfile with the event loop waiting, and joins the sent ranges in order.
    await evictFromPageCache(join(d.homes.alice!, 'ka.bin'));
    const out = (n: number): string => join(dir, `out-${n}.bin`);
    const url = `${d.url}/ka.bin`;
    // curl applies -r to every later URL: the first two are whole, then two ranges, then whole again.
    const r = await run('curl', ['-sS', '-f', '-v', '-u', `alice:${DAV_PASSWORD}`, '-o', out(1), url, '-o', out(2), url, '--next', '-u', `alice:${DAV_PASSWORD}`, '-r', '70000-5000000', '-o', out(3), url, '-o', out(4), url, '--next', '-u', `alice:${DAV_PASSWORD}`, '-o', out(5), url]);
    expect(r.status).toBe(0);
    // One connection carried all five (curl says so for each reuse).
    expect(r.err.match(/Re-using existing connection/g)?.length).toBe(4);
    // A reader slower than the server: the socket is found full again and again, and sending
    // must resume in order each time.
    const slow = await run('curl', ['-sS', '-f', '-u', `alice:${DAV_PASSWORD}`, '--limit-rate', '2M', '-o', out(6), url]);
    expect(slow.status).toBe(0);
    expect(readFileSync(out(1)).equals(data)).toBe(true);
    expect(readFileSync(out(2)).equals(data)).toBe(true);
    expect(readFileSync(out(3)).equals(data.subarray(70_000, 5_000_001))).toBe(true);
    expect(readFileSync(out(4)).equals(data.subarray(70_000, 5_000_001))).toBe(true);
    expect(readFileSync(out(5)).equals(data)).toBe(true);
    expect(readFileSync(out(6)).equals(data)).toBe(true);
  }, 60_000);

  test('PUT into a missing collection is 409 and creates nothing', async () => {
    const r = await curl(['-X', 'PUT', '--data-binary', 'x', `${d.url}/no/such/dir/f.txt`]);
    expect(r.status).toBe(409);
  });

  test('the HTTPS binding serves the same tree (curl -k)', async () => {
    writeFileSync(join(d.homes.alice!, 'tls.txt'), 'over tls');
    const r = await curl(['-k', `https://127.0.0.1:${d.ports.https}/tls.txt`]);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('over tls');
    const pf = await curl(['-k', '-X', 'PROPFIND', '-H', 'Depth: 1', `https://127.0.0.1:${d.ports.https}/`]);
    expect(pf.status).toBe(207);
    expect(pf.body.toString()).toContain('<D:href>/tls.txt</D:href>');
    // Plain HTTP on the HTTPS port gets nothing useful.
    const plain = await run('curl', ['-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${d.ports.https}/`]);
    expect(plain.out).not.toBe('200');
  });

  test('one Connection per user and address: several requests log in once', async () => {
    const before = d.server.logs.filter((l) => l.event === 'login' && l.protocol === 'DAV' && l.username === 'alice').length;
    for (let i = 0; i < 5; i++) expect((await curl(['-X', 'PROPFIND', '-H', 'Depth: 0', `${d.url}/`])).status).toBe(207);
    const after = d.server.logs.filter((l) => l.event === 'login' && l.protocol === 'DAV' && l.username === 'alice').length;
    expect(after - before).toBeLessThanOrEqual(1);
    expect(after).toBeGreaterThanOrEqual(1);
  });
});

describe('credentials cache', () => {
  test('only the first request of a client pays for the password hash check', async () => {
    const url = `${d.url}/`;
    // One curl, one kept-alive connection, 11 requests: the time of each one.
    const r = await run('curl', ['-sS', '-u', `dave:${DAV_PASSWORD}`, '-w', '%{time_total}\\n', ...Array.from({ length: 11 }, () => ['-o', '/dev/null', url]).flat()]);
    const times = r.out.trim().split('\n').map(Number);
    expect(times).toHaveLength(11);
    const rest = times.slice(1).sort((a, b) => a - b);
    const median = rest[5]!;
    expect(median).toBeLessThan(times[0]! / 2);
  });
});

describe('rclone webdav backend', () => {
  test('copy a tree up, check it, and copy it back', async () => {
    const obscured = (await run('rclone', ['obscure', DAV_PASSWORD])).out.trim();
    const env = {
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_T_TYPE: 'webdav',
      RCLONE_CONFIG_T_URL: `http://127.0.0.1:${d.ports.prefixed}/dav/`,
      RCLONE_CONFIG_T_VENDOR: 'other',
      RCLONE_CONFIG_T_USER: 'alice',
      RCLONE_CONFIG_T_PASS: obscured,
    };
    const src = tempDir('rclone-src-');
    mkdirSync(join(src, 'a/b'), { recursive: true });
    writeFileSync(join(src, 'one.bin'), randomBytes(3_000_000));
    writeFileSync(join(src, 'a/zero'), '');
    writeFileSync(join(src, 'a/b/ünï cödé.txt'), 'unicode');
    writeFileSync(join(src, 'a/b/100% #hash?.txt'), 'odd characters');
    const up = await run('rclone', ['copy', src, 't:tree'], env);
    expect(up.err).toBe('');
    expect(up.status).toBe(0);
    const check = await run('rclone', ['check', '--download', src, 't:tree'], env);
    expect(check.status).toBe(0);
    const back = tempDir('rclone-back-');
    expect((await run('rclone', ['copy', 't:tree', back], env)).status).toBe(0);
    expect((await run('rclone', ['check', '--download', src, back], env)).status).toBe(0);
    expect(readFileSync(join(d.homes.alice!, 'tree/a/b/ünï cödé.txt'), 'utf8')).toBe('unicode');
  }, 60_000);
});
