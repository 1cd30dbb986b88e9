// Shared setup for the REST API tests: a real `serve` child process with an SFTP
// binding and an API binding on free loopback ports, config-declared users and admins, and a tiny
// fetch-based client.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { Client } from '../../../src/lib/ssh2.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';

export const ADMIN_PASSWORD = TEST_SECRETS.adminPassword;
export const USER_PASSWORD = TEST_SECRETS.userPassword;
export const API_KEY = 'k3y-0123456789abcdef0123456789abcdef';

export interface Api {
  server: RunningServer;
  dir: string;
  dataDir: string;
  sftpPort: number;
  apiPort: number;
  /** The telemetry listener (/metrics). */
  telemetryPort: number;
  yaml: string;
  home: string;
  url(path: string): string;
  /** Restarts serve on the same dir, data dir and ports (optionally with a new YAML). */
  restart(yaml?: string): Promise<void>;
}

export function configYaml(dir: string, sftpPort: number, apiPort: number, extraUsers = '', telemetryPort = 0): string {
  return `${telemetryPort ? `telemetry:\n  bind_port: ${telemetryPort}\n` : ''}sftpd:
  bindings:
    - address: 127.0.0.1
      port: ${sftpPort}
httpd:
  token_validity: 600
  bindings:
    - address: 127.0.0.1
      port: ${apiPort}
data_provider:
  password_hashing:
    bcrypt_options:
      cost: 4
users:
  - username: alice
    password: "${USER_PASSWORD}"
    home_dir: ${join(dir, 'homes/alice')}
    quota_size: 1000
    description: from yaml
${extraUsers}folders:
  - name: shared
    mapped_path: ${join(dir, 'shared')}
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
  - username: viewer
    password: "${ADMIN_PASSWORD}"
    permissions: [view_users]
  - username: robot
    permissions: ["*"]
    api_keys:
      - name: ci
        key: "${API_KEY}"
  - username: fenced
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
    filters:
      allow_list: ["10.9.8.0/24"]
`;
}


export async function startApi(extraUsers = ''): Promise<Api> {
  const dir = tempDir('api-it-');
  mkdirSync(join(dir, 'homes/alice'), { recursive: true });
  mkdirSync(join(dir, 'shared'), { recursive: true });
  const sftpPort = await freePort();
  const apiPort = await freePort();
  const telemetryPort = await freePort();
  const yaml = configYaml(dir, sftpPort, apiPort, extraUsers, telemetryPort);
  const start = (y: string) => startServer({ yaml: y, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug' } });
  const api: Api = {
    server: await start(yaml),
    dir,
    dataDir: join(dir, 'data'),
    sftpPort,
    apiPort,
    telemetryPort,
    yaml,
    home: join(dir, 'homes/alice'),
    url: (p) => `http://127.0.0.1:${apiPort}${p}`,
    async restart(y = yaml) {
      await api.server.stop();
      api.server = await start(y);
    },
  };
  return api;
}

export interface Reply {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

export async function call(api: Api, method: string, path: string, opts: { token?: string; apiKey?: string; basic?: [string, string]; body?: unknown; rawBody?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.apiKey) headers['x-sftpgo-api-key'] = opts.apiKey;
  if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic.join(':')).toString('base64')}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(api.url(path), { method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** startApi() and an admin token for root: what most API test files begin with. */
export async function startApiWithToken(extraUsers = ''): Promise<{ api: Api; token: string }> {
  const api = await startApi(extraUsers);
  return { api, token: await token(api) };
}

/** Stops the server (if it started) and removes the test's temp dirs. */
export async function stopApi(api: Api | undefined): Promise<void> {
  await api?.server.stop();
  removeTempDirs();
}

export async function token(api: Api, user = 'root', password = ADMIN_PASSWORD): Promise<string> {
  const r = await call(api, 'GET', '/api/v2/token', { basic: [user, password] });
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
  return r.json.access_token;
}

/** An ssh2 client with an open SFTP session. */
export async function sftpSession(port: number, username: string, password: string): Promise<{ client: InstanceType<typeof Client>; sftp: any }> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port, username, password, readyTimeout: 10_000 });
  });
  const sftp = await new Promise<any>((resolve, reject) => client.sftp((err: Error | undefined, w: unknown) => (err ? reject(err) : resolve(w))));
  return { client, sftp };
}

export async function canLogin(port: number, username: string, password: string): Promise<boolean> {
  try {
    const { client } = await sftpSession(port, username, password);
    client.end();
    return true;
  } catch {
    return false;
  }
}

export function readdir(sftp: any, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => sftp.readdir(path, (err: Error | undefined, list: { filename: string }[]) => (err ? reject(err) : resolve(list.map((e) => e.filename).sort()))));
}
