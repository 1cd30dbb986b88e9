// Slow and silent clients on every listener of a real server in this process (SFTP, FTP, WebDAV,
// REST API), with the deadlines shortened: sftpd.login_grace_time 2 s, the FTP login idle limit,
// the HTTP head, keep-alive and stalled-request deadlines (context.sockets) about a second or two.
// A client that connects and says nothing, one that sends a byte every 200 ms, and an upload whose
// body stops are each closed after their deadline, logged once and counted in /metrics; a flood of
// idle connections from one address stays capped by the default max_per_host_connections (20)
// while a user on another address logs in over every protocol.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect, type Socket } from 'node:net';
import { Client } from '../../../src/lib/ssh2.ts';
import type { Server } from '../../../src/serve/serve.ts';
import { startDoorServer, type DoorPorts } from '../../support/door-server.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = 'Slow-Secret-1';
let server: Server;
let ports: DoorPorts;
let lines: Record<string, unknown>[];
let telemetryPort: number;

beforeAll(async () => {
  telemetryPort = await freePort();
  const door = await startDoorServer({
    prefix: 'slow-',
    username: 'sam',
    password: PASSWORD,
    common: '  idle_timeout: 0\n',
    sftpd: '  login_grace_time: 2\n',
    extra: `telemetry:\n  bind_port: ${telemetryPort}\n  bind_address: 127.0.0.1\n`,
  });
  ({ server, ports, lines } = door);
  Object.assign(server.context.sockets.httpTimeouts, { headersMs: 1000, idleMs: 1500, requestIdleMs: 1500 });
  server.context.sockets.ftpLoginIdleMs = 1500;
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

interface Raw {
  sock: Socket;
  received: () => string;
  /** Milliseconds from connect to the server's close, once closed. */
  closedAfter: Promise<number>;
}

async function raw(port: number, from: string): Promise<Raw> {
  const t0 = Date.now();
  const sock = connect({ host: '127.0.0.1', port, localAddress: from });
  let data = '';
  sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
  sock.on('error', () => undefined);
  const closedAfter = new Promise<number>((r) => sock.once('close', () => r(Date.now() - t0)));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return { sock, received: () => data, closedAfter };
}

/** Sends `text` one byte every `everyMs` until the socket closes. */
function trickle(sock: Socket, text: string, everyMs: number): void {
  let i = 0;
  const t = setInterval(() => {
    if (sock.destroyed || i >= text.length) return clearInterval(t);
    sock.write(text[i++]!);
  }, everyMs);
}

const within = async (p: Promise<number>, ms: number): Promise<number> => Promise.race([p, Bun.sleep(ms).then(() => Infinity)]);

const linesFrom = (ip: string, event: string) => lines.filter((l) => l.ip === ip && l.event === event);

/** The text the telemetry listener's /metrics serves. */
const metrics = (): string => server.context.metrics.render();

describe('silent clients are closed after their deadline, each logged once', () => {
  test('SSH: login_grace_time', async () => {
    const c = await raw(ports.sftp, '127.0.0.11');
    const after = await within(c.closedAfter, 6000);
    expect(after).toBeGreaterThanOrEqual(1900);
    expect(after).toBeLessThan(6000);
    expect(c.received()).toStartWith('SSH-2.0-');
    expect(linesFrom('127.0.0.11', 'login_failed').map((l) => l.reason)).toEqual(['login_grace_time_exceeded']);
  });

  test('FTP: 421 after the login idle limit', async () => {
    const c = await raw(ports.ftp, '127.0.0.12');
    const after = await within(c.closedAfter, 6000);
    expect(after).toBeGreaterThanOrEqual(1400);
    expect(after).toBeLessThan(6000);
    expect(c.received()).toContain('421 Login timeout');
    expect(linesFrom('127.0.0.12', 'connection_timeout').map((l) => l.reason)).toEqual(['login_timeout']);
  });

  for (const [name, key, from] of [['WebDAV', 'dav', '127.0.0.13'], ['REST API', 'api', '127.0.0.14'], ['telemetry', 'telemetry', '127.0.0.15']] as const) {
    test(`${name}: 408 when no request head comes`, async () => {
      const c = await raw(key === 'telemetry' ? telemetryPort : ports[key], from);
      const after = await within(c.closedAfter, 6000);
      expect(after).toBeGreaterThanOrEqual(900);
      expect(after).toBeLessThan(6000);
      expect(c.received()).toStartWith('HTTP/1.1 408');
      expect(linesFrom(from, 'connection_timeout').map((l) => l.reason)).toEqual(['request_head_timeout']);
    });
  }
});

describe('a byte every 200 ms does not keep a connection open', () => {
  test('SSH: an identification line trickling in is cut at the grace time', async () => {
    const c = await raw(ports.sftp, '127.0.0.21');
    trickle(c.sock, `SSH-2.0-${'x'.repeat(200)}\r\n`, 200);
    expect(await within(c.closedAfter, 6000)).toBeLessThan(6000);
  });

  test('FTP: a command line trickling in does not re-arm the login idle limit', async () => {
    const c = await raw(ports.ftp, '127.0.0.22');
    trickle(c.sock, `USER ${'x'.repeat(200)}\r\n`, 200);
    expect(await within(c.closedAfter, 6000)).toBeLessThan(6000);
    expect(c.received()).toContain('421 Login timeout');
  });

  for (const [name, key, from] of [['WebDAV', 'dav', '127.0.0.23'], ['REST API', 'api', '127.0.0.24']] as const) {
    test(`${name}: a request head trickling in gets 408 at the head deadline`, async () => {
      const c = await raw(ports[key], from);
      trickle(c.sock, `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, 200);
      expect(await within(c.closedAfter, 6000)).toBeLessThan(6000);
      expect(c.received()).toStartWith('HTTP/1.1 408');
      expect(linesFrom(from, 'connection_timeout')).toHaveLength(1);
    });
  }

  test('WebDAV: an authenticated upload whose body stops is dropped once nothing moved for the stall deadline', async () => {
    const c = await raw(ports.dav, '127.0.0.25');
    const auth = Buffer.from(`sam:${PASSWORD}`).toString('base64');
    c.sock.write(`PUT /stalled.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(1000)}`);
    const after = await within(c.closedAfter, 8000);
    expect(after).toBeGreaterThanOrEqual(1400);
    expect(after).toBeLessThan(8000);
    expect(linesFrom('127.0.0.25', 'connection_timeout').map((l) => l.reason)).toEqual(['request_stalled']);
  });

  test('a keep-alive connection that goes quiet after a response is closed without a line', async () => {
    const c = await raw(ports.api, '127.0.0.26');
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const after = await within(c.closedAfter, 6000);
    expect(after).toBeGreaterThanOrEqual(1400);
    expect(after).toBeLessThan(6000);
    expect(c.received()).toStartWith('HTTP/1.1 ');
    expect(linesFrom('127.0.0.26', 'connection_timeout')).toHaveLength(0);
  });

  test('the timeouts are counted in /metrics by protocol and reason', () => {
    const text = metrics();
    expect(text).toMatch(/sftpgo_connection_timeouts_total\{protocol="FTP",reason="login_timeout"\} [1-9]/);
    expect(text).toMatch(/sftpgo_connection_timeouts_total\{protocol="DAV",reason="request_head_timeout"\} [1-9]/);
    expect(text).toMatch(/sftpgo_connection_timeouts_total\{protocol="HTTP",reason="request_head_timeout"\} [1-9]/);
    expect(text).toMatch(/sftpgo_connection_timeouts_total\{protocol="DAV",reason="request_stalled"\} 1/);
  });
});

async function sftpLogin(): Promise<boolean> {
  const c = new Client();
  return new Promise<boolean>((resolve) => {
    const t = setTimeout(() => (c.end(), resolve(false)), 15_000);
    c.once('ready', () => {
      c.sftp((err, sftp) => {
        if (err) return clearTimeout(t), c.end(), resolve(false);
        sftp.readdir('/', (e, list) => {
          clearTimeout(t);
          c.end();
          resolve(!e && list.some((f) => f.filename === 'hello.txt'));
        });
      });
    });
    c.once('error', () => (clearTimeout(t), resolve(false)));
    c.connect({ host: '127.0.0.1', port: ports.sftp, username: 'sam', password: PASSWORD, localAddress: '127.0.0.1', readyTimeout: 15_000 });
  });
}

test('a flood of silent connections from one address is capped at 20 per host, and a user elsewhere logs in over every protocol meanwhile', async () => {
  const attacker = '127.0.0.30';
  const flood: Raw[] = [];
  // As fast as it can: 100 connections to each listener, none of which ever speaks.
  for (const key of ['sftp', 'ftp', 'dav', 'api'] as const) {
    flood.push(...(await Promise.all(Array.from({ length: 100 }, () => raw(ports[key], attacker).catch(() => undefined)))).filter((r): r is Raw => r !== undefined));
  }
  await Bun.sleep(200);
  expect(server.context.sockets.counts(attacker).host).toBeLessThanOrEqual(20);
  const refused = linesFrom(attacker, 'connection_refused');
  expect(refused.length).toBeGreaterThanOrEqual(flood.length - 20);
  expect(new Set(refused.map((l) => l.reason))).toEqual(new Set(['max_per_host_connections']));

  expect(await sftpLogin()).toBe(true);
  const ftp = await run('curl', ['-sS', '-u', `sam:${PASSWORD}`, `ftp://127.0.0.1:${ports.ftp}/hello.txt`]);
  expect(ftp.stdout).toBe('hello');
  const dav = await run('curl', ['-sS', '-u', `sam:${PASSWORD}`, `http://127.0.0.1:${ports.dav}/hello.txt`]);
  expect(dav.stdout).toBe('hello');
  const token = await run('curl', ['-sS', '-u', `sam:${PASSWORD}`, `http://127.0.0.1:${ports.api}/api/v2/user/token`]);
  expect(JSON.parse(token.stdout).access_token).toBeString();
  for (const r of flood) r.sock.destroy();
  // Every flood connection is released: the host's count goes back to zero.
  const end = Date.now() + 5000;
  while (server.context.sockets.counts(attacker).host > 0 && Date.now() < end) await Bun.sleep(20);
  expect(server.context.sockets.counts(attacker).host).toBe(0);
}, 60_000);
