// Three replicas sharing PostgreSQL, users' files on S3 (s3rver), HAProxy in TCP mode in front.
// 50 SFTP clients upload distinct files through the balancer while one replica is SIGKILLed: the
// clients it served fail with an error (never a hang) and succeed on retry; afterwards every file
// reads back whole through the balancer and on S3, no partial object or open multipart upload is
// left once the killed replica has restarted, and each user's stored usage is exactly the sum of
// their files. A ban made on one replica holds on the others, and a user created through one
// replica's API logs in on the others within a second.
import { ListMultipartUploadsCommand, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { canLogin, openSession, remoteSha256, upload, withDeadline, type Session } from '../../support/cluster-clients.ts';
import { startCluster, type Cluster } from '../../support/cluster.ts';
import { s3ClientFor, s3ConfigFor } from '../../support/s3rver.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = 'Cluster-Pass-1';
const API_KEY = 'k3y-cluster-test-0123456789abcdef';
const USERS = ['ann', 'bob', 'cat'];
const CLIENTS = 50;
const QUOTA_SIZE = 1 << 30;
const QUOTA_FILES = 1000;
/** Per attempt: far above what an upload takes here, far below the test's timeout. */
const ATTEMPT_MS = 90_000;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    replicas: 3,
    // A low threshold: three logins as an unknown user ban an address for a minute.
    common: '  defender: { enabled: true, threshold: 5, score_invalid: 2, score_valid: 1, ban_time: 1, observation_time: 5 }\n',
    body: ({ s3 }) => `users:
${USERS.map(
  (u) => `  - username: ${u}
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    quota_size: ${QUOTA_SIZE}
    quota_files: ${QUOTA_FILES}
    filesystem: ${JSON.stringify({ provider: 's3', s3config: s3ConfigFor(s3!, { key_prefix: `${u}/` }) })}
`,
).join('')}admins:
  - username: robot
    permissions: ["*"]
    api_keys: [{ name: test, key: "${API_KEY}" }]
`,
  });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  removeTempDirs();
});

async function api<T = Record<string, unknown>>(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v2${path}`, {
    method,
    headers: { 'x-sftpgo-api-key': API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, json: (await r.json().catch(() => ({}))) as T };
}

/** Deterministic pseudo-random bytes (xorshift), so a corrupt file can never match by chance. */
function payload(index: number, size: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (index * 2654435761 + 12345) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, size);
}

interface Job {
  index: number;
  user: string;
  name: string;
  data: Buffer;
  sha256: string;
  /** Each failed attempt's error, and how long it took to fail. */
  failures: { message: string; ms: number }[];
  done: boolean;
}

const jobs: Job[] = Array.from({ length: CLIENTS }, (_, i) => {
  // 1 to 4 MiB, not a multiple of the chunk size.
  const size = (1 << 20) + ((i * 7919 * 4099) % (3 << 20)) + (i % 7);
  const data = payload(i, size);
  return { index: i, user: USERS[i % USERS.length]!, name: `f${String(i).padStart(2, '0')}.bin`, data, sha256: createHash('sha256').update(data).digest('hex'), failures: [], done: false };
});

test(
  '50 clients upload through HAProxy while a replica is killed: failures are clean, retries succeed, files are whole, usage is exact',
  async () => {
    const total = jobs.reduce((n, j) => n + j.data.length, 0);
    let acked = 0;
    let killAt = Math.floor(total * 0.3);
    let killed: Promise<void> | undefined;
    const victim = 1;
    const onAck = (n: number): void => {
      acked += n;
      if (acked >= killAt && !killed) killed = cluster.kill(victim);
    };
    const runJob = async (j: Job): Promise<void> => {
      for (let attempt = 0; attempt < 4 && !j.done; attempt++) {
        const started = Date.now();
        let session: Session | undefined;
        try {
          await withDeadline(
            ATTEMPT_MS,
            `upload of ${j.name}`,
            (async () => {
              session = await openSession({ port: cluster.balancer.sftp, user: j.user, password: PASSWORD, localAddress: `127.0.0.${10 + j.index}` });
              await upload(session, `/${j.name}`, j.data, onAck);
            })(),
            () => session?.client.destroy(),
          );
          j.done = true;
        } catch (err) {
          j.failures.push({ message: (err as Error).message, ms: Date.now() - started });
        } finally {
          session?.end();
        }
      }
    };
    await Promise.all(jobs.map(runJob));
    await killed;
    killAt = Infinity;

    const failed = jobs.filter((j) => j.failures.length > 0);
    // The kill landed mid-run: some clients were on the dead replica and saw their upload fail.
    expect(failed.length).toBeGreaterThan(0);
    for (const j of failed) {
      for (const f of j.failures) {
        // An error from the dropped connection, not the deadline: nobody hung.
        expect(f.message).not.toStartWith('deadline');
        expect(f.ms).toBeLessThan(ATTEMPT_MS);
      }
    }
    // Every client succeeded, at the latest on a retry through the balancer.
    expect(jobs.filter((j) => !j.done).map((j) => `${j.name}: ${JSON.stringify(j.failures)}`)).toEqual([]);
    // Only the killed replica's clients failed, each once.
    expect(failed.every((j) => j.failures.length === 1)).toBe(true);
    console.log(`cluster run: ${CLIENTS} clients, ${(total / 2 ** 20).toFixed(0)} MiB, ${failed.length} failed once and succeeded on retry`);

    // The killed replica comes back on its data dir: it discards its open multipart uploads and
    // repairs the usage deltas it had not written.
    await cluster.restart(victim);
    await cluster.waitBalanced();

    // Every file reads back whole through the balancer.
    const readers = await Promise.all(USERS.map((u) => openSession({ port: cluster.balancer.sftp, user: u, password: PASSWORD })));
    try {
      await Promise.all(
        USERS.map(async (u, k) => {
          for (const j of jobs.filter((x) => x.user === u)) {
            const got = await remoteSha256(readers[k]!, `/${j.name}`);
            expect({ name: j.name, ...got }).toEqual({ name: j.name, sha256: j.sha256, size: j.data.length });
          }
        }),
      );
    } finally {
      for (const r of readers) r.end();
    }

    // On S3: exactly the expected objects, each whole, and no multipart upload left open.
    const s3 = s3ClientFor(cluster.s3!);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: cluster.s3!.bucket, MaxKeys: 1000 }));
    const objects = new Map((listed.Contents ?? []).map((o) => [o.Key!, o.Size!]));
    expect([...objects.keys()].sort()).toEqual(jobs.map((j) => `${j.user}/${j.name}`).sort());
    for (const j of jobs) {
      const obj = await s3.send(new GetObjectCommand({ Bucket: cluster.s3!.bucket, Key: `${j.user}/${j.name}` }));
      const body = Buffer.from(await obj.Body!.transformToByteArray());
      expect(createHash('sha256').update(body).digest('hex')).toBe(j.sha256);
    }
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: cluster.s3!.bucket }));
    expect((open.Uploads ?? []).map((u) => u.Key)).toEqual([]);

    // Each user's usage in the shared store is the sum of their files, read through every replica.
    const want = Object.fromEntries(USERS.map((u) => {
      const mine = jobs.filter((j) => j.user === u);
      return [u, { size: mine.reduce((n, j) => n + j.data.length, 0), files: mine.length }];
    }));
    const usage = async (port: number) =>
      Object.fromEntries(
        await Promise.all(USERS.map(async (u) => {
          const r = await api(port, 'GET', `/users/${u}`);
          return [u, { size: r.json.used_quota_size, files: r.json.used_quota_files }] as const;
        })),
      );
    // Sessions flush their deltas as they end: give the last ones a moment to land.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && JSON.stringify(await usage(cluster.replicas[0]!.api)) !== JSON.stringify(want)) await Bun.sleep(100);
    for (const r of cluster.replicas) expect(await usage(r.api)).toEqual(want);
  },
  240_000,
);

test('through the balancer, the replica sees the client address (PROXY v2), which bans and limits need', async () => {
  const from = '127.0.0.203';
  const s = await openSession({ port: cluster.balancer.sftp, user: 'ann', password: PASSWORD, localAddress: from });
  try {
    const seen: string[] = [];
    for (const r of cluster.replicas) {
      const conns = await api<{ username: string; remote_address: string }[]>(r.api, 'GET', '/connections');
      for (const c of conns.json) if (c.username === 'ann') seen.push(c.remote_address);
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(from);
  } finally {
    s.end();
  }
});

// Defender scores and bans are still kept per replica: making them shared through the store is
// separate work. Run with `bun test --todo` to see where it stands.
test.todo('a ban made on one replica holds on the others and through the balancer', async () => {
  const [a, b, c] = cluster.replicas;
  const banned = '127.0.0.200';
  // Three logins as an unknown user (score 2 each, threshold 5), straight to replica 0.
  for (let i = 0; i < 3; i++) expect(await canLogin({ port: a!.sftp, user: 'nobody', password: 'wrong', localAddress: banned })).toBe(false);
  const hosts = await api(a!.api, 'GET', '/defender/hosts');
  expect(JSON.stringify(hosts.json)).toContain(banned);
  const login = (port: number, from: string) => canLogin({ port, user: 'ann', password: PASSWORD, localAddress: from });
  expect(await login(a!.sftp, banned)).toBe(false);
  // Within a second, the other replicas refuse the address too, with the right password.
  await Bun.sleep(1000);
  expect(await login(b!.sftp, banned)).toBe(false);
  expect(await login(c!.sftp, banned)).toBe(false);
  for (let i = 0; i < 3; i++) expect(await login(cluster.balancer.sftp, banned)).toBe(false);
  // Another address is still served everywhere.
  for (const r of [a!, b!, c!]) expect(await login(r.sftp, '127.0.0.201')).toBe(true);
});

test("a user created through one replica's API logs in on the others within a second", async () => {
  const [a, b, c] = cluster.replicas;
  const created = await api(a!.api, 'POST', '/users', {
    username: 'zed',
    password: 'Zed-Pass-1',
    status: 1,
    home_dir: join(cluster.dir, 'homes', 'zed'),
    permissions: { '/': ['*'] },
  });
  expect(created.status).toBe(201);
  const t0 = Date.now();
  const seen = await Promise.all(
    [b!, c!].map(async (r) => {
      while (Date.now() - t0 < 5000) {
        if (await canLogin({ port: r.sftp, user: 'zed', password: 'Zed-Pass-1' })) return Date.now() - t0;
        await Bun.sleep(20);
      }
      return Infinity;
    }),
  );
  for (const ms of seen) expect(ms).toBeLessThan(1000);
  expect(await canLogin({ port: cluster.balancer.sftp, user: 'zed', password: 'Zed-Pass-1' })).toBe(true);
});
