// A real server for the event rules tests: SFTP, FTP, WebDAV, the REST API and /metrics on free
// loopback ports, one user (alice) and a super admin, and the test's event_actions / event_rules
// YAML; plus an HTTP receiver that records every request (method, URL, headers, body) and lets a
// test await the one it expects instead of sleeping.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { CertFiles } from '../../support/tls.ts';
import type { AddressInfo } from 'node:net';
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
  metrics: number;
}

export interface EventServer {
  server: RunningServer;
  dir: string;
  home: string;
  ports: Ports;
  /** A local scratch directory for files to upload. */
  local: string;
  /** The YAML as written (for restarts with a change). */
  yaml: string;
}

/** `events` is YAML placed at the top level (event_actions:, event_rules:, common: ...). */
/** `extraUsers`: more `users:` entries, given the server's directory. */
/** `env`: more environment for the server process. */
export async function startEventServer(events: string, opts: { extraUsers?: (dir: string) => string; env?: Record<string, string> } = {}): Promise<EventServer> {
  const dir = tempDir('events-it-');
  const home = join(dir, 'homes/alice');
  mkdirSync(home, { recursive: true });
  const local = join(dir, 'local');
  mkdirSync(local);
  const ports: Ports = { sftp: await freePort(), ftp: await freePort(), dav: await freePort(), api: await freePort(), metrics: await freePort() };
  const keyPath = join(dir, 'key_alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
  const yaml = `telemetry:
  bind_port: ${ports.metrics}
  bind_address: 127.0.0.1
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.ftp} }]
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${ports.dav} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]
data_provider:
  password_hashing:
    bcrypt_options:
      cost: 4
users:
  - username: alice
    password: "${PASSWORD}"
    home_dir: ${home}
    public_keys: ["${readFileSync(`${keyPath}.pub`, 'utf8').trim()}"]
${opts.extraUsers?.(dir) ?? ''}admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
${events}
`;
  const server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug', ...opts.env } });
  return { server, dir, home, ports, local, yaml };
}

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];

/** OpenSSH sftp in batch mode as alice (key auth). */
export function sftp(s: EventServer, lines: string[]): Promise<RunResult> {
  const batch = join(tempDir('events-batch-'), 'batch');
  writeFileSync(batch, lines.join('\n') + '\n');
  return run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', join(s.dir, 'key_alice'), '-P', String(s.ports.sftp), '-b', batch, 'alice@127.0.0.1']);
}

/** lftp commands (`;`-separated) over plain FTP, as alice unless `user` (whose password is PASSWORD too). */
export function lftp(s: EventServer, commands: string, user = 'alice'): Promise<RunResult> {
  const base = 'set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; set ftp:ssl-allow no; set xfer:clobber on;';
  return run('lftp', ['-u', `${user},${PASSWORD}`, '-e', `${base} ${commands}; bye`, `ftp://127.0.0.1:${s.ports.ftp}`]);
}

/** A WebDAV PUT of a local file with curl; resolves with the HTTP status. */
export async function davPut(s: EventServer, file: string, vpath: string): Promise<number> {
  const r = await run('curl', ['-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code}', '-u', `alice:${PASSWORD}`, '-T', file, `http://127.0.0.1:${s.ports.dav}${vpath}`]);
  return Number(r.stdout);
}

export interface ApiReply {
  status: number;
  json: any;
  headers: Headers;
}

/** A REST API call as root. */
export async function api(s: EventServer, method: string, path: string, body?: unknown): Promise<ApiReply> {
  const base = `http://127.0.0.1:${s.ports.api}`;
  const t = await fetch(`${base}/api/v2/token`, { headers: { authorization: `Basic ${Buffer.from(`root:${ADMIN_PASSWORD}`).toString('base64')}` } });
  const token = ((await t.json()) as { access_token: string }).access_token;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export async function metrics(s: EventServer): Promise<string> {
  return (await fetch(`http://127.0.0.1:${s.ports.metrics}/metrics`)).text();
}

export interface Request {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A real HTTP endpoint for HTTP actions; can hold each answer back (a slow receiver) or answer a chosen status. */
export class Receiver {
  readonly requests: Request[] = [];
  delayMs = 0;
  status = 200;
  readonly #server: Server;
  #waiters: { pred: (r: Request) => boolean; resolve: (r: Request) => void }[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  readonly #scheme: string;

  private constructor(server: Server, scheme: string) {
    this.#server = server;
    this.#scheme = scheme;
  }

  /** `tls`: serve HTTPS with this (self-signed) certificate. */
  static async start(opts: { tls?: CertFiles } = {}): Promise<Receiver> {
    const server = opts.tls ? createHttpsServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }) : createServer();
    const r = new Receiver(server, opts.tls ? 'https' : 'http');
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: Request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        const answer = () => {
          rec.at = Date.now();
          r.requests.push(rec);
          for (const w of [...r.#waiters]) if (w.pred(rec)) (r.#waiters.splice(r.#waiters.indexOf(w), 1), w.resolve(rec));
          res.writeHead(r.status).end('ok');
        };
        if (r.delayMs <= 0) return answer();
        const t = setTimeout(() => (r.#timers.delete(t), answer()), r.delayMs);
        r.#timers.add(t);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get base(): string {
    return `${this.#scheme}://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The first request matching `pred`, already received or future. */
  waitFor(pred: (r: Request) => boolean, timeoutMs = 15_000): Promise<Request> {
    const seen = this.requests.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching request; got:\n${JSON.stringify(this.requests.map((q) => [q.method, q.url, q.body]), null, 1)}`)), timeoutMs);
      this.#waiters.push({ pred, resolve: (q) => (clearTimeout(t), resolve(q)) });
    });
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
