// Storage backends through SFTP vs the SDK's own direct transfer, in one run: a 256 MiB file put and
// got with the OpenSSH sftp client through this server (compiled binary) into a virtual folder on
// each backend, and the same file moved by the backend's SDK (or, for the SFTP backend, by sftp
// straight to the sshd) from this process. Prints MB/s, the ratio, the server's CPU seconds per GB
// and its peak RSS. Each backend gets a freshly started server, so a peak belongs to that backend
// alone. With --rss-sizes, it then puts and gets files of each size on each backend (fresh server
// per size and backend) and prints the server's peak RSS per size: flat or growing with file size.
//
//   bun bench/backends.ts [--link MBPS,RTT_MS] [--download-concurrency 1] [--size-mb 256] [--rounds 3 (0: only the RSS table)] [--rss-sizes 64,128,256,512] [--settle S] [--purge-delay N]
//
// --link puts every storage server (for this server and for the direct SDK transfers alike) behind
// a shaped link of that bandwidth and round-trip time, as a store across a network would be;
// without it, storage is on loopback and the machine's CPU is the limit.
// --purge-delay sets MIMALLOC_PURGE_DELAY for the server (ms; unset: the server's own -1).
// --only s3,gcs limits the backends; --binary runs another build of the server; --no-direct skips
// the SDK's own transfers.
// --trace DIR has each RSS-table server write its memory samples (SFTPGO_MEM_TRACE,
// src/core/mem-trace.ts) to DIR/<backend>-<size>.jsonl, and prints the largest sample of the put
// and of the get with the allocator's largest size classes.
// --baseline BINARY also runs that build (say, of the previous commit) beside this one, each
// transfer interleaved with this server's, and prints its rows too: a regression check in one run.
import { Upload } from '@aws-sdk/lib-storage';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, closeSync, openSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { cpuSecs as cpuOf, machineBusySecs, rssMiB as rssOf } from './proc.ts';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startLinksProcess, throughLink, type LinkShape } from './link.ts';
import { startAzurite } from '../test/support/azurite.ts';
import { startGcsServer } from '../test/support/gcs-server.ts';
import { freePort } from '../test/support/net.ts';
import { startS3rver } from '../test/support/s3rver.ts';
import { startSshd } from '../test/support/sshd.ts';
import { removeTempDirs, tempDir } from '../test/support/tmp.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const SIZE_MB = Number(opt('--size-mb', '256'));
const ROUNDS = Number(opt('--rounds', '3'));
const RSS_SIZES = opt('--rss-sizes', '').split(',').filter(Boolean).map(Number);
// --settle S: the RSS table's transfers start S seconds after the server does, as on a server up a
// while (it releases the pages its start touched 10 s after it is ready); 0 starts them at once.
const SETTLE_S = Number(opt('--settle', '0'));
const PURGE_DELAY = opt('--purge-delay', '');
const BACKENDS = opt('--only', 's3,gcs,azblob,sftp,crypt,local').split(',');
const BASELINE = opt('--baseline', '');
/** Skips the SDK's own transfers (the ratio columns), for memory and CPU runs. */
const NO_DIRECT = args.includes('--no-direct');
const TRACE = opt('--trace', '');
if (TRACE) mkdirSync(TRACE, { recursive: true });
const PART_MB = 8;
const CONCURRENCY = 2;
// The server's S3 and Azure downloads: 1 (default) streams one GET, as the direct SDK download
// does; more fetches ranged parts in parallel, which on loopback only adds CPU (measured).
const DOWNLOAD_CONCURRENCY = Number(opt('--download-concurrency', '1'));
const LINK: LinkShape | undefined = (() => {
  const v = opt('--link', '');
  if (!v) return undefined;
  const [mbps, rttMs] = v.split(',').map(Number);
  if (!(mbps! > 0) || !(rttMs! >= 0)) throw new Error('--link wants MBPS,RTT_MS, e.g. --link 60,20');
  return { mbps: mbps!, rttMs: rttMs! };
})();
const work = tempDir('bench-backends-');
function makeFile(mb: number): string {
  const file = join(work, `big-${mb}.bin`);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < mb; i++) {
    block.fill(i & 0xff);
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
  }
  closeSync(fd);
  return file;
}
const big = makeFile(SIZE_MB);
const BYTES = SIZE_MB * 2 ** 20;
const binary = resolve(opt('--binary', join(root, 'dist/sftpgo')));
if (!existsSync(binary)) spawnSync(join(root, 'node_modules/.bin/bun'), [join(root, 'scripts/build.ts')], { stdio: 'inherit' });

const [s3, az, gcs, sshd] = await Promise.all([startS3rver('bench'), startAzurite(), startGcsServer(), startSshd()]);
await az.createContainer('bench');
await new Storage({ apiEndpoint: gcs.endpoint, projectId: 'bench' }).createBucket('bench').catch(() => undefined);
// Where the server and the direct transfers reach each store: directly, or through a shaped link.
// The links run in a process of their own (their CPU falls in "client and rest").
const links = LINK ? await startLinksProcess([s3.endpoint, gcs.endpoint, az.endpoint, `http://${sshd.endpoint}`].map((e) => Number(new URL(e).port)), LINK) : undefined;
const ep = {
  s3: links ? throughLink(s3.endpoint, links.ports[0]!) : s3.endpoint,
  gcs: links ? throughLink(gcs.endpoint, links.ports[1]!) : gcs.endpoint,
  az: links ? throughLink(az.endpoint, links.ports[2]!) : az.endpoint,
  sshdPort: links ? links.ports[3]! : sshd.port,
};
const remoteDir = join(sshd.dir, 'remote');
mkdirSync(remoteDir, { recursive: true });
const keyFile = join(work, 'backend_key');
writeFileSync(keyFile, sshd.clientKey, { mode: 0o600 });
const clientKey = join(work, 'client_key');
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
const pub = readFileSync(`${clientKey}.pub`, 'utf8').trim();
// sshd authorizes sshd.clientKey; the direct sftp run uses it.
const sshdKey = keyFile;

const port = await freePort();
const basePort = BASELINE ? await freePort() : 0;
const s3cfg = `{ bucket: bench, region: us-east-1, endpoint: "${ep.s3}", force_path_style: true, access_key: ${s3.accessKey}, access_secret: ${s3.secretKey}, upload_part_size: ${PART_MB}, upload_concurrency: ${CONCURRENCY}, download_part_size: ${PART_MB}, download_concurrency: ${DOWNLOAD_CONCURRENCY}, request_checksum_calculation: when_required, response_checksum_validation: when_required }`;
const yamlFor = (port: number) => `
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
log: { level: warn }
folders:
  - { name: s3, filesystem: { provider: s3, s3config: ${s3cfg} } }
  - { name: gcs, filesystem: { provider: gcs, gcsconfig: { bucket: bench, endpoint: "${ep.gcs}", upload_part_size: ${PART_MB} } } }
  - { name: azblob, filesystem: { provider: azblob, azblobconfig: { container: bench, account_name: ${az.account}, account_key: "${az.key}", endpoint: "${ep.az}", upload_part_size: ${PART_MB}, upload_concurrency: ${CONCURRENCY}, download_part_size: ${PART_MB}, download_concurrency: ${DOWNLOAD_CONCURRENCY} } } }
  - { name: sftp, filesystem: { provider: sftp, sftpconfig: { endpoint: "127.0.0.1:${ep.sshdPort}", username: ${sshd.user}, private_key: { file: ${keyFile} }, prefix: ${remoteDir} } } }
  - { name: crypt, mapped_path: ${join(work, 'crypt')}, filesystem: { provider: crypt, cryptconfig: { passphrase: bench-passphrase } } }
users:
  - username: bench
    public_keys: ["${pub}"]
    home_dir: ${join(work, 'home')}
    virtual_folders:
      - { name: s3, virtual_path: /s3 }
      - { name: gcs, virtual_path: /gcs }
      - { name: azblob, virtual_path: /azblob }
      - { name: sftp, virtual_path: /sftp }
      - { name: crypt, virtual_path: /crypt }
`;
writeFileSync(join(work, 'sftpgo.yaml'), yamlFor(port));
if (BASELINE) writeFileSync(join(work, 'sftpgo-base.yaml'), yamlFor(basePort));
type Server = ReturnType<typeof spawn>;
let server: Server | undefined;
let baseServer: Server | undefined;

async function startServer(which: 'ours' | 'base' = 'ours', trace?: string): Promise<Server> {
  const env = { ...process.env };
  if (PURGE_DELAY) env.MIMALLOC_PURGE_DELAY = PURGE_DELAY;
  if (trace) env.SFTPGO_MEM_TRACE = trace;
  const [bin, yaml, data, p0] = which === 'ours' ? [binary, 'sftpgo.yaml', 'data', port] : [resolve(BASELINE), 'sftpgo-base.yaml', 'data-base', basePort];
  const p = spawn(bin, ['serve', '--config', join(work, yaml), '--data-dir', join(work, data)], { stdio: ['ignore', 'ignore', 'inherit'], env });
  for (let i = 0; ; i++) {
    if (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${p0}`]).status === 0) break;
    if (i > 300) throw new Error(`${which} server did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return p;
}

async function stopServer(): Promise<void> {
  for (const p of [server, baseServer]) {
    if (!p || p.exitCode !== null) continue;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await gone;
  }
  server = baseServer = undefined;
}

const cpuSecs = (pid: number) => cpuOf([pid]);
// One process, not its tree: sampled every 100 ms, a pgrep per sample would cost CPU in the figures.
const rssMiB = (pid: number) => rssOf([pid]);

/** Where the CPU went during one transfer, in seconds. */
interface CpuSplit {
  server: number;
  storage: number;
  bench: number;
  machine: number;
}

interface Timing {
  secs: number;
  peak: number;
  cpu: CpuSplit;
}

/**
 * Runs `fn`, sampling the RSS of this server (`serverPid`; undefined: a direct transfer, with the
 * server idle and not counted) every 100 ms; returns seconds, the peak RSS and the CPU seconds of
 * this server, the storage emulator (`storagePid`; 'self': it runs inside
 * this process, as the GCS server does; undefined: not one process, as sshd), this process (the
 * SDK's client in a direct transfer) and the whole machine. What the machine spent beyond those is
 * the sftp client's (and sshd's).
 */
async function timed(fn: () => Promise<void>, serverPid: number | undefined, storagePid: number | 'self' | undefined): Promise<Timing> {
  const pid = serverPid ?? 0;
  let peak = pid ? rssMiB(pid) : 0;
  const sampler = setInterval(() => (peak = pid ? Math.max(peak, rssMiB(pid)) : 0), 100);
  const self = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const ext = typeof storagePid === 'number' ? storagePid : 0;
  const before = { server: pid ? cpuSecs(pid) : 0, storage: ext ? cpuSecs(ext) : 0, bench: self(), machine: machineBusySecs() };
  const t = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  const secs = (performance.now() - t) / 1000;
  const benchCpu = self() - before.bench;
  return {
    secs,
    peak: pid ? Math.max(peak, rssMiB(pid)) : 0,
    cpu: {
      server: pid ? cpuSecs(pid) - before.server : 0,
      storage: ext ? cpuSecs(ext) - before.storage : storagePid === 'self' ? benchCpu : 0,
      bench: storagePid === 'self' ? 0 : benchCpu,
      machine: machineBusySecs() - before.machine,
    },
  };
}

function sftpRun(target: { port: number; user: string; key: string }, batch: string): Promise<void> {
  const file = join(work, `batch-${Date.now()}`);
  writeFileSync(file, batch);
  return new Promise((res, rej) => {
    const p = spawn('sftp', ['-q', '-b', file, '-c', 'aes128-gcm@openssh.com', '-i', target.key, '-P', String(target.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-F', '/dev/null', `${target.user}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.once('exit', (code) => (code === 0 ? res() : rej(new Error(`sftp exited ${code}: ${batch}`))));
  });
}

const ours = { port, user: 'bench', key: clientKey };
const base = { port: basePort, user: 'bench', key: clientKey };
const s3client = new S3Client({ region: 'us-east-1', endpoint: ep.s3, forcePathStyle: true, credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
const gcsBucket = new Storage({ apiEndpoint: ep.gcs, projectId: 'bench' }).bucket('bench');
const azContainer = new BlobServiceClient(ep.az, new StorageSharedKeyCredential(az.account, az.key)).getContainerClient('bench');
/** Compares two files without holding either in memory. */
function sameBytes(a: string, b: string): boolean {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}
const sink = () => createWriteStream(join(work, 'direct-down.bin'));

const direct: Record<string, { up: () => Promise<void>; down: () => Promise<void> }> = {
  s3: {
    up: () => new Upload({ client: s3client, params: { Bucket: 'bench', Key: 'direct.bin', Body: createReadStream(big) }, partSize: PART_MB * 2 ** 20, queueSize: CONCURRENCY }).done().then(() => undefined),
    down: async () => pipeline((await s3client.send(new GetObjectCommand({ Bucket: 'bench', Key: 'direct.bin' }))).Body as Readable, sink()),
  },
  gcs: {
    up: () => pipeline(createReadStream(big), gcsBucket.file('direct.bin').createWriteStream({ resumable: true, chunkSize: PART_MB * 2 ** 20, validation: false })),
    down: () => pipeline(gcsBucket.file('direct.bin').createReadStream({ validation: false }), sink()),
  },
  azblob: {
    up: () => azContainer.getBlockBlobClient('direct.bin').uploadStream(createReadStream(big), PART_MB * 2 ** 20, CONCURRENCY).then(() => undefined),
    down: async () => pipeline((await azContainer.getBlobClient('direct.bin').download()).readableStreamBody as unknown as Readable, sink()),
  },
  sftp: {
    up: () => sftpRun({ port: ep.sshdPort, user: sshd.user, key: sshdKey }, `put ${big} ${remoteDir}/direct.bin\n`),
    down: () => sftpRun({ port: ep.sshdPort, user: sshd.user, key: sshdKey }, `get ${remoteDir}/direct.bin ${join(work, 'direct-down.bin')}\n`),
  },
};

/** The largest sample of the put (moved up to the file's size) and of the get, and the allocator's largest classes. */
function summarizeTrace(trace: string, mb: number): void {
  const samples = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number> & { bins?: unknown });
  const top = (xs: typeof samples) => (xs.length ? xs.reduce((a, b) => (b.rss! > a.rss! ? b : a)) : undefined);
  const data = samples.filter((l) => l.rss !== undefined);
  process.stderr.write(`  put, largest sample: ${JSON.stringify(top(data.filter((l) => l.moved! < mb)))}\n`);
  process.stderr.write(`  get, largest sample: ${JSON.stringify(top(data.filter((l) => l.moved! >= mb)))}\n`);
  const bins = samples.at(-1)?.bins;
  if (bins) process.stderr.write(`  largest size classes: ${JSON.stringify(bins)}\n`);
}

const rows: string[] = [];
const cpuRows: string[] = [];
const rssRows: string[] = [];
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gotFile = join(work, 'got.bin');
const CORES = availableParallelism();
/** The storage emulator's process, for CPU accounting (see timed()). */
const storageOf = (backend: string): number | 'self' | undefined =>
  backend === 's3' ? s3.pid : backend === 'azblob' ? az.pid : backend === 'gcs' ? 'self' : undefined;
/** `/local` is the user's home on local disk: what SFTP itself costs, with no storage behind it. */
const pathOf = (backend: string) => (backend === 'local' ? '' : `/${backend}`);
/** Median CPU split, in CPU seconds per GB moved, and the machine's busy share of its cores. */
function cpuCells(ts: Timing[], withServer: boolean): string {
  const per = (f: (c: CpuSplit) => number) => med(ts.map((t) => f(t.cpu) / (BYTES / 1e9))).toFixed(1);
  const rest = (c: CpuSplit) => Math.max(0, c.machine - c.server - c.storage - c.bench);
  const busy = med(ts.map((t) => (100 * t.cpu.machine) / (t.secs * CORES))).toFixed(0);
  return [withServer ? per((c) => c.server) : '–', per((c) => c.storage), withServer ? '–' : per((c) => c.bench), per(rest), per((c) => c.machine), `${busy}%`].join(' | ');
}
try {
  for (const backend of ROUNDS > 0 ? BACKENDS : []) {
    const r = { up: [] as Timing[], down: [] as Timing[], dup: [] as Timing[], ddown: [] as Timing[], bup: [] as Timing[], bdown: [] as Timing[], peak: 0, bpeak: 0 };
    const storage = storageOf(backend);
    server = await startServer();
    if (BASELINE) baseServer = await startServer('base');
    for (let round = 0; round < ROUNDS; round++) {
      const up = await timed(() => sftpRun(ours, `put ${big} ${pathOf(backend)}/via-sftp.bin\n`), server.pid, storage);
      const down = await timed(() => sftpRun(ours, `get ${pathOf(backend)}/via-sftp.bin ${gotFile}\n`), server.pid, storage);
      if (round === 0 && !sameBytes(big, gotFile)) throw new Error(`${backend}: the file got back differs from the one put`);
      r.up.push(up);
      r.down.push(down);
      r.peak = Math.max(r.peak, up.peak, down.peak);
      if (baseServer) {
        const bup = await timed(() => sftpRun(base, `put ${big} ${pathOf(backend)}/via-base.bin\n`), baseServer.pid, storage);
        const bdown = await timed(() => sftpRun(base, `get ${pathOf(backend)}/via-base.bin ${gotFile}\n`), baseServer.pid, storage);
        r.bup.push(bup);
        r.bdown.push(bdown);
        r.bpeak = Math.max(r.bpeak, bup.peak, bdown.peak);
      }
      const d = NO_DIRECT ? undefined : direct[backend];
      if (d) {
        // The direct transfers run with this server idle: its CPU is not counted in them.
        r.dup.push(await timed(d.up, undefined, storage));
        r.ddown.push(await timed(d.down, undefined, storage));
      }
      const mbs = (t: Timing | undefined) => (t ? (BYTES / 1e6 / t.secs).toFixed(0) : '-');
      process.stderr.write(
        `${backend} round ${round + 1}: up ${mbs(up)} (direct ${mbs(r.dup.at(-1))}), down ${mbs(down)} (direct ${mbs(r.ddown.at(-1))}) MB/s; peak RSS up ${up.peak.toFixed(0)}, down ${down.peak.toFixed(0)} MiB\n`,
      );
    }
    await stopServer();
    const rate = (ts: Timing[]) => med(ts.map((t) => BYTES / 1e6 / t.secs));
    const ratio = (a: Timing[], b: Timing[]) => (b.length ? ` (×${(rate(a) / rate(b)).toFixed(2)})` : '');
    const cpu = (ts: Timing[]) => med(ts.map((t) => t.cpu.server / (BYTES / 1e9))).toFixed(1);
    rows.push(
      `| ${backend} | ${rate(r.up).toFixed(0)}${ratio(r.up, r.dup)} | ${r.dup.length ? rate(r.dup).toFixed(0) : '–'} | ${rate(r.down).toFixed(0)}${ratio(r.down, r.ddown)} | ${r.ddown.length ? rate(r.ddown).toFixed(0) : '–'} | ${cpu(r.up)} / ${cpu(r.down)} | ${r.peak.toFixed(0)} MiB |`,
    );
    if (r.bup.length)
      rows.push(
        `| ${backend} (baseline build) | ${rate(r.bup).toFixed(0)}${ratio(r.bup, r.dup)} | ${r.dup.length ? rate(r.dup).toFixed(0) : '–'} | ${rate(r.bdown).toFixed(0)}${ratio(r.bdown, r.ddown)} | ${r.ddown.length ? rate(r.ddown).toFixed(0) : '–'} | ${cpu(r.bup)} / ${cpu(r.bdown)} | ${r.bpeak.toFixed(0)} MiB |`,
      );
    for (const [dir, ts, dts] of [['down', r.down, r.ddown], ['up', r.up, r.dup]] as const) {
      cpuRows.push(`| ${backend} ${dir} | SFTP | ${rate(ts).toFixed(0)} | ${cpuCells(ts, true)} |`);
      if (dts.length) cpuRows.push(`| ${backend} ${dir} | direct | ${rate(dts).toFixed(0)} | ${cpuCells(dts, false)} |`);
    }
  }
  if (RSS_SIZES.length) {
    const peaks = new Map<string, string[]>();
    for (const mb of RSS_SIZES) {
      const file = mb === SIZE_MB ? big : makeFile(mb);
      for (const backend of BACKENDS) {
        const trace = TRACE ? join(resolve(TRACE), `${backend}-${mb}.jsonl`) : undefined;
        if (trace) rmSync(trace, { force: true });
        server = await startServer('ours', trace);
        if (SETTLE_S > 0) await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
        const up = await timed(() => sftpRun(ours, `put ${file} ${pathOf(backend)}/rss.bin\n`), server.pid, storageOf(backend));
        const down = await timed(() => sftpRun(ours, `get ${pathOf(backend)}/rss.bin ${gotFile}\n`), server.pid, storageOf(backend));
        await stopServer();
        if (trace && existsSync(trace)) summarizeTrace(trace, mb);
        const cell = `${Math.max(up.peak, down.peak).toFixed(0)} (${((mb * 2 ** 20) / 1e6 / up.secs).toFixed(0)} / ${((mb * 2 ** 20) / 1e6 / down.secs).toFixed(0)})`;
        peaks.set(backend, [...(peaks.get(backend) ?? []), cell]);
        process.stderr.write(`rss ${mb} MiB ${backend}: ${cell}\n`);
      }
      if (file !== big) rmSync(file);
    }
    rssRows.push(`| backend | ${RSS_SIZES.map((mb) => `${mb} MiB`).join(' | ')} |`, `|---|${RSS_SIZES.map(() => '---|').join('')}`);
    for (const [backend, cells] of peaks) rssRows.push(`| ${backend} | ${cells.join(' | ')} |`);
  }
} finally {
  await stopServer();
  s3client.destroy();
  await Promise.allSettled([links?.close(), s3.stop(), az.stop(), gcs.close(), sshd.stop()]);
}
const purge = PURGE_DELAY ? `MIMALLOC_PURGE_DELAY=${PURGE_DELAY}` : 'MIMALLOC_PURGE_DELAY=-1 (default)';
if (rows.length) console.log(`${SIZE_MB} MiB through this server's SFTP (OpenSSH sftp, aes128-gcm) vs the SDK direct, MB/s, median of ${ROUNDS}; upload parts ${PART_MB} MiB × ${CONCURRENCY}, S3 and Azure download concurrency ${DOWNLOAD_CONCURRENCY}; storage ${LINK ? `behind a ${LINK.mbps} MB/s link with ${LINK.rttMs} ms round trips` : 'on loopback'}; ${purge}; a fresh server per backend.`);
if (rows.length) console.log('| backend | SFTP up (ratio to direct) | direct up | SFTP down (ratio) | direct down | server CPU s/GB up / down | server peak RSS |\n|---|---|---|---|---|---|---|\n' + rows.join('\n'));
if (cpuRows.length) {
  console.log(`\nWhere the CPU goes: CPU seconds per GB moved, median of ${ROUNDS}, by process: this server, the storage emulator (the GCS server runs inside the bench process; sshd is not one process and falls in "client and rest"), the SDK's client (direct only), the rest (the sftp client, sshd, the kernel), the machine's total, and how busy the machine's ${CORES} cores were.`);
  console.log('| transfer | via | MB/s | server | storage | SDK client | client and rest | machine | busy |\n|---|---|---|---|---|---|---|---|---|\n' + cpuRows.join('\n'));
}
if (rssRows.length) {
  console.log(`\nServer peak RSS in MiB by file size (one put and one get, a fresh server per cell${SETTLE_S ? `, transfers ${SETTLE_S} s after it starts` : ''}; SFTP up / down MB/s in brackets); ${purge}.`);
  console.log(rssRows.join('\n'));
}
rmSync(work, { recursive: true, force: true });
removeTempDirs();
