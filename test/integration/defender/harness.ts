// Shared setup for the defender tests: one real `serve` process with SFTP, FTP, WebDAV and the API
// on loopback ports, and real clients that can originate from another loopback address
// (127.0.0.2, ...) so one address can be banned while 127.0.0.1 keeps working.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { run, type RunResult } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';

export const PASSWORD = TEST_SECRETS.userPassword;
export const ADMIN_PASSWORD = TEST_SECRETS.adminPassword;

export interface Ports {
  sftp: number;
  ftp: number;
  dav: number;
  api: number;
  telemetry: number;
}

export interface Stack {
  server: RunningServer;
  dir: string;
  ports: Ports;
  logFile: string;
  configPath: string;
  /** Writes a new config (same ports) built with `defender` YAML lines. */
  writeConfig(defender: string): void;
  restart(): Promise<void>;
}

// bcrypt cost 4: real hashes, cheap enough for tests that log in many times.
function configYaml(dir: string, ports: Ports, defender: string, logFile: string): string {
  return `common:
  idle_timeout: 5
  defender:
${defender
  .split('\n')
  .filter(Boolean)
  .map((l) => `    ${l}`)
  .join('\n')}
log:
  file: ${logFile}
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.ftp} }]
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${ports.dav} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]
telemetry:
  bind_port: ${ports.telemetry}
data_provider:
  password_hashing:
    bcrypt_options: { cost: 4 }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
  - username: viewer
    password: "${ADMIN_PASSWORD}"
    permissions: [view_users]
users:
  - username: alice
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'homes/alice')}
    permissions: { "/": ["*"] }
`;
}

/** Starts the server with `defender` as its `common.defender` YAML; `files` are written into its dir first. */
export async function startStack(defender: string, files: Record<string, string> = {}): Promise<Stack> {
  const dir = tempDir('defender-it-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'homes/alice'), { recursive: true });
  writeFileSync(join(dir, 'homes/alice/hello.txt'), 'hello\n');
  const ports: Ports = { sftp: await freePort(), ftp: await freePort(), dav: await freePort(), api: await freePort(), telemetry: await freePort() };
  const logFile = join(dir, 'sftpgo.log');
  const start = () => startServer({ cwd: dir, env: { SFTPGO_LOG_LEVEL: 'info' }, yaml: undefined, extraArgs: ['--config', join(dir, 'sftpgo.yaml')] });
  const stack: Stack = {
    server: undefined as unknown as RunningServer,
    dir,
    ports,
    logFile,
    configPath: join(dir, 'sftpgo.yaml'),
    writeConfig(d) {
      writeFileSync(stack.configPath, configYaml(dir, ports, d, logFile));
    },
    async restart() {
      await stack.server.stop();
      stack.server = await start();
    },
  };
  stack.writeConfig(defender);
  stack.server = await start();
  return stack;
}

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];

/** One OpenSSH sftp login by password from `from`, running `ls` when it gets in. */
export function sftpLogin(s: Stack, from: string, user: string, password: string): Promise<RunResult> {
  const batch = join(s.dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, 'ls\n');
  return run('sshpass', [
    '-p', password, 'sftp', ...SSH_OPTS,
    '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-o', `BindAddress=${from}`, '-o', 'ConnectTimeout=10',
    '-P', String(s.ports.sftp), '-b', batch, `${user}@127.0.0.1`,
  ], { timeout: 30_000 });
}

/**
 * One FTP login from `from` on a raw control connection: 'closed' when the server hangs up before
 * its greeting (refused at accept), else the reply code to PASS.
 */
export function ftpLogin(s: Stack, from: string, user: string, password: string): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port: s.ports.ftp, localAddress: from });
    let buf = '';
    let step = 0;
    const done = (v: number | 'closed') => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(10_000, () => done('closed'));
    sock.on('error', () => undefined);
    sock.on('close', () => done('closed'));
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (!/^\d{3} /.test(line)) continue;
        const code = Number(line.slice(0, 3));
        if (step === 0) sock.write(`USER ${user}\r\n`);
        else if (step === 1) sock.write(`PASS ${password}\r\n`);
        else return done(code);
        step++;
      }
    });
  });
}

/** A curl request from `from`; the HTTP status, or 0 when the server closed without answering. */
export async function curlStatus(from: string, url: string, args: string[] = []): Promise<number> {
  const r = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', '--interface', from, ...args, url], { timeout: 20_000 });
  return Number(r.stdout.trim() || '0');
}

export function davStatus(s: Stack, from: string, user: string, password: string): Promise<number> {
  return curlStatus(from, `http://127.0.0.1:${s.ports.dav}/`, ['-X', 'PROPFIND', '-H', 'Depth: 1', '-u', `${user}:${password}`]);
}

export async function apiToken(s: Stack): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${s.ports.api}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`root:${ADMIN_PASSWORD}`).toString('base64')}` } });
  if (r.status !== 200) throw new Error(`token: ${r.status}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

export async function api(s: Stack, method: string, path: string, token: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`http://127.0.0.1:${s.ports.api}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json };
}

export function hexId(ip: string): string {
  return Buffer.from(ip).toString('hex');
}

/** Polls `fn` until it returns true (no fixed sleeps); throws after `ms`. */
export async function eventually(fn: () => Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
