// The long cluster run (npm run test:hard): three replicas sharing PostgreSQL, files on s3rver,
// HAProxy in front; three rounds of 100 uploads by SFTP clients, 50 at a time, each round killing another replica at
// another point (20%, 50%, 80% of the bytes) and restarting it. After every round: each client
// succeeded (on retry for those of the dead replica, whose failures are errors, never the
// deadline), every file of every round so far reads back whole through the balancer and on S3, no
// multipart upload is left open, and each user's usage is exactly the sum of their files. Prints
// one line of figures per round for test/hard/RESULTS.md.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { bucketContents, expectedUsage, makeJobs, readBack, settledUsage, uploadThroughBalancer, usageVia, type UploadJob } from '../support/cluster-uploads.ts';
import { s3ConfigFor } from '../support/s3rver.ts';
import { TEST_SECRETS } from '../support/secrets.ts';
import { removeTempDirs } from '../support/tmp.ts';

const PASSWORD = TEST_SECRETS.userPassword;
const API_KEY = TEST_SECRETS.apiKey;
const USERS = ['ann', 'bob', 'cat', 'dan'];
const CLIENTS = Number(process.env.CLUSTER_CLIENTS ?? 100);
const ATTEMPT_MS = 180_000;
/** Uploads in flight at once: the 50 of the short test, kept up over 100 files a round. */
const PARALLEL = Number(process.env.CLUSTER_PARALLEL ?? 50);

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    replicas: 3,
    body: ({ s3 }) => `users:
${USERS.map(
  (u) => `  - username: ${u}
    password: "${PASSWORD}"
    permissions: { "/": ["*"] }
    quota_size: ${8 << 30}
    quota_files: 10000
    filesystem: ${JSON.stringify({ provider: 's3', s3config: s3ConfigFor(s3!, { key_prefix: `${u}/` }) })}
`,
).join('')}admins:
  - username: robot
    permissions: ["*"]
    api_keys: [{ name: test, key: "${API_KEY}" }]
`,
  });
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  removeTempDirs();
});

test(
  'three rounds of 100 clients, a different replica killed in each',
  async () => {
    const all: UploadJob[] = [];
    for (const [round, atFraction] of [0.2, 0.5, 0.8].entries()) {
      const jobs = makeJobs({ count: CLIENTS, users: USERS, prefix: `r${round}-`, seed: round + 1 });
      const t0 = Date.now();
      const run = await uploadThroughBalancer({ cluster, jobs, password: PASSWORD, kill: { replica: round, atFraction }, attemptMs: ATTEMPT_MS, parallel: PARALLEL });
      const wall = Date.now() - t0;
      expect(run.killed).toBe(true);
      const failures = jobs.flatMap((j) => j.failures);
      expect(failures.filter((f) => f.message.startsWith('deadline'))).toEqual([]);
      expect(jobs.filter((j) => !j.done).map((j) => `${j.name}: ${JSON.stringify(j.failures)}`)).toEqual([]);
      await cluster.restart(round);
      await cluster.waitBalanced();
      all.push(...jobs);

      const read = await readBack({ cluster, jobs: all, password: PASSWORD });
      const corrupt = all.filter((j) => read.get(j.name)?.sha256 !== j.sha256).map((j) => j.name);
      expect(corrupt).toEqual([]);
      const bucket = await bucketContents(cluster);
      expect(Object.fromEntries(bucket.objects)).toEqual(Object.fromEntries(all.map((j) => [`${j.user}/${j.name}`, j.sha256])));
      expect(bucket.openUploads).toEqual([]);
      const want = expectedUsage(all);
      await settledUsage({ api: cluster.replicas[0]!.api, apiKey: API_KEY, want });
      for (const r of cluster.replicas) expect(await usageVia({ api: r.api, apiKey: API_KEY, users: USERS })).toEqual(want);

      const failMs = failures.map((f) => f.ms).sort((a, b) => a - b);
      for (const j of jobs.filter((x) => x.failures.length > 1)) console.log(`${j.name} failed ${j.failures.length} times: ${JSON.stringify(j.failures)}`);
      console.log(
        `round ${round + 1}: replica ${round} killed at ${atFraction * 100}% of ${(run.bytes / 2 ** 20).toFixed(0)} MiB; ${CLIENTS} clients in ${(wall / 1000).toFixed(1)} s; ` +
          `${jobs.filter((j) => j.failures.length > 0).length} failed (${failures.length} attempts), all succeeded on retry; ` +
          `time to fail median ${failMs[Math.floor(failMs.length / 2)] ?? 0} ms, max ${failMs.at(-1) ?? 0} ms; ${all.length} files whole, usage exact`,
      );
    }
  },
  1_800_000,
);
