// Inputs built to make the server allocate, expand or recurse without bound, against a real server
// in this process: each is refused with the protocol's answer, costs little memory, and the server
// goes on serving. HTTP headers past 16 KiB (a huge WebDAV If: header), deeply nested and oversized
// WebDAV XML, a megabyte-long FTP command line, an SFTP packet claiming a gigabyte, and SSH
// compression (never offered, so no decompression bomb can reach the server).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { Client } from '../../../src/lib/ssh2.ts';
import type { Server } from '../../../src/serve/serve.ts';
import { startDoorServer, type DoorPorts } from '../../support/door-server.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { rssMiB } from '../../support/rss.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = 'Big-Secret-1';
let server: Server;
let ports: DoorPorts;
let lines: Record<string, unknown>[];
const auth = `Basic ${Buffer.from(`olga:${PASSWORD}`).toString('base64')}`;

beforeAll(async () => {
  ({ server, ports, lines } = await startDoorServer({ prefix: 'oversized-', username: 'olga', password: PASSWORD, common: '  idle_timeout: 0\n' }));
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** Sends `text` on a fresh connection; the status line answered and whether the server closed. */
async function exchange(port: number, text: string | Buffer, from = '127.0.0.1'): Promise<{ status: string; closed: boolean }> {
  const s = connect({ host: '127.0.0.1', port, localAddress: from });
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString('latin1')));
  s.on('error', () => undefined);
  let isClosed = false;
  s.once('close', () => (isClosed = true));
  s.write(text);
  const end = Date.now() + 10_000;
  while (!got.includes('\r\n') && !isClosed && Date.now() < end) await Bun.sleep(10);
  // An answer that closes the connection does so right after it.
  const grace = Date.now() + 1000;
  while (!isClosed && Date.now() < grace) await Bun.sleep(10);
  const wasClosed = isClosed;
  s.destroy();
  return { status: got.split('\r\n')[0] ?? '', closed: wasClosed };
}

const davAlive = async () => (await run('curl', ['-sS', '-u', `olga:${PASSWORD}`, `http://127.0.0.1:${ports.dav}/hello.txt`])).stdout === 'hello';

test('HTTP: a 1 MiB If: header to WebDAV and a 1 MiB header to the API are answered 431 and logged once', async () => {
  const before = rssMiB();
  const dav = await exchange(ports.dav, `PUT /x HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nIf: (<${'a'.repeat(1 << 20)}>)\r\nContent-Length: 0\r\n\r\n`, '127.0.0.41');
  expect(dav).toEqual({ status: 'HTTP/1.1 431 Request Header Fields Too Large', closed: true });
  const api = await exchange(ports.api, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(1 << 20)}\r\n\r\n`, '127.0.0.42');
  expect(api).toEqual({ status: 'HTTP/1.1 431 Request Header Fields Too Large', closed: true });
  expect(lines.filter((l) => l.event === 'protocol_error' && l.ip === '127.0.0.41' && l.protocol === 'DAV')).toHaveLength(1);
  expect(lines.filter((l) => l.event === 'protocol_error' && l.ip === '127.0.0.42' && l.protocol === 'HTTP')).toHaveLength(1);
  expect(rssMiB() - before).toBeLessThan(64);
  expect(await davAlive()).toBe(true);
});

test('WebDAV: XML nested 100,000 deep is 400, an XML body over 1 MiB is 413, an entity-expansion DOCTYPE is 400', async () => {
  const propfind = (body: string) => `PROPFIND / HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nDepth: 0\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const deep = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:">${'<D:prop>'.repeat(100_000)}`;
  expect((await exchange(ports.dav, propfind(deep.slice(0, 1024 * 1024 - 16)))).status).toBe('HTTP/1.1 400 Bad Request');
  const big = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${'<D:x/>'.repeat(400_000)}</D:prop></D:propfind>`;
  expect((await exchange(ports.dav, propfind(big))).status).toBe('HTTP/1.1 413 Payload Too Large');
  const laughs = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><D:propfind xmlns:D="DAV:"><D:prop>&c;</D:prop></D:propfind>`;
  expect((await exchange(ports.dav, propfind(laughs))).status).toBe('HTTP/1.1 400 Bad Request');
  expect(await davAlive()).toBe(true);
});

test('FTP: a 1 MiB command line gets one 500 and the connection goes on', async () => {
  const c = await FtpControl.connect(ports.ftp);
  const first = await c.send(`USER ${'u'.repeat(1 << 20)}`);
  expect(first.code).toBe(500);
  expect(first.text).toContain('too long');
  // The rest of the long line was dropped, not run, and answered once: the next reply is NOOP's.
  expect((await c.send('NOOP')).code).toBe(200);
  expect((await c.login('olga', PASSWORD)).code).toBe(230);
  c.close();
});

function sshConnect(opts: Record<string, unknown>): Promise<InstanceType<typeof Client>> {
  const c = new Client();
  return new Promise((resolve, reject) => {
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: ports.sftp, username: 'olga', password: PASSWORD, readyTimeout: 10_000, ...opts });
  });
}

test('SSH: compression is never offered: a client that insists on zlib is refused, OpenSSH with -C works uncompressed', async () => {
  await expect(sshConnect({ algorithms: { compress: ['zlib@openssh.com', 'zlib'] } })).rejects.toThrow(/compression|handshake|algorithm/i);
  const r = await run('sshpass', ['-p', PASSWORD, 'sftp', '-C', '-v', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(ports.sftp), '-b', '-', 'olga@127.0.0.1'], { input: 'ls\n' });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('hello.txt');
  expect(r.stderr).toMatch(/compression: none/);
});

test('SFTP: a packet that claims a gigabyte closes the channel at once, without the allocation', async () => {
  const before = rssMiB();
  const c = await sshConnect({});
  const closed = await new Promise<boolean>((resolve, reject) => {
    c.subsys('sftp', (err, stream) => {
      if (err) return reject(err);
      stream.on('close', () => resolve(true));
      stream.on('error', () => undefined);
      // SSH_FXP_INIT; once the server's VERSION is back, a packet header saying 1 GiB follows.
      stream.write(Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]));
      stream.once('data', () => {
        const huge = Buffer.alloc(64 * 1024);
        huge.writeUInt32BE(1 << 30, 0);
        huge[4] = 6;
        stream.write(huge);
      });
      setTimeout(() => resolve(false), 5000);
    });
  });
  c.end();
  expect(closed).toBe(true);
  expect(rssMiB() - before).toBeLessThan(64);
  // The server goes on: a normal session lists the home.
  const ok = await sshConnect({});
  const names = await new Promise<string[]>((resolve, reject) =>
    ok.sftp((err, sftp) => (err ? reject(err) : sftp.readdir('/', (e, list) => (e ? reject(e) : resolve(list.map((f) => f.filename)))))),
  );
  ok.end();
  expect(names).toContain('hello.txt');
});
