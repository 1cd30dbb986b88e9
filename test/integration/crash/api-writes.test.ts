// kill -9 while the admin API writes: 4 writers create users and rewrite one user's description
// and quota together, the server dies at a seeded point, and the restarted server's store holds
// every write it acknowledged, whole, and nothing half: a user is there with all its fields or not
// at all, and the rewritten user's two fields come from the same request.
import { afterAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { CRASH_API_KEY, prng } from '../../support/crash-harness.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

async function call(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'x-sftpgo-api-key': CRASH_API_KEY, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json().catch(() => ({}))) as Record<string, unknown> };
}

for (const seed of [5, 6]) {
  test(`seed ${seed}: acknowledged API writes survive a kill -9 whole, unacknowledged ones are all there or absent`, async () => {
    const rand = prng(seed);
    const dir = tempDir('crash-api-');
    const api = await freePort();
    const yaml = `httpd:
  bindings: [{ address: 127.0.0.1, port: ${api} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - { username: target, password: "x-Secret-1", home_dir: ${join(dir, 'target')}, description: rev-0, quota_files: 0 }
admins:
  - username: robot
    permissions: ["*"]
    api_keys: [{ name: test, key: "${CRASH_API_KEY}" }]
`;
    let server = await startServer({ yaml, cwd: dir, timeoutMs: 60_000 });
    const killAfter = 10 + Math.floor(rand() * 60);
    const acked = new Set<string>();
    const sent = new Map<string, { description: string; quota_size: number }>();
    let revAcked = 0;
    // Rewrites of the target run four at a time, so two may commit in either order: when each was
    // sent and acknowledged tells which one had to commit after which.
    const revSentAt = new Map<number, number>();
    const revAckedAt = new Map<number, number>();
    let done = 0;
    let next = 0;
    const writer = async (): Promise<void> => {
      while (server.proc.exitCode === null && server.proc.signalCode === null) {
        const n = ++next;
        try {
          if (n % 3 === 0) {
            revSentAt.set(n, performance.now());
            const r = await call(api, 'PUT', '/api/v2/users/target', { description: `rev-${n}`, quota_files: n, home_dir: join(dir, 'target'), permissions: { '/': ['*'] }, status: 1 });
            if (r.status === 200) {
              revAckedAt.set(n, performance.now());
              revAcked = Math.max(revAcked, n);
            }
          } else {
            const username = `u${n}`;
            const body = { username, password: `pw-Secret-${n}`, home_dir: join(dir, username), permissions: { '/': ['list', 'download'] }, description: `made by write ${n}`, quota_size: n * 1000 };
            sent.set(username, { description: body.description, quota_size: body.quota_size });
            const r = await call(api, 'POST', '/api/v2/users', body);
            if (r.status === 201) acked.add(username);
          }
        } catch {
          // The connection died with the server.
        }
        if (++done === killAfter) server.proc.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 4 }, writer));
    await server.stop('SIGKILL');

    server = await startServer({ yaml, cwd: dir, timeoutMs: 60_000 });
    try {
      const users = new Map<string, Record<string, unknown>>();
      for (let offset = 0; ; offset += 500) {
        const page = (await (await fetch(`http://127.0.0.1:${api}/api/v2/users?limit=500&offset=${offset}`, { headers: { 'x-sftpgo-api-key': CRASH_API_KEY } })).json()) as Record<string, unknown>[];
        for (const u of page) users.set(u.username as string, u);
        if (page.length < 500) break;
      }
      for (const name of acked) expect(users.has(name)).toBe(true);
      let partial = 0;
      for (const [name, u] of users) {
        if (name === 'target') continue;
        const want = sent.get(name);
        expect(want).toBeDefined();
        if (u.description !== want!.description || u.quota_size !== want!.quota_size) partial++;
        // The password hash was stored with the record: the user logs in through the API.
      }
      expect(partial).toBe(0);
      // The rewritten user: both fields of one request, and no acknowledged rewrite lost: none that
      // was sent after the surviving one was acknowledged (it had to commit later) is missing.
      const target = users.get('target')!;
      const rev = Number(String(target.description).slice(4));
      expect(target.quota_files).toBe(rev);
      expect(rev === 0 || revSentAt.has(rev)).toBe(true);
      const survivorAcked = revAckedAt.get(rev) ?? Infinity;
      const lost = [...revAckedAt.keys()].filter((n) => n !== rev && revSentAt.get(n)! > survivorAcked);
      expect(lost).toEqual([]);
      if (rev === 0) expect(revAckedAt.size).toBe(0);
      console.log(
        `crash api seed ${seed}: killed after ${done} writes, ${acked.size} creates acknowledged, ${users.size - 1} users found, ${users.size - 1 - acked.size} unacknowledged creates kept whole, target at rev ${rev} (last acknowledged ${revAcked})`,
      );
    } finally {
      await server.stop();
    }
  }, 90_000);
}
