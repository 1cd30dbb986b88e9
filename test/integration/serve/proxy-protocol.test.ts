// common.proxy_protocol, proxy_allowed and proxy_skipped, sftpd/ftpd apply_proxy_config and
// webdavd/httpd proxy_mode, driven through real HAProxy (send-proxy and send-proxy-v2). HAProxy connects
// to the server from 127.0.0.1 (the allowed proxy); test clients reach HAProxy from 127.0.0.2 or
// 127.0.0.3, and the server must see those addresses: a user whose denied_ip holds 127.0.0.3 is
// refused from there and admitted from 127.0.0.2 on SFTP, FTP and WebDAV alike, and the
// connections API and the login lines show the proxied address. Direct connections prove the
// policy: required header, rejected sources, skipped sources, a binding that does not apply the
// proxy config, a malformed header, and (after a reload to proxy_protocol 1) an ignored header.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/load.ts';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { startServer, type Server } from '../../../src/serve/serve.ts';
import { freePort } from '../../support/net.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { keptSink } from '../../support/test-logs.ts';

const PASSWORD = 'Proxy-Secret-1';
const API_KEY = 'k3y-proxy-protocol-0123456789abcdef';
let server: Server;
let haproxy: ChildProcess;
let configFile: string;
let yaml: (mode: number) => string;
const lines: Record<string, unknown>[] = [];
/** Server ports, and HAProxy's front ports for each (v1 = send-proxy, v2 = send-proxy-v2). */
const p = { sftp: 0, sftpDirect: 0, ftp: 0, dav: 0, api: 0, apiProxied: 0, sftpV1: 0, sftpV2: 0, ftpV2: 0, ftpV1: 0, davV2: 0, apiV1: 0 };

beforeAll(async () => {
  const dir = tempDir('proxy-');
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'hello.txt'), 'hello');
  for (const k of Object.keys(p) as (keyof typeof p)[]) p[k] = await freePort();
  configFile = join(dir, 'sftpgo.yaml');
  yaml = (mode) => `common:
  proxy_protocol: ${mode}
  proxy_allowed: [127.0.0.1]
  proxy_skipped: [127.0.0.5/32]
sftpd:
  bindings:
    - { address: 127.0.0.1, port: ${p.sftp} }
    - { address: 127.0.0.1, port: ${p.sftpDirect}, apply_proxy_config: false }
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${p.ftp} }]
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${p.dav}, proxy_mode: 1 }]
httpd:
  bindings:
    - { address: 127.0.0.1, port: ${p.api} }
    - { address: 127.0.0.1, port: ${p.apiProxied}, proxy_mode: 1 }
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: dora
    password: "${PASSWORD}"
    home_dir: ${home}
    permissions: { "/": ["*"] }
    filters: { denied_ip: [127.0.0.3/32] }
admins:
  - username: robot
    permissions: ["*"]
    api_keys: [{ name: test, key: "${API_KEY}" }]
`;
  writeFileSync(configFile, yaml(2));
  const loaded = loadConfigFile(configFile);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  server = await startServer({ loaded: loaded.value, dataDir: join(dir, 'data'), flags: { config: configFile }, logSink: keptSink('proxy-protocol', (l) => void lines.push(l)) });

  const haproxyCfg = join(dir, 'haproxy.cfg');
  const front = (name: string, port: number, target: number, send: string) =>
    `frontend f_${name}\n  bind 127.0.0.1:${port}\n  default_backend b_${name}\nbackend b_${name}\n  server s 127.0.0.1:${target} ${send} source 127.0.0.1\n`;
  writeFileSync(
    haproxyCfg,
    `global\n  maxconn 200\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n` +
      front('sftp1', p.sftpV1, p.sftp, 'send-proxy') +
      front('sftp2', p.sftpV2, p.sftp, 'send-proxy-v2') +
      front('ftp1', p.ftpV1, p.ftp, 'send-proxy') +
      front('ftp2', p.ftpV2, p.ftp, 'send-proxy-v2') +
      front('dav2', p.davV2, p.dav, 'send-proxy-v2') +
      front('api1', p.apiV1, p.apiProxied, 'send-proxy'),
  );
  haproxy = spawn('haproxy', ['-db', '-f', haproxyCfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  haproxy.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (const port of [p.sftpV1, p.sftpV2, p.ftpV1, p.ftpV2, p.davV2, p.apiV1]) await waitListening(port, () => err);
});

afterAll(async () => {
  haproxy?.kill('SIGTERM');
  await server?.stop();
  removeTempDirs();
});

async function waitListening(port: number, why: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await Bun.sleep(25);
  }
  throw new Error(`haproxy did not listen on ${port}: ${why()}`);
}

function sftpLogin(port: number, from: string): Promise<{ client: InstanceType<typeof Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, localAddress: from, username: 'dora', password: PASSWORD, readyTimeout: 10_000 });
  });
}

async function canSftp(port: number, from: string): Promise<boolean> {
  try {
    const { client } = await sftpLogin(port, from);
    client.end();
    return true;
  } catch {
    return false;
  }
}

/** A raw TCP client: what it received and when it was closed. */
async function raw(port: number, from: string): Promise<{ sock: Socket; received: () => string; closed: Promise<void> }> {
  const sock = connect({ host: '127.0.0.1', port, localAddress: from });
  let data = '';
  sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await new Promise<void>((resolve, reject) => (sock.once('connect', resolve), sock.once('error', reject)));
  return { sock, received: () => data, closed };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await Bun.sleep(10);
  expect(check()).toBe(true);
}

/** An FTP login over a raw control connection: the reply to PASS. */
async function ftpLogin(port: number, from: string): Promise<string> {
  const c = await raw(port, from);
  try {
    await until(() => /^220 /m.test(c.received()));
    c.sock.write('USER dora\r\n');
    await until(() => /^331 /m.test(c.received()));
    c.sock.write(`PASS ${PASSWORD}\r\n`);
    await until(() => /^(230|530) /m.test(c.received()));
    return c.received().match(/^(230|530) /m)![1]!;
  } finally {
    c.sock.destroy();
  }
}

/** A WebDAV PROPFIND by curl from `from`: the HTTP status. */
async function davStatus(port: number, from: string): Promise<number> {
  const proc = Bun.spawn(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--interface', from, '-u', `dora:${PASSWORD}`, '-X', 'PROPFIND', '-H', 'Depth: 1', `http://127.0.0.1:${port}/`]);
  return Number(await new Response(proc.stdout).text());
}

const loginsFrom = (ip: string, protocol: string) => lines.filter((l) => l.event === 'login' && l.ip === ip && l.protocol === protocol).length;
const failedFrom = (ip: string, protocol: string) => lines.filter((l) => l.event === 'login_failed' && l.ip === ip && l.protocol === protocol && l.reason === 'ip_denied').length;

describe('through HAProxy, proxy_protocol 2 with HAProxy in proxy_allowed', () => {
  test('SFTP (send-proxy and send-proxy-v2): the denied_ip filter sees the client HAProxy reports', async () => {
    for (const front of [p.sftpV1, p.sftpV2]) {
      expect(await canSftp(front, '127.0.0.2')).toBe(true);
      expect(await canSftp(front, '127.0.0.3')).toBe(false);
    }
    expect(loginsFrom('127.0.0.2', 'SSH')).toBe(2);
    expect(failedFrom('127.0.0.3', 'SSH')).toBeGreaterThanOrEqual(2);
    expect(loginsFrom('127.0.0.1', 'SSH')).toBe(0);
  });

  test('the connections API shows the proxied address', async () => {
    const { client, sftp } = await sftpLogin(p.sftpV2, '127.0.0.2');
    try {
      await new Promise<void>((resolve, reject) => sftp.readdir('/', (err) => (err ? reject(err) : resolve())));
      const res = await fetch(`http://127.0.0.1:${p.api}/api/v2/connections`, { headers: { 'x-sftpgo-api-key': API_KEY } });
      const conns = (await res.json()) as { username: string; remote_address: string }[];
      expect(conns.map((c) => [c.username, c.remote_address])).toEqual([['dora', '127.0.0.2']]);
    } finally {
      client.end();
    }
  });

  test('FTP control connection (send-proxy and send-proxy-v2)', async () => {
    for (const front of [p.ftpV1, p.ftpV2]) {
      expect(await ftpLogin(front, '127.0.0.2')).toBe('230');
      expect(await ftpLogin(front, '127.0.0.3')).toBe('530');
    }
    expect(loginsFrom('127.0.0.2', 'FTP')).toBe(2);
    expect(failedFrom('127.0.0.3', 'FTP')).toBe(2);
  });

  test('FTP passive data connections carry their own header: with it the listing flows, without it the data connection is refused', async () => {
    for (const withHeader of [true, false]) {
      const c = await raw(p.ftpV1, '127.0.0.2');
      try {
        await until(() => /^220 /m.test(c.received()));
        c.sock.write(`USER dora\r\nPASS ${PASSWORD}\r\n`);
        await until(() => /^230 /m.test(c.received()));
        c.sock.write('EPSV\r\n');
        await until(() => /^229 .*\|(\d+)\|/m.test(c.received()));
        const port = Number(c.received().match(/^229 .*\|(\d+)\|/m)![1]);
        // As HAProxy would forward it: from the proxy's address, the header naming the client.
        const data = await raw(port, '127.0.0.1');
        // Without it, bytes that are no header (an upload's first ones) are refused at once.
        data.sock.write(withHeader ? `PROXY TCP4 127.0.0.2 127.0.0.1 40001 ${port}\r\n` : 'data');
        c.sock.write('NLST\r\n');
        if (withHeader) {
          await data.closed;
          expect(data.received()).toBe('hello.txt\r\n');
          await until(() => /^226 /m.test(c.received()));
        } else {
          await data.closed;
          expect(data.received()).toBe('');
          expect(lines.some((l) => l.event === 'connection_refused' && l.protocol === 'FTP' && l.reason === 'proxy_header_missing')).toBe(true);
        }
      } finally {
        c.sock.destroy();
      }
    }
  });

  test('WebDAV with proxy_mode 1 (send-proxy-v2)', async () => {
    expect(await davStatus(p.davV2, '127.0.0.2')).toBe(207);
    expect(await davStatus(p.davV2, '127.0.0.3')).toBe(401);
    expect(loginsFrom('127.0.0.2', 'DAV')).toBeGreaterThanOrEqual(1);
    expect(failedFrom('127.0.0.3', 'DAV')).toBeGreaterThanOrEqual(1);
  });

  test('REST API binding with proxy_mode 1 (send-proxy): a failed login names the proxied client', async () => {
    const proc = Bun.spawn(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--interface', '127.0.0.3', '-u', 'robot:wrong', `http://127.0.0.1:${p.apiV1}/api/v2/token`]);
    expect(Number(await new Response(proc.stdout).text())).toBe(401);
    await until(() => lines.some((l) => l.event === 'login_failed' && l.protocol === 'HTTP' && l.ip === '127.0.0.3'));
  });
});

describe('direct connections under proxy_protocol 2', () => {
  test('the allowed proxy without a header, and a source not in proxy_allowed, are closed before the banner', async () => {
    for (const from of ['127.0.0.1', '127.0.0.4']) {
      const c = await raw(p.sftp, from);
      c.sock.write('SSH-2.0-test\r\n');
      await c.closed;
      expect(c.received()).toBe('');
    }
    expect(lines.some((l) => l.event === 'connection_refused' && l.reason === 'proxy_header_missing' && l.ip === '127.0.0.1')).toBe(true);
    expect(lines.some((l) => l.event === 'connection_refused' && l.reason === 'proxy_source_not_allowed' && l.ip === '127.0.0.4')).toBe(true);
  });

  test('a proxy_skipped source connects without a header', async () => {
    expect(await canSftp(p.sftp, '127.0.0.5')).toBe(true);
    expect(loginsFrom('127.0.0.5', 'SSH')).toBe(1);
  });

  test('a binding with apply_proxy_config false ignores the proxy settings', async () => {
    expect(await canSftp(p.sftpDirect, '127.0.0.4')).toBe(true);
    expect(loginsFrom('127.0.0.4', 'SSH')).toBe(1);
  });

  test('a malformed header closes the connection and is logged; the server keeps serving', async () => {
    for (const bad of ['PROXY TCP4 300.1.1.1 127.0.0.1 1 2\r\nSSH-2.0-x\r\n', 'PROXY TCP4 10.0.0.1\x00\x01\r\n']) {
      const c = await raw(p.sftp, '127.0.0.1');
      c.sock.write(bad);
      await c.closed;
      expect(c.received()).toBe('');
    }
    expect(lines.filter((l) => l.event === 'proxy_header_invalid' && l.ip === '127.0.0.1').length).toBe(2);
    expect(await canSftp(p.sftpV1, '127.0.0.2')).toBe(true);
  });

  test('a header the test writes itself, from the allowed source, names the client (v1 then the SSH stream in one write)', async () => {
    // The proxy's own address may hold other connections (the API client's keep-alive one).
    const proxyBefore = server.context.sockets.counts('127.0.0.1').host;
    const c = await raw(p.sftp, '127.0.0.1');
    c.sock.write('PROXY TCP4 192.0.2.44 127.0.0.1 40000 22\r\nSSH-2.0-test\r\n');
    await until(() => c.received().startsWith('SSH-2.0-'));
    expect(server.context.sockets.counts('192.0.2.44').host).toBe(1);
    expect(server.context.sockets.counts('127.0.0.1').host).toBe(proxyBefore);
    c.sock.destroy();
    await until(() => server.context.sockets.counts('192.0.2.44').host === 0);
  });
});

describe('after a reload to proxy_protocol 1', () => {
  test('a header from a source not in proxy_allowed is read and ignored; the allowed proxy may omit it', async () => {
    writeFileSync(configFile, yaml(1));
    expect((await server.reload()).ok).toBe(true);
    // 127.0.0.4 forges a header naming 127.0.0.2: ignored, its own address is used.
    const forged = await raw(p.sftp, '127.0.0.4');
    forged.sock.write('PROXY TCP4 127.0.0.2 127.0.0.1 40000 22\r\n');
    // A client without a header from the allowed source is admitted (after the header wait when it
    // says nothing first; an SSH client speaks first, so at once).
    expect(await canSftp(p.sftp, '127.0.0.1')).toBe(true);
    forged.sock.write('SSH-2.0-test\r\n');
    await until(() => forged.received().startsWith('SSH-2.0-'));
    expect(server.context.sockets.counts('127.0.0.4').host).toBe(1);
    expect(server.context.sockets.counts('127.0.0.2').host).toBe(0);
    forged.sock.destroy();
    // HAProxy's header is still used.
    expect(await canSftp(p.sftpV2, '127.0.0.3')).toBe(false);
    expect(await canSftp(p.sftpV2, '127.0.0.2')).toBe(true);
  });
});
