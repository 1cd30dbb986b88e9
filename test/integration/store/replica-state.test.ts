// What one replica changes, the other applies: two servers (separate processes and data dirs)
// sharing one PostgreSQL store, driven by real clients (OpenSSH sftp, fetch). For each kind of
// runtime state, a change made through A takes effect on B at once or within a second: an
// override disabling a YAML user, a group change, admins, a user stored by the external auth hook
// (and its cache), a limit read by a session already open, API keys (and their last use), a
// share's uses, a user token's logout, a TOTP code's single use, an IP list entry, web sessions
// (a browser logged in through A is logged in on B; its messages and its logout follow it), and
// an event rule and its action.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base32Decode, hotp, totpStep } from '../../../src/auth/totp.ts';
import { Receiver } from '../events/harness.ts';
import { writeScript } from '../hooks/harness.ts';
import { startPostgres, startReplica, type Postgres } from '../../support/postgres.ts';
import type { RunningServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'Replica-State-1';
const ADMIN_PASSWORD = 'Replica-Admin-1';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
let pg: Postgres;
let dir: string;
interface Replica {
  proc: RunningServer;
  sftp: number;
  api: number;
}
const replicas: Replica[] = [];

function yaml(sftp: number, api: number): string {
  return `${pg.providerYaml}  users_base_dir: ${join(dir, 'homes')}
  external_auth_hook: ${join(dir, 'auth.sh')}
  external_auth_cache_time: 60
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${api} }]
common:
  defender: { enabled: true, threshold: 1000 }
groups:
  - name: staff
users:
  - username: yara
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters: { hooks: { external_auth_disabled: true } }
  - username: gus
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters: { hooks: { external_auth_disabled: true } }
    groups: [{ name: staff, type: 1 }]
  - username: lena
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters: { hooks: { external_auth_disabled: true } }
  - username: tina
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    filters:
      hooks: { external_auth_disabled: true }
      totp_config: { enabled: true, config_name: Default, secret: "${TOTP_SECRET}", protocols: [HTTP] }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
    filters: { allow_api_key_auth: true }
`;
}

async function start(n: number): Promise<void> {
  const { proc, sftp, api } = await startReplica({ pg, dir, n, yaml: (p) => yaml(p.sftp, p.api) });
  replicas.push({ proc, sftp, api });
}

beforeAll(async () => {
  dir = tempDir('replica-state-');
  // The external auth hook knows one user; every run is counted.
  writeScript(dir, 'auth.sh', `
echo "$SFTPGO_AUTHD_USERNAME" >> '${dir}/hook-runs'
if [ "$SFTPGO_AUTHD_USERNAME" = hooky ] && [ "$SFTPGO_AUTHD_PASSWORD" = '${PASSWORD}' ]; then
  printf '{"username":"hooky","status":1,"permissions":{"/":["*"]}}'
  exit 0
fi
echo '{"username":""}'
`);
  pg = await startPostgres();
  await start(0);
  await start(1);
}, 120_000);

afterAll(async () => {
  for (const r of replicas) await r.proc.stop();
  await pg?.stop();
  removeTempDirs();
});

const A = (): Replica => replicas[0]!;
const B = (): Replica => replicas[1]!;
const basic = (user: string, password: string): string => `Basic ${btoa(`${user}:${password}`)}`;

interface Answer {
  status: number;
  json: any;
  headers: Headers;
}

async function call(r: Replica, method: string, path: string, o: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${r.api}${path}`, {
    method,
    headers: {
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...o.headers,
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
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

async function adminToken(r: Replica, user = 'root', password = ADMIN_PASSWORD): Promise<string> {
  const a = await call(r, 'GET', '/api/v2/token', { headers: { authorization: basic(user, password) } });
  expect(a.status).toBe(200);
  return a.json.access_token;
}

async function userToken(r: Replica, user: string, otp?: string): Promise<Answer> {
  return call(r, 'GET', '/api/v2/user/token', { headers: { authorization: basic(user, PASSWORD), ...(otp ? { 'x-sftpgo-otp': otp } : {}) } });
}

/** Milliseconds until `ok()` first holds, polling; -1 past `limitMs`. */
async function within(limitMs: number, ok: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await ok()) return Date.now() - t0;
    if (Date.now() - t0 > limitMs) return -1;
    await new Promise((res) => setTimeout(res, 20));
  }
}

const ls = (r: Replica, user: string) => sftpBatchSync({ port: r.sftp, user, password: PASSWORD, dir, lines: ['ls'] });

describe('users, groups and admins', () => {
  test('an override disabling a YAML user through A refuses its logins on B; dropping it lets them in again', async () => {
    expect(ls(B(), 'yara').status).toBe(0);
    const t = await adminToken(A());
    expect((await call(A(), 'PUT', '/api/v2/users/yara', { token: t, body: { status: 0 } })).status).toBe(200);
    // A login reads the store: the very next one on B is refused.
    expect(ls(B(), 'yara').status).not.toBe(0);
    expect((await call(A(), 'DELETE', '/api/v2/overrides/users/yara', { token: t })).status).toBe(200);
    expect(ls(B(), 'yara').status).toBe(0);
  });

  test("a group change through A applies to B's logins of its members", async () => {
    expect(ls(B(), 'gus').status).toBe(0);
    const t = await adminToken(A());
    const put = await call(A(), 'PUT', '/api/v2/groups/staff', { token: t, body: { user_settings: { filters: { denied_protocols: ['SSH'] } } } });
    expect(put.status).toBe(200);
    expect(ls(B(), 'gus').status).not.toBe(0);
    expect((await B().proc.waitForLog((l) => l.event === 'login_failed' && l.username === 'gus')).reason).toBe('protocol_denied');
    expect((await call(A(), 'PUT', '/api/v2/groups/staff', { token: t, body: { user_settings: { filters: { denied_protocols: [] } } } })).status).toBe(200);
    expect(ls(B(), 'gus').status).toBe(0);
  });

  test('an admin created through A gets a token from B; disabled through A, its token from B stops working', async () => {
    const t = await adminToken(A());
    const made = await call(A(), 'POST', '/api/v2/admins', { token: t, body: { username: 'ops', password: 'Ops-Admin-Pass-1', status: 1, permissions: ['*'] } });
    expect(made.status).toBe(201);
    const opsOnB = await adminToken(B(), 'ops', 'Ops-Admin-Pass-1');
    expect((await call(B(), 'GET', '/api/v2/users', { token: opsOnB })).status).toBe(200);
    expect((await call(A(), 'PUT', '/api/v2/admins/ops', { token: t, body: { status: 0, permissions: ['*'] } })).status).toBe(200);
    expect((await call(B(), 'GET', '/api/v2/users', { token: opsOnB })).status).toBe(401);
  });
});

describe('users stored by the external auth hook', () => {
  test('a user the hook defined through A logs in on B from the cache, without a second hook run', () => {
    const runs = () => (existsSync(join(dir, 'hook-runs')) ? readFileSync(join(dir, 'hook-runs'), 'utf8').split('\n').filter((l) => l === 'hooky').length : 0);
    expect(ls(A(), 'hooky').status).toBe(0);
    expect(runs()).toBe(1);
    expect(ls(B(), 'hooky').status).toBe(0);
    expect(runs()).toBe(1);
  });
});

describe('live sessions', () => {
  test("a limit changed through A applies to the next upload of a session already open on B", async () => {
    const home = join(dir, 'homes', 'lena');
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(64 * 1024, 7));
    // One sftp session on B, fed its commands one at a time.
    const p = spawn('sshpass', ['-p', PASSWORD, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-P', String(B().sftp), '-b', '-', 'lena@127.0.0.1'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
    p.stdin.write(`put ${big} first.bin\n`);
    expect(await within(20_000, async () => existsSync(join(home, 'first.bin')))).toBeGreaterThanOrEqual(0);
    const t = await adminToken(A());
    expect((await call(A(), 'PUT', '/api/v2/users/lena', { token: t, body: { filters: { max_upload_file_size: 1024 } } })).status).toBe(200);
    await new Promise((res) => setTimeout(res, 1000));
    p.stdin.end(`-put ${big} second.bin\nbye\n`);
    expect(await exited).toBe(0);
    expect(stderr).toContain('Failure');
    // Cut at the new limit (the standard upload mode keeps what was written before the cut).
    expect(statSync(join(home, 'second.bin')).size).toBeLessThanOrEqual(1024);
    expect(statSync(join(home, 'first.bin')).size).toBe(64 * 1024);
    expect((await call(A(), 'DELETE', '/api/v2/overrides/users/lena', { token: t })).status).toBe(200);
  });
});

describe('API keys', () => {
  test('a key created through A authenticates on B, B stamps its last use for A to see, and a delete through A refuses it on B', async () => {
    const t = await adminToken(A());
    const made = await call(A(), 'POST', '/api/v2/apikeys', { token: t, body: { name: 'cluster-key', scope: 1, admin: 'root' } });
    expect(made.status).toBe(201);
    const id = made.headers.get('x-object-id')!;
    const key: string = made.json.key;
    const viaKey = (r: Replica) => call(r, 'GET', '/api/v2/users', { headers: { 'x-sftpgo-api-key': key } });
    expect((await viaKey(B())).status).toBe(200);
    const seen = await within(1000, async () => ((await call(A(), 'GET', `/api/v2/apikeys/${id}`, { token: t })).json.last_use_at ?? 0) > 0);
    expect(seen).toBeGreaterThanOrEqual(0);
    expect((await call(A(), 'DELETE', `/api/v2/apikeys/${id}`, { token: t })).status).toBe(200);
    expect((await viaKey(B())).status).toBe(401);
  });
});

describe('shares', () => {
  test('a share created through A with max_tokens 1 is used once across A and B, even when both are asked at once', async () => {
    mkdirSync(join(dir, 'homes', 'yara', 'docs'), { recursive: true });
    writeFileSync(join(dir, 'homes', 'yara', 'docs', 'a.txt'), 'shared once\n');
    const tok = await userToken(A(), 'yara');
    expect(tok.status).toBe(200);
    const made = await call(A(), 'POST', '/api/v2/user/shares', { token: tok.json.access_token, body: { name: 'once', scope: 1, paths: ['/docs'], max_tokens: 1 } });
    expect(made.status).toBe(201);
    const id = made.headers.get('x-object-id')!;
    const get = (r: Replica) => fetch(`http://127.0.0.1:${r.api}/api/v2/shares/${id}/files?path=a.txt`).then(async (res) => ({ status: res.status, body: await res.text() }));
    const both = await Promise.all([get(A()), get(B())]);
    expect(both.map((b) => b.status).sort()).toEqual([200, 404]);
    expect(both.find((b) => b.status === 200)!.body).toBe('shared once\n');
    for (const r of [A(), B()]) expect((await get(r)).status).toBe(404);
    const listed = await call(B(), 'GET', `/api/v2/user/shares/${id}`, { token: (await userToken(B(), 'yara')).json.access_token });
    expect(listed.json.used_tokens).toBe(1);
  });
});

describe('user tokens and TOTP', () => {
  test('a logout through A revokes the token on B at once', async () => {
    const tok = await userToken(A(), 'yara');
    const t: string = tok.json.access_token;
    expect((await call(B(), 'GET', '/api/v2/user/profile', { token: t })).status).toBe(200);
    expect((await call(A(), 'GET', '/api/v2/user/logout', { token: t })).status).toBe(200);
    const onB = await call(B(), 'GET', '/api/v2/user/profile', { token: t });
    expect(onB.status).toBe(401);
    expect(onB.json.error ?? onB.json.message).toContain('no longer valid');
    // A token of the same user that was not logged out still works on both.
    const other: string = (await userToken(B(), 'yara')).json.access_token;
    for (const r of [A(), B()]) expect((await call(r, 'GET', '/api/v2/user/profile', { token: other })).status).toBe(200);
  });

  test('a TOTP code accepted by A is a replay on B', async () => {
    // A code for the next step, so neither replica has seen it (a test earlier in the step may have).
    const code = hotp(base32Decode(TOTP_SECRET)!, totpStep(Date.now() / 1000) + 1);
    expect((await userToken(A(), 'tina')).status).toBe(401);
    expect((await userToken(A(), 'tina', code)).status).toBe(200);
    expect((await userToken(B(), 'tina', code)).status).toBe(401);
    expect((await B().proc.waitForLog((l) => l.event === 'login_failed' && l.username === 'tina' && l.reason !== 'totp_missing')).reason).toBe('totp_replayed');
  });
});

describe('IP lists', () => {
  /** An sftp login from 127.0.0.2, so that an entry for that address leaves the other tests' clients alone. */
  const lsFrom2 = (r: Replica) => {
    const batch = join(dir, 'batch-ls');
    writeFileSync(batch, 'ls\n');
    return spawnSync('sshpass', ['-p', PASSWORD, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'BindAddress=127.0.0.2', '-P', String(r.sftp), '-b', batch, 'yara@127.0.0.1'], { encoding: 'utf8', timeout: 60_000 }).status;
  };

  test("a defender list entry added through A blocks the address on B within a second; removed through A, B lets it in again", async () => {
    expect(lsFrom2(B())).toBe(0);
    const t = await adminToken(A());
    const added = await call(A(), 'POST', '/api/v2/iplists/2', { token: t, body: { ipornet: '127.0.0.2/32', mode: 2, protocols: 0, description: 'blocked everywhere' } });
    expect(added.status).toBe(201);
    // B follows the store's change log: its copy of the lists is updated when the change arrives.
    await new Promise((res) => setTimeout(res, 1000));
    expect(lsFrom2(B())).not.toBe(0);
    expect(ls(B(), 'yara').status).toBe(0);
    expect((await call(A(), 'DELETE', `/api/v2/iplists/2/${encodeURIComponent('127.0.0.2/32')}`, { token: t })).status).toBe(200);
    await new Promise((res) => setTimeout(res, 1000));
    expect(lsFrom2(B())).toBe(0);
  });
});

/** A browser behind a load balancer: keeps its cookies, follows nothing, and is sent to the replica named per request. */
class Browser {
  cookies = new Map<string, string>();
  csrf = '';

  async request(r: Replica, path: string, form?: Record<string, string>): Promise<{ status: number; location: string; text: string }> {
    const body = form && new URLSearchParams(form);
    const res = await fetch(`http://127.0.0.1:${r.api}${path}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body,
    });
    for (const c of res.headers.getSetCookie()) {
      const [k, v] = c.split(';')[0]!.split('=') as [string, string];
      if (v === '') this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    const text = await res.text();
    this.csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? this.csrf;
    return { status: res.status, location: res.headers.get('location') ?? '', text };
  }
}

describe('web sessions', () => {
  test("an admin logged in through A browses B; a message set by B shows once on A's page; a logout through B ends the session on A", async () => {
    const b = new Browser();
    await b.request(A(), '/web/admin/login');
    expect((await b.request(A(), '/web/admin/login', { _csrf: b.csrf, username: 'root', password: ADMIN_PASSWORD })).location).toBe('/web/admin/users');
    const users = await b.request(B(), '/web/admin/users');
    expect(users.status).toBe(200);
    expect(users.text).toContain('data-username="yara"');
    const refused = await b.request(B(), '/web/admin/apikeys/no-such-key/delete', { _csrf: b.csrf });
    expect(refused.status).toBe(303);
    expect((await b.request(A(), '/web/admin/apikeys')).text).toContain('class="flash error"');
    expect((await b.request(B(), '/web/admin/apikeys')).text).not.toContain('class="flash');
    const kept = new Map(b.cookies);
    expect((await b.request(B(), '/web/admin/logout', { _csrf: b.csrf })).location).toBe('/web/admin/login');
    b.cookies = kept;
    const after = await b.request(A(), '/web/admin/users');
    expect(after.status).toBe(302);
    expect(after.location).toBe('/web/admin/login');
  });

  test('a user logged in to the web client through A lists its files through B', async () => {
    const b = new Browser();
    await b.request(A(), '/web/client/login');
    expect((await b.request(A(), '/web/client/login', { _csrf: b.csrf, username: 'yara', password: PASSWORD })).location).toBe('/web/client/files');
    const files = await b.request(B(), '/web/client/files');
    expect(files.status).toBe(200);
    expect(files.text).toContain('<span class="note">yara');
  });
});

describe('event rules', () => {
  test('a rule and its action created through A fire for a mkdir through B; the action changed through A is what B runs', async () => {
    const rx = await Receiver.start();
    try {
      const t = await adminToken(A());
      const action = { name: 'cluster-hook', type: 1, options: { http_config: { endpoint: `${rx.base}/hook`, method: 'POST', timeout: 5, body: 'first {{.VirtualPath}}' } } };
      expect((await call(A(), 'POST', '/api/v2/eventactions', { token: t, body: action })).status).toBe(201);
      const rule = {
        name: 'cluster-mkdir', status: 1, trigger: 1,
        conditions: { fs_events: ['mkdir'], options: { fs_paths: [{ pattern: '/made/**' }] } },
        actions: [{ name: 'cluster-hook', order: 1 }],
      };
      expect((await call(A(), 'POST', '/api/v2/eventrules', { token: t, body: rule })).status).toBe(201);
      await new Promise((res) => setTimeout(res, 1000));
      expect(sftpBatchSync({ port: B().sftp, user: 'yara', password: PASSWORD, dir, lines: ['mkdir /made', 'mkdir /made/one'] }).status).toBe(0);
      expect((await rx.waitFor((q) => q.url === '/hook' && q.body.endsWith('/made/one'), 5000)).body).toBe('first /made/one');
      const changed = { ...action, options: { http_config: { ...action.options.http_config, body: 'second {{.VirtualPath}}' } } };
      expect((await call(A(), 'PUT', '/api/v2/eventactions/cluster-hook', { token: t, body: changed })).status).toBe(200);
      await new Promise((res) => setTimeout(res, 1000));
      expect(sftpBatchSync({ port: B().sftp, user: 'yara', password: PASSWORD, dir, lines: ['mkdir /made/two'] }).status).toBe(0);
      expect((await rx.waitFor((q) => q.url === '/hook' && q.body.endsWith('/made/two'), 5000)).body).toBe('second /made/two');
    } finally {
      await rx.stop();
    }
  });
});
