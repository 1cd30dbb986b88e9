// FTP settings proven on the wire: hash_support off, combine_support (COMB), banner or banner_file
// in the greeting, a binding's debug trace, passive_connections_security and
// active_connections_security (a data connection from or to another loopback address, 127.0.0.2),
// the active data connection's source port (active_transfers_port_non_20), and min_tls_version and
// the binding's own certificate with curl.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { dialFrom, freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'pw-Settings-1';
let server: RunningServer;
let strict: number;
let relaxed: number;
let tls13: number;
let certs: { global: string; binding: string };

beforeAll(async () => {
  const dir = tempDir('ftp-settings-');
  const cert = makeSelfSignedCert(dir);
  const own = makeSelfSignedCert(dir, 'binding');
  certs = { global: cert.cert, binding: own.cert };
  [strict, relaxed, tls13] = [await freePort(), await freePort(), await freePort()];
  const { yaml: users, homes } = usersYaml(dir, [{ username: 'alice' }], PASSWORD);
  writeFileSync(join(homes.alice!, 'seen.txt'), 'listed');
  const yaml = [
    'ftpd:',
    '  banner: Settings FTP',
    '  hash_support: 0',
    '  combine_support: 1',
    '  active_transfers_port_non_20: true',
    `  certificate_file: ${cert.cert}`,
    `  certificate_key_file: ${cert.key}`,
    '  bindings:',
    `    - { address: 127.0.0.1, port: ${strict}, debug: true }`,
    `    - { address: 127.0.0.1, port: ${relaxed}, passive_connections_security: 1, active_connections_security: 1 }`,
    `    - { address: 127.0.0.1, port: ${tls13}, min_tls_version: 13, certificate_file: ${own.cert}, certificate_key_file: ${own.key} }`,
    'users:',
    users,
    '',
  ].join('\n');
  server = await startServer({ yaml, cwd: dir });
});

afterAll(async () => {
  await server?.stop();
});

/** A free port whose predecessor is free too (the active data port when it must be port - 1). */
async function portAboveAFreeOne(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const below = createServer();
    const free = await new Promise<boolean>((ok) => {
      below.once('error', () => ok(false));
      below.listen(port - 1, '127.0.0.1', () => below.close(() => ok(true)));
    });
    if (free) return port;
  }
}

/** A one-shot listener for an active data connection: its PORT argument and the server's source port. */
async function activeListener(host: string): Promise<{ portArg: string; from: Promise<number> }> {
  const listener = createServer();
  const from = new Promise<number>((ok) =>
    listener.once('connection', (s: Socket) => {
      s.on('data', () => undefined);
      s.on('close', () => listener.close());
      ok(s.remotePort!);
    }),
  );
  await new Promise<void>((ok) => listener.listen(0, host, ok));
  const p = (listener.address() as AddressInfo).port;
  return { portArg: `${host.replace(/\./g, ',')},${p >> 8},${p & 255}`, from };
}

async function loggedIn(port: number): Promise<FtpControl> {
  const c = await FtpControl.connect(port);
  expect((await c.login('alice', PASSWORD)).code).toBe(230);
  return c;
}

/** EPSV, then a data connection from `from`: resolves with what arrives and whether the server hung up first. */
async function passiveFrom(c: FtpControl, from: string): Promise<{ socket: Socket; received: Promise<Buffer> }> {
  const reply = await c.send('EPSV');
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(reply.text)![1]);
  return dialFrom(port, from);
}

describe('FTP settings', () => {
  test('banner is the 220 greeting; elsewhere banner_file replaces it, COMB is off by default, and active_transfers_port_non_20: false connects from port - 1', async () => {
    const c = await FtpControl.connect(strict);
    expect(c.greeting).toMatchObject({ code: 220, text: 'Settings FTP' });
    await c.send('QUIT');

    const dir = tempDir('ftp-banner-');
    writeFileSync(join(dir, 'banner.txt'), 'Authorised use only\nSecond line\n');
    const port = await portAboveAFreeOne();
    const other = await startServer({
      yaml: `ftpd:\n  active_transfers_port_non_20: false\n  banner: unused\n  banner_file: ${join(dir, 'banner.txt')}\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n${usersYaml(dir, [{ username: 'alice' }], PASSWORD).yaml}\n`,
      cwd: dir,
    });
    try {
      const f = await FtpControl.connect(port);
      expect(f.greeting.code).toBe(220);
      expect(f.greeting.lines.join('\n')).toContain('Authorised use only');
      expect(f.greeting.lines.join('\n')).toContain('Second line');
      expect(f.greeting.lines.join('\n')).not.toContain('unused');
      // combine_support is off by default.
      expect((await f.login('alice', PASSWORD)).code).toBe(230);
      expect((await f.send('FEAT')).lines).not.toContain(' COMB');
      expect((await f.send('COMB a b c')).code).toBe(502);
      // active_transfers_port_non_20: false: every active data connection comes from port - 1.
      for (let i = 0; i < 2; i++) {
        const { portArg, from } = await activeListener('127.0.0.1');
        expect((await f.send(`PORT ${portArg}`)).code).toBe(200);
        expect((await f.send('NLST')).code).toBe(150);
        expect(await from).toBe(port - 1);
        expect((await f.read()).code).toBe(226);
      }
      await f.send('QUIT');
    } finally {
      await other.stop();
    }
  });

  test('hash_support 0: FEAT lists no HASH and the hash commands are 502', async () => {
    const c = await loggedIn(strict);
    expect((await c.send('FEAT')).lines.join('\n')).not.toContain('HASH');
    expect((await c.send('HASH seen.txt')).code).toBe(502);
    expect((await c.send('XSHA256 seen.txt')).code).toBe(502);
    await c.send('QUIT');
  });

  test('combine_support 1: COMB appends the parts to the target in order and removes them', async () => {
    const c = await loggedIn(strict);
    expect((await c.send('FEAT')).lines).toContain(' COMB');
    const parts = ['one-', 'two-', 'three'];
    for (const [i, text] of parts.entries()) {
      const r = await c.transfer(`STOR ${i === 1 ? 'part 2' : `part${i + 1}`}`, Buffer.from(text));
      expect(r.last?.code).toBe(226);
    }
    expect((await c.send('COMB whole.txt part1 "part 2" part3')).code).toBe(250);
    const after = await c.transfer('NLST');
    expect(after.data.toString().split('\r\n').filter(Boolean).sort()).toEqual(['seen.txt', 'whole.txt']);
    expect((await c.transfer('RETR whole.txt')).data.toString()).toBe('one-two-three');
    // Appends to a target that has bytes; a missing part changes nothing.
    await c.transfer('STOR more', Buffer.from('+more'));
    expect((await c.send('COMB whole.txt more')).code).toBe(250);
    expect((await c.transfer('RETR whole.txt')).data.toString()).toBe('one-two-three+more');
    expect((await c.send('COMB whole.txt missing')).code).toBe(550);
    expect((await c.send('COMB whole.txt "unterminated')).code).toBe(501);
    expect((await c.send('COMB whole.txt whole.txt')).code).toBe(501);
    expect((await c.transfer('RETR whole.txt')).data.toString()).toBe('one-two-three+more');
    await c.send('DELE whole.txt');
    await c.send('QUIT');
  });

  test('debug: true logs each command (password masked) and reply at info level', async () => {
    const c = await loggedIn(strict);
    await c.send('NOOP');
    await c.send('QUIT');
    const cmd = await server.waitForLog((l) => l.event === 'ftp_command' && l.command === 'NOOP');
    expect(cmd.level).toBe('info');
    const pass = await server.waitForLog((l) => l.event === 'ftp_command' && l.command === 'PASS');
    expect(pass.arg).toBe('***');
    await server.waitForLog((l) => l.event === 'ftp_reply' && l.code === 230);
    // The binding without debug leaves its commands out of an info-level log.
    const other = await loggedIn(relaxed);
    await other.send('STAT');
    await other.send('QUIT');
    await Bun.sleep(200);
    expect(server.logs.some((l) => l.event === 'ftp_command' && l.command === 'STAT')).toBe(false);
  });

  test('passive_connections_security 0 drops a data connection from another address; 1 accepts it', async () => {
    const c = await loggedIn(strict);
    const stranger = await passiveFrom(c, '127.0.0.2');
    expect((await stranger.received).length).toBe(0);
    await c.send('QUIT');

    const r = await loggedIn(relaxed);
    const other = await passiveFrom(r, '127.0.0.2');
    expect((await r.send('NLST')).code).toBe(150);
    expect((await other.received).toString()).toContain('seen.txt');
    expect((await r.read()).code).toBe(226);
    await r.send('QUIT');
  });

  test('active_connections_security 0 refuses PORT to another address; 1 connects there', async () => {
    const listener = createServer();
    const got = new Promise<string>((ok) =>
      listener.on('connection', (s: Socket) => {
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('close', () => ok(text));
      }),
    );
    await new Promise<void>((ok) => listener.listen(0, '127.0.0.2', ok));
    const port = (listener.address() as AddressInfo).port;
    const portArg = `127,0,0,2,${port >> 8},${port & 255}`;
    try {
      const c = await loggedIn(strict);
      expect((await c.send(`PORT ${portArg}`)).code).toBe(504);
      // active_transfers_port_non_20: true: an ephemeral source port, not the one below the control port.
      const own = await activeListener('127.0.0.1');
      expect((await c.send(`PORT ${own.portArg}`)).code).toBe(200);
      expect((await c.send('NLST')).code).toBe(150);
      expect(await own.from).not.toBe(strict - 1);
      expect((await c.read()).code).toBe(226);
      await c.send('QUIT');

      const r = await loggedIn(relaxed);
      expect((await r.send(`PORT ${portArg}`)).code).toBe(200);
      expect((await r.send('NLST')).code).toBe(150);
      expect(await got).toContain('seen.txt');
      expect((await r.read()).code).toBe(226);
      await r.send('QUIT');
    } finally {
      listener.close();
    }
  });

  test('min_tls_version 13 refuses a TLS 1.2 client; the default binding accepts it', async () => {
    const url = (port: number) => `ftp://127.0.0.1:${port}/`;
    const args = ['-sS', '--max-time', '20', '--ssl-reqd', '-k', '--tls-max', '1.2', '-u', `alice:${PASSWORD}`, '-l'];
    const refused = await run('curl', [...args, url(tls13)]);
    expect(refused.status).not.toBe(0);
    const ok = await run('curl', [...args, url(strict)]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('seen.txt');
    const newer = await run('curl', ['-sS', '--max-time', '20', '--ssl-reqd', '-k', '--tlsv1.3', '-u', `alice:${PASSWORD}`, '-l', url(tls13)]);
    expect(newer.stdout).toContain('seen.txt');
  });

  test("a binding's certificate_file and certificate_key_file replace the ftpd-wide pair there", async () => {
    const list = (port: number, ca: string) => run('curl', ['-sS', '--max-time', '20', '--ssl-reqd', '--cacert', ca, '-u', `alice:${PASSWORD}`, '-l', `ftp://127.0.0.1:${port}/`]);
    expect((await list(tls13, certs.binding)).stdout).toContain('seen.txt');
    expect((await list(tls13, certs.global)).status).not.toBe(0);
    expect((await list(strict, certs.global)).stdout).toContain('seen.txt');
    expect((await list(strict, certs.binding)).status).not.toBe(0);
  });
});
