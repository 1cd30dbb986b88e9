// The SFTP backend: a directory on another SFTP server (OpenSSH or SFTPGo) serves as the root of one
// mount. Every path is confined below the configured prefix, through symlinks too (confine.ts).
// A whole-file upload goes to a temporary name beside the target and is renamed over it on close,
// so an aborted upload leaves the previous file untouched; resumed and exclusive uploads write in
// place. SFTP status codes fold most errno values into FAILURE, so the error paths look closer.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { SFTPFsConfig } from '../../config/schema-types.ts';
import { AppError } from '../../errors.ts';
import { utils, type SftpAttrs } from '../../lib/ssh2.ts';
import { checkAborted, destroyOnAbort } from '../abort.ts';
import type { CallOptions, Capabilities, EntryType, FileInfo, FileReader, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../fs.ts';
import { backendTempName } from '../temp-names.ts';
import { SftpPool, type SftpSession } from './connection.ts';
import { cleanPath, confinedPath } from './confine.ts';
import { connectParams, transferSettings, type SftpFsOptions, type TransferSettings } from './config.ts';
import { FX, sftpError, statusOf } from './errors.ts';
import { closeHandle, SftpReader, SftpReadStream, SftpWriter, type Window } from './transfer.ts';

export type { SftpFsOptions } from './config.ts';

const { OPEN_MODE } = utils.sftp;

/** What ssh2 reports for stat/readdir attributes (SFTP v3: whole seconds). */
type Attrs = SftpAttrs;

const BASE_CAPABILITIES = {
  realDirectories: true,
  randomWrites: true,
  resume: true,
  checksums: [],
} as const;
// Links (symlink, readlink, link) are left out on purpose: confining link targets below the prefix
// is not worth it here.

function typeOf(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

function infoOf(name: string, a: Attrs): FileInfo {
  return {
    name,
    type: typeOf(a.mode),
    size: a.size ?? 0,
    mtimeMs: (a.mtime ?? 0) * 1000,
    atimeMs: (a.atime ?? 0) * 1000,
    mode: a.mode & 0o7777,
    uid: a.uid ?? 0,
    gid: a.gid ?? 0,
    nlink: 1, // SFTP v3 does not carry the link count
  };
}

export async function openSftpFs(config: SFTPFsConfig, opts: SftpFsOptions = {}): Promise<SftpFs> {
  const fs = new SftpFs(new SftpPool(connectParams(config, opts)), transferSettings(config));
  if (opts.connect) await fs.connect();
  return fs;
}

export class SftpFs implements Fs {
  readonly kind = 'sftp';
  #caps: Capabilities | undefined;
  #capsFor: SftpSession | undefined;

  constructor(
    private readonly pool: SftpPool,
    private readonly settings: TransferSettings,
  ) {}

  /**
   * Rename atomicity depends on the extensions the server offered, so it is known after the first
   * connection; until then it reads false (the conservative answer).
   */
  get capabilities(): Capabilities {
    const s = this.pool.last;
    if (!this.#caps || this.#capsFor !== s) {
      this.#capsFor = s;
      this.#caps = Object.freeze({
        ...BASE_CAPABILITIES,
        atomicRename: s?.has('posix-rename@openssh.com') ?? false,
      });
    }
    return this.#caps;
  }

  /** Opens the connection now (it is otherwise opened by the first operation). */
  async connect(): Promise<void> {
    await this.pool.session();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** In-flight bytes: the configured window, capped by the SSH channel window in that direction. */
  #window(s: SftpSession, bytes: number, channel: number): Window {
    return { chunk: s.chunk, bytes: Math.max(s.chunk, Math.min(bytes, channel)) };
  }

  #stat(s: SftpSession, remote: string, follow = true): Promise<Attrs> {
    return s.call<Attrs>((cb) => (follow ? s.sftp.stat(remote, cb as never) : s.sftp.lstat(remote, cb as never)));
  }

  #lstatOrNone(s: SftpSession, remote: string): Promise<Attrs | undefined> {
    return this.#stat(s, remote, false).catch(() => undefined);
  }

  #open(s: SftpSession, remote: string, flags: number, mode = 0o644): Promise<Buffer> {
    return s.call<Buffer>((cb) => s.sftp.open(remote, flags, { mode }, cb));
  }

  stat(path: string, o: CallOptions = {}): Promise<FileInfo> {
    return this.pool.run({ op: 'stat', path, idempotent: true, signal: o.signal }, async (s) =>
      infoOf(posix.basename(cleanPath(path)), await this.#stat(s, await confinedPath(s, path, true))),
    );
  }

  lstat(path: string, o: CallOptions = {}): Promise<FileInfo> {
    return this.pool.run({ op: 'lstat', path, idempotent: true, signal: o.signal }, async (s) =>
      infoOf(posix.basename(cleanPath(path)), await this.#stat(s, await confinedPath(s, path, false), false)),
    );
  }

  async *list(path: string, o: CallOptions = {}): AsyncIterable<FileInfo> {
    const release = ({ s, handle }: { s: SftpSession; handle: Buffer }): Promise<void> => closeHandle(s, handle).catch(() => undefined).finally(() => s.release());
    const { s, handle } = await this.pool.run({ op: 'list', path, idempotent: true, signal: o.signal, dispose: release }, async (s) => {
      const remote = await confinedPath(s, path, true);
      const handle = await s.call<Buffer>((cb) => s.sftp.opendir(remote, cb)).catch(async (err) => {
        // OpenSSH reports opendir of a file as "no such file" (ENOTDIR folds into it).
        const st = await this.#stat(s, remote).catch(() => undefined);
        if (st && typeOf(st.mode) !== 'dir') throw new AppError('not_dir', `list ${path}: not a directory`);
        throw err;
      });
      s.hold();
      return { s, handle };
    });
    try {
      for (;;) {
        let page: { filename: string; attrs: Attrs }[];
        try {
          checkAborted(o.signal, 'list', path);
          page = await s.call((cb) => s.sftp.readdir(handle, cb as never));
        } catch (err) {
          if (statusOf(err) === FX.EOF) return;
          throw sftpError(err, 'list', path);
        }
        for (const e of page) yield infoOf(e.filename, e.attrs);
      }
    } finally {
      // Also on an early break or an abort: the directory handle must not outlive the iteration.
      await release({ s, handle });
    }
  }

  /** Opens for reading and stats in parallel (one round trip); a directory is refused. */
  async #openForRead(s: SftpSession, path: string): Promise<{ handle: Buffer; size: number }> {
    const remote = await confinedPath(s, path, true);
    const [h, st] = await Promise.allSettled([this.#open(s, remote, OPEN_MODE.READ), this.#stat(s, remote)]);
    if (h.status === 'rejected') throw h.reason;
    if (st.status === 'rejected' || typeOf(st.value.mode) === 'dir') {
      await closeHandle(s, h.value).catch(() => undefined);
      if (st.status === 'rejected') throw st.reason;
      throw new AppError('is_dir', `open ${path}: is a directory`);
    }
    s.hold(); // released when the stream or reader closes
    return { handle: h.value, size: st.value.size };
  }

  openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    const o = range;
    return this.pool.run({ op: 'open', path, idempotent: true, signal: o.signal }, async (s) => {
      const { handle, size } = await this.#openForRead(s, path);
      const start = range.start ?? 0;
      const end = range.end === undefined ? Infinity : range.end + 1;
      // Destroying the stream (here on abort) closes its handle.
      const stream = new SftpReadStream(s, handle, path, start, end, size, this.#window(s, this.settings.readWindow, s.receiveWindow));
      return destroyOnAbort(stream, o.signal, 'read', path);
    });
  }

  openReader(path: string, o: CallOptions = {}): Promise<FileReader> {
    const req = { op: 'open', path, idempotent: true, signal: o.signal, dispose: (r: FileReader) => r.close() };
    return this.pool.run(req, async (s) => {
      const { handle } = await this.#openForRead(s, path);
      return new SftpReader(s, handle, path, this.#window(s, this.settings.readWindow, s.receiveWindow), o.signal);
    });
  }

  openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const o = opts;
    // Opening again after a lost connection is harmless, except for an exclusive create.
    const req = { op: 'create', path, idempotent: !opts.exclusive, signal: o.signal, dispose: (w: FileWriter) => w.abort() };
    return this.pool.run(req, async (s) => {
      const remote = await confinedPath(s, path, true);
      const mode = opts.mode ?? 0o644;
      const resume = opts.offset !== undefined || opts.append === true;
      const truncate = opts.truncate ?? !resume;
      const window = this.#window(s, this.settings.writeWindow, s.sendWindow);
      const W = OPEN_MODE.WRITE | OPEN_MODE.CREAT;
      if (opts.exclusive) {
        // Written in place: the file is ours from the start, so an abort simply removes it.
        const handle = await this.#open(s, remote, W | OPEN_MODE.EXCL, mode).catch(async (err) => {
          if ((await this.#lstatOrNone(s, remote)) !== undefined) throw new AppError('exists', `create ${path}: already exists`);
          throw err;
        });
        s.hold();
        return new SftpWriter(s, handle, 0, path, window, { commit: async () => {}, discard: () => this.#unlink(s, remote), signal: o.signal });
      }
      if (resume || !truncate) {
        // Resume and partial rewrites land in place: keeping what is there is the point.
        const handle = await this.#open(s, remote, W | (truncate ? OPEN_MODE.TRUNC : 0), mode);
        let start = opts.offset ?? 0;
        if (opts.append) start = (await s.call<Attrs>((cb) => s.sftp.fstat(handle, cb as never)).catch(() => ({ size: 0 }) as Attrs)).size;
        s.hold();
        return new SftpWriter(s, handle, start, path, window, { commit: async () => {}, discard: async () => {}, signal: o.signal });
      }
      // The core hides this name from listings and refuses it by name (temp-names.ts).
      const temp = posix.join(posix.dirname(remote), backendTempName());
      const handle = await this.#open(s, temp, W | OPEN_MODE.TRUNC | OPEN_MODE.EXCL, mode);
      s.hold();
      return new SftpWriter(s, handle, 0, path, window, {
        commit: () => this.#replace(s, temp, remote, path),
        discard: () => this.#unlink(s, temp),
        signal: o.signal,
      });
    });
  }

  #unlink(s: SftpSession, remote: string): Promise<void> {
    return s.call<void>((cb) => s.sftp.unlink(remote, (err) => cb(err, undefined)));
  }

  /** Moves `from` over `to`: atomically with posix-rename, else by removing the target first. */
  async #replace(s: SftpSession, from: string, to: string, path: string): Promise<void> {
    if (s.has('posix-rename@openssh.com')) {
      await s.call<void>((cb) => s.sftp.ext_openssh_rename(from, to, (err) => cb(err, undefined)));
      return;
    }
    const rename = (): Promise<void> => s.call<void>((cb) => s.sftp.rename(from, to, (err) => cb(err, undefined)));
    try {
      await rename();
    } catch (err) {
      const target = await this.#lstatOrNone(s, to);
      if (target === undefined) throw err;
      if (typeOf(target.mode) === 'dir') throw new AppError('is_dir', `rename ${path}: target is a directory`);
      await this.#unlink(s, to);
      await rename();
    }
  }

  rename(from: string, to: string, o: CallOptions = {}): Promise<void> {
    return this.pool.run({ op: 'rename', path: from, idempotent: false, signal: o.signal }, async (s) => {
      if (cleanPath(from) === '/' || cleanPath(to) === '/') throw new AppError('permission_denied', 'the root cannot be renamed');
      const a = await confinedPath(s, from, false);
      const b = await confinedPath(s, to, false);
      await this.#replace(s, a, b, from);
    });
  }

  remove(path: string, o: CallOptions = {}): Promise<void> {
    return this.pool.run({ op: 'remove', path, idempotent: false, signal: o.signal }, async (s) => {
      const remote = await confinedPath(s, path, false);
      try {
        await this.#unlink(s, remote);
      } catch (err) {
        // OpenSSH reports unlink(dir) as a bare FAILURE (or PERMISSION_DENIED on some systems).
        if (statusOf(err) !== FX.NO_SUCH_FILE) {
          const st = await this.#lstatOrNone(s, remote);
          if (st && typeOf(st.mode) === 'dir') throw new AppError('is_dir', `remove ${path}: is a directory`);
        }
        throw err;
      }
    });
  }

  mkdir(path: string, o: CallOptions = {}): Promise<void> {
    return this.pool.run({ op: 'mkdir', path, idempotent: false, signal: o.signal }, async (s) => {
      const remote = await confinedPath(s, path, false);
      try {
        await s.call<void>((cb) => s.sftp.mkdir(remote, { mode: 0o755 }, (err) => cb(err, undefined)));
      } catch (err) {
        if (statusOf(err) === FX.FAILURE && (await this.#lstatOrNone(s, remote))) throw new AppError('exists', `mkdir ${path}: already exists`);
        throw err;
      }
    });
  }

  rmdir(path: string, o: CallOptions = {}): Promise<void> {
    return this.pool.run({ op: 'rmdir', path, idempotent: false, signal: o.signal }, async (s) => {
      if (cleanPath(path) === '/') throw new AppError('permission_denied', 'the root cannot be removed');
      const remote = await confinedPath(s, path, false);
      try {
        await s.call<void>((cb) => s.sftp.rmdir(remote, (err) => cb(err, undefined)));
      } catch (err) {
        // SFTP v3 has no ENOTEMPTY/ENOTDIR: look at what is there to say which it was.
        const st = await this.#lstatOrNone(s, remote);
        if (st && typeOf(st.mode) !== 'dir') throw new AppError('not_dir', `rmdir ${path}: not a directory`);
        if (st && statusOf(err) === FX.FAILURE) throw new AppError('not_empty', `rmdir ${path}: directory not empty`);
        throw err;
      }
    });
  }

  #setstat(op: string, path: string, attrs: Record<string, number>, o: CallOptions): Promise<void> {
    return this.pool.run({ op: op, path, idempotent: true, signal: o.signal }, async (s) => {
      const remote = await confinedPath(s, path, true);
      await s.call<void>((cb) => s.sftp.setstat(remote, attrs, (err) => cb(err, undefined)));
    });
  }

  setTimes(path: string, atimeMs: number, mtimeMs: number, o: CallOptions = {}): Promise<void> {
    return this.#setstat('utimes', path, { atime: Math.floor(atimeMs / 1000), mtime: Math.floor(mtimeMs / 1000) }, o);
  }

  truncate(path: string, size: number, o: CallOptions = {}): Promise<void> {
    return this.#setstat('truncate', path, { size }, o);
  }

  chmod(path: string, mode: number, o: CallOptions = {}): Promise<void> {
    return this.#setstat('chmod', path, { mode: mode & 0o7777 }, o);
  }

  chown(path: string, uid: number, gid: number, o: CallOptions = {}): Promise<void> {
    return this.#setstat('chown', path, { uid, gid }, o);
  }

  statvfs(path: string, o: CallOptions = {}): Promise<FsUsage> {
    return this.pool.run({ op: 'statvfs', path, idempotent: true, signal: o.signal }, async (s) => {
      if (!s.has('statvfs@openssh.com')) throw new AppError('unsupported', 'statvfs: the server does not offer statvfs@openssh.com');
      const remote = await confinedPath(s, path, true);
      const v = await s.call<Record<string, number | bigint>>((cb) => s.sftp.ext_openssh_statvfs(remote, cb));
      const n = (k: string): number => Number(v[k] ?? 0);
      return {
        blockSize: n('f_frsize') || n('f_bsize'),
        blocks: n('f_blocks'),
        blocksFree: n('f_bfree'),
        blocksAvail: n('f_bavail'),
        files: n('f_files'),
        filesFree: n('f_ffree'),
        nameMax: n('f_namemax') || 255,
      };
    });
  }

  /**
   * Server-side copy with the `copy-data` extension: present once a connection showed the server
   * offers it (like atomicRename, unknown and so absent before the first connection).
   */
  get copy(): ((from: string, to: string, o?: CallOptions) => Promise<void>) | undefined {
    return this.pool.last?.has('copy-data') ? this.#copy : undefined;
  }

  readonly #copy = (from: string, to: string, o: CallOptions = {}): Promise<void> => {
    return this.pool.run({ op: 'copy', path: from, idempotent: false, signal: o.signal }, async (s) => {
      if (!s.has('copy-data')) throw new AppError('unsupported', 'copy: the server does not offer copy-data');
      const { handle: src } = await this.#openForRead(s, from);
      s.release(); // #openForRead holds for a stream; this handle is closed below
      try {
        const remote = await confinedPath(s, to, true);
        const dst = await this.#open(s, remote, OPEN_MODE.WRITE | OPEN_MODE.CREAT | OPEN_MODE.TRUNC);
        try {
          await s.call<void>((cb) => s.sftp.ext_copy_data(src, 0, 0, dst, 0, (err) => cb(err, undefined)));
        } finally {
          await closeHandle(s, dst).catch(() => undefined);
        }
      } finally {
        await closeHandle(s, src).catch(() => undefined);
      }
    });
  };
}
