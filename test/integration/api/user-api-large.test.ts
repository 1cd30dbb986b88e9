// The user API under load it must stream: a 200 MB raw upload, multipart upload and download
// through curl while the server's peak RSS stays far below the file size (no whole-file buffer),
// and the per-request session: listed as an HTTP connection while a download runs, counted by
// max_sessions (429 over it), closed by the admin API mid-transfer.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'big-Secret-1';
const ADMIN = 'admin-Secret-1';
const SIZE = 200 * 1024 * 1024;

let server: RunningServer;
let dir: string;
let home: string;
let port: number;
let bigFile: string;
let bigHash: string;

beforeAll(async () => {
  dir = tempDir('user-api-large-');
  home = join(dir, 'big');
  port = await freePort();
  server = await startServer({
    cwd: dir,
    // Freed pages go back at once, so the peak RSS measures what was live, not what was kept.
    env: { MIMALLOC_PURGE_DELAY: '0' },
    yaml: `common: { upload_mode: 1 }
httpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
admins:
  - { username: root, password: "${ADMIN}", permissions: ["*"] }
users:
  - username: big
    password: "${PASSWORD}"
    home_dir: ${home}
    max_sessions: 2
    permissions: { "/": ["*"] }
  - username: slow
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'slow')}
    upload_bandwidth: 4096
    permissions: { "/": ["*"] }
`,
  });
  // A file of varied bytes, written in 1 MB blocks (never whole in this process either).
  bigFile = join(dir, 'big.src');
  const fd = openSync(bigFile, 'w');
  const hash = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < SIZE / block.length; i++) {
    block.fill(i % 251);
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
    hash.update(block);
  }
  closeSync(fd);
  bigHash = hash.digest('hex');
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

async function token(user = 'big'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v2/user/token`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}` } });
  return ((await res.json()) as { access_token: string }).access_token;
}

function url(path: string, query: Record<string, string>): string {
  return `http://127.0.0.1:${port}${path}?${new URLSearchParams(query)}`;
}

/** The server's peak resident set so far (VmHWM), in bytes. */
function peakRss(): number {
  const status = readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

describe('200 MB through the user API', () => {
  test('raw upload, multipart upload and download stream: peak RSS grows far less than the file', async () => {
    const t = await token();
    const auth = ['-H', `Authorization: Bearer ${t}`];
    // The first large transfer sets the heap's working size (measured: ~100 MB whatever the file
    // size, 200 or 400 MB); a whole-file buffer would add the file's size on every transfer after.
    const warm = await run('curl', ['-sS', '-w', '%{http_code}', '-o', '/dev/null', ...auth, '--data-binary', `@${bigFile}`, url('/api/v2/user/files/upload', { path: '/raw.bin' })], { timeout: 120_000 });
    expect(warm.stdout).toBe('201');
    expect(await sha256(join(home, 'raw.bin'))).toBe(bigHash);
    const before = peakRss();
    const again = await run('curl', ['-sS', '-w', '%{http_code}', '-o', '/dev/null', ...auth, '--data-binary', `@${bigFile}`, url('/api/v2/user/files/upload', { path: '/raw2.bin' })], { timeout: 120_000 });
    expect(again.stdout).toBe('201');
    expect(statSync(join(home, 'raw2.bin')).size).toBe(SIZE);
    const form = await run('curl', ['-sS', '-w', '%{http_code}', '-o', '/dev/null', ...auth, '-F', `filenames=@${bigFile};filename=form.bin`, url('/api/v2/user/files', { path: '/' })], { timeout: 120_000 });
    expect(form.stdout).toBe('201');
    expect(await sha256(join(home, 'form.bin'))).toBe(bigHash);
    const out = join(dir, 'down.bin');
    const down = await run('curl', ['-sS', '-w', '%{http_code}', '-o', out, ...auth, url('/api/v2/user/files', { path: '/raw.bin' })], { timeout: 120_000 });
    expect(down.stdout).toBe('200');
    expect(await sha256(out)).toBe(bigHash);
    expect(peakRss() - before).toBeLessThan(SIZE / 2);
  }, 300_000);

  test('an upload the server writes slowly holds the client back instead of filling memory', async () => {
    const t = await token('slow');
    // slow may write 4 MB/s: with backpressure the client can only get that much (plus socket
    // buffers) onto the wire; a server reading the body into memory would take all 200 MB at once.
    const req = httpRequest(url('/api/v2/user/files/upload', { path: '/paced.bin' }), { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-length': String(SIZE) } });
    req.on('error', () => undefined);
    const block = Buffer.alloc(1024 * 1024, 3);
    let sent = 0;
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && sent < SIZE) {
      sent += block.length;
      if (!req.write(block)) await Promise.race([new Promise((r) => req.once('drain', r)), Bun.sleep(Math.max(0, deadline - Date.now()))]);
    }
    req.destroy();
    expect(sent).toBeLessThan(48 * 1024 * 1024);
  }, 30_000);

  test('a client that leaves mid-upload leaves nothing behind (atomic mode)', async () => {
    const t = await token();
    const req = httpRequest(url('/api/v2/user/files/upload', { path: '/cut.bin' }), { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-length': String(SIZE) } });
    req.on('error', () => undefined);
    const block = Buffer.alloc(1024 * 1024, 5);
    for (let i = 0; i < 8; i++) if (!req.write(block)) await new Promise((r) => req.once('drain', r));
    // The temporary file exists while the upload runs...
    let temp: string[] = [];
    for (let i = 0; i < 100 && temp.length === 0; i++) {
      temp = readdirSync(home).filter((n) => n.includes('cut.bin'));
      if (temp.length === 0) await Bun.sleep(20);
    }
    expect(temp[0]).toMatch(/^\.sftpgo-upload\./);
    req.destroy();
    // ... and is gone once the server sees the client leave; the target never appears.
    let left = temp;
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await Bun.sleep(50);
      left = readdirSync(home).filter((n) => n.includes('cut.bin'));
    }
    expect(left).toEqual([]);
  }, 30_000);

  test('a running download is an HTTP connection, counts for max_sessions, and the admin API can close it', async () => {
    const t = await token();
    // curl at 1 MB/s keeps the download open for the whole test.
    const slow = spawn('curl', ['-sS', '--limit-rate', '1M', '-o', '/dev/null', '-H', `Authorization: Bearer ${t}`, url('/api/v2/user/files', { path: '/raw.bin' })]);
    const exited = new Promise<number | null>((resolve) => slow.on('exit', (code) => resolve(code)));
    try {
      const adminRes = await fetch(`http://127.0.0.1:${port}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`root:${ADMIN}`).toString('base64')}` } });
      const admin = ((await adminRes.json()) as { access_token: string }).access_token;
      let conns: { connection_id: string; username: string; protocol: string }[] = [];
      for (let i = 0; i < 100 && !conns.some((c) => c.username === 'big'); i++) {
        conns = (await (await fetch(`http://127.0.0.1:${port}/api/v2/connections`, { headers: { authorization: `Bearer ${admin}` } })).json()) as typeof conns;
        if (!conns.some((c) => c.username === 'big')) await Bun.sleep(50);
      }
      const mine = conns.find((c) => c.username === 'big');
      expect(mine?.protocol).toBe('HTTP');
      // A second running request reaches max_sessions 2; a third is refused while both run.
      const second = spawn('curl', ['-sS', '--limit-rate', '1M', '-o', '/dev/null', '-H', `Authorization: Bearer ${t}`, url('/api/v2/user/files', { path: '/raw.bin' })]);
      try {
        // Wait for both downloads through the admin API: a user request polled meanwhile would hold a
        // session itself and could turn the second download away instead.
        let running = 0;
        for (let i = 0; i < 200 && running < 2; i++) {
          const list = (await (await fetch(`http://127.0.0.1:${port}/api/v2/connections`, { headers: { authorization: `Bearer ${admin}` } })).json()) as typeof conns;
          running = list.filter((c) => c.username === 'big').length;
          if (running < 2) await Bun.sleep(50);
        }
        expect(running).toBe(2);
        const status = (await fetch(url('/api/v2/user/dirs', { path: '/' }), { headers: { authorization: `Bearer ${t}` } })).status;
        expect(status).toBe(429);
      } finally {
        second.kill();
      }
      const closed = await fetch(`http://127.0.0.1:${port}/api/v2/connections/${mine!.connection_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
      expect(closed.status).toBe(200);
      // The client sees its download cut.
      expect(await exited).not.toBe(0);
    } finally {
      slow.kill();
    }
    // Once both are gone the user may work again.
    let after = 0;
    for (let i = 0; i < 100 && after !== 200; i++) {
      after = (await fetch(url('/api/v2/user/dirs', { path: '/' }), { headers: { authorization: `Bearer ${t}` } })).status;
      if (after !== 200) await Bun.sleep(50);
    }
    expect(after).toBe(200);
  }, 60_000);
});
