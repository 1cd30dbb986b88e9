// Upload runs against a cluster (test/support/cluster.ts): many SFTP clients, each with a file of
// its own, upload through the balancer with a deadline per attempt and retries, while one replica
// may be SIGKILLed once a share of all bytes is acknowledged. Then the checks' raw material: each
// file read back through the balancer, the objects and open multipart uploads on s3rver, and the
// users' usage as each replica's API reports it.
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { openSession, remoteSha256, upload, withDeadline, type Session } from './cluster-clients.ts';
import type { Cluster } from './cluster.ts';
import { s3ClientFor } from './s3rver.ts';

export interface UploadJob {
  index: number;
  user: string;
  name: string;
  data: Buffer;
  sha256: string;
  /** Each failed attempt's error, and how long it took to fail. */
  failures: { message: string; ms: number }[];
  done: boolean;
}

/** Deterministic pseudo-random bytes (xorshift), so a corrupt file can never match by chance. */
function payload(seed: number, size: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (seed * 2654435761 + 12345) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, size);
}

/** `count` files of 1 to 4 MiB (not multiples of a chunk), spread over `users`, named after `prefix`. */
export function makeJobs(o: { count: number; users: string[]; prefix: string; seed?: number }): UploadJob[] {
  return Array.from({ length: o.count }, (_, i) => {
    const size = (1 << 20) + ((i * 7919 * 4099 + (o.seed ?? 0) * 131) % (3 << 20)) + (i % 7);
    const data = payload(i + (o.seed ?? 0) * 100_003, size);
    const name = `${o.prefix}${String(i).padStart(3, '0')}.bin`;
    return { index: i, user: o.users[i % o.users.length]!, name, data, sha256: createHash('sha256').update(data).digest('hex'), failures: [], done: false };
  });
}

export interface UploadRunOptions {
  cluster: Cluster;
  jobs: UploadJob[];
  password: string;
  /** Kill this replica once this share (0–1) of all bytes is acknowledged. */
  kill?: { replica: number; atFraction: number };
  /** Deadline of one attempt (connect, upload, close). */
  attemptMs: number;
  attempts?: number;
  /** Uploads in flight at once (default: all). */
  parallel?: number;
}

/** Runs every job to success or its last attempt; resolves once the killed replica has exited too. */
export async function uploadThroughBalancer(o: UploadRunOptions): Promise<{ bytes: number; killed: boolean }> {
  const total = o.jobs.reduce((n, j) => n + j.data.length, 0);
  let acked = 0;
  let killed: Promise<void> | undefined;
  const onAck = (n: number): void => {
    acked += n;
    if (o.kill && !killed && acked >= total * o.kill.atFraction) killed = o.cluster.kill(o.kill.replica);
  };
  const runJob = async (j: UploadJob): Promise<void> => {
    for (let attempt = 0; attempt < (o.attempts ?? 4) && !j.done; attempt++) {
      const started = Date.now();
      let session: Session | undefined;
      try {
        await withDeadline(
          o.attemptMs,
          `upload of ${j.name}`,
          (async () => {
            // One source address per client: the replicas see them as distinct hosts (PROXY v2).
            session = await openSession({ port: o.cluster.balancer.sftp, user: j.user, password: o.password, localAddress: `127.0.0.${10 + (j.index % 180)}` });
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
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.jobs.length) await runJob(o.jobs[next++]!);
  };
  await Promise.all(Array.from({ length: o.parallel ?? o.jobs.length }, worker));
  await killed;
  return { bytes: total, killed: killed !== undefined };
}

/** Each job's file as read back through the balancer: name → sha256 and size. */
export async function readBack(o: { cluster: Cluster; jobs: UploadJob[]; password: string }): Promise<Map<string, { sha256: string; size: number }>> {
  const users = [...new Set(o.jobs.map((j) => j.user))];
  const out = new Map<string, { sha256: string; size: number }>();
  await Promise.all(
    users.map(async (u) => {
      const s = await openSession({ port: o.cluster.balancer.sftp, user: u, password: o.password });
      try {
        for (const j of o.jobs.filter((x) => x.user === u)) out.set(j.name, await remoteSha256(s, `/${j.name}`));
      } finally {
        s.end();
      }
    }),
  );
  return out;
}

/** What s3rver holds: every object key with its sha256, and the keys of open multipart uploads. */
export async function bucketContents(cluster: Cluster): Promise<{ objects: Map<string, string>; openUploads: string[] }> {
  const s3 = s3ClientFor(cluster.s3!);
  const objects = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: cluster.s3!.bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const obj = await s3.send(new GetObjectCommand({ Bucket: cluster.s3!.bucket, Key: o.Key! }));
      objects.set(o.Key!, createHash('sha256').update(await obj.Body!.transformToByteArray()).digest('hex'));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: cluster.s3!.bucket }));
  return { objects, openUploads: (open.Uploads ?? []).map((u) => u.Key ?? '') };
}

export type Usage = Record<string, { size: number; files: number }>;

/** What the jobs' files add up to, per user. */
export function expectedUsage(jobs: UploadJob[]): Usage {
  const out: Usage = {};
  for (const j of jobs) {
    const u = (out[j.user] ??= { size: 0, files: 0 });
    u.size += j.data.length;
    u.files += 1;
  }
  return out;
}

/** Each user's used_quota_size/files as one replica's API reports them. */
export async function usageVia(o: { api: number; apiKey: string; users: string[] }): Promise<Usage> {
  const out: Usage = {};
  for (const u of o.users) {
    const r = await fetch(`http://127.0.0.1:${o.api}/api/v2/users/${u}`, { headers: { 'x-sftpgo-api-key': o.apiKey } });
    const json = (await r.json()) as { used_quota_size: number; used_quota_files: number };
    out[u] = { size: json.used_quota_size, files: json.used_quota_files };
  }
  return out;
}

/** Polls one replica until the usage matches (sessions flush their deltas as they end); returns the last read. */
export async function settledUsage(o: { api: number; apiKey: string; want: Usage; timeoutMs?: number }): Promise<Usage> {
  const users = Object.keys(o.want);
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  let got = await usageVia({ ...o, users });
  while (Date.now() < deadline && JSON.stringify(got) !== JSON.stringify(o.want)) {
    await Bun.sleep(100);
    got = await usageVia({ ...o, users });
  }
  return got;
}
