// Two servers (separate processes, separate data dirs) sharing one PostgreSQL store: the YAML's user
// logs in on both, a user created through one server's API is served by the other within a
// second, and a disable made on one holds on the other.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { startPostgres, startReplica, type Postgres } from '../../support/postgres.ts';
import type { RunningServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'Replica-Pass-1';
const ADMIN_PASSWORD = 'Replica-Admin-1';
let pg: Postgres;
const servers: { proc: RunningServer; sftp: number; api: number }[] = [];
let dir: string;

function yaml(sftp: number, api: number): string {
  return `${pg.providerYaml}  users_base_dir: ${join(dir, 'homes')}
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${api} }]
users:
  - username: yara
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
`;
}

async function start(n: number): Promise<void> {
  const { proc, sftp, api } = await startReplica({ pg, dir, n, yaml: (p) => yaml(p.sftp, p.api) });
  servers.push({ proc, sftp, api });
}

beforeAll(async () => {
  dir = tempDir('replicas-');
  pg = await startPostgres();
  await start(0);
  await start(1);
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.proc.stop();
  await pg?.stop();
  removeTempDirs();
});

async function token(api: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${api}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

const ls = (port: number, user: string, password: string) => sftpBatchSync({ port, user, password, dir, lines: ['ls'] });

test("the YAML's user logs in on both servers", () => {
  for (const s of servers) expect(ls(s.sftp, 'yara', PASSWORD).status).toBe(0);
});

test("a user created through one server's API is served by the other within a second", async () => {
  const [a, b] = [servers[0]!, servers[1]!];
  const r = await fetch(`http://127.0.0.1:${a.api}/api/v2/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token(a.api)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'zeno', password: 'Zeno-Pass-1', status: 1, permissions: { '/': ['*'] } }),
  });
  expect(r.status).toBe(201);
  const created = Date.now();
  const bToken = await token(b.api);
  let seenAfter = -1;
  while (Date.now() - created < 5000) {
    const got = await fetch(`http://127.0.0.1:${b.api}/api/v2/users/zeno`, { headers: { authorization: `Bearer ${bToken}` } });
    if (got.status === 200) {
      seenAfter = Date.now() - created;
      break;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  expect(seenAfter).toBeGreaterThanOrEqual(0);
  expect(seenAfter).toBeLessThan(1000);
  expect(ls(b.sftp, 'zeno', 'Zeno-Pass-1').status).toBe(0);
});

test('a user disabled through one server is refused by the other', async () => {
  const [a, b] = [servers[0]!, servers[1]!];
  const r = await fetch(`http://127.0.0.1:${b.api}/api/v2/users/zeno`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await token(b.api)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ status: 0 }),
  });
  expect(r.status).toBe(200);
  await new Promise((res) => setTimeout(res, 1000));
  expect(ls(a.sftp, 'zeno', 'Zeno-Pass-1').status).not.toBe(0);
  expect(ls(b.sftp, 'zeno', 'Zeno-Pass-1').status).not.toBe(0);
});
