// Crash consistency runs: the real server as a child process (`bun src/main.ts serve`), N concurrent
// SFTP uploads from the ssh2 client over a few connections, a kill -9 at a point a seed picks (a
// fraction of all the bytes acknowledged), a restart on the same data dir, and the checks: the
// store opens and serves; no temporary file is listed or left on disk; in atomic modes, and in
// every mode on object stores (which commit an upload only once complete), a visible file is whole
// or, for an upload replacing a file, the previous version untouched; in standard mode on local
// disk a prefix of what was sent, never longer; every upload whose close was acknowledged is there
// in full; the stored quota usage equals what is visible and what a quota scan finds; and on S3 and
// Azure no multipart or uncommitted block upload is left open.
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from '../../src/lib/ssh2.ts';
import { isTempName } from '../../src/vfs/temp-names.ts';
import type { Azurite } from './azurite.ts';
import { freePort } from './net.ts';
import { s3ClientFor, s3ConfigFor, type S3rver } from './s3rver.ts';
import { startServer, type RunningServer } from './server.ts';
import { tempDir } from './tmp.ts';

export const CRASH_PASSWORD = 'crash-Harness-1';
export const CRASH_API_KEY = 'k3y-crash-harness-0123456789abcdef';
const CHUNK = 32 * 1024;

export type UploadModeName = 'standard' | 'atomic' | 'atomic_resume';

export interface CrashRunOptions {
  seed: number;
  uploads: number;
  mode: UploadModeName;
  /** Where the user's home lives (local by default). */
  backend?: { kind: 'local' } | { kind: 's3'; s3: S3rver; prefix: string } | { kind: 'azblob'; azurite: Azurite; container: string; prefix: string };
  /** SSH connections the uploads are spread over. */
  connections?: number;
  /** Upload sizes are drawn in [min, max] bytes (by default mostly small, some up to 1 MiB). */
  sizes?: { min: number; max: number };
  /** Uploads in flight at once (default: all of them), so that some finish before the kill. */
  parallel?: number;
  /** Extra lines under `common:`. */
  common?: string;
  /**
   * Every other upload replaces a file uploaded whole (and smaller, with other bytes) before the
   * crash uploads start, so a cut replacement must leave that previous version.
   */
  overwrite?: boolean;
}

/** What one upload left: its sizes and what is visible under its name after the restart. */
export interface UploadOutcome {
  name: string;
  size: number;
  /** Bytes whose write request went out before the kill. */
  sent: number;
  /** The size of the version it replaced, when it replaced one (`overwrite`). */
  previous?: number;
  /** Whether the server acknowledged its close. */
  closed: boolean;
  /** The size listed after the restart; undefined when no file has its name. */
  visible?: number;
}

export interface CrashFigures {
  seed: number;
  mode: UploadModeName;
  backend: string;
  uploads: number;
  /** Uploads whose close the server acknowledged before it was killed. */
  acknowledged: number;
  /** Files visible after the restart, each checked byte for byte. */
  verified: number;
  /** Temporary files, open multipart uploads or uncommitted blobs found after the restart. */
  leftovers: number;
  /** Object store uploads the restart discarded (its remote_uploads_discarded lines). */
  discarded: number;
  /** Each failed check, in words (empty when the run passed). */
  failures: string[];
  killedAtBytes: number;
  files: UploadOutcome[];
}

/** A small fast PRNG (mulberry32): the same seed draws the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic bytes for upload `index` of run `seed`. */
function payload(seed: number, index: number, size: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (seed * 2654435761 + index * 40503 + 1) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, size);
}

interface UploadState {
  name: string;
  data: Buffer;
  /** The version uploaded before, which this upload replaces (`overwrite`). */
  previous?: Buffer;
  visible?: number;
  /** Bytes whose write request went out. */
  sent: number;
  acked: number;
  closed: boolean;
}

function connect(port: number): Promise<{ client: InstanceType<typeof Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, username: 'crash', password: CRASH_PASSWORD, readyTimeout: 20_000 });
  });
}

const p = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> =>
  new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

async function uploadOne(sftp: SFTPWrapper, u: UploadState, onAck: (n: number) => void): Promise<void> {
  const h = await p<Buffer>((cb) => sftp.open(`/${u.name}`, 'w', cb));
  // One write in flight per file: a later chunk never lands before an earlier one, so a standard
  // upload cut anywhere is a prefix of what was sent.
  while (u.sent < u.data.length) {
    const n = Math.min(CHUNK, u.data.length - u.sent);
    const at = u.sent;
    u.sent += n;
    await p<void>((cb) => sftp.write(h, u.data, at, n, at, (err) => cb(err, undefined)));
    u.acked += n;
    onAck(n);
  }
  await p<void>((cb) => sftp.close(h, (err) => cb(err, undefined)));
  u.closed = true;
}

function backendYaml(opts: CrashRunOptions): string {
  const b = opts.backend ?? { kind: 'local' };
  if (b.kind === 's3') return `    filesystem: ${JSON.stringify({ provider: 's3', s3config: s3ConfigFor(b.s3, { key_prefix: `${b.prefix}/` }) })}\n`;
  if (b.kind === 'azblob')
    return `    filesystem: ${JSON.stringify({ provider: 'azblob', azblobconfig: { container: b.container, account_name: b.azurite.account, account_key: b.azurite.key, endpoint: b.azurite.endpoint, key_prefix: `${b.prefix}/`, upload_part_size: 1 } })}\n`;
  return '';
}

interface Setup {
  dir: string;
  home: string;
  sftp: number;
  api: number;
  yaml: string;
}

async function setup(opts: CrashRunOptions): Promise<Setup> {
  const dir = tempDir('crash-');
  const home = join(dir, 'homes', 'crash');
  const sftp = await freePort();
  const api = await freePort();
  const yaml = `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${sftp} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${api} }]
common:
  upload_mode: ${opts.mode}
${opts.common ?? ''}
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: crash
    password: "${CRASH_PASSWORD}"
    home_dir: ${home}
    permissions: { "/": ["*"] }
${backendYaml(opts)}admins:
  - username: robot
    permissions: ["*"]
    api_keys: [{ name: test, key: "${CRASH_API_KEY}" }]
`;
  return { dir, home, sftp, api, yaml };
}

async function api(port: number, method: string, path: string): Promise<{ status: number; json: Record<string, unknown> & unknown[] }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { 'x-sftpgo-api-key': CRASH_API_KEY } });
  return { status: r.status, json: (await r.json().catch(() => ({}))) as Record<string, unknown> & unknown[] };
}

async function usage(port: number): Promise<{ size: number; files: number }> {
  const u = (await api(port, 'GET', '/api/v2/quotas/users/crash/usage')).json;
  return { size: u.used_quota_size as number, files: u.used_quota_files as number };
}

async function scanned(port: number): Promise<{ size: number; files: number }> {
  const started = await api(port, 'POST', '/api/v2/quotas/users/crash/scan');
  if (started.status !== 202) throw new Error(`quota scan refused: ${started.status} ${JSON.stringify(started.json)}`);
  for (let i = 0; i < 400 && (await api(port, 'GET', '/api/v2/quotas/users/scans')).json.length > 0; i++) await Bun.sleep(25);
  return usage(port);
}

/** Every entry under `dir` on disk, relative, recursively. */
function walk(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push(r);
    if (e.isDirectory()) out.push(...walk(join(dir, e.name), r));
  }
  return out;
}

/**
 * Open multipart uploads on S3, uncommitted blobs on Azure, under the run's prefix. Blocks staged
 * over a blob that exists (`replaced`: the names of uploads cut while replacing a previous
 * version) are no leftover: Azure cannot drop them without rewriting the blob, and expires them.
 */
async function remoteLeftovers(opts: CrashRunOptions, replaced: Set<string>): Promise<string[]> {
  const b = opts.backend;
  if (b?.kind === 's3') {
    const out = await s3ClientFor(b.s3).send(new ListMultipartUploadsCommand({ Bucket: b.s3.bucket, Prefix: `${b.prefix}/` }));
    // s3rver's listing (added by test/support/s3rver.ts) ignores the prefix.
    return (out.Uploads ?? []).map((u) => u.Key ?? '').filter((k) => k.startsWith(`${b.prefix}/`));
  }
  if (b?.kind === 'azblob') {
    const container = b.azurite.service.getContainerClient(b.container);
    const committed = new Set<string>();
    for await (const blob of container.listBlobsFlat({ prefix: `${b.prefix}/` })) committed.add(blob.name);
    const left: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: `${b.prefix}/`, includeUncommitedBlobs: true })) if (!committed.has(blob.name)) left.push(blob.name);
    // A committed blob may still carry blocks staged by an upload that never committed.
    for (const name of committed) {
      if (replaced.has(name.slice(b.prefix.length + 1))) continue;
      const list = await container.getBlockBlobClient(name).getBlockList('uncommitted');
      if ((list.uncommittedBlocks ?? []).length > 0) left.push(`${name} (uncommitted blocks)`);
    }
    return left;
  }
  return [];
}

/** Draws sizes: a third tiny (under 4 KiB), the rest spread over [min, max]. */
function drawSizes(rand: () => number, opts: CrashRunOptions): number[] {
  const { min, max } = opts.sizes ?? { min: 16 * 1024, max: 1024 * 1024 };
  return Array.from({ length: opts.uploads }, () => (opts.sizes || rand() > 0.33 ? min + Math.floor(rand() * (max - min)) : Math.floor(rand() * 4096)));
}

/** One crash: uploads, kill -9 at the seeded point, restart, checks. Never throws on a failed check: it is in `failures`. */
export async function crashRun(opts: CrashRunOptions): Promise<CrashFigures> {
  const rand = prng(opts.seed);
  const s = await setup(opts);
  const backend = opts.backend?.kind ?? 'local';
  const uploads: UploadState[] = drawSizes(rand, opts).map((size, i) => ({
    name: `f${String(i).padStart(3, '0')}.bin`,
    data: payload(opts.seed, i, size),
    // Smaller than any upload, and other bytes: it cannot be mistaken for a cut new version.
    ...(opts.overwrite && i % 2 === 1 ? { previous: payload(opts.seed + 7919, i, 1000 + Math.floor(rand() * 60_000)) } : {}),
    sent: 0,
    acked: 0,
    closed: false,
  }));
  const total = uploads.reduce((n, u) => n + u.data.length, 0);
  // Somewhere between the first few bytes and nearly all of them.
  const killAt = Math.floor(total * (0.05 + rand() * 0.9));
  const failures: string[] = [];

  let server: RunningServer = await startServer({ yaml: s.yaml, cwd: s.dir, timeoutMs: 60_000 });
  const conns = await Promise.all(Array.from({ length: opts.connections ?? 4 }, () => connect(s.sftp)));
  for (const u of uploads) {
    if (!u.previous) continue;
    const before: UploadState = { name: u.name, data: u.previous, sent: 0, acked: 0, closed: false };
    await uploadOne(conns[0]!.sftp, before, () => undefined);
  }
  let acked = 0;
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    server.proc.kill('SIGKILL');
  };
  const one = (u: UploadState, i: number): Promise<void> =>
    uploadOne(conns[i % conns.length]!.sftp, u, (n) => {
      acked += n;
      if (acked >= killAt) kill();
    }).catch(() => undefined);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < uploads.length && !killed) {
      const i = next++;
      await one(uploads[i]!, i);
    }
  };
  const runs = opts.parallel ? Array.from({ length: opts.parallel }, worker) : uploads.map(one);
  // Every upload may finish before the point is reached (small runs): the kill then lands after.
  await Promise.race([Promise.all(runs), new Promise<void>((res) => server.proc.once('exit', () => res()))]);
  kill();
  await server.stop('SIGKILL');
  await Promise.all(runs);
  for (const c of conns) c.client.end();
  const killedAtBytes = acked;

  server = await startServer({ yaml: s.yaml, cwd: s.dir, timeoutMs: 60_000 });
  let verified = 0;
  const leftovers: string[] = [];
  try {
    const { client, sftp } = await connect(s.sftp);
    try {
      const listing = await p<{ filename: string; attrs: { size: number } }[]>((cb) => sftp.readdir('/', cb));
      const byName = new Map(listing.map((e) => [e.filename, e.attrs.size]));
      for (const name of byName.keys()) {
        if (isTempName(name)) leftovers.push(`listed: ${name}`);
        else if (!uploads.some((u) => u.name === name)) failures.push(`unexpected file listed: ${name}`);
      }
      for (const u of uploads) {
        const size = byName.get(u.name);
        u.visible = size;
        if (size === undefined) {
          if (u.closed) failures.push(`${u.name}: its close was acknowledged but it is gone`);
          else if (u.previous) failures.push(`${u.name}: the cut upload removed the version it was replacing`);
          continue;
        }
        const got = await p<Buffer>((cb) => sftp.readFile(`/${u.name}`, cb));
        if (got.length !== size) failures.push(`${u.name}: listed ${size} bytes, read ${got.length}`);
        const whole = got.length === u.data.length && got.equals(u.data);
        const previous = u.previous !== undefined && got.equals(u.previous);
        if (opts.mode !== 'standard' || backend !== 'local') {
          if (!whole && !previous)
            failures.push(`${u.name}: ${got.length} bytes visible, neither the ${u.data.length} sent${u.previous ? ` nor the previous ${u.previous.length}` : ''} (sent ${u.sent})`);
        } else if (!previous) {
          // In place: the open truncated any previous version, then the bytes sent arrived in order.
          if (got.length > u.sent) failures.push(`${u.name}: ${got.length} bytes on disk, only ${u.sent} sent`);
          else if (!got.equals(u.data.subarray(0, got.length))) failures.push(`${u.name}: its ${got.length} bytes are not the bytes sent`);
        }
        if (u.closed && !whole) failures.push(`${u.name}: close acknowledged, yet ${got.length} of ${u.data.length} bytes`);
        verified++;
      }
      const visible = { size: listing.filter((e) => !isTempName(e.filename)).reduce((n, e) => n + e.attrs.size, 0), files: listing.filter((e) => !isTempName(e.filename)).length };
      const stored = await usage(s.api);
      if (stored.size !== visible.size || stored.files !== visible.files) failures.push(`stored usage ${JSON.stringify(stored)} != visible ${JSON.stringify(visible)}`);
      const scan = await scanned(s.api);
      if (scan.size !== visible.size || scan.files !== visible.files) failures.push(`scanned usage ${JSON.stringify(scan)} != visible ${JSON.stringify(visible)}`);
    } finally {
      client.end();
    }
    if (backend === 'local') {
      for (const rel of walk(s.home)) if (rel.split('/').some(isTempName)) leftovers.push(`on disk: ${rel}`);
      const tmp = join(s.dir, 'data', 'uploads-tmp');
      for (const rel of walk(tmp)) if (statSync(join(tmp, rel)).isFile()) leftovers.push(`in temp_path: ${rel}`);
    }
    leftovers.push(...(await remoteLeftovers(opts, new Set(uploads.filter((u) => u.previous && !u.closed).map((u) => u.name)))));
    // The store is whole: the user and the admin read back.
    const user = await api(s.api, 'GET', '/api/v2/users/crash');
    if (user.status !== 200 || user.json.username !== 'crash') failures.push(`the user reads back as ${user.status}`);
  } finally {
    await server.stop();
  }
  for (const l of leftovers) failures.push(`leftover ${l}`);
  return {
    seed: opts.seed,
    mode: opts.mode,
    backend,
    uploads: uploads.length,
    acknowledged: uploads.filter((u) => u.closed).length,
    verified,
    leftovers: leftovers.length,
    discarded: server.logs.filter((l) => l.event === 'remote_uploads_discarded').reduce((n, l) => n + Number(l.discarded), 0),
    failures,
    killedAtBytes,
    files: uploads.map((u) => ({
      name: u.name,
      size: u.data.length,
      sent: u.sent,
      ...(u.previous ? { previous: u.previous.length } : {}),
      closed: u.closed,
      ...(u.visible !== undefined ? { visible: u.visible } : {}),
    })),
  };
}

/** One line of figures for the test output and test/hard/RESULTS.md. */
export function figuresLine(f: CrashFigures): string {
  return `crash ${f.backend}/${f.mode} seed ${f.seed}: ${f.uploads} uploads, killed after ${f.killedAtBytes} bytes acknowledged, ${f.acknowledged} closes acknowledged, ${f.verified} files verified, ${f.leftovers} leftovers${f.backend === 'local' ? '' : ` (${f.discarded} open uploads discarded at start)`}, ${f.failures.length} failures`;
}
