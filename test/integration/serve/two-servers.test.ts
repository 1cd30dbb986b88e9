// Two servers in one process: `startServer` run twice in the test process itself, with their own
// data dirs, ports, users and log sinks. Each keeps its own connections, metrics, defender and log
// lines, and stopping one leaves the other serving.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/load.ts';
import { startServer, type Server } from '../../../src/serve/serve.ts';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { freePort } from '../../support/net.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { keptSink } from '../../support/test-logs.ts';

const API_KEY = 'k3y-two-servers-0123456789abcdef';

interface Running {
  server: Server;
  user: string;
  password: string;
  sftpPort: number;
  apiPort: number;
  telemetryPort: number;
  lines: Record<string, unknown>[];
}

async function start(user: string): Promise<Running> {
  const dir = tempDir(`two-${user}-`);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, `${user}.txt`), `${user}'s file`);
  const [sftpPort, apiPort, telemetryPort] = [await freePort(), await freePort(), await freePort()];
  const password = `${user}-Secret-1`;
  const file = join(dir, 'sftpgo.yaml');
  writeFileSync(file, `sftpd:
  bindings:
    - address: 127.0.0.1
      port: ${sftpPort}
httpd:
  bindings:
    - address: 127.0.0.1
      port: ${apiPort}
telemetry:
  bind_port: ${telemetryPort}
common:
  defender:
    enabled: true
    threshold: 5
data_provider:
  password_hashing:
    bcrypt_options:
      cost: 4
users:
  - username: ${user}
    password: "${password}"
    home_dir: ${home}
    permissions: { "/": ["*"] }
admins:
  - username: robot
    permissions: ["*"]
    api_keys:
      - name: test
        key: "${API_KEY}"
`);
  const loaded = loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const lines: Record<string, unknown>[] = [];
  const server = await startServer({
    loaded: loaded.value,
    dataDir: join(dir, 'data'),
    flags: { config: file },
    logSink: keptSink('two-servers', (l) => void lines.push(l)),
  });
  return { server, user, password, sftpPort, apiPort, telemetryPort, lines };
}

function sftpLogin(port: number, username: string, password: string): Promise<{ client: InstanceType<typeof Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    // A refused client may report more than one error (reset, then a write on the dead socket).
    client.on('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, username, password, readyTimeout: 10_000 });
  });
}

/** Whether a password login is accepted (the client is closed either way). */
async function canLogin(port: number, username: string, password: string): Promise<boolean> {
  try {
    const { client } = await sftpLogin(port, username, password);
    client.end();
    return true;
  } catch {
    return false;
  }
}

function readdir(sftp: SFTPWrapper, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => sftp.readdir(path, (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
}

async function apiConnections(r: Running): Promise<{ username: string; protocol: string }[]> {
  const res = await fetch(`http://127.0.0.1:${r.apiPort}/api/v2/connections`, { headers: { 'x-sftpgo-api-key': API_KEY } });
  expect(res.status).toBe(200);
  return (await res.json()) as { username: string; protocol: string }[];
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

let a: Running;
let b: Running;
let aStopped = false;

beforeAll(async () => {
  a = await start('anna');
  b = await start('bert');
});

afterAll(async () => {
  if (!aStopped) await a.server.stop();
  await b.server.stop();
  removeTempDirs();
});

describe('two servers in one process', () => {
  test('each lists only its own connections, in its registry and its API', async () => {
    const onA = await sftpLogin(a.sftpPort, 'anna', a.password);
    const onB = await sftpLogin(b.sftpPort, 'bert', b.password);
    try {
      expect(await readdir(onA.sftp, '/')).toEqual(['anna.txt']);
      expect(await readdir(onB.sftp, '/')).toEqual(['bert.txt']);
      expect(a.server.context.connections.list().map((c) => [c.username, c.protocol])).toEqual([['anna', 'SFTP']]);
      expect(b.server.context.connections.list().map((c) => [c.username, c.protocol])).toEqual([['bert', 'SFTP']]);
      expect((await apiConnections(a)).map((c) => c.username)).toEqual(['anna']);
      expect((await apiConnections(b)).map((c) => c.username)).toEqual(['bert']);
      // A user of one server does not exist on the other.
      expect(await canLogin(b.sftpPort, 'anna', a.password)).toBe(false);
    } finally {
      onA.client.end();
      onB.client.end();
    }
    await until(() => a.server.context.connections.list().length === 0 && b.server.context.connections.list().length === 0);
  });

  test("each server's log lines go to its own sink", async () => {
    const logins = (r: Running) => r.lines.filter((l) => l.event === 'login').map((l) => l.username);
    const logouts = (r: Running) => r.lines.filter((l) => l.event === 'logout').map((l) => l.username);
    await until(() => logouts(a).length > 0 && logouts(b).length > 0);
    expect(new Set(logins(a))).toEqual(new Set(['anna']));
    expect(new Set(logins(b))).toEqual(new Set(['bert']));
    expect(new Set(logouts(a))).toEqual(new Set(['anna']));
    // bert's server wrote the failed try of anna's name; anna's server never heard of it.
    expect(b.lines.some((l) => l.event === 'login_failed' && l.username === 'anna')).toBe(true);
    expect(a.lines.some((l) => l.event === 'login_failed')).toBe(false);
    expect(a.lines.some((l) => l.event === 'serve_ready')).toBe(true);
    expect(b.lines.some((l) => l.event === 'serve_ready')).toBe(true);
  });

  test('a metric counted on one does not show on the other', async () => {
    const failed = { protocol: 'SSH', reason: 'user_not_found' };
    const before = a.server.context.metrics.value('sftpgo_login_failed_total', failed);
    expect(b.server.context.metrics.value('sftpgo_login_failed_total', failed)).toBe(1);
    expect(await canLogin(b.sftpPort, 'nobody', 'x')).toBe(false);
    await until(() => b.server.context.metrics.value('sftpgo_login_failed_total', failed) === 2);
    expect(a.server.context.metrics.value('sftpgo_login_failed_total', failed)).toBe(before);
    expect(before).toBe(0);
    const text = await (await fetch(`http://127.0.0.1:${a.telemetryPort}/metrics`)).text();
    expect(text).not.toContain('sftpgo_login_failed_total');
  });

  test("a defender ban on one does not reach the other", async () => {
    // Unknown users score 2 each against a threshold of 5: the third try bans 127.0.0.1 on anna's
    // server. bert's server has seen two (score 4), not enough for a ban of its own.
    for (let i = 0; i < 3; i++) expect(await canLogin(a.sftpPort, 'ghost', 'x')).toBe(false);
    await until(() => a.server.context.defender.isBanned('127.0.0.1'));
    expect(await canLogin(a.sftpPort, 'anna', a.password)).toBe(false);
    expect(a.lines.some((l) => l.event === 'connection_refused' && l.reason === 'banned')).toBe(true);
    expect(b.server.context.defender.isBanned('127.0.0.1')).toBe(false);
    expect(await canLogin(b.sftpPort, 'bert', b.password)).toBe(true);
  });

  test('stopping one leaves the other serving', async () => {
    await a.server.stop();
    aStopped = true;
    expect(a.lines.some((l) => l.event === 'serve_stopped')).toBe(true);
    expect(await canLogin(a.sftpPort, 'anna', a.password)).toBe(false);
    const { client, sftp } = await sftpLogin(b.sftpPort, 'bert', b.password);
    try {
      expect(await readdir(sftp, '/')).toEqual(['bert.txt']);
      expect((await apiConnections(b)).map((c) => c.username)).toEqual(['bert']);
    } finally {
      client.end();
    }
    expect(b.lines.some((l) => l.event === 'serve_stopped')).toBe(false);
  });
});
