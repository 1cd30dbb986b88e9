// The passive listener of a session: opened at the first PASV/EPSV and reused by every transfer of
// the session (ABOR included), taking one connection per transfer command and only from the
// client's address, refusing stray ones, closed when the session ends however it ends; and a
// one-port passive_port_range shared by sessions in turn.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { dialFrom, freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { PASSWORD, startFtpd, type Ftpd } from './harness.ts';

let f: Ftpd;

beforeAll(async () => {
  f = await startFtpd([{ username: 'alice' }]);
  writeFileSync(join(f.homes.alice!, 'seen.txt'), 'listed');
});

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

async function loggedIn(port: number, user = 'alice', password = PASSWORD): Promise<FtpControl> {
  const c = await FtpControl.connect(port);
  expect((await c.login(user, password)).code).toBe(230);
  return c;
}

async function epsvPort(c: FtpControl): Promise<number> {
  const r = await c.send('EPSV');
  expect(r.code).toBe(229);
  return Number(/\(\|\|\|(\d+)\|\)/.exec(r.text)![1]);
}

/** Resolves once nothing listens on `port` any more (connections refused), or false after `ms`. */
async function closedSoon(port: number, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const refused = await new Promise<boolean>((ok) => {
      const s = netConnect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), ok(false)));
      s.once('error', (e: NodeJS.ErrnoException) => ok(e.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
    await Bun.sleep(20);
  }
  return false;
}

describe("a session's passive listener", () => {
  test('every transfer of a session goes through one port, ABOR included; QUIT closes it', async () => {
    writeFileSync(join(f.homes.alice!, 'big.bin'), randomBytes(32 * 1024 * 1024));
    const c = await loggedIn(f.ports.plain);
    const ports: number[] = [];
    for (const cmd of ['NLST', 'RETR seen.txt', 'LIST']) {
      const port = await epsvPort(c);
      ports.push(port);
      const { received } = await dialFrom(port);
      expect((await c.send(cmd)).code).toBe(150);
      expect((await received).length).toBeGreaterThan(0);
      expect((await c.read()).code).toBe(226);
    }
    const up = await c.transfer('STOR up.bin', Buffer.from('uploaded'));
    expect(up.last?.code).toBe(226);
    // PASV announces the same listener.
    const pasv = await c.send('PASV');
    const m = /,(\d+),(\d+)\)/.exec(pasv.text)!;
    ports.push(Number(m[1]) * 256 + Number(m[2]));
    expect(new Set(ports).size).toBe(1);
    const port = ports[0]!;
    expect(port).toBeGreaterThanOrEqual(f.passive.start);
    expect(port).toBeLessThanOrEqual(f.passive.end);

    // ABOR mid-download, then the next transfer on the same port works.
    const { socket } = await dialFrom(port);
    socket.pause();
    expect((await c.send('RETR big.bin')).code).toBe(150);
    expect([(await c.send('ABOR')).code, (await c.read()).code]).toEqual([426, 226]);
    socket.destroy();
    expect(await epsvPort(c)).toBe(port);
    const next = await dialFrom(port);
    expect((await c.send('RETR seen.txt')).code).toBe(150);
    expect((await next.received).toString()).toBe('listed');
    expect((await c.read()).code).toBe(226);

    expect((await c.send('QUIT')).code).toBe(221);
    expect(await closedSoon(port)).toBe(true);
  });

  test('one connection per transfer command, from the client address only; stray ones are closed', async () => {
    const c = await loggedIn(f.ports.plain);
    const port = await epsvPort(c);
    // Another address reaching the port is dropped; the transfer still waits for the client.
    const stranger = await dialFrom(port, '127.0.0.2');
    expect((await stranger.received).length).toBe(0);
    const mine = await dialFrom(port);
    // A second connection from the client's own address: the transfer already has its connection.
    const second = await dialFrom(port);
    expect((await second.received).length).toBe(0);
    expect((await c.send('RETR seen.txt')).code).toBe(150);
    expect((await mine.received).toString()).toBe('listed');
    expect((await c.read()).code).toBe(226);
    // Nothing waits now: a connection is closed at once, and the next transfer is not given it.
    const stray = await dialFrom(port);
    expect((await stray.received).length).toBe(0);
    expect(await epsvPort(c)).toBe(port);
    const last = await dialFrom(port);
    expect((await c.send('NLST')).code).toBe(150);
    expect((await last.received).toString()).toContain('seen.txt');
    expect((await c.read()).code).toBe(226);
    c.close();
    expect(await closedSoon(port)).toBe(true);
  });

  test('a client that drops the control connection, idle or mid-transfer, leaves no listener behind', async () => {
    const idle = await loggedIn(f.ports.plain);
    const idlePort = await epsvPort(idle);
    idle.close();
    expect(await closedSoon(idlePort)).toBe(true);

    const busy = await loggedIn(f.ports.plain);
    const port = await epsvPort(busy);
    const { socket } = await dialFrom(port);
    socket.pause();
    expect((await busy.send('RETR big.bin')).code).toBe(150);
    busy.close();
    expect(await closedSoon(port)).toBe(true);
    socket.destroy();
    await f.server.waitForLog((l) => l.event === 'logout' && l.protocol === 'FTP' && (l.live_connections as number) === 0, 10_000);
  });
});

describe('a one-port passive_port_range', () => {
  let server: RunningServer;
  let ftp: number;
  let passive: number;

  beforeAll(async () => {
    const dir = tempDir('ftp-one-port-');
    const home = join(dir, 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'seen.txt'), 'listed');
    [ftp, passive] = [await freePort(), await freePort()];
    const yaml = [
      'ftpd:',
      `  passive_port_range: { start: ${passive}, end: ${passive} }`,
      `  bindings: [{ address: 127.0.0.1, port: ${ftp} }]`,
      'users:',
      `  - { username: bob, password: "${PASSWORD}", home_dir: ${home}, permissions: { "/": ["*"] } }`,
      '',
    ].join('\n');
    server = await startServer({ yaml, cwd: dir });
  });

  afterAll(async () => {
    await server?.stop();
  });

  test('sessions take the port in turn: an idle listener gives it up, a waiting one keeps it', async () => {
    const a = await loggedIn(ftp, 'bob');
    const b = await loggedIn(ftp, 'bob');
    for (const c of [a, b, a]) {
      const r = await c.transfer('NLST');
      expect(r.first.code).toBe(150);
      expect(r.data.toString()).toContain('seen.txt');
      expect(r.last?.code).toBe(226);
    }
    // a waits for its data connection: b cannot have the port meanwhile.
    expect(await epsvPort(a)).toBe(passive);
    expect((await b.send('EPSV')).code).toBe(451);
    const { received } = await dialFrom(passive);
    expect((await a.send('RETR seen.txt')).code).toBe(150);
    expect((await received).toString()).toBe('listed');
    expect((await a.read()).code).toBe(226);
    expect(await epsvPort(b)).toBe(passive);
    a.close();
    b.close();
    expect(await closedSoon(passive)).toBe(true);
  });
});
