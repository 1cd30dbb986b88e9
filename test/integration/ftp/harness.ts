// Shared setup for the FTP/S integration tests: a server started the real way (a child `serve`
// process) with three bindings (plain with optional AUTH TLS, TLS required, implicit TLS), a passive
// port range and a self-signed certificate; thin wrappers around the real lftp and curl clients.
import { freePort } from '../../support/net.ts';
import { run, type RunResult } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { usersYaml, type TestUserSpec } from '../../support/users.ts';
import { makeSelfSignedCert, type CertFiles } from '../../support/tls.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';

export const PASSWORD = TEST_SECRETS.userPassword;

export type UserSpec = TestUserSpec;

export interface Ftpd {
  server: RunningServer;
  dir: string;
  ports: { plain: number; tlsRequired: number; implicit: number };
  passive: { start: number; end: number };
  cert: CertFiles;
  homes: Record<string, string>;
}

/** Finds `n` consecutive free loopback ports (the passive range). */
async function freeRange(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const start = 20_000 + Math.floor(Math.random() * 30_000);
    const { createServer } = await import('node:net');
    const ok = await Promise.all(
      Array.from({ length: n }, (_, i) => new Promise<boolean>((res) => {
        const s = createServer();
        s.once('error', () => res(false));
        s.listen(start + i, '127.0.0.1', () => s.close(() => res(true)));
      })),
    );
    if (ok.every(Boolean)) return start;
  }
  throw new Error('no free port range');
}

export async function startFtpd(users: UserSpec[], opts: { ftpdExtra?: string; bindingExtra?: string; common?: string } = {}): Promise<Ftpd> {
  const dir = tempDir('ftp-it-');
  const cert = makeSelfSignedCert(dir);
  const ports = { plain: await freePort(), tlsRequired: await freePort(), implicit: await freePort() };
  const start = await freeRange(10);
  const passive = { start, end: start + 9 };
  const { yaml: userYaml, homes } = usersYaml(dir, users, PASSWORD);
  const yaml = [
    'common:',
    '  idle_timeout: 5',
    opts.common ?? '',
    'ftpd:',
    `  certificate_file: ${cert.cert}`,
    `  certificate_key_file: ${cert.key}`,
    `  passive_port_range: { start: ${passive.start}, end: ${passive.end} }`,
    '  hash_support: 1',
    opts.ftpdExtra ?? '',
    '  bindings:',
    `    - { address: 127.0.0.1, port: ${ports.plain}${opts.bindingExtra ?? ''} }`,
    `    - { address: 127.0.0.1, port: ${ports.tlsRequired}, tls_mode: 1 }`,
    `    - { address: 127.0.0.1, port: ${ports.implicit}, tls_mode: 2 }`,
    'users:',
    userYaml,
    '',
  ].join('\n');
  const server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug' } });
  return { server, dir, ports, passive, cert, homes };
}


export type { RunResult };

export type TlsUse = 'plain' | 'explicit' | 'implicit';

const LFTP_BASE = 'set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1; set cmd:fail-exit yes; set xfer:clobber on; set ssl:verify-certificate no;';

/** Runs lftp commands (`;`-separated) as `user`; `debug` adds -d (protocol trace on stderr). */
export function lftp(f: Ftpd, user: string, commands: string, opts: { tls?: TlsUse; port?: number; debug?: boolean; password?: string } = {}): Promise<RunResult> {
  const tls = opts.tls ?? 'plain';
  const settings =
    tls === 'plain' ? 'set ftp:ssl-allow no;' : tls === 'explicit' ? 'set ftp:ssl-force true; set ftp:ssl-protect-data true;' : 'set ftp:ssl-protect-data true;';
  const port = opts.port ?? (tls === 'implicit' ? f.ports.implicit : f.ports.plain);
  const url = tls === 'implicit' ? `ftps://127.0.0.1:${port}` : `ftp://127.0.0.1:${port}`;
  const args = [...(opts.debug ? ['-d'] : []), '-u', `${user},${opts.password ?? PASSWORD}`, '-e', `${LFTP_BASE} ${settings} ${commands}; bye`, url];
  return run('lftp', args);
}

export function curl(args: string[]): Promise<RunResult> {
  return run('curl', ['-sS', '--max-time', '30', ...args]);
}

