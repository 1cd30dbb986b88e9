// webdavd settings proven with curl: enable_https with the section's certificate pair or a binding's
// own, min_tls_version, the CORS answers (allowed_methods, allowed_headers, exposed_headers,
// allow_credentials) and the verified-credentials cache (cache.users: max_size, expiration_time),
// counted through the check_password_hook it spares.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'dav-Settings-1';

interface Dav {
  server: RunningServer;
  dir: string;
  hookCalls: () => number;
  ports: { http: number; global: number; own: number };
  certs: { global: string; own: string };
}

/** A server whose every password check goes through a hook that counts its calls. */
async function startDav(cacheYaml: string): Promise<Dav> {
  const dir = tempDir('dav-settings-');
  const global = makeSelfSignedCert(dir);
  const own = makeSelfSignedCert(dir, 'binding');
  const calls = join(dir, 'calls.log');
  writeFileSync(calls, '');
  const hook = join(dir, 'check-password.sh');
  writeFileSync(hook, `#!/bin/sh\necho "$SFTPGO_AUTHD_USERNAME" >> ${calls}\necho '{"status": 1}'\n`);
  chmodSync(hook, 0o755);
  const ports = { http: await freePort(), global: await freePort(), own: await freePort() };
  const { yaml: users, homes } = usersYaml(dir, [{ username: 'alice' }], PASSWORD);
  writeFileSync(join(homes.alice!, 'seen.txt'), 'listed');
  const yaml = [
    'data_provider:',
    `  check_password_hook: ${hook}`,
    'webdavd:',
    `  certificate_file: ${global.cert}`,
    `  certificate_key_file: ${global.key}`,
    '  cors:',
    '    enabled: true',
    '    allowed_origins: ["https://app.example"]',
    '    allowed_methods: [GET, PROPFIND]',
    '    allowed_headers: [Depth, X-Custom]',
    '    exposed_headers: [ETag, X-Total]',
    '    allow_credentials: true',
    cacheYaml,
    '  bindings:',
    `    - { address: 127.0.0.1, port: ${ports.http} }`,
    `    - { address: 127.0.0.1, port: ${ports.global}, enable_https: true }`,
    `    - { address: 127.0.0.1, port: ${ports.own}, enable_https: true, min_tls_version: 13, certificate_file: ${own.cert}, certificate_key_file: ${own.key} }`,
    'users:',
    users,
    '',
  ].join('\n');
  const server = await startServer({ yaml, cwd: dir });
  return { server, dir, ports, certs: { global: global.cert, own: own.cert }, hookCalls: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean).length };
}

let cached: Dav;
let uncached: Dav;

beforeAll(async () => {
  [cached, uncached] = await Promise.all([
    startDav('  cache:\n    users:\n      expiration_time: 10\n      max_size: 5'),
    startDav('  cache:\n    users:\n      max_size: 0'),
  ]);
});

afterAll(async () => {
  await Promise.all([cached?.server.stop(), uncached?.server.stop()]);
});

const get = (url: string, extra: string[] = []) => run('curl', ['-sS', '--max-time', '20', '-u', `alice:${PASSWORD}`, ...extra, url]);

describe('webdavd settings', () => {
  test('cache.users: within expiration_time a repeated login skips the password hook; max_size 0 turns the cache off', async () => {
    for (let i = 0; i < 3; i++) expect((await get(`http://127.0.0.1:${cached.ports.http}/seen.txt`)).stdout).toBe('listed');
    for (let i = 0; i < 3; i++) expect((await get(`http://127.0.0.1:${uncached.ports.http}/seen.txt`)).stdout).toBe('listed');
    expect(cached.hookCalls()).toBe(1);
    expect(uncached.hookCalls()).toBe(3);
  });

  test('enable_https serves the section certificate; a binding certificate_file/certificate_key_file pair replaces it', async () => {
    const url = (port: number) => `https://localhost:${port}/seen.txt`;
    const resolve = (port: number) => ['--resolve', `localhost:${port}:127.0.0.1`];
    expect((await get(url(cached.ports.global), [...resolve(cached.ports.global), '--cacert', cached.certs.global])).stdout).toBe('listed');
    expect((await get(url(cached.ports.global), [...resolve(cached.ports.global), '--cacert', cached.certs.own])).status).not.toBe(0);
    expect((await get(url(cached.ports.own), [...resolve(cached.ports.own), '--cacert', cached.certs.own])).stdout).toBe('listed');
    expect((await get(url(cached.ports.own), [...resolve(cached.ports.own), '--cacert', cached.certs.global])).status).not.toBe(0);
    // Plain HTTP on an HTTPS binding gets no WebDAV answer.
    expect((await get(`http://127.0.0.1:${cached.ports.global}/seen.txt`)).stdout).not.toBe('listed');
  });

  test('min_tls_version 13 refuses a TLS 1.2 client', async () => {
    expect((await get(`https://127.0.0.1:${cached.ports.own}/seen.txt`, ['-k', '--tls-max', '1.2'])).status).not.toBe(0);
    expect((await get(`https://127.0.0.1:${cached.ports.own}/seen.txt`, ['-k', '--tlsv1.3'])).stdout).toBe('listed');
    expect((await get(`https://127.0.0.1:${cached.ports.global}/seen.txt`, ['-k', '--tls-max', '1.2'])).stdout).toBe('listed');
  });

  test('CORS: allowed_methods and allowed_headers answer a preflight; exposed_headers and allow_credentials a request', async () => {
    const base = `http://127.0.0.1:${cached.ports.http}/seen.txt`;
    const pre = await run('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-X', 'OPTIONS', '-H', 'Origin: https://app.example', '-H', 'Access-Control-Request-Method: PUT', base]);
    expect(pre.stdout).toMatch(/access-control-allow-methods: GET, PROPFIND\r\n/i);
    expect(pre.stdout).toMatch(/access-control-allow-headers: Depth, X-Custom\r\n/i);
    expect(pre.stdout).toMatch(/access-control-allow-origin: https:\/\/app\.example\r\n/i);
    expect(pre.stdout).toMatch(/access-control-allow-credentials: true\r\n/i);
    const req = await get(base, ['-D', '-', '-H', 'Origin: https://app.example']);
    expect(req.stdout).toMatch(/access-control-expose-headers: ETag, X-Total\r\n/i);
    expect(req.stdout).toMatch(/access-control-allow-credentials: true\r\n/i);
    const stranger = await get(base, ['-D', '-', '-H', 'Origin: https://other.example']);
    expect(stranger.stdout).not.toMatch(/access-control-/i);
  });
});
