// common.max_total_connections and common.max_per_host_connections, on every listener: a real
// server in this process with SFTP, FTP, WebDAV and REST API bindings and caps of 2 total / 1 per host.
// Raw TCP clients from several loopback addresses (127.0.0.1, .2, .3) prove that a connection over
// a cap is closed before the server says anything (no SSH banner, no FTP 220: a 421 instead, no
// HTTP answer), that closing one frees its place, that per-host refusals are scored by the defender
// (score_limit_exceeded) and total ones are not, and that a flood of idle connections from one
// host does not keep an SFTP user on another host out.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect, type Socket } from 'node:net';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';
import type { Server } from '../../../src/serve/serve.ts';
import { startDoorServer, type DoorPorts } from '../../support/door-server.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = 'Caps-Secret-1';
let server: Server;
let ports: DoorPorts;
let lines: Record<string, unknown>[];

beforeAll(async () => {
  const door = await startDoorServer({
    prefix: 'caps-',
    username: 'carol',
    password: PASSWORD,
    common: `  max_total_connections: 2
  max_per_host_connections: 1
  defender:
    enabled: true
    threshold: 100000
    score_limit_exceeded: 1
    score_no_auth: 0
    safelist: [127.0.0.9]
`,
  });
  ({ server, ports, lines } = door);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** A raw TCP client from `from`: what it received, and whether the server closed it. */
interface Raw {
  sock: Socket;
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

async function raw(port: number, from: string): Promise<Raw> {
  const sock = connect({ host: '127.0.0.1', port, localAddress: from });
  let data = '';
  let closed = false;
  sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
  sock.on('error', () => undefined);
  const done = new Promise<void>((r) => sock.once('close', () => ((closed = true), r())));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return { sock, received: () => data, closed: done, isClosed: () => closed };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await Bun.sleep(10);
  expect(check()).toBe(true);
}

/** Waits for what an accepted client first sees (`greeting`, or an answer to `probe`). */
async function accepted(c: Raw, greeting: string, probe?: string): Promise<void> {
  if (probe) c.sock.write(probe);
  await until(() => c.received().startsWith(greeting));
  expect(c.isClosed()).toBe(false);
}

/** A refused client is closed without the greeting (FTP: with a 421 only). */
async function refused(c: Raw, greeting: string, probe?: string): Promise<void> {
  if (probe) c.sock.write(probe);
  await c.closed;
  expect(c.received().startsWith(greeting)).toBe(false);
}

async function closeAll(...cs: Raw[]): Promise<void> {
  for (const c of cs) c.sock.destroy();
  await until(() => server.context.sockets.counts().total === 0);
}

const refusals = (reason: string) => lines.filter((l) => l.event === 'connection_refused' && l.reason === reason).length;

const PROTOCOLS = [
  { name: 'SFTP', port: () => ports.sftp, greeting: 'SSH-2.0-', probe: undefined, refusal: '' },
  { name: 'FTP', port: () => ports.ftp, greeting: '220', probe: undefined, refusal: '421' },
  { name: 'WebDAV', port: () => ports.dav, greeting: 'HTTP/1.1 ', probe: 'OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n', refusal: '' },
  { name: 'REST API', port: () => ports.api, greeting: 'HTTP/1.1 ', probe: 'GET /api/v2/version HTTP/1.1\r\nHost: x\r\n\r\n', refusal: '' },
] as const;

describe('caps of 2 total and 1 per host', () => {
  for (const p of PROTOCOLS) {
    test(`${p.name}: over either cap the connection is closed before any greeting; a closed one frees its place`, async () => {
      const total = refusals('max_total_connections');
      const perHost = refusals('max_per_host_connections');
      const scoreBefore = server.context.defender.host('127.0.0.1')?.score ?? 0;
      const a = await raw(p.port(), '127.0.0.1');
      await accepted(a, p.greeting, p.probe);
      const b = await raw(p.port(), '127.0.0.2');
      await accepted(b, p.greeting, p.probe);
      // A third host: over max_total_connections.
      const c = await raw(p.port(), '127.0.0.3');
      await refused(c, p.greeting, p.probe);
      // The first host again: over max_per_host_connections.
      const d = await raw(p.port(), '127.0.0.1');
      await refused(d, p.greeting, p.probe);
      if (p.refusal) {
        expect(c.received()).toStartWith(p.refusal);
        expect(d.received()).toStartWith(p.refusal);
      }
      // Each refusal logged once with its reason; only the per-host one is scored.
      expect(refusals('max_total_connections')).toBe(total + 1);
      expect(refusals('max_per_host_connections')).toBe(perHost + 1);
      expect(server.context.defender.host('127.0.0.1')?.score).toBe(scoreBefore + 1);
      expect(server.context.defender.host('127.0.0.3')).toBeUndefined();
      // The first one leaves: the third host gets in.
      a.sock.destroy();
      await until(() => server.context.sockets.counts().total === 1);
      const e = await raw(p.port(), '127.0.0.3');
      await accepted(e, p.greeting, p.probe);
      expect(server.context.sockets.counts('127.0.0.3')).toEqual({ total: 2, host: 1 });
      await closeAll(b, e);
      expect(server.context.sockets.counts('127.0.0.1')).toEqual({ total: 0, host: 0 });
    });
  }

  test('the caps count across protocols: an SFTP and an FTP connection leave no room for WebDAV', async () => {
    const s = await raw(ports.sftp, '127.0.0.1');
    await accepted(s, 'SSH-2.0-');
    const f = await raw(ports.ftp, '127.0.0.2');
    await accepted(f, '220');
    const w = await raw(ports.dav, '127.0.0.3');
    await refused(w, 'HTTP/1.1 ', 'OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closeAll(s, f);
  });

  test('a defender safelist address is not capped per host (only in total)', async () => {
    const a = await raw(ports.sftp, '127.0.0.9');
    await accepted(a, 'SSH-2.0-');
    const b = await raw(ports.ftp, '127.0.0.9');
    await accepted(b, '220');
    expect(server.context.sockets.counts('127.0.0.9')).toEqual({ total: 2, host: 2 });
    const c = await raw(ports.sftp, '127.0.0.9');
    await refused(c, 'SSH-2.0-');
    await closeAll(a, b);
  });

  test('a flood of idle connections from one host does not keep a user on another host out', async () => {
    const holder = await raw(ports.sftp, '127.0.0.1');
    await accepted(holder, 'SSH-2.0-');
    const flood: Raw[] = [];
    for (let i = 0; i < 300; i++) flood.push(await raw(ports.sftp, '127.0.0.1'));
    const started = Date.now();
    const { client, sftp } = await sftpLogin(ports.sftp, '127.0.0.2');
    try {
      expect(await readdir(sftp, '/')).toEqual(['hello.txt']);
    } finally {
      client.end();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    // Every flood connection was closed at the door, with no banner.
    await Promise.all(flood.map((c) => c.closed));
    expect(flood.every((c) => c.received() === '')).toBe(true);
    expect(server.context.sockets.counts('127.0.0.1').host).toBe(1);
    await closeAll(holder);
    // The server still serves the flooding host once it is under its cap.
    const again = await sftpLogin(ports.sftp, '127.0.0.1');
    again.client.end();
    await until(() => server.context.sockets.counts().total === 0);
  });
});

function sftpLogin(port: number, from: string): Promise<{ client: InstanceType<typeof Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, localAddress: from, username: 'carol', password: PASSWORD, readyTimeout: 10_000 });
  });
}

function readdir(sftp: SFTPWrapper, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => sftp.readdir(path, (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
}
