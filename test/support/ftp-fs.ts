// An Fs over FTP, for running the backend suite through the FTP front-end: a small pool of logged-in
// control connections (FtpControl), each operation on one of them, data over passive connections.
// Listings are MLSD, stat is MLST, reads are RETR (with REST for a range start), writes STOR (REST
// + STOR to resume, APPE to append), times MFMT. FTP answers most failures with a bare 550, so a
// failed command is explained by looking at the path afterwards, as rclone's FTP backend does.
// Nothing here is atomic that FTP does not make so (exclusive create is a check, then a STOR).
import { posix } from 'node:path';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { AppError } from '../../src/errors.ts';
import type { Capabilities, EntryType, FileInfo, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../../src/vfs/fs.ts';
import type { FtpControl, FtpReply } from './ftp-client.ts';
import { expectReply, FtpPool, isDone, isPreliminary, replyError, type FtpPoolOptions } from './ftp-pool.ts';

export type FtpFsOptions = FtpPoolOptions;

const CAPABILITIES: Capabilities = {
  // RNTO replaces the target, but FTP promises nothing about how.
  atomicRename: false,
  realDirectories: true,
  randomWrites: false,
  resume: true,
  checksums: [],
};

function normalize(path: string): string {
  return posix.normalize(`/${path}`).replace(/(.)\/+$/, '$1');
}

/** YYYYMMDDHHMMSS[.sss] in UTC. */
function parseTime(s: string | undefined): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(s ?? '');
  if (!m) return 0;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, se) + (m[7] ? Number(m[7].padEnd(3, '0')) : 0);
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** One RFC 3659 line (`fact=value;...; name`); undefined for the `.` and `..` entries. */
function parseFacts(line: string, name?: string): FileInfo | undefined {
  const sp = line.indexOf('; ');
  if (sp < 0) return undefined;
  const facts = new Map<string, string>();
  for (const f of line.slice(0, sp).split(';')) {
    const eq = f.indexOf('=');
    if (eq > 0) facts.set(f.slice(0, eq).toLowerCase(), f.slice(eq + 1));
  }
  const kind = (facts.get('type') ?? '').toLowerCase();
  if (kind === 'cdir' || kind === 'pdir') return undefined;
  const type: EntryType = kind === 'dir' ? 'dir' : kind === 'file' ? 'file' : kind === 'os.unix=symlink' ? 'symlink' : 'other';
  const mtimeMs = parseTime(facts.get('modify'));
  const mode = facts.get('unix.mode');
  return {
    name: name ?? line.slice(sp + 2),
    type,
    size: Number(facts.get('size') ?? facts.get('sizd') ?? 0),
    mtimeMs,
    atimeMs: mtimeMs,
    mode: mode ? parseInt(mode, 8) & 0o7777 : type === 'dir' ? 0o755 : 0o644,
    uid: Number(facts.get('unix.uid') ?? 0),
    gid: Number(facts.get('unix.gid') ?? 0),
    nlink: 1,
  };
}

/**
 * Opens a passive data connection and sends `command` over `c`; a refusal throws the reply. What
 * the server sends is read from `data`, piped from the socket before the command goes out: under
 * Bun a socket that ends (an empty listing or file) before a reader is attached never tells a
 * later reader that it ended.
 */
async function startTransfer(c: FtpControl, command: string): Promise<{ first: FtpReply; socket: Socket; data: PassThrough } | { first: FtpReply; socket?: undefined }> {
  const { reply, socket } = await c.passive();
  if (!socket) throw replyError('EPSV', reply, 'io');
  socket.on('error', () => undefined);
  const data = socket.pipe(new PassThrough());
  const first = await c.send(command);
  if (isPreliminary(first.code)) return { first, socket, data };
  socket.destroy();
  return { first };
}

export class FtpFs implements Fs {
  readonly kind = 'ftp';
  readonly capabilities = CAPABILITIES;
  readonly #pool: FtpPool;

  constructor(opts: FtpFsOptions) {
    this.#pool = new FtpPool(opts);
  }

  /** MLST on `c`; undefined when the server answers 550 (FTP does not tell missing from refused). */
  async #probe(c: FtpControl, path: string): Promise<FileInfo | undefined> {
    const r = await c.send(`MLST ${path}`);
    if (r.code === 550) return undefined;
    expectReply(`MLST ${path}`, r, isDone);
    const line = r.lines.find((l, i) => i > 0 && l.startsWith(' '));
    const info = line && parseFacts(line.slice(1), path === '/' ? '' : posix.basename(path));
    if (!info) throw new AppError('io', `MLST ${path}: no facts in the reply`);
    return info;
  }

  /** Why a command on `path` failed, from what is there now. */
  async #explain(c: FtpControl, what: string, path: string, r: FtpReply, expect: 'file' | 'dir' | 'absent'): Promise<AppError> {
    if (r.code !== 550 && r.code !== 553) return replyError(what, r);
    const st = await this.#probe(c, path);
    if (expect === 'absent') {
      if (st) return replyError(what, r, 'exists');
      if (path !== '/' && !(await this.#probe(c, posix.dirname(path)))) return replyError(what, r, 'not_found');
      return replyError(what, r);
    }
    if (!st) return replyError(what, r, 'not_found');
    if (expect === 'file' && st.type === 'dir') return replyError(what, r, 'is_dir');
    if (expect === 'dir' && st.type !== 'dir') return replyError(what, r, 'not_dir');
    return replyError(what, r);
  }

  stat(path: string): Promise<FileInfo> {
    const p = normalize(path);
    return this.#pool.use(async (c) => {
      const st = await this.#probe(c, p);
      if (!st) throw new AppError('not_found', `${p}: not found`);
      return st;
    });
  }

  lstat(path: string): Promise<FileInfo> {
    return this.stat(path);
  }

  async *list(path: string): AsyncIterable<FileInfo> {
    const c = await this.#pool.acquire();
    let reusable = false;
    try {
      yield* this.#listOn(c, normalize(path));
      reusable = true;
    } catch (err) {
      reusable = err instanceof AppError;
      throw err;
    } finally {
      // Left mid-listing (the caller stopped early): the connection is not between commands.
      this.#pool.release(c, reusable);
    }
  }

  /** MLSD over `c`, one line at a time off the data connection: the listing is never held whole. */
  async *#listOn(c: FtpControl, p: string): AsyncGenerator<FileInfo> {
    const t = await startTransfer(c, `MLSD ${p}`);
    if (!t.socket) throw await this.#explain(c, `MLSD ${p}`, p, t.first, 'dir');
    const { socket } = t;
    try {
      for await (const line of createInterface({ input: t.data, crlfDelay: Infinity })) {
        const info = line && parseFacts(line);
        if (info) yield info;
      }
    } finally {
      socket.destroy();
    }
    expectReply(`MLSD ${p}`, await c.read(), isDone);
  }

  async openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    const p = normalize(path);
    const start = range.start ?? 0;
    const c = await this.#pool.acquire();
    let socket: Socket;
    let data: PassThrough;
    try {
      if (start > 0) expectReply(`REST ${start}`, await c.send(`REST ${start}`), (code) => code === 350);
      const t = await startTransfer(c, `RETR ${p}`);
      if (!t.socket) throw await this.#explain(c, `RETR ${p}`, p, t.first, 'file');
      socket = t.socket;
      data = t.data;
    } catch (err) {
      this.#pool.release(c, err instanceof AppError);
      throw err;
    }
    const pool = this.#pool;
    let settled = false;
    const settle = (clean: boolean): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      data.destroy();
      pool.release(c, clean);
    };
    const limit = range.end === undefined ? Infinity : range.end - start + 1;
    async function* body(): AsyncGenerator<Buffer> {
      let left = limit;
      let clean = false;
      try {
        for await (const chunk of data) {
          const b = chunk as Buffer;
          if (b.length >= left) {
            // The range ends before the file: the rest is cut off with the connection.
            yield b.subarray(0, left);
            return;
          }
          left -= b.length;
          yield b;
        }
        clean = true;
        expectReply(`RETR ${p}`, await c.read(), isDone);
      } finally {
        settle(clean);
      }
    }
    const out = Readable.from(body(), { objectMode: false });
    // Destroyed before its first read, the generator never runs: its finally would not either.
    out.once('close', () => settle(false));
    return out;
  }

  async openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const p = normalize(path);
    const offset = opts.offset ?? 0;
    if (opts.truncate === false && !opts.append && offset === 0) throw new AppError('unsupported', 'ftp: writing into a file from its start needs random writes');
    const c = await this.#pool.acquire();
    let socket: Socket;
    let size = offset;
    try {
      const existing = opts.exclusive || opts.append ? await this.#probe(c, p) : undefined;
      if (opts.exclusive && existing) throw new AppError('exists', `${p} exists`);
      if (opts.append) size = existing?.size ?? 0;
      if (offset > 0) expectReply(`REST ${offset}`, await c.send(`REST ${offset}`), (code) => code === 350);
      const command = `${opts.append ? 'APPE' : 'STOR'} ${p}`;
      const t = await startTransfer(c, command);
      if (!t.socket) throw await this.#explain(c, command, p, t.first, 'file');
      socket = t.socket;
    } catch (err) {
      this.#pool.release(c, err instanceof AppError);
      throw err;
    }
    const pool = this.#pool;
    let done = false;
    return {
      get size() {
        return size;
      },
      async write(data: Uint8Array, position?: number): Promise<void> {
        if (position !== undefined && position !== size) throw new AppError('unsupported', `ftp: write at ${position}, the upload is at ${size}`);
        await new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(new AppError('io', `STOR ${p}: ${err.message}`)) : resolve())));
        size += data.length;
      },
      async sync(): Promise<void> {},
      async close(): Promise<void> {
        if (done) return;
        done = true;
        let reusable = false;
        try {
          // The end of the data connection is the end of the file.
          if (!socket.destroyed) await new Promise<void>((resolve) => socket.once('close', () => resolve()).end());
          const last = await c.read();
          reusable = true;
          expectReply(`STOR ${p}`, last, isDone);
        } finally {
          pool.release(c, reusable);
        }
      },
      async abort(): Promise<void> {
        if (done) return;
        done = true;
        // ABOR before the data connection closes: a closed data connection alone means "complete".
        await c.send('ABOR').catch(() => undefined);
        socket.destroy();
        pool.release(c, false);
      },
    };
  }

  rename(from: string, to: string): Promise<void> {
    const [a, b] = [normalize(from), normalize(to)];
    return this.#pool.use(async (c) => {
      const r = await c.send(`RNFR ${a}`);
      if (r.code !== 350) throw await this.#explain(c, `RNFR ${a}`, a, r, 'file');
      const r2 = await c.send(`RNTO ${b}`);
      if (!isDone(r2.code)) throw await this.#explain(c, `RNTO ${b}`, posix.dirname(b), r2, 'dir');
    });
  }

  remove(path: string): Promise<void> {
    const p = normalize(path);
    return this.#pool.use(async (c) => {
      const r = await c.send(`DELE ${p}`);
      if (!isDone(r.code)) throw await this.#explain(c, `DELE ${p}`, p, r, 'file');
    });
  }

  mkdir(path: string): Promise<void> {
    const p = normalize(path);
    return this.#pool.use(async (c) => {
      const r = await c.send(`MKD ${p}`);
      if (!isDone(r.code)) throw await this.#explain(c, `MKD ${p}`, p, r, 'absent');
    });
  }

  rmdir(path: string): Promise<void> {
    const p = normalize(path);
    return this.#pool.use(async (c) => {
      const r = await c.send(`RMD ${p}`);
      if (isDone(r.code)) return;
      const err = await this.#explain(c, `RMD ${p}`, p, r, 'dir');
      if (err.code !== 'permission_denied') throw err;
      // A directory that is there and still refused: not empty, unless it really is empty.
      let entries = 0;
      for await (const _ of this.#listOn(c, p)) entries++;
      throw entries > 0 ? replyError(`RMD ${p}`, r, 'not_empty') : err;
    });
  }

  /** MFMT sets the modification time only: FTP has no way to set the access time. */
  setTimes(path: string, _atimeMs: number, mtimeMs: number): Promise<void> {
    const p = normalize(path);
    return this.#pool.use(async (c) => {
      const r = await c.send(`MFMT ${formatTime(mtimeMs)} ${p}`);
      if (!isDone(r.code)) throw await this.#explain(c, `MFMT ${p}`, p, r, 'file');
    });
  }

  /** Only to 0 (an empty STOR) or to the current size: FTP cannot cut a file short. */
  async truncate(path: string, size: number): Promise<void> {
    const st = await this.stat(path);
    if (st.type === 'dir') throw new AppError('is_dir', `${path} is a directory`);
    if (size === st.size) return;
    if (size !== 0) throw new AppError('unsupported', 'ftp: a file can only be truncated to 0');
    const w = await this.openWrite(path);
    await w.close();
  }

  async statvfs(_path: string): Promise<FsUsage> {
    throw new AppError('unsupported', 'ftp: no file system usage over FTP');
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
