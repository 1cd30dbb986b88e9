// Starts the server with WebDAV bindings (plain HTTP, HTTPS, and plain with a URL prefix) for the
// WebDAV integration tests.
import { freePort } from './net.ts';
import { startServer, type RunningServer } from './server.ts';
import { tempDir } from './tmp.ts';
import { usersYaml, type TestUserSpec } from './users.ts';
import { makeSelfSignedCert, type CertFiles } from './tls.ts';
import { TEST_SECRETS } from './secrets.ts';

export const DAV_PASSWORD = TEST_SECRETS.userPassword;

export type DavUserSpec = TestUserSpec;

export interface Davd {
  server: RunningServer;
  dir: string;
  ports: { http: number; https: number; prefixed: number };
  cert: CertFiles;
  homes: Record<string, string>;
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
}

export async function startDavd(users: DavUserSpec[], opts: { webdavdExtra?: string; common?: string } = {}): Promise<Davd> {
  const dir = tempDir('dav-it-');
  const cert = makeSelfSignedCert(dir);
  const ports = { http: await freePort(), https: await freePort(), prefixed: await freePort() };
  const { yaml: userYaml, homes } = usersYaml(dir, users, DAV_PASSWORD);
  const yaml = [
    'common:',
    '  idle_timeout: 5',
    opts.common ?? '',
    'webdavd:',
    `  certificate_file: ${cert.cert}`,
    `  certificate_key_file: ${cert.key}`,
    opts.webdavdExtra ?? '',
    '  bindings:',
    `    - { address: 127.0.0.1, port: ${ports.http} }`,
    `    - { address: 127.0.0.1, port: ${ports.https}, enable_https: true }`,
    `    - { address: 127.0.0.1, port: ${ports.prefixed}, prefix: /dav }`,
    'users:',
    userYaml,
    '',
  ].join('\n');
  const server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: process.env.DAV_DEBUG ? 'debug' : 'info' } });
  await server.waitForLog((l) => l.event === 'webdav_listening' && l.port === ports.prefixed);
  return { server, dir, ports, cert, homes, url: `http://127.0.0.1:${ports.http}` };
}
