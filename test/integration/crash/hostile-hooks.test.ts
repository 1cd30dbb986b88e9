// Hooks and event actions whose HTTP peer hangs, floods (an endless body) or resets: the pre-login
// hook denies within hooks_timeout and other logins go on; an upload's notification hook
// (common.actions, asynchronous) and an event rule's HTTP action cannot hold the upload, which
// completes at once, and their failure or end is logged within their timeouts; the server's
// memory stays bounded by a flood; the server serves the next session.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

type Mode = 'hang' | 'flood' | 'reset';
const PASSWORD = 'hostile-Hooks-1';

let mode: Mode = 'hang';
let peer: Server;
let peerPort: number;
let server: RunningServer;
let port: number;
let flooded = 0;
const hung = new Set<ServerResponse>();
const figures: string[] = [];

function answer(res: ServerResponse): void {
  if (mode === 'hang') return void hung.add(res);
  if (mode === 'reset') return void res.socket?.destroy();
  // An endless 200 with a JSON-looking start: only a reader with a limit gets out.
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"status":1,"username":"');
  const chunk = Buffer.alloc(256 * 1024, 'a');
  const pump = (): void => {
    while (!res.destroyed && flooded < 4 * 1024 * 1024 * 1024) {
      flooded += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  res.on('error', () => undefined);
  pump();
}

beforeAll(async () => {
  peer = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  peerPort = await freePort();
  await new Promise<void>((r) => peer.listen(peerPort, '127.0.0.1', r));
  const dir = tempDir('hostile-hooks-');
  port = await freePort();
  const base = `http://127.0.0.1:${peerPort}`;
  server = await startServer({
    cwd: dir,
    yaml: `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
common:
  hooks_timeout: 2
  actions: { execute_on: [upload], hook: "${base}/action", timeout: 2 }
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
  pre_login_hook: "${base}/prelogin"
event_actions:
  - name: notify
    type: 1
    options:
      http_config: { endpoint: "${base}/event", timeout: 2, body: "{{.Name}} {{.VirtualPath}}" }
event_rules:
  - name: on-upload
    trigger: 1
    conditions: { fs_events: [upload] }
    actions: [{ name: notify }]
users:
  - username: gated
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'gated')}
    permissions: { "/": ["*"] }
  - username: alice
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'alice')}
    permissions: { "/": ["*"] }
    filters: { hooks: { pre_login_disabled: true } }
`,
  });
});

afterAll(async () => {
  for (const r of hung) r.socket?.destroy();
  await server?.stop();
  peer?.closeAllConnections();
  await new Promise<void>((r) => peer?.close(() => r()));
  removeTempDirs();
  console.log(`hostile peers, hooks and event actions:\n${figures.join('\n')}`);
});

function login(username: string): Promise<{ client: InstanceType<typeof Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, username, password: PASSWORD, readyTimeout: 30_000 });
  });
}

function rssMb(): number {
  const status = readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

describe('hooks and event actions behind a hostile peer', () => {
  for (const m of ['hang', 'flood', 'reset'] as const) {
    test(`${m}: the pre-login hook denies within hooks_timeout; other users log in meanwhile`, async () => {
      mode = m;
      const started = Date.now();
      const denied = login('gated').then(
        (c) => (c.client.end(), 'allowed'),
        () => 'denied',
      );
      const other = await login('alice');
      const otherMs = Date.now() - started;
      other.client.end();
      expect(await denied).toBe('denied');
      const took = Date.now() - started;
      expect(took).toBeLessThan(15_000);
      await server.waitForLog((l) => l.event === 'pre_login_denied' && l.username === 'gated' && Date.parse(String(l.time)) >= started - 1000);
      figures.push(`  pre-login hook, ${m}: denied after ${took} ms; another user logged in after ${otherMs} ms; server RSS ${rssMb().toFixed(0)} MB`);
    }, 60_000);

    test(`${m}: the upload hook and the event HTTP action cannot hold an upload; both end within their timeouts`, async () => {
      mode = m;
      const { client, sftp } = await login('alice');
      const data = Buffer.alloc(256 * 1024, 7);
      const started = Date.now();
      await new Promise<void>((res, rej) => sftp.writeFile(`/${m}.bin`, data, (err) => (err ? rej(err) : res())));
      const uploadMs = Date.now() - started;
      const back = await new Promise<Buffer>((res, rej) => sftp.readFile(`/${m}.bin`, (err, b) => (err ? rej(err) : res(b))));
      client.end();
      expect(back.equals(data)).toBe(true);
      expect(uploadMs).toBeLessThan(1_500);
      // Each ends within its 2 s timeout, logged: the hook as a failure, the rule run with its result.
      const rule = await server.waitForLog((l) => l.event === 'event_rule_run' && l.virtual_path === `/${m}.bin`, 15_000);
      // A flood is a 200: the hook succeeds, its answer read up to 1 MiB and no further.
      const hook = m === 'flood' ? undefined : await server.waitForLog((l) => l.event === 'hook_failed' && l.hook === 'actions' && Date.parse(String(l.time)) >= started, 15_000);
      const endedMs = Date.now() - started;
      expect(endedMs).toBeLessThan(15_000);
      // The event action never reads a body: a flood is a delivered notification; a hang or a reset fails.
      expect(rule.result).toBe(m === 'flood' ? 'ok' : 'failed');
      expect(rssMb()).toBeLessThan(600);
      figures.push(`  upload hook and event action, ${m}: upload took ${uploadMs} ms; rule ${rule.result}, hook ${hook ? `failed (${hook.error})` : 'ok'}, both ended within ${endedMs} ms; server RSS ${rssMb().toFixed(0)} MB`);
    }, 60_000);
  }
});
