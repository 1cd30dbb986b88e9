// Load against a real server process: many concurrent SFTP sessions (the ssh2 client, in this
// process) doing a mix of uploads, downloads and listings, or simply staying logged in, while the
// server's resident memory is read from /proc. Shared by the short runs in `npm test` and the long
// ones in test/hard/.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, type SFTPWrapper } from '../../src/lib/ssh2.ts';

export interface SftpTarget {
  port: number;
  username: string;
  password: string;
}

/** The resident memory of process `pid`, in MiB. */
export function processRssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Samples a process's RSS every `everyMs` until stopped. */
export function rssSampler(pid: number, everyMs = 500): { stop: () => { start: number; peak: number; end: number; samples: number[] } } {
  const samples = [processRssMiB(pid)];
  const timer = setInterval(() => samples.push(processRssMiB(pid)), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      samples.push(processRssMiB(pid));
      return { start: samples[0]!, peak: Math.max(...samples), end: samples[samples.length - 1]!, samples };
    },
  };
}

export interface SftpSession {
  client: InstanceType<typeof Client>;
  sftp: SFTPWrapper;
  close(): Promise<void>;
}

/** One logged-in SFTP session (an ssh2 connection with its sftp channel open). */
export function openSftp(t: SftpTarget, timeoutMs = 60_000): Promise<SftpSession> {
  const client = new Client();
  return new Promise<SftpSession>((resolve, reject) => {
    client.once('error', reject);
    client.once('ready', () => {
      client.sftp((err, sftp) => {
        if (err) return reject(err);
        const closed = new Promise<void>((r) => client.once('close', () => r()));
        resolve({ client, sftp, close: () => (client.end(), closed) });
      });
    });
    client.connect({ host: '127.0.0.1', port: t.port, username: t.username, password: t.password, readyTimeout: timeoutMs });
  });
}

const call = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

export interface MixedLoadOptions {
  target: SftpTarget;
  sessions: number;
  durationMs: number;
  /** Size of each uploaded file. */
  fileBytes: number;
  /** The server process, whose RSS is sampled. */
  pid: number;
}

export interface MixedLoadFigures {
  sessions: number;
  seconds: number;
  puts: number;
  gets: number;
  lists: number;
  errors: string[];
  rss: { start: number; peak: number; end: number };
}

/**
 * `sessions` SFTP sessions, each in its own directory, looping put / get (checked against what it
 * put) / list until the duration is over. Sessions log in a few at a time, as a crowd of clients
 * arrives; every failure is recorded, none is retried.
 */
export async function mixedSftpLoad(o: MixedLoadOptions): Promise<MixedLoadFigures> {
  const figures: MixedLoadFigures = { sessions: o.sessions, seconds: 0, puts: 0, gets: 0, lists: 0, errors: [], rss: { start: 0, peak: 0, end: 0 } };
  const sampler = rssSampler(o.pid);
  const started = Date.now();
  const deadline = started + o.durationMs;
  // Each run in directories of its own: a second run against the same home starts clean.
  const run = Math.random().toString(36).slice(2, 8);
  const worker = async (n: number): Promise<void> => {
    let s: SftpSession;
    try {
      s = await openSftp(o.target);
    } catch (err) {
      figures.errors.push(`session ${n} login: ${(err as Error).message}`);
      return;
    }
    const dir = `/load-${run}-${n}`;
    const written = new Map<string, string>();
    try {
      await call<void>((cb) => s.sftp.mkdir(dir, (e) => cb(e, undefined)));
      for (let i = 0; Date.now() < deadline; i++) {
        const kind = written.size === 0 ? 0 : i % 3;
        if (kind === 0) {
          const name = `${dir}/f${i % 8}.bin`;
          const data = randomBytes(o.fileBytes);
          await call<void>((cb) => s.sftp.writeFile(name, data, (e) => cb(e, undefined)));
          written.set(name, createHash('sha256').update(data).digest('hex'));
          figures.puts++;
        } else if (kind === 1) {
          const [name, sum] = [...written][i % written.size]!;
          const data = await call<Buffer>((cb) => s.sftp.readFile(name, cb));
          if (createHash('sha256').update(data).digest('hex') !== sum) throw new Error(`${name}: content differs`);
          figures.gets++;
        } else {
          const list = await call<unknown[]>((cb) => s.sftp.readdir(dir, cb));
          if (list.length !== written.size) throw new Error(`${dir}: ${list.length} entries, expected ${written.size}`);
          figures.lists++;
        }
      }
    } catch (err) {
      figures.errors.push(`session ${n}: ${(err as Error).message}`);
    } finally {
      await s.close();
    }
  };
  const running: Promise<void>[] = [];
  for (let n = 0; n < o.sessions; n++) {
    running.push(worker(n));
    // A crowd, not a thundering herd: ten logins at a time.
    if (n % 10 === 9) await Bun.sleep(100);
  }
  await Promise.all(running);
  figures.seconds = (Date.now() - started) / 1000;
  figures.rss = sampler.stop();
  return figures;
}

export interface IdleSessionsFigures {
  sessions: number;
  failed: number;
  rss: { start: number; logged_in: number; peak: number; end: number };
  /** Extra MiB per idle session. */
  perSessionKiB: number;
}

/** Logs in `sessions` SFTP sessions, holds them for `holdMs`, logs them out. */
export async function idleSftpSessions(o: { target: SftpTarget; sessions: number; holdMs: number; pid: number }): Promise<IdleSessionsFigures> {
  const sampler = rssSampler(o.pid);
  const start = processRssMiB(o.pid);
  const open: SftpSession[] = [];
  let failed = 0;
  for (let n = 0; n < o.sessions; n += 10) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(10, o.sessions - n) }, () => openSftp(o.target)));
    for (const r of batch) {
      if (r.status === 'fulfilled') open.push(r.value);
      else failed++;
    }
  }
  await Bun.sleep(o.holdMs);
  const loggedIn = processRssMiB(o.pid);
  await Promise.all(open.map((s) => s.close()));
  await Bun.sleep(1000);
  const r = sampler.stop();
  return {
    sessions: open.length,
    failed,
    rss: { start, logged_in: loggedIn, peak: r.peak, end: r.end },
    perSessionKiB: open.length ? Math.round(((loggedIn - start) * 1024) / open.length) : 0,
  };
}
