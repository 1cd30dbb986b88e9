// The local filesystem backend: a directory on this machine serves as the root of one mount.
// It confines every path to its root, including through symlinks: the real path of whatever a
// request touches must stay inside the real root, so a link to "/" placed in a home is useless.
// A disk call cannot be interrupted halfway, so a signal is checked before each step and handed
// to the read streams (node:fs destroys them on abort); open handles check it on every read/write.
// Temporary uploads (a base name of temp-names.ts) are journaled while they exist and, with a
// staging dir (common.temp_path), live there instead of beside their target: the core names them
// as usual and this backend alone knows where they are.
import { close as closeCb, constants, createReadStream, open as openCb, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { posix, sep, join, relative, isAbsolute, resolve as resolveOs, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../errors.ts';
import { checkAborted } from '../abort.ts';
import type { CallOptions, Capabilities, FileInfo, FileReader, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../fs.ts';
import type { LocalStaging } from '../options.ts';
import { isTempUploadName } from '../temp-names.ts';
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

function openFd(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => openCb(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/**
 * Opens a local root, creating it when missing (a user's home is created at first login). With
 * `createRoot: false` (a user's filters.disable_fs_checks) the root is neither created nor required
 * to exist: requests then fail as the disk answers them.
 */
export async function openLocalFs(root: string, opts: { createRoot?: boolean; staging?: LocalStaging } = {}): Promise<LocalFs> {
  if (!isAbsolute(root)) throw new AppError('config', `local root must be absolute: ${root}`);
  if (opts.createRoot === false) {
    const real = await fsp.realpath(root).catch(() => resolveOs(root));
    return new LocalFs(real, opts.staging);
  }
  await fsp.mkdir(root, { recursive: true, mode: 0o700 }).catch((err) => Promise.reject(fsError(err, 'mkdir', '/')));
  return new LocalFs(await fsp.realpath(root), opts.staging);
}

export class LocalFs implements Fs {
  readonly kind = 'local';
  readonly capabilities = CAPABILITIES;

  /** `root` must be a real (symlink-free) absolute path; use openLocalFs(). */
  constructor(
    readonly root: string,
    private readonly staging: LocalStaging = {},
  ) {}

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
    return real === this.root || real.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep);
  }

  /**
   * The OS path for `path` after checking where it really lands. With `followLast` the final
   * component is resolved too (open, stat, list); without it only its parent is (lstat, remove,
   * rename, readlink), so a symlink itself can be managed wherever it points.
   */
  async #confined(path: string, followLast: boolean, op: string, signal: AbortSignal | undefined): Promise<string> {
    return (await this.#locate(path, followLast, op, signal)).os;
  }

  /** #confined(), also telling when the path itself was found missing (its parent is inside). */
  async #locate(path: string, followLast: boolean, op: string, signal: AbortSignal | undefined): Promise<{ os: string; missing?: unknown }> {
    checkAborted(signal, op, path);
    const os = this.osPath(path);
    if (os === this.root) return { os };
    if (this.#staged(posix.normalize(`/${path}`))) {
      // The staging dir is the server's own; what must be inside the root is where the upload
      // will land, and that directory must exist, as it must for a write in place.
      const parent = await this.#locate(posix.dirname(posix.normalize(`/${path}`)), true, op, signal);
      if (parent.missing) throw fsError(parent.missing, op, path);
      return { os };
    }
    const checkFrom = followLast ? os : dirname(os);
    let probe = checkFrom;
    let missing: unknown;
    // Walk up to the deepest existing ancestor: a path being created does not exist yet.
    for (;;) {
      try {
        const real = await fsp.realpath(probe);
        if (!this.#inside(real)) throw new AppError('permission_denied', `${op} ${path}: outside the root`);
        return { os, missing };
      } catch (err) {
        if (err instanceof AppError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' || probe === this.root) throw fsError(err, op, path);
        if (probe === os) missing = err;
        probe = dirname(probe);
      }
    }
  }

  async stat(path: string, opts: CallOptions = {}): Promise<FileInfo> {
    const { os, missing } = await this.#locate(path, true, 'stat', opts.signal);
    // realpath already found nothing there: a stat would only say so again (a new file's upload
    // asks this first, so one disk call less per file).
    if (missing) throw fsError(missing, 'stat', path);
    try {
      return infoOf(posix.basename(posix.normalize(`/${path}`)), await fsp.stat(os));
    } catch (err) {
      throw fsError(err, 'stat', path);
    }
  }

  async lstat(path: string, opts: CallOptions = {}): Promise<FileInfo> {
    const os = await this.#confined(path, false, 'lstat', opts.signal);
    try {
      return infoOf(posix.basename(posix.normalize(`/${path}`)), await fsp.lstat(os));
    } catch (err) {
      throw fsError(err, 'lstat', path);
    }
  }

  async *list(path: string, opts: CallOptions = {}): AsyncIterable<FileInfo> {
    const os = await this.#confined(path, true, 'list', opts.signal);
    let dir: Awaited<ReturnType<typeof fsp.opendir>>;
    try {
      dir = await fsp.opendir(os, { bufferSize: LIST_BUFFER });
    } catch (err) {
      throw fsError(err, 'list', path);
    }
    try {
      for await (const entry of dir) {
        checkAborted(opts.signal, 'list', path);
        try {
          yield infoOf(entry.name, await fsp.lstat(join(os, entry.name)));
        } catch {
          // Removed between readdir and lstat: simply not listed.
        }
      }
    } catch (err) {
      throw fsError(err, 'list', path);
    } finally {
      // for-await closes the Dir on completion; an early break or throw closes it here.
      await dir.close().catch(() => undefined);
    }
  }

  async openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    const fd = await this.#openFd(path, constants.O_RDONLY, 0, 'open', range.signal);
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
    return new LocalReader(await this.#openFd(path, constants.O_RDONLY, 0, 'open', opts.signal), path, opts.signal);
  }

  async openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const resume = opts.offset !== undefined || opts.append === true;
    const truncate = opts.truncate ?? !resume;
    let flags = constants.O_WRONLY | constants.O_CREAT;
    if (truncate) flags |= constants.O_TRUNC;
    if (opts.exclusive) flags |= constants.O_EXCL;
    const temp = this.osPath(path);
    await this.#beginTemp(path, temp);
    const fd = await this.#openFd(path, flags, opts.mode ?? 0o644, 'create', opts.signal).catch((err) => {
      this.#endTemp(path, temp);
      throw err;
    });
    let start = opts.offset ?? 0;
    if (opts.append) {
      const st = await fsp.stat(this.osPath(path)).catch(() => undefined);
      start = st?.size ?? 0;
    }
    return new LocalWriter(fd, start, path, opts.signal);
  }

  async #openFd(path: string, flags: number, mode: number, op: string, signal: AbortSignal | undefined): Promise<number> {
    const os = await this.#confined(path, true, op, signal);
    let fd: number;
    try {
      // O_NOFOLLOW is not needed: the real path was checked just above, and a link swapped in
      // between is the same race any local server has (the home owner controls the tree).
      fd = await openFd(os, flags, mode);
    } catch (err) {
      throw fsError(err, op, path);
    }
    if (signal?.aborted) {
      closeCb(fd, () => undefined);
      checkAborted(signal, op, path);
    }
    return fd;
  }

  async rename(from: string, to: string, opts: CallOptions = {}): Promise<void> {
    const a = await this.#confined(from, false, 'rename', opts.signal);
    const b = await this.#confined(to, false, 'rename', opts.signal);
    try {
      await fsp.rename(a, b);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV' || !this.#staged(from)) throw fsError(err, 'rename', from);
      await this.#renameAcross(a, b, from);
    }
    this.#endTemp(from, a);
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
    const os = await this.#confined(path, false, 'remove', opts.signal);
    try {
      const st = await fsp.lstat(os);
      if (st.isDirectory()) throw new AppError('is_dir', `remove ${path}: is a directory`);
      await fsp.unlink(os);
    } catch (err) {
      if (err instanceof AppError) throw err;
      // A temporary file already gone is gone from the journal too.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.#endTemp(path, os);
      throw fsError(err, 'remove', path);
    }
    this.#endTemp(path, os);
  }

  async mkdir(path: string, opts: CallOptions = {}): Promise<void> {
    const os = await this.#confined(path, false, 'mkdir', opts.signal);
    await fsp.mkdir(os, { mode: 0o755 }).catch((err) => Promise.reject(fsError(err, 'mkdir', path)));
  }

  async rmdir(path: string, opts: CallOptions = {}): Promise<void> {
    const os = await this.#confined(path, false, 'rmdir', opts.signal);
    if (os === this.root) throw new AppError('permission_denied', 'the root cannot be removed');
    await fsp.rmdir(os).catch((err) => Promise.reject(fsError(err, 'rmdir', path)));
  }

  async setTimes(path: string, atimeMs: number, mtimeMs: number, opts: CallOptions = {}): Promise<void> {
    const os = await this.#confined(path, true, 'utimes', opts.signal);
    await fsp.utimes(os, atimeMs / 1000, mtimeMs / 1000).catch((err) => Promise.reject(fsError(err, 'utimes', path)));
  }

  async truncate(path: string, size: number, opts: CallOptions = {}): Promise<void> {
    const os = await this.#confined(path, true, 'truncate', opts.signal);
    await fsp.truncate(os, size).catch((err) => Promise.reject(fsError(err, 'truncate', path)));
  }

  async chmod(path: string, mode: number, opts: CallOptions = {}): Promise<void> {
    const os = await this.#confined(path, true, 'chmod', opts.signal);
    await fsp.chmod(os, mode & 0o7777).catch((err) => Promise.reject(fsError(err, 'chmod', path)));
  }

  async chown(path: string, uid: number, gid: number, opts: CallOptions = {}): Promise<void> {
    const os = await this.#confined(path, true, 'chown', opts.signal);
    await fsp.chown(os, uid, gid).catch((err) => Promise.reject(fsError(err, 'chown', path)));
  }

  async copy(from: string, to: string, opts: CallOptions = {}): Promise<void> {
    const a = await this.#confined(from, true, 'copy', opts.signal);
    const b = await this.#confined(to, false, 'copy', opts.signal);
    await this.#beginTemp(to, b);
    await fsp.copyFile(a, b).catch((err) => {
      this.#endTemp(to, b);
      throw fsError(err, 'copy', from);
    });
  }

  async symlink(target: string, linkPath: string, opts: CallOptions = {}): Promise<void> {
    const os = await this.#confined(linkPath, false, 'symlink', opts.signal);
    // Stored relative to the link's directory so the tree stays valid if the root moves.
    const targetOs = this.osPath(target);
    const rel = relative(dirname(os), targetOs) || '.';
    await fsp.symlink(rel, os).catch((err) => Promise.reject(fsError(err, 'symlink', linkPath)));
  }

  async readlink(path: string, opts: CallOptions = {}): Promise<string> {
    const os = await this.#confined(path, false, 'readlink', opts.signal);
    const raw = await fsp.readlink(os).catch((err) => Promise.reject(fsError(err, 'readlink', path)));
    const abs = isAbsolute(raw) ? raw : resolveOs(dirname(os), raw);
    if (!this.#inside(abs)) throw new AppError('permission_denied', `readlink ${path}: target outside the root`);
    const rel = relative(this.root, abs);
    return '/' + rel.split(sep).join('/');
  }

  async link(existing: string, newPath: string, opts: CallOptions = {}): Promise<void> {
    const a = await this.#confined(existing, false, 'link', opts.signal);
    const b = await this.#confined(newPath, false, 'link', opts.signal);
    await fsp.link(a, b).catch((err) => Promise.reject(fsError(err, 'link', newPath)));
  }

  async statvfs(path: string, opts: CallOptions = {}): Promise<FsUsage> {
    const os = await this.#confined(path, true, 'statvfs', opts.signal);
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
