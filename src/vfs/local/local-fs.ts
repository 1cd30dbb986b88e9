// The local filesystem backend: a directory on this machine serves as the root of one mount.
// It confines every path to its root, including through symlinks: the real path of whatever a
// request touches must stay inside the real root, so a link to "/" placed in a home is useless.
// A disk call cannot be interrupted halfway, so a signal is checked before each step and handed
// to the read streams (node:fs destroys them on abort); open handles check it on every read/write.
// Metadata calls (realpath, stat, open, rename...) are synchronous: on a local disk each answers in
// microseconds, while an asynchronous one costs several times that in thread-pool hand-offs
// (measured under Bun: lstat 1.8 against 13 µs of CPU, open+close 1.5 against 30), which is
// what an SFTP client uploading or listing many small files waits for. Reads and writes of file
// data stay asynchronous, so the disk and the ciphers work at the same time, but for the few calls
// a small file is made of (file.ts).
// Temporary uploads (a base name of temp-names.ts) are journaled while they exist and, with a
// staging dir (common.temp_path), live there instead of beside their target: the core names them
// as usual and this backend alone knows where they are.
import {
  chmodSync,
  chownSync,
  constants,
  createReadStream,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  opendirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  type Dir,
  type Stats,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { posix, sep, join, relative, isAbsolute, resolve as resolveOs, dirname, basename } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../errors.ts';
import { checkAborted } from '../abort.ts';
import type { CallOptions, Capabilities, FileInfo, FileReader, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../fs.ts';
import type { LocalStaging } from '../options.ts';
import { isTempUploadName } from '../temp-names.ts';
import { sendfile } from '../../runtime.ts';
import { fsError } from './errors.ts';
import { LocalReader, LocalWriter } from './file.ts';

const CAPABILITIES: Capabilities = Object.freeze({
  atomicRename: true,
  realDirectories: true,
  randomWrites: true,
  resume: true,
  lowLatencyReads: true,
  checksums: [],
});

const LIST_BUFFER = 128;

function infoOf(name: string, st: Stats): FileInfo {
  return {
    name,
    type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other',
    size: st.size,
    mtimeMs: st.mtimeMs,
    atimeMs: st.atimeMs,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    nlink: st.nlink,
  };
}

/** Where a backend path lands on disk, once checked (LocalFs#locate). */
interface Located {
  os: string;
  /** Why the path itself is missing (its parent exists, inside the root). */
  missing?: unknown;
  /**
   * The checked real path to act on: fully resolved when the last component is followed, else the
   * real parent plus the last name. Unset for staged uploads and paths missing above their parent.
   */
  real?: string;
}

/**
 * Opens a local root, creating it when missing (a user's home is created at first login). With
 * `createRoot: false` (a user's filters.disable_fs_checks) the root is neither created nor required
 * to exist: requests then fail as the disk answers them.
 */
export async function openLocalFs(root: string, opts: { createRoot?: boolean; staging?: LocalStaging } = {}): Promise<LocalFs> {
  if (!isAbsolute(root)) throw new AppError('config', `local root must be absolute: ${root}`);
  if (opts.createRoot === false) {
    let real: string;
    try {
      real = realpathSync.native(root);
    } catch {
      real = resolveOs(root);
    }
    return new LocalFs(real, opts.staging);
  }
  // Synchronous, like the backend's metadata calls: each login opens one of these per mount.
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    return new LocalFs(realpathSync.native(root), opts.staging);
  } catch (err) {
    throw fsError(err, 'mkdir', '/');
  }
}

/** Entries listed between two turns of the event loop: each listing also yields before its first. */
const YIELD_EVERY = 256;

export class LocalFs implements Fs {
  readonly kind = 'local';
  readonly capabilities = CAPABILITIES;

  readonly #rootSlash: string;

  /** `root` must be a real (symlink-free) absolute path; use openLocalFs(). */
  constructor(
    readonly root: string,
    private readonly staging: LocalStaging = {},
  ) {
    this.#rootSlash = root.endsWith(sep) ? root : root + sep;
  }

  /** The OS path of a backend path, without touching the disk. */
  osPath(path: string): string {
    if (path.includes('\0')) throw new AppError('invalid', 'path contains a NUL byte');
    const clean = posix.normalize(`/${path}`);
    if (this.#staged(clean)) return join(this.staging.dir!, posix.basename(clean));
    return clean === '/' ? this.root : join(this.root, ...clean.slice(1).split('/'));
  }

  /** True when `path` names a temporary upload kept in the staging dir rather than beside its target. */
  #staged(path: string): boolean {
    return this.staging.dir !== undefined && isTempUploadName(posix.basename(path));
  }

  /** Journals a temporary upload about to be created at `os`. */
  async #beginTemp(path: string, os: string): Promise<void> {
    if (isTempUploadName(posix.basename(path))) await this.staging.journal?.begin(os);
  }

  #endTemp(path: string, os: string): void {
    if (isTempUploadName(posix.basename(path))) this.staging.journal?.end(os);
  }

  #inside(real: string): boolean {
    return real === this.root || real.startsWith(this.#rootSlash);
  }

  /**
   * The OS path for `path` after checking where it really lands. With `followLast` the final
   * component is resolved too (open, stat, list); without it only its parent is (lstat, remove,
   * rename, readlink), so a symlink itself can be managed wherever it points.
   */
  #confined(path: string, followLast: boolean, op: string, signal: AbortSignal | undefined): string {
    return this.#locate(path, followLast, op, signal).os;
  }

  /**
   * #confined(), also telling when the path itself was found missing (its parent is inside), and
   * the checked real path to use instead of `os`: symlink-free up to the last component, so a link
   * swapped into the path after the check is not followed out of the root.
   */
  #locate(path: string, followLast: boolean, op: string, signal: AbortSignal | undefined): Located {
    checkAborted(signal, op, path);
    const os = this.osPath(path);
    if (os === this.root) return { os, real: os };
    if (this.#staged(posix.normalize(`/${path}`))) {
      // The staging dir is the server's own; what must be inside the root is where the upload
      // will land, and that directory must exist, as it must for a write in place.
      const parent = this.#locate(posix.dirname(posix.normalize(`/${path}`)), true, op, signal);
      if (parent.missing) throw fsError(parent.missing, op, path);
      return { os };
    }
    const checkFrom = followLast ? os : dirname(os);
    let probe = checkFrom;
    let missing: unknown;
    // Walk up to the deepest existing ancestor: a path being created does not exist yet.
    for (;;) {
      let real: string;
      try {
        real = realpathSync.native(probe);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' || probe === this.root) throw fsError(err, op, path);
        if (probe === os) missing = err;
        probe = dirname(probe);
        continue;
      }
      if (!this.#inside(real)) throw new AppError('permission_denied', `${op} ${path}: outside the root`);
      if (probe === checkFrom) return { os, missing, real: followLast ? real : join(real, basename(os)) };
      // The missing path's parent itself: the same real directory plus the new name.
      if (probe === dirname(os)) return { os, missing, real: join(real, basename(os)) };
      return { os, missing };
    }
  }

  async stat(path: string, opts: CallOptions = {}): Promise<FileInfo> {
    const name = posix.basename(posix.normalize(`/${path}`));
    const { os, real } = this.#locate(path, false, 'stat', opts.signal);
    try {
      if (!real) return infoOf(name, statSync(os));
      // The parent is checked, so an entry that is not a link is what it says, and a missing one
      // is missing: no failed realpath and no error object on the way (a new file's upload asks
      // this first).
      const st = lstatSync(real, { throwIfNoEntry: false });
      if (!st) throw fsError({ code: 'ENOENT' }, 'stat', path);
      return infoOf(name, st.isSymbolicLink() ? statSync(this.#linkTarget(real, 'stat', path)) : st);
    } catch (err) {
      throw fsError(err, 'stat', path);
    }
  }

  /** Where the link at checked path `link` really leads, refused unless inside the root. */
  #linkTarget(link: string, op: string, path: string): string {
    let target: string;
    try {
      target = realpathSync.native(link);
    } catch (err) {
      throw fsError(err, op, path);
    }
    if (!this.#inside(target)) throw new AppError('permission_denied', `${op} ${path}: outside the root`);
    return target;
  }

  async lstat(path: string, opts: CallOptions = {}): Promise<FileInfo> {
    const { os, real } = this.#locate(path, false, 'lstat', opts.signal);
    try {
      return infoOf(posix.basename(posix.normalize(`/${path}`)), lstatSync(real ?? os));
    } catch (err) {
      throw fsError(err, 'lstat', path);
    }
  }

  async *list(path: string, opts: CallOptions = {}): AsyncIterable<FileInfo> {
    const { os, real } = this.#locate(path, true, 'list', opts.signal);
    const at = real ?? os;
    let dir: Dir;
    try {
      dir = opendirSync(at, { bufferSize: LIST_BUFFER });
    } catch (err) {
      throw fsError(err, 'list', path);
    }
    try {
      let n = 0;
      for (let entry = dir.readSync(); entry; entry = dir.readSync()) {
        // The calls are synchronous (cheaper than the thread pool's round trips); a walk over a big
        // tree (a quota scan, a listing of 100,000 names) must still let every other session run.
        if (n++ % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        checkAborted(opts.signal, 'list', path);
        let st: Stats | undefined;
        try {
          st = lstatSync(join(at, entry.name));
        } catch {
          // Removed between readdir and lstat: simply not listed.
          continue;
        }
        yield infoOf(entry.name, st);
      }
    } catch (err) {
      throw fsError(err, 'list', path);
    } finally {
      dir.closeSync();
    }
  }

  async openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    const fd = this.#openFd(path, constants.O_RDONLY, 0, 'open', range.signal);
    return createReadStream('', {
      fd,
      start: range.start,
      end: range.end,
      autoClose: true,
      highWaterMark: 256 * 1024,
      ...(range.signal ? { signal: range.signal } : {}),
    });
  }

  async openReader(path: string, opts: CallOptions = {}): Promise<FileReader> {
    return new LocalReader(this.#openFd(path, constants.O_RDONLY, 0, 'open', opts.signal), path, opts.signal, await sendfile());
  }

  async openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const resume = opts.offset !== undefined || opts.append === true;
    const truncate = opts.truncate ?? !resume;
    let flags = constants.O_WRONLY | constants.O_CREAT;
    if (truncate) flags |= constants.O_TRUNC;
    if (opts.exclusive) flags |= constants.O_EXCL;
    const temp = this.osPath(path);
    await this.#beginTemp(path, temp);
    let fd: number;
    try {
      fd = this.#openFd(path, flags, opts.mode ?? 0o644, 'create', opts.signal);
    } catch (err) {
      this.#endTemp(path, temp);
      throw err;
    }
    const start = opts.append ? fstatSync(fd).size : (opts.offset ?? 0);
    return new LocalWriter(fd, start, path, opts.signal);
  }

  /**
   * Opens the path without following its last component: only its parent is resolved and checked,
   * so a link swapped in after the check is not followed out of the root. A link found there is
   * opened where it really leads when that is inside; a dangling one is followed one step, to a
   * target checked like any new file.
   */
  #openFd(path: string, flags: number, mode: number, op: string, signal: AbortSignal | undefined): number {
    const { os, real } = this.#locate(path, false, op, signal);
    if (!real) return this.#open(os, flags, mode, op, path);
    const noFollow = flags | constants.O_NOFOLLOW;
    try {
      return openSync(real, noFollow, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw fsError(err, op, path);
    }
    let target: string;
    try {
      target = this.#linkTarget(real, op, path);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'not_found') throw err;
      const dangling = resolveOs(dirname(real), this.#readlink(real, op, path));
      target = join(this.#realDir(dirname(dangling), op, path), basename(dangling));
    }
    return this.#open(target, noFollow, mode, op, path);
  }

  #open(os: string, flags: number, mode: number, op: string, path: string): number {
    try {
      return openSync(os, flags, mode);
    } catch (err) {
      throw fsError(err, op, path);
    }
  }

  #readlink(os: string, op: string, path: string): string {
    try {
      return readlinkSync(os);
    } catch (err) {
      throw fsError(err, op, path);
    }
  }

  /** The real path of directory `os`, refused unless it is inside the root. */
  #realDir(os: string, op: string, path: string): string {
    let real: string;
    try {
      real = realpathSync.native(os);
    } catch (err) {
      throw fsError(err, op, path);
    }
    if (!this.#inside(real)) throw new AppError('permission_denied', `${op} ${path}: outside the root`);
    return real;
  }

  /** The path to act on: the checked real one when there is one. */
  #at(path: string, followLast: boolean, op: string, signal: AbortSignal | undefined): string {
    const { os, real } = this.#locate(path, followLast, op, signal);
    return real ?? os;
  }

  async rename(from: string, to: string, opts: CallOptions = {}): Promise<void> {
    const source = this.#locate(from, false, 'rename', opts.signal);
    const a = source.real ?? source.os;
    const b = this.#at(to, false, 'rename', opts.signal);
    try {
      renameSync(a, b);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV' || !this.#staged(from)) throw fsError(err, 'rename', from);
      await this.#renameAcross(a, b, from);
    }
    // The journal knows a temporary upload by the path it was begun with.
    this.#endTemp(from, source.os);
  }

  /**
   * A staging dir on another filesystem than the target: the file is copied beside the target
   * under its temporary name (journaled too), renamed into place from there, so the target still
   * changes in one step, and the staged copy removed.
   */
  async #renameAcross(a: string, b: string, from: string): Promise<void> {
    const beside = join(dirname(b), posix.basename(from));
    await this.staging.journal?.begin(beside);
    try {
      await fsp.copyFile(a, beside);
      await fsp.rename(beside, b);
    } catch (err) {
      await fsp.unlink(beside).catch(() => undefined);
      this.staging.journal?.end(beside);
      throw fsError(err, 'rename', from);
    }
    this.staging.journal?.end(beside);
    await fsp.unlink(a).catch(() => undefined);
  }

  async remove(path: string, opts: CallOptions = {}): Promise<void> {
    const { os, real } = this.#locate(path, false, 'remove', opts.signal);
    try {
      if (lstatSync(real ?? os).isDirectory()) throw new AppError('is_dir', `remove ${path}: is a directory`);
      unlinkSync(real ?? os);
    } catch (err) {
      if (err instanceof AppError) throw err;
      // A temporary file already gone is gone from the journal too.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.#endTemp(path, os);
      throw fsError(err, 'remove', path);
    }
    this.#endTemp(path, os);
  }

  async mkdir(path: string, opts: CallOptions = {}): Promise<void> {
    const os = this.#at(path, false, 'mkdir', opts.signal);
    this.#sync(() => mkdirSync(os, { mode: 0o755 }), 'mkdir', path);
  }

  async rmdir(path: string, opts: CallOptions = {}): Promise<void> {
    const os = this.#at(path, false, 'rmdir', opts.signal);
    if (os === this.root) throw new AppError('permission_denied', 'the root cannot be removed');
    this.#sync(() => rmdirSync(os), 'rmdir', path);
  }

  async setTimes(path: string, atimeMs: number, mtimeMs: number, opts: CallOptions = {}): Promise<void> {
    const os = this.#at(path, true, 'utimes', opts.signal);
    this.#sync(() => utimesSync(os, atimeMs / 1000, mtimeMs / 1000), 'utimes', path);
  }

  async truncate(path: string, size: number, opts: CallOptions = {}): Promise<void> {
    const os = this.#at(path, true, 'truncate', opts.signal);
    this.#sync(() => truncateSync(os, size), 'truncate', path);
  }

  async chmod(path: string, mode: number, opts: CallOptions = {}): Promise<void> {
    const os = this.#at(path, true, 'chmod', opts.signal);
    this.#sync(() => chmodSync(os, mode & 0o7777), 'chmod', path);
  }

  async chown(path: string, uid: number, gid: number, opts: CallOptions = {}): Promise<void> {
    const os = this.#at(path, true, 'chown', opts.signal);
    this.#sync(() => chownSync(os, uid, gid), 'chown', path);
  }

  /** Runs one metadata system call, its error mapped for `op` on `path`. */
  #sync(call: () => void, op: string, path: string): void {
    try {
      call();
    } catch (err) {
      throw fsError(err, op, path);
    }
  }

  async copy(from: string, to: string, opts: CallOptions = {}): Promise<void> {
    const a = this.#at(from, true, 'copy', opts.signal);
    const b = this.#confined(to, false, 'copy', opts.signal);
    await this.#beginTemp(to, b);
    await fsp.copyFile(a, b).catch((err) => {
      this.#endTemp(to, b);
      throw fsError(err, 'copy', from);
    });
  }

  async symlink(target: string, linkPath: string, opts: CallOptions = {}): Promise<void> {
    const os = this.#confined(linkPath, false, 'symlink', opts.signal);
    // Stored relative to the link's directory so the tree stays valid if the root moves.
    const targetOs = this.osPath(target);
    const rel = relative(dirname(os), targetOs) || '.';
    this.#sync(() => symlinkSync(rel, os), 'symlink', linkPath);
  }

  async readlink(path: string, opts: CallOptions = {}): Promise<string> {
    const os = this.#confined(path, false, 'readlink', opts.signal);
    const raw = this.#readlink(os, 'readlink', path);
    const abs = isAbsolute(raw) ? raw : resolveOs(dirname(os), raw);
    if (!this.#inside(abs)) throw new AppError('permission_denied', `readlink ${path}: target outside the root`);
    const rel = relative(this.root, abs);
    return '/' + rel.split(sep).join('/');
  }

  async link(existing: string, newPath: string, opts: CallOptions = {}): Promise<void> {
    const a = this.#at(existing, false, 'link', opts.signal);
    const b = this.#at(newPath, false, 'link', opts.signal);
    this.#sync(() => linkSync(a, b), 'link', newPath);
  }

  async statvfs(path: string, opts: CallOptions = {}): Promise<FsUsage> {
    const os = this.#at(path, true, 'statvfs', opts.signal);
    const st = await fsp.statfs(os).catch((err) => Promise.reject(fsError(err, 'statvfs', path)));
    return {
      blockSize: st.bsize,
      blocks: st.blocks,
      blocksFree: st.bfree,
      blocksAvail: st.bavail,
      files: st.files,
      filesFree: st.ffree,
      nameMax: 255,
    };
  }
}
