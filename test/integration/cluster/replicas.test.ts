// Three replicas sharing PostgreSQL, users' files on S3 (s3rver), HAProxy in TCP mode in front.
// 50 SFTP clients upload distinct files through the balancer while one replica is SIGKILLed: the
// clients it served fail with an error (never a hang) and succeed on retry; afterwards every file
// reads back whole through the balancer and on S3, no partial object or open multipart upload is
// left once the killed replica has restarted, and each user's stored usage is exactly the sum of
// their files, through every replica's API and, once all have stopped, in a dump of the store. A
// ban made on one replica holds on the others, and a user created through one replica's API logs
// in on the others within a second.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { canLogin, openSession } from '../../support/cluster-clients.ts';
import { bucketContents, expectedUsage, makeJobs, readBack, settledUsage, uploadThroughBalancer, usageVia } from '../../support/cluster-uploads.ts';
import { startCluster, type Cluster } from '../../support/cluster.ts';
import { s3ConfigFor } from '../../support/s3rver.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';
import { runCli } from '../../support/cli.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = TEST_SECRETS.userPassword;
const API_KEY = TEST_SECRETS.apiKey;
const ZED_PASSWORD = TEST_SECRETS.otherUserPassword;
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

const jobs = makeJobs({ count: CLIENTS, users: USERS, prefix: 'f' });

test(
  '50 clients upload through HAProxy while a replica is killed: failures are clean, retries succeed, files are whole, usage is exact',
  async () => {
    const victim = 1;
    const run = await uploadThroughBalancer({ cluster, jobs, password: PASSWORD, kill: { replica: victim, atFraction: 0.3 }, attemptMs: ATTEMPT_MS });
    expect(run.killed).toBe(true);
    const failed = jobs.filter((j) => j.failures.length > 0);
    // The kill landed mid-run: some clients were on the dead replica and saw their upload fail.
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed.flatMap((j) => j.failures)) {
      // An error from the dropped connection, not the deadline: nobody hung.
      expect(f.message).not.toStartWith('deadline');
      expect(f.ms).toBeLessThan(ATTEMPT_MS);
    }
    // Every client succeeded, at the latest on a retry through the balancer.
    expect(jobs.filter((j) => !j.done).map((j) => `${j.name}: ${JSON.stringify(j.failures)}`)).toEqual([]);
    // Only the killed replica's clients failed, each once.
    expect(failed.every((j) => j.failures.length === 1)).toBe(true);
    console.log(`cluster run: ${CLIENTS} clients, ${(run.bytes / 2 ** 20).toFixed(0)} MiB, ${failed.length} failed once and succeeded on retry`);

    // The killed replica comes back on its data dir: it discards its open multipart uploads and
    // repairs the usage deltas it had not written.
    await cluster.restart(victim);
    await cluster.waitBalanced();

    // Every file reads back whole through the balancer.
    const read = await readBack({ cluster, jobs, password: PASSWORD });
    for (const j of jobs) expect({ name: j.name, ...read.get(j.name) }).toEqual({ name: j.name, sha256: j.sha256, size: j.data.length });

    // On S3: exactly the expected objects, each whole, and no multipart upload left open.
    const bucket = await bucketContents(cluster);
    expect(Object.fromEntries(bucket.objects)).toEqual(Object.fromEntries(jobs.map((j) => [`${j.user}/${j.name}`, j.sha256])));
    expect(bucket.openUploads).toEqual([]);

    // Each user's usage in the shared store is the sum of their files, read through every replica.
    const want = expectedUsage(jobs);
    await settledUsage({ api: cluster.replicas[0]!.api, apiKey: API_KEY, want });
    for (const r of cluster.replicas) expect(await usageVia({ api: r.api, apiKey: API_KEY, users: USERS })).toEqual(want);
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

// With a shared store the defender is the provider driver: scores add up and bans hold cluster-wide.
test('a ban made on one replica holds on the others and through the balancer', async () => {
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
    password: ZED_PASSWORD,
    status: 1,
    home_dir: join(cluster.dir, 'homes', 'zed'),
    permissions: { '/': ['*'] },
  });
  expect(created.status).toBe(201);
  const t0 = Date.now();
  // When the first successful login began: an SSH handshake alone takes hundreds of milliseconds
  // on a busy 2-core machine, and what is measured is how soon the other replicas know the user.
  const seen = await Promise.all(
    [b!, c!].map(async (r) => {
      while (Date.now() - t0 < 5000) {
        const began = Date.now() - t0;
        if (await canLogin({ port: r.sftp, user: 'zed', password: ZED_PASSWORD })) return began;
        await Bun.sleep(20);
      }
      return Infinity;
    }),
  );
  for (const ms of seen) expect(ms).toBeLessThan(1000);
  expect(await canLogin({ port: cluster.balancer.sftp, user: 'zed', password: ZED_PASSWORD })).toBe(true);
});

test('once every replica has stopped, the store holds each user\'s exact usage (dumpdata)', async () => {
  await cluster.stopReplicas();
  const r = cluster.replicas[0]!;
  const dump = runCli(['dumpdata', '--config', r.configPath, '--data-dir', r.dataDir], { env: { PG_PASSWORD: cluster.pg!.password } });
  expect(dump.code).toBe(0);
  const usage = (JSON.parse(dump.stdout) as { usage: Record<string, { used_quota_size: number; used_quota_files: number }> }).usage;
  const stored = Object.fromEntries(USERS.map((u) => [u, { size: usage[`user:${u}`]?.used_quota_size, files: usage[`user:${u}`]?.used_quota_files }]));
  expect(stored).toEqual(expectedUsage(jobs));
});
