// Two replicas (separate processes, data dirs and node names) sharing one PostgreSQL store, beta's
// API over HTTPS (node proto https, its certificate trusted through NODE_EXTRA_CA_CERTS): each
// names itself in its log lines, /metrics and /api/v2/status; a connection made with OpenSSH sftp
// to one is listed by the other with the node holding it, and a DELETE on the other (API or web
// admin) ends it, within a role admin's role only; node tokens are refused unless a replica of this
// store made them for that request; a killed replica drops out of the listing at once; a clean stop
// leaves the registry.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadSecretsKey, SecretBox } from '../../../src/config/sealed.ts';
import { NODE_CALL_TIMEOUT_MS, nodeToken, NODE_TOKEN_HEADER } from '../../../src/api/node-calls.ts';
import type { NodeRecord, Store } from '../../../src/store/store.ts';
import { NodeRegistry } from '../../../src/core/nodes.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import { openStore } from '../../../src/store/open.ts';
import type { Log } from '../../../src/log.ts';
import { freePort } from '../../support/net.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { makeSelfSignedCert, type CertFiles } from '../../support/tls.ts';
import { chromium } from 'playwright-core';
import { ROOT } from '../../support/server.ts';

const PASSWORD = 'Node-Pass-1';
const ADMIN_PASSWORD = 'Node-Admin-1';
let pg: Postgres;
let dir: string;
/** beta's API certificate, which every replica trusts. */
let cert: CertFiles;

interface Replica {
  name: string;
  proc: RunningServer;
  sftp: number;
  api: number;
  telemetry: number;
  dataDir: string;
  https: boolean;
}
const replicas: Replica[] = [];
const clients: ChildProcess[] = [];

function yaml(r: Omit<Replica, 'proc' | 'dataDir'>): string {
  const tls = r.https ? `  certificate_file: ${cert.cert}\n  certificate_key_file: ${cert.key}\n` : '';
  return `${pg.providerYaml}  users_base_dir: ${join(dir, 'homes')}
  node: { name: ${r.name}, host: 127.0.0.1, port: ${r.api}, proto: ${r.https ? 'https' : 'http'} }
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${r.sftp} }]
httpd:
${tls}  bindings: [{ address: 127.0.0.1, port: ${r.api}, enable_https: ${r.https} }]
telemetry:
  bind_port: ${r.telemetry}
  bind_address: 127.0.0.1
roles:
  - { name: ops }
users:
  - username: yara
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
  - username: olga
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    role: ops
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
  - username: opsadmin
    password: "${ADMIN_PASSWORD}"
    permissions: [view_conns, close_conns]
    role: ops
`;
}

async function start(name: string, https = false): Promise<Replica> {
  const ports = { sftp: await freePort(), api: await freePort(), telemetry: await freePort() };
  const dataDir = join(dir, `data-${name}`);
  mkdirSync(dataDir, { recursive: true });
  // The first replica made the shared store's secrets key; the others get a copy.
  if (replicas.length > 0) copyFileSync(join(replicas[0]!.dataDir, 'secrets.key'), join(dataDir, 'secrets.key'));
  const env = { PG_PASSWORD: pg.password, NODE_EXTRA_CA_CERTS: cert.cert };
  const proc = await startServer({ yaml: yaml({ name, https, ...ports }), cwd: tempDir(`node-${name}-`), dataDir, env });
  const r = { name, proc, dataDir, https, ...ports };
  replicas.push(r);
  return r;
}

let alpha: Replica;
let beta: Replica;

beforeAll(async () => {
  dir = tempDir('nodes-');
  pg = await startPostgres();
  cert = makeSelfSignedCert(dir, 'beta');
  alpha = await start('alpha');
  beta = await start('beta', true);
}, 120_000);

afterAll(async () => {
  for (const c of clients) if (c.exitCode === null) c.kill('SIGKILL');
  for (const r of replicas) await r.proc.stop();
  await pg?.stop();
  removeTempDirs();
});

function baseUrl(r: Replica): string {
  return `${r.https ? 'https' : 'http'}://127.0.0.1:${r.api}`;
}

/** A request to `r`'s API, trusting beta's certificate. */
function send(r: Replica, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${baseUrl(r)}${path}`, { ...init, tls: { ca: readFileSync(cert.cert, 'utf8') } });
}

async function token(r: Replica, admin = 'root'): Promise<string> {
  const res = await send(r, '/api/v2/token', { headers: { authorization: `Basic ${btoa(`${admin}:${ADMIN_PASSWORD}`)}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function api(r: Replica, path: string, init: RequestInit = {}, admin = 'root'): Promise<Response> {
  return send(r, path, { ...init, headers: { authorization: `Bearer ${await token(r, admin)}`, ...(init.headers ?? {}) } });
}

type Conn = { connection_id: string; username: string; node?: string; protocol: string };

async function connections(r: Replica): Promise<Conn[]> {
  const res = await api(r, '/api/v2/connections');
  expect(res.status).toBe(200);
  return (await res.json()) as Conn[];
}

/** An interactive OpenSSH sftp session held open (commands come from stdin, which stays open). */
function openSftp(r: Replica, user = 'yara'): { proc: ChildProcess; exited: Promise<number | null> } {
  const proc = spawn(
    'sshpass',
    ['-p', PASSWORD, 'sftp', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-P', String(r.sftp), `${user}@127.0.0.1`],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  clients.push(proc);
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, exited };
}

/** Polls `r`'s listing until `pred` picks an entry. */
async function waitFor(r: Replica, pred: (c: Conn) => boolean, timeoutMs = 15_000): Promise<Conn> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = (await connections(r)).find(pred);
    if (found) return found;
    if (Date.now() > until) throw new Error(`no matching connection on ${r.name}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * The client sees the disconnect: interactive sftp, waiting on its input, fails its next command
 * and ends; on a live session it would answer and wait for the next one.
 */
async function expectDisconnected(client: { proc: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  client.proc.stdin!.write('ls\n');
  const code = await within(client.exited, 10_000);
  expect(code).not.toBe('timeout');
  expect(code).not.toBe(0);
}

/** Ends a session as its user would (end of input), and waits until `r` no longer lists any of its user's. */
async function closeSftp(client: { proc: ChildProcess; exited: Promise<number | null> }, r: Replica): Promise<void> {
  client.proc.stdin!.end();
  expect(await within(client.exited, 10_000)).toBe(0);
  const until = Date.now() + 10_000;
  while ((await connections(r)).some((c) => c.node === r.name) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
}

/** The first line `r` logged after its `seen`th that `pred` picks, waiting for it a few seconds. */
async function logSince(r: Replica, seen: number, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> {
  const until = Date.now() + 5000;
  for (;;) {
    const found = r.proc.logs.slice(seen).find(pred);
    if (found || Date.now() > until) return found;
    await new Promise((res) => setTimeout(res, 50));
  }
}

function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), ms))]);
}

/** A node token for `target` made as a replica would: its key unsealed with the shared secrets key. */
function replicaToken(target: Replica, call: { method: 'GET' | 'DELETE'; path: string }): string {
  const row = pg.sql(`SELECT value FROM sftpgo_kv WHERE collection = 'nodes' AND key = '${target.name}'`, pg.database);
  const record = JSON.parse(row) as NodeRecord;
  const box = new SecretBox(loadSecretsKey(alpha.dataDir, false));
  const clear = typeof record.key === 'string' ? record.key : box.unseal(record.key.sealed);
  return nodeToken({ name: target.name, url: record.url, key: Buffer.from(clear, 'base64') }, { ...call, admin: 'root', permission: call.method === 'GET' ? 'view_conns' : 'close_conns', from: 'alpha' });
}

test('each replica names itself in its status, /metrics, every log line and the change log', async () => {
  for (const r of replicas) {
    const status = (await (await api(r, '/api/v2/status')).json()) as { data_provider: { driver: string }; node: { name: string; url: string; nodes: { name: string; active: boolean }[] } };
    expect(status.data_provider.driver).toBe('postgresql');
    expect(status.node.name).toBe(r.name);
    expect(status.node.url).toBe(baseUrl(r));
    expect(status.node.nodes.map((n) => [n.name, n.active]).sort()).toEqual([['alpha', true], ['beta', true]]);
    const metrics = await (await fetch(`http://127.0.0.1:${r.telemetry}/metrics`)).text();
    expect(metrics).toContain(`sftpgo_node_info{node="${r.name}"} 1`);
    const lines = r.proc.logs.filter((l) => l.event !== 'raw');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l.node).toBe(r.name);
  }
  const writers = pg.sql('SELECT DISTINCT node FROM sftpgo_changes ORDER BY node', pg.database).trim().split('\n');
  expect(writers).toEqual(['alpha', 'beta']);
});

// Early in the file: beta's own refresh, a minute after its start, would make its record fresh again.
test('a node not refreshed for two minutes is not called', async () => {
  const old = pg.sql(`SELECT value FROM sftpgo_kv WHERE collection = 'nodes' AND key = 'beta'`, pg.database);
  const stale = { ...(JSON.parse(old) as NodeRecord), updated_at: Date.now() - 121_000 };
  pg.sql(`UPDATE sftpgo_kv SET value = '${JSON.stringify(stale)}' WHERE collection = 'nodes' AND key = 'beta'`, pg.database);
  try {
    const client = openSftp(beta);
    await waitFor(beta, (c) => c.username === 'yara');
    expect((await connections(alpha)).some((c) => c.node === 'beta')).toBe(false);
    const status = (await (await api(alpha, '/api/v2/status')).json()) as { node: { nodes: { name: string; active: boolean }[] } };
    expect(status.node.nodes.find((n) => n.name === 'beta')?.active).toBe(false);
    await closeSftp(client, beta);
  } finally {
    pg.sql(`UPDATE sftpgo_kv SET value = '${old}' WHERE collection = 'nodes' AND key = 'beta'`, pg.database);
  }
});

test("an sftp connection to beta is listed by alpha with beta's node, and a DELETE on alpha ends it", async () => {
  const client = openSftp(beta);
  const onAlpha = await waitFor(alpha, (c) => c.username === 'yara' && c.node === 'beta');
  expect(onAlpha.protocol).toBe('SFTP');
  // beta lists it as its own, under the same id.
  expect((await connections(beta)).find((c) => c.connection_id === onAlpha.connection_id)?.node).toBe('beta');
  const res = await api(alpha, `/api/v2/connections/${onAlpha.connection_id}?node=beta`, { method: 'DELETE' });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ message: 'Connection closed' });
  await expectDisconnected(client);
  const closed = await beta.proc.waitForLog((l) => l.event === 'connection_closed_by_api' && l.connection_id === onAlpha.connection_id);
  expect(closed.from_node).toBe('alpha');
  expect((await connections(alpha)).some((c) => c.connection_id === onAlpha.connection_id)).toBe(false);
});

test('without the node parameter, the node holding the connection closes it', async () => {
  const client = openSftp(beta);
  const held = await waitFor(alpha, (c) => c.username === 'yara' && c.node === 'beta');
  const res = await api(alpha, `/api/v2/connections/${held.connection_id}`, { method: 'DELETE' });
  expect(res.status).toBe(200);
  await expectDisconnected(client);
  // An id no node holds, and a node that is not registered, are 404.
  expect((await api(alpha, '/api/v2/connections/0123456789abcdef', { method: 'DELETE' })).status).toBe(404);
  expect((await api(alpha, '/api/v2/connections/0123456789abcdef?node=gamma', { method: 'DELETE' })).status).toBe(404);
});

test('a node token is accepted once, for its own request and node; a forged one is 401', async () => {
  const get = (header: string) => send(beta, '/api/v2/connections', { headers: { [NODE_TOKEN_HEADER]: header } });
  const good = replicaToken(beta, { method: 'GET', path: '/api/v2/connections' });
  const first = await get(`Bearer ${good}`);
  expect(first.status).toBe(200);
  expect(Array.isArray(await first.json())).toBe(true);
  // Replayed, made for another request, for another node, or signed with a key no replica holds.
  expect((await get(`Bearer ${good}`)).status).toBe(401);
  expect((await get(`Bearer ${replicaToken(beta, { method: 'DELETE', path: '/api/v2/connections' })}`)).status).toBe(401);
  expect((await get(`Bearer ${replicaToken(alpha, { method: 'GET', path: '/api/v2/connections' })}`)).status).toBe(401);
  const forged = nodeToken({ name: 'beta', url: '', key: randomBytes(32) }, { method: 'GET', path: '/api/v2/connections', admin: 'root', permission: 'view_conns', from: 'mallory' });
  expect((await get(`Bearer ${forged}`)).status).toBe(401);
  expect((await get('Bearer not-a-token')).status).toBe(401);
  // Routes other than the connections' ignore the header and want an admin's credentials.
  const users = await send(beta, '/api/v2/users', { headers: { [NODE_TOKEN_HEADER]: `Bearer ${replicaToken(beta, { method: 'GET', path: '/api/v2/users' })}` } });
  expect(users.status).toBe(401);
  const refused = await beta.proc.waitForLog((l) => l.event === 'login_failed' && l.reason === 'invalid_node_token');
  expect(refused.node).toBe('beta');
});

test("a role admin sees and closes, across nodes, only its role's users' connections", async () => {
  const yara = openSftp(beta);
  const olga = openSftp(beta, 'olga');
  const yaraConn = await waitFor(alpha, (c) => c.username === 'yara' && c.node === 'beta');
  const olgaConn = await waitFor(alpha, (c) => c.username === 'olga' && c.node === 'beta');
  const seen = (await (await api(alpha, '/api/v2/connections', {}, 'opsadmin')).json()) as Conn[];
  expect(seen.map((c) => [c.username, c.node])).toEqual([['olga', 'beta']]);
  // Another role's connection is 404 on the node holding it, as if it did not exist.
  expect((await api(alpha, `/api/v2/connections/${yaraConn.connection_id}?node=beta`, { method: 'DELETE' }, 'opsadmin')).status).toBe(404);
  expect((await api(alpha, `/api/v2/connections/${yaraConn.connection_id}`, { method: 'DELETE' }, 'opsadmin')).status).toBe(404);
  expect((await api(alpha, `/api/v2/connections/${olgaConn.connection_id}?node=beta`, { method: 'DELETE' }, 'opsadmin')).status).toBe(200);
  await expectDisconnected(olga);
  expect((await connections(beta)).some((c) => c.connection_id === yaraConn.connection_id)).toBe(true);
  await closeSftp(yara, beta);
});

test("alpha's web admin lists beta's connection with its node and disconnects it there", async () => {
  const client = openSftp(beta);
  const held = await waitFor(alpha, (c) => c.username === 'yara' && c.node === 'beta');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const base = `${baseUrl(alpha)}/web/admin`;
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', 'root');
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.goto(`${base}/connections`);
    const row = page.locator(`tr[data-connection="${held.connection_id}"]`);
    expect(await row.getAttribute('data-node')).toBe('beta');
    expect(await row.locator('td').nth(1).textContent()).toBe('beta');
    mkdirSync(join(ROOT, 'test-results', 'screenshots'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results', 'screenshots', 'nodes-connections.png'), fullPage: true });
    await row.locator('button', { hasText: 'Disconnect' }).click();
    await page.waitForLoadState();
    expect(await page.textContent('body')).toContain('Connection closed on node beta.');
    await expectDisconnected(client);
  } finally {
    await browser.close();
  }
});

test('two live replicas under one name are a conflict, logged; a restart at the same URL is not', async () => {
  pg.createDatabase('registry');
  const provider = { driver: 'postgresql' as const, host: pg.host, port: pg.port, name: 'registry', username: pg.username, password: pg.password };
  const stores: Store[] = [];
  const open = async (n: number): Promise<Store> => {
    const dataDir = join(dir, `registry-${n}`);
    mkdirSync(dataDir, { recursive: true });
    if (n > 0) copyFileSync(join(dir, 'registry-0', 'secrets.key'), join(dataDir, 'secrets.key'));
    const s = await openStore(dataDir, { provider, node: `registry-${n}` });
    await migrateUp(s, { log: () => undefined });
    stores.push(s);
    return s;
  };
  const lines: { at: number; event: string }[] = [];
  const logFor = (at: number): Log => (_level, event) => lines.push({ at, event });
  const registry = async (n: number, url: string) => {
    const r = new NodeRegistry({ store: await open(n), identity: { name: 'gamma', url, shared: true }, log: logFor(n) });
    await r.start();
    return r;
  };
  try {
    const first = await registry(0, 'http://127.0.0.1:1');
    const second = await registry(1, 'http://127.0.0.1:2');
    expect(lines).toEqual([{ at: 1, event: 'node_name_conflict' }]);
    const restarted = await registry(2, 'http://127.0.0.1:2');
    expect(lines.length).toBe(1);
    // A stop removes only the record its own start wrote.
    await first.stop();
    await second.stop();
    expect(await stores[0]!.get('nodes', 'gamma')).toBeDefined();
    await restarted.stop();
    expect(await stores[0]!.get('nodes', 'gamma')).toBeUndefined();
  } finally {
    for (const s of stores) await s.close();
  }
});

test('a reload that renames the node says it needs a restart and keeps the running name', async () => {
  const original = readFileSync(alpha.proc.configPath, 'utf8');
  writeFileSync(alpha.proc.configPath, original.replace('name: alpha,', 'name: omega,'));
  try {
    alpha.proc.proc.kill('SIGHUP');
    const line = await alpha.proc.waitForLog((l) => l.event === 'node_needs_restart');
    expect(line.name).toBe('omega');
    expect(line.node).toBe('alpha');
    const status = (await (await api(alpha, '/api/v2/status')).json()) as { node: { name: string } };
    expect(status.node.name).toBe('alpha');
  } finally {
    writeFileSync(alpha.proc.configPath, original);
  }
});

test('a replica that does not answer is skipped after the call timeout', async () => {
  const client = openSftp(beta);
  await waitFor(alpha, (c) => c.username === 'yara' && c.node === 'beta');
  const adminToken = await token(alpha);
  const seen = alpha.proc.logs.length;
  beta.proc.proc.kill('SIGSTOP');
  try {
    const started = Date.now();
    const res = await send(alpha, '/api/v2/connections', { headers: { authorization: `Bearer ${adminToken}` } });
    const took = Date.now() - started;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Conn[]).some((c) => c.node === 'beta')).toBe(false);
    expect(took).toBeGreaterThanOrEqual(NODE_CALL_TIMEOUT_MS - 100);
    expect(took).toBeLessThan(NODE_CALL_TIMEOUT_MS + 2000);
    const line = await logSince(alpha, seen, (l) => l.event === 'node_unreachable' && l.peer === 'beta');
    expect(String(line?.error)).toMatch(/timed? ?out|abort/i);
  } finally {
    beta.proc.proc.kill('SIGCONT');
  }
  await closeSftp(client, beta);
});

test("a killed replica's connections drop out of the listing at once; a clean stop leaves the registry", async () => {
  const client = openSftp(beta);
  await waitFor(alpha, (c) => c.username === 'yara' && c.node === 'beta');
  const seen = alpha.proc.logs.length;
  beta.proc.proc.kill('SIGKILL');
  await beta.proc.stop();
  client.proc.kill('SIGKILL');
  await client.exited;
  const started = Date.now();
  const listed = await connections(alpha);
  expect(Date.now() - started).toBeLessThan(4000);
  expect(listed.some((c) => c.node === 'beta')).toBe(false);
  const unreachable = await logSince(alpha, seen, (l) => l.event === 'node_unreachable' && l.peer === 'beta');
  expect(unreachable?.node).toBe('alpha');
  expect(String(unreachable?.error)).not.toMatch(/timed? ?out/i);
  // A close aimed at the dead replica says it did not answer.
  expect((await api(alpha, '/api/v2/connections/0123456789abcdef?node=beta', { method: 'DELETE' })).status).toBe(503);
  // beta, killed, left its record; alpha, stopped, removes its own.
  expect(await alpha.proc.stop()).toBe(0);
  const names = pg.sql(`SELECT key FROM sftpgo_kv WHERE collection = 'nodes' ORDER BY key`, pg.database).trim().split('\n');
  expect(names).toEqual(['beta']);
});
