// Upload modes, writes far beyond 4 GiB, and that every handle and transfer is released when
// clients go away (the server reports its live counts in the `logout` log line).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { sftpBatch, sftpClient, startSftpd, type Sftpd } from './harness.ts';

let standard: Sftpd;
let atomic: Sftpd;

beforeAll(async () => {
  [standard, atomic] = await Promise.all([
    startSftpd([{ username: 'alice' }]),
    startSftpd([{ username: 'alice' }], 'common:\n  upload_mode: atomic\n'),
  ]);
});

afterAll(async () => {
  await Promise.all([standard?.server.stop(), atomic?.server.stop()]);
  removeTempDirs();
});

function open(sftp: SFTPWrapper, path: string, flags: 'r' | 'w'): Promise<Buffer> {
  return new Promise((resolve, reject) => sftp.open(path, flags, (err, h) => (err ? reject(err) : resolve(h))));
}
function write(sftp: SFTPWrapper, h: Buffer, data: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => sftp.write(h, data, 0, data.length, pos, (err) => (err ? reject(err) : resolve())));
}
function close(sftp: SFTPWrapper, h: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sftp.close(h, (err) => (err ? reject(err) : resolve())));
}

async function lastLogout(s: Sftpd, count: number): Promise<Record<string, unknown>> {
  await s.server.waitForLog(() => s.server.logs.filter((l) => l.event === 'logout').length >= count);
  return s.server.logs.filter((l) => l.event === 'logout').at(-1)!;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
// The memory of the data path is freed explicitly, per cipher (vendor/ssh2/README.md): the socket
// chunk once parsed, the decrypted packet, the encrypted packet once written. Each is checked with
// the default cipher (chacha20-poly1305) and with AES-GCM.
const CIPHERS: [string, string[]][] = [
  ['the default cipher', []],
  ['aes128-gcm', ['-c', 'aes128-gcm@openssh.com']],
];

describe('downloads', () => {
  // READ replies are served from read buffers the session reuses, and a DATA reply is copied once,
  // straight into the SSH packet, which is freed once the socket has written it: a buffer handed
  // back for reuse must never still be behind a reply on its way out. Several OpenSSH clients (64
  // pipelined READs each), one of them fetching two files at once through the same session, must
  // each get exactly their own bytes.
  for (const [name, sshArgs] of CIPHERS) {
    test(`concurrent pipelined downloads of different files arrive intact (${name})`, async () => {
      const home = standard.users.alice!.home;
      const tag = sshArgs.length ? 'g' : 'c';
      const files = Array.from({ length: 5 }, (_, i) => ({ name: `par-${tag}${i}.bin`, data: randomBytes(3 * 1024 * 1024 + 1000 * i) }));
      for (const f of files) writeFileSync(join(home, f.name), f.data);
      const out = tempDir('sftp-par-');
      const get = (...names: string[]) =>
        sftpBatch(standard, 'alice', names.map((n) => `get ${n} ${out}/${n}`), { auth: 'key', sshArgs });
      const results = await Promise.all([get(files[0]!.name, files[1]!.name), get(files[2]!.name), get(files[3]!.name), get(files[4]!.name)]);
      for (const r of results) expect(r.status).toBe(0);
      for (const f of files) expect(sha(readFileSync(join(out, f.name)))).toBe(sha(f.data));
    });
  }

  test('two handles read alternately in one session get their own bytes', async () => {
    const home = standard.users.alice!.home;
    const a = randomBytes(600_000);
    const b = randomBytes(600_000);
    writeFileSync(join(home, 'alt-a.bin'), a);
    writeFileSync(join(home, 'alt-b.bin'), b);
    const { sftp, end } = await sftpClient(standard, 'alice');
    const [ha, hb] = await Promise.all([open(sftp, '/alt-a.bin', 'r'), open(sftp, '/alt-b.bin', 'r')]);
    const read = (h: Buffer, pos: number) =>
      new Promise<Buffer>((resolve, reject) => {
        const into = Buffer.alloc(32_000);
        sftp.read(h, into, 0, into.length, pos, (err, n) => (err ? reject(err) : resolve(into.subarray(0, n))));
      });
    const gotA: Promise<Buffer>[] = [];
    const gotB: Promise<Buffer>[] = [];
    for (let pos = 0; pos < a.length; pos += 32_000) {
      gotA.push(read(ha, pos));
      gotB.push(read(hb, pos));
    }
    const [ra, rb] = await Promise.all([Promise.all(gotA), Promise.all(gotB)]);
    await Promise.all([close(sftp, ha), close(sftp, hb)]);
    end();
    expect(Buffer.concat(ra).equals(a)).toBe(true);
    expect(Buffer.concat(rb).equals(b)).toBe(true);
  });
  // Pipelined READs run at once, each in a read buffer the session reuses; a CLOSE sent right
  // behind a hundred of them must wait for every one (a buffer handed back, or a file closed,
  // while one is still reading would show here), and every READ gets its own bytes.
  test('a CLOSE pipelined behind many READs waits for all of them, each answered with its own bytes', async () => {
    const home = standard.users.alice!.home;
    const data = randomBytes(100 * 16_384);
    writeFileSync(join(home, 'burst.bin'), data);
    const { sftp, end } = await sftpClient(standard, 'alice');
    const h = await open(sftp, '/burst.bin', 'r');
    const reads: Promise<Buffer>[] = [];
    for (let pos = 0; pos < data.length; pos += 16_384)
      reads.push(
        new Promise<Buffer>((resolve, reject) => {
          const into = Buffer.alloc(16_384);
          sftp.read(h, into, 0, into.length, pos, (err, n) => (err ? reject(err) : resolve(into.subarray(0, n))));
        }),
      );
    const closed = close(sftp, h);
    const got = await Promise.all(reads);
    await closed;
    end();
    expect(got.length).toBe(100);
    expect(Buffer.concat(got).equals(data)).toBe(true);
  });
});

describe('uploads', () => {
  // WRITE data is copied out of the packet into buffers the session reuses once the write has
  // landed, and the socket chunk it came in is freed as soon as it is parsed: a buffer reused or
  // freed too early would put one file's bytes into another, or zeros, silently. Several OpenSSH
  // clients (64 pipelined WRITEs each), one of them sending two files through the same session.
  for (const [name, sshArgs] of CIPHERS) {
    test(`concurrent pipelined uploads of different files arrive intact (${name})`, async () => {
      const home = standard.users.alice!.home;
      const tag = sshArgs.length ? 'g' : 'c';
      const src = tempDir('sftp-up-');
      const files = Array.from({ length: 5 }, (_, i) => ({ name: `up-${tag}${i}.bin`, data: randomBytes(3 * 1024 * 1024 + 1000 * i) }));
      for (const f of files) writeFileSync(join(src, f.name), f.data);
      const put = (...names: string[]) =>
        sftpBatch(standard, 'alice', names.map((n) => `put ${src}/${n} ${n}`), { auth: 'key', sshArgs });
      const results = await Promise.all([put(files[0]!.name, files[1]!.name), put(files[2]!.name), put(files[3]!.name), put(files[4]!.name)]);
      for (const r of results) expect(r.status).toBe(0);
      for (const f of files) expect(sha(readFileSync(join(home, f.name)))).toBe(sha(f.data));
    });
  }

  // Writes in flight at once, out of order, each with its own bytes, through one ssh2 session:
  // every pooled buffer must carry its own request's data to its own offset.
  test('many concurrent writes of distinct blocks through one session land where they belong', async () => {
    const { sftp, end } = await sftpClient(standard, 'alice');
    const blocks = Array.from({ length: 256 }, (_, i) => randomBytes(20_000 + (i % 7) * 1_500));
    const offsets: number[] = [];
    let at = 0;
    for (const b of blocks) (offsets.push(at), (at += b.length));
    const h = await open(sftp, '/blocks.bin', 'w');
    // Last block first, then the rest in a shuffled order, all in flight together.
    const order = blocks.map((_, i) => i).sort((a, b) => ((a * 7919) % 256) - ((b * 7919) % 256));
    await Promise.all(order.map((i) => write(sftp, h, blocks[i]!, offsets[i]!)));
    await close(sftp, h);
    end();
    expect(sha(readFileSync(join(standard.users.alice!.home, 'blocks.bin')))).toBe(sha(Buffer.concat(blocks)));
  });

  test('a write at 5 GiB makes a sparse file of the right size and content', async () => {
    const { sftp, end } = await sftpClient(standard, 'alice');
    const at = 5 * 1024 ** 3;
    const h = await open(sftp, '/sparse.bin', 'w');
    await write(sftp, h, Buffer.from('far away'), at);
    await write(sftp, h, Buffer.from('start'), 0);
    await close(sftp, h);
    const attrs = await new Promise<{ size: number }>((r, j) => sftp.stat('/sparse.bin', (e, a) => (e ? j(e) : r(a))));
    end();
    const path = join(standard.users.alice!.home, 'sparse.bin');
    expect(attrs.size).toBe(at + 8);
    expect(statSync(path).size).toBe(at + 8);
    const fd = openSync(path, 'r');
    const buf = Buffer.alloc(8);
    readSync(fd, buf, 0, 8, at);
    const head = Buffer.alloc(5);
    readSync(fd, head, 0, 5, 0);
    closeSync(fd);
    expect(buf.toString()).toBe('far away');
    expect(head.toString()).toBe('start');
  });

  test('atomic mode: an aborted upload leaves the old file intact and no temp file', async () => {
    const home = atomic.users.alice!.home;
    writeFileSync(join(home, 'good.txt'), 'the good version');
    const { sftp, end } = await sftpClient(atomic, 'alice');
    const h = await open(sftp, '/good.txt', 'w');
    await write(sftp, h, Buffer.alloc(100_000, 1), 0);
    end(); // gone without CLOSE
    const logout = await lastLogout(atomic, 1);
    expect(logout).toMatchObject({ open_transfers: 0, open_handles: 0, live_connections: 0 });
    expect(readFileSync(join(home, 'good.txt'), 'utf8')).toBe('the good version');
    expect(readdirSync(home)).toEqual(['good.txt']);
  });

  test('atomic mode: a completed upload replaces the file', async () => {
    const home = atomic.users.alice!.home;
    const { sftp, end } = await sftpClient(atomic, 'alice');
    const h = await open(sftp, '/good.txt', 'w');
    await write(sftp, h, Buffer.from('new'), 0);
    // Before the close the old content is still what readers see.
    expect(readFileSync(join(home, 'good.txt'), 'utf8')).toBe('the good version');
    await close(sftp, h);
    end();
    expect(readFileSync(join(home, 'good.txt'), 'utf8')).toBe('new');
    expect(readdirSync(home)).toEqual(['good.txt']);
  });

  test('standard mode: handles left open by a vanished client are all released', async () => {
    const before = standard.server.logs.filter((l) => l.event === 'logout').length;
    const { sftp, end } = await sftpClient(standard, 'alice');
    await open(sftp, '/sparse.bin', 'r');
    await open(sftp, '/w1', 'w');
    await new Promise((r) => sftp.opendir('/', r));
    end();
    const logout = await lastLogout(standard, before + 1);
    expect(logout).toMatchObject({ open_transfers: 0, open_handles: 0, live_connections: 0 });
  });
});
