// A user's tree as every protocol sees it: virtual paths in, permission checks, then the mount's
// Fs. All checks happen before anything is changed, so a denied request changes nothing. Every
// backend call carries the connection's signal, so a client that leaves cancels its backend work.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import type { CallOptions, FileInfo, Fs, FsUsage } from '../vfs/fs.ts';
import { actions, openFlags } from './actions.ts';
import type { Connection } from './connection.ts';
import { cleanVirtualPath, mountPointsIn, parentOf, resolveMount, type Mount } from './paths.ts';
import { FilePatterns } from './patterns.ts';
import { deletePermission, hasPermission, renamePermission, type Permission, type PermissionMap } from './permissions.ts';
import { ReadAhead } from './read-ahead.ts';
import { hasTempComponent, isTempName, tempUploadPath } from '../vfs/temp-names.ts';
import { Download, Upload, type UploadMode } from './transfers.ts';
import { openGate } from './transfer-limits.ts';

export interface UploadOptions {
  /** Empty an existing file (default when no offset/append). */
  truncate?: boolean;
  offset?: number;
  append?: boolean;
  exclusive?: boolean;
  mode?: number;
}

export interface SetAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  atimeMs?: number;
  mtimeMs?: number;
  size?: number;
}

export interface UserFsOptions {
  mounts: readonly Mount[];
  permissions: PermissionMap;
  uploadMode: UploadMode;
  /** common.setstat_mode: 1 ignores attribute changes (reports success). */
  setstatMode?: number;
  /** A rename between two mounts: refused, or done as copy then delete (files only). */
  crossMountRename?: 'refuse' | 'copy';
  /** filters.file_patterns: names refused (or hidden) below configured directories. */
  patterns?: FilePatterns;
}

function denied(what: string, vpath: string): AppError {
  return new AppError('permission_denied', `${what} not allowed on ${vpath}`);
}

export class UserFs {
  readonly #patterns: FilePatterns;
  /** Where relative client paths start (filters.start_directory once login checked it). */
  startDirectory = '/';
  /** The connection this tree belongs to: custom actions report its user, address and session. */
  connection: Connection | undefined;

  constructor(private readonly opts: UserFsOptions) {
    this.#patterns = opts.patterns ?? new FilePatterns(undefined);
  }

  /** Cleans a client path (relative ones from the start directory unless `cwd` is given). */
  path(p: string, cwd = this.startDirectory): string {
    return cleanVirtualPath(p, cwd);
  }

  /**
   * Refuses `vpath` when the file patterns deny its name. Under deny_policy 1 a read-side refusal
   * (`reveal` false) says not found, as if the entry were absent; creating a name is always a
   * permission error.
   */
  #requireName(vpath: string, reveal = false): void {
    const v = this.#patterns.check(vpath);
    if (v.allowed) return;
    if (v.hide && !reveal) throw new AppError('not_found', `${vpath} not found`);
    throw new AppError('permission_denied', `${vpath} is not allowed by the file patterns`);
  }

  /** Stat and listings only refuse names the patterns hide; listed (deny_policy 0) names stat. */
  #requireVisible(vpath: string): void {
    const v = this.#patterns.check(vpath);
    if (!v.allowed && v.hide) throw new AppError('not_found', `${vpath} not found`);
  }

  #require(perm: Permission, dir: string, vpath: string): void {
    if (!hasPermission(this.opts.permissions, dir, perm)) throw denied(perm, vpath);
  }

  /** Options for a backend call: the connection's signal (none before the connection exists). */
  get #call(): CallOptions {
    return { signal: this.connection?.signal };
  }

  #resolve(vpath: string): { fs: Mount['fs']; path: string; mount: Mount } {
    // A temporary upload is not a file yet, whoever guesses its name: every request that would
    // read, replace, move or remove it finds nothing there.
    if (hasTempComponent(vpath)) throw new AppError('not_found', `${vpath} not found`);
    const { mount, path } = resolveMount(this.opts.mounts, vpath);
    return { fs: mount.fs, path, mount };
  }

  #exists(vpath: string, follow = false): Promise<FileInfo | undefined> {
    const { fs, path } = this.#resolve(vpath);
    return (follow ? fs.stat(path, this.#call) : fs.lstat(path, this.#call)).catch((err) => {
      if (err instanceof AppError && err.code === 'not_found') return undefined;
      throw err;
    });
  }

  /** The type at `vpath` without a permission check: only to decide where a checked write goes. */
  async probe(vpath: string): Promise<FileInfo | undefined> {
    return this.#exists(vpath, true);
  }

  /** What `vpath` itself is (a symlink is not followed), without a permission check; undefined when absent. */
  async probeLink(vpath: string): Promise<FileInfo | undefined> {
    return this.#exists(vpath, false);
  }

  async stat(vpath: string, follow = true): Promise<FileInfo> {
    if (vpath !== '/') this.#require('list', parentOf(vpath), vpath);
    this.#requireVisible(vpath);
    const { fs, path } = this.#resolve(vpath);
    return follow ? fs.stat(path, this.#call) : fs.lstat(path, this.#call);
  }

  /** Checks the list permission and that `vpath` is a directory, before a listing starts. */
  async openDir(vpath: string): Promise<AsyncIterable<FileInfo>> {
    this.#require('list', vpath, vpath);
    this.#requireName(vpath);
    const { fs, path } = this.#resolve(vpath);
    const st = await fs.stat(path, this.#call);
    if (st.type !== 'dir') throw new AppError('not_dir', `${vpath} is not a directory`);
    return this.#list(vpath);
  }

  async *#list(vpath: string): AsyncIterable<FileInfo> {
    const { fs, path } = this.#resolve(vpath);
    const mountNames = new Set(mountPointsIn(this.opts.mounts, vpath));
    const filter = this.#patterns.filterFor(vpath);
    const hidden = filter?.hide ? (name: string) => !filter.allows(name) : undefined;
    for await (const e of fs.list(path, this.#call)) {
      mountNames.delete(e.name);
      // An upload in progress is not a file yet: a client listing must not fetch or move it.
      if (hidden?.(e.name) || isTempName(e.name)) continue;
      yield e;
    }
    for (const name of mountNames) {
      if (hidden?.(name)) continue;
      const sub = this.#resolve(posix.join(vpath, name));
      yield { ...(await sub.fs.stat(sub.path, this.#call)), name };
    }
  }

  async openDownload(conn: Connection, vpath: string): Promise<Download> {
    this.#require('download', parentOf(vpath), vpath);
    this.#requireName(vpath);
    const { fs, path } = this.#resolve(vpath);
    const call = { signal: conn.signal };
    const st = await fs.stat(path, call);
    if (st.type === 'dir') throw new AppError('is_dir', `${vpath} is a directory`);
    const gate = await openGate(conn, 'download');
    await actions.pre(conn, 'pre-download', vpath, { fileSize: st.size });
    const positional = fs.openReader ? await fs.openReader(path, call) : undefined;
    // Remote and encrypted backends read ahead of sequential reads; random reads go to the
    // positional reader, or to a ranged read of exactly the bytes asked for.
    const reader = positional && fs.capabilities.lowLatencyReads ? positional : new ReadAhead(fs, path, positional, call);
    return new Download(conn, vpath, reader, gate);
  }

  async openUpload(conn: Connection, vpath: string, opts: UploadOptions = {}): Promise<Upload> {
    const { fs, path } = this.#resolve(vpath);
    const existing = await this.#exists(vpath, true);
    if (existing?.type === 'dir') throw new AppError('is_dir', `${vpath} is a directory`);
    this.#require(existing ? 'overwrite' : 'upload', parentOf(vpath), vpath);
    this.#requireName(vpath, true);
    if (opts.exclusive && existing) throw new AppError('exists', `${vpath} exists`);
    // Keeping an existing file's bytes (resume, or a write-only open without truncation).
    const keep = !!existing && (opts.truncate === false || (opts.truncate === undefined && (opts.offset !== undefined || opts.append === true)));
    if (keep && !fs.capabilities.resume) throw new AppError('unsupported', 'this storage cannot resume uploads');
    const { mount } = this.#resolve(vpath);
    const quota = mount.quota ? { mount: mount.quota, oldSize: existing?.size ?? 0, newFile: !existing } : undefined;
    quota?.mount.check(0, quota.newFile ? 1 : 0);
    const gate = await openGate(conn, 'upload');
    if (keep) gate?.checkFileSize(opts.append ? existing.size : (opts.offset ?? 0));
    await actions.pre(conn, 'pre-upload', vpath, { fileSize: existing?.size ?? 0, openFlags: openFlags({ truncate: !keep, append: opts.append, exclusive: opts.exclusive }) });
    const mode = this.opts.uploadMode;
    if (mode === 0 || !fs.capabilities.atomicRename) {
      const writer = await fs.openWrite(path, { ...opts, truncate: !keep, signal: conn.signal });
      return new Upload(conn, vpath, fs, writer, path, undefined, mode, quota, gate);
    }
    const temp = tempUploadPath(path);
    if (keep) {
      // Continuing a file atomically starts from a copy; the original stays in place until the
      // upload completes.
      if (!fs.copy) throw new AppError('unsupported', 'atomic resume needs server-side copy');
      await fs.copy(path, temp, { signal: conn.signal });
    }
    const writer = await fs.openWrite(temp, { ...opts, exclusive: false, truncate: !keep, signal: conn.signal });
    return new Upload(conn, vpath, fs, writer, path, temp, mode, quota, gate);
  }

  /** A server-side copy from `from` to `to` needs SFTPGo's `copy` permission at both ends. */
  requireCopy(from: string, to: string): void {
    this.#require('copy', parentOf(from), from);
    this.#require('copy', parentOf(to), to);
  }

  async mkdir(vpath: string): Promise<void> {
    this.#require('create_dirs', parentOf(vpath), vpath);
    this.#requireName(vpath, true);
    const { fs, path } = this.#resolve(vpath);
    await fs.mkdir(path, this.#call);
    await actions.notify(this.connection, 'mkdir', vpath);
  }

  async rmdir(vpath: string): Promise<void> {
    if (this.#isMountPoint(vpath)) throw denied('delete', vpath);
    if (vpath === '/') throw denied('delete_dirs', vpath);
    this.#require('delete_dirs', parentOf(vpath), vpath);
    this.#requireName(vpath);
    const { fs, path } = this.#resolve(vpath);
    await fs.rmdir(path, this.#call);
    await actions.notify(this.connection, 'rmdir', vpath);
  }

  async remove(vpath: string): Promise<void> {
    const st = await this.#exists(vpath);
    this.#require(deletePermission(st?.type === 'dir'), parentOf(vpath), vpath);
    this.#requireName(vpath);
    if (!st) throw new AppError('not_found', `${vpath} not found`);
    const { fs, path, mount } = this.#resolve(vpath);
    if (st.type !== 'dir') await actions.pre(this.connection, 'pre-delete', vpath, { fileSize: st.size });
    await fs.remove(path, this.#call);
    if (st.type === 'file') mount.quota?.charge(-st.size, -1);
    await actions.notify(this.connection, st.type === 'dir' ? 'rmdir' : 'delete', vpath, st.type === 'dir' ? {} : { fileSize: st.size });
  }

  /** With `overwrite` false an existing target is an error (SFTP v3 RENAME); true is POSIX rename. */
  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    if (from === '/' || to === '/' || this.#isMountPoint(from) || this.#isMountPoint(to)) throw denied('rename', from);
    const src = await this.#exists(from);
    if (!src) {
      this.#require(renamePermission(false), parentOf(from), from);
      throw new AppError('not_found', `${from} not found`);
    }
    const perm = renamePermission(src.type === 'dir');
    this.#require(perm, parentOf(from), from);
    this.#require(perm, parentOf(to), to);
    this.#requireName(from, true);
    this.#requireName(to, true);
    const dst = await this.#exists(to);
    if (dst) {
      if (!overwrite) throw new AppError('exists', `${to} exists`);
      if (dst.type === 'dir') throw new AppError('is_dir', `${to} is a directory`);
      this.#require('overwrite', parentOf(to), to);
    }
    const a = this.#resolve(from);
    const b = this.#resolve(to);
    // A replaced target file leaves the target mount's usage.
    const replaced = dst?.type === 'file' ? dst.size : undefined;
    if (a.mount === b.mount) {
      await a.fs.rename(a.path, b.path, this.#call);
      if (replaced !== undefined) b.mount.quota?.charge(-replaced, -1);
      await actions.notify(this.connection, 'rename', from, { target: to });
      return;
    }
    if (this.opts.crossMountRename !== 'copy')
      throw new AppError('unsupported', `rename from ${from} to ${to} crosses virtual folders (set common.rename_mode: 1 to copy)`);
    if (src.type !== 'file') throw new AppError('unsupported', 'a directory cannot be renamed across virtual folders');
    b.mount.quota?.check(src.size - (replaced ?? 0), replaced === undefined ? 1 : 0);
    await copyAcross({ from: a.fs, fromPath: a.path, to: b.fs, toPath: b.path, signal: this.#call.signal });
    await a.fs.remove(a.path, this.#call);
    b.mount.quota?.charge(src.size - (replaced ?? 0), replaced === undefined ? 1 : 0);
    a.mount.quota?.charge(-src.size, -1);
    await actions.notify(this.connection, 'rename', from, { target: to });
  }

  /** True when `vpath` is where a virtual folder is mounted: it cannot be renamed or removed. */
  #isMountPoint(vpath: string): boolean {
    return this.opts.mounts.some((m) => m.virtualPath !== '/' && m.virtualPath === vpath);
  }

  /** Throws when any requested attribute change is not permitted; changes nothing. */
  checkAttrs(vpath: string, attrs: SetAttrs, isDir: boolean): void {
    // Attributes of a directory are governed by the directory itself, of a file by its parent.
    const dir = isDir ? vpath : parentOf(vpath);
    if (attrs.mode !== undefined) this.#require('chmod', dir, vpath);
    if (attrs.uid !== undefined || attrs.gid !== undefined) this.#require('chown', dir, vpath);
    if (attrs.atimeMs !== undefined || attrs.mtimeMs !== undefined) this.#require('chtimes', dir, vpath);
    if (attrs.size !== undefined) this.#require('overwrite', parentOf(vpath), vpath);
  }

  async setAttrs(vpath: string, attrs: SetAttrs): Promise<void> {
    this.#requireName(vpath);
    const st = await this.#exists(vpath, true);
    if (!st) {
      this.checkAttrs(vpath, attrs, false);
      throw new AppError('not_found', `${vpath} not found`);
    }
    this.checkAttrs(vpath, attrs, st.type === 'dir');
    const { fs, path, mount } = this.#resolve(vpath);
    if (this.opts.setstatMode === 1) return;
    if (attrs.size !== undefined && st.type === 'file') {
      mount.quota?.check(attrs.size - st.size, 0);
      await fs.truncate(path, attrs.size, this.#call);
      mount.quota?.charge(attrs.size - st.size, 0);
    }
    if (attrs.mode !== undefined) {
      if (!fs.chmod) throw new AppError('unsupported', 'chmod is not supported by this storage');
      await fs.chmod(path, attrs.mode, this.#call);
    }
    if (attrs.uid !== undefined || attrs.gid !== undefined) {
      if (!fs.chown) throw new AppError('unsupported', 'chown is not supported by this storage');
      await fs.chown(path, attrs.uid ?? st.uid, attrs.gid ?? st.gid, this.#call);
    }
    if (attrs.atimeMs !== undefined || attrs.mtimeMs !== undefined)
      await fs.setTimes(path, attrs.atimeMs ?? st.atimeMs, attrs.mtimeMs ?? st.mtimeMs, this.#call);
  }

  /** `target` is a virtual path (absolute, or relative to the link's directory). */
  async symlink(target: string, linkPath: string): Promise<void> {
    this.#require('create_symlinks', parentOf(linkPath), linkPath);
    const t = cleanVirtualPath(target, parentOf(linkPath));
    this.#requireVisible(t);
    this.#requireName(linkPath, true);
    const a = this.#resolve(t);
    const b = this.#resolve(linkPath);
    if (a.mount !== b.mount) throw new AppError('unsupported', 'symlinks across folders are not supported');
    if (!b.fs.symlink) throw new AppError('unsupported', 'symlinks are not supported by this storage');
    await b.fs.symlink(a.path, b.path, this.#call);
  }

  async readlink(vpath: string): Promise<string> {
    this.#require('list', parentOf(vpath), vpath);
    this.#requireVisible(vpath);
    const { fs, path, mount } = this.#resolve(vpath);
    if (!fs.readlink) throw new AppError('unsupported', 'symlinks are not supported by this storage');
    const target = await fs.readlink(path, this.#call);
    return mount.virtualPath === '/' ? target : posix.join(mount.virtualPath, target);
  }

  async link(existing: string, newPath: string): Promise<void> {
    this.#require('download', parentOf(existing), existing);
    this.#require('create_symlinks', parentOf(newPath), newPath);
    this.#requireName(existing);
    this.#requireName(newPath, true);
    const a = this.#resolve(existing);
    const b = this.#resolve(newPath);
    if (a.mount !== b.mount || !a.fs.link)
      throw new AppError('unsupported', 'hard links are not supported here');
    await a.fs.link(a.path, b.path, this.#call);
  }

  statvfs(vpath: string): Promise<FsUsage> {
    const { fs, path } = this.#resolve(vpath);
    return fs.statvfs(path, this.#call);
  }

  /** Hex digest of a file, read as a stream (ssh md5sum/sha*sum commands). */
  async checksum(vpath: string, algo: 'md5' | 'sha1' | 'sha256' | 'sha512'): Promise<string> {
    this.#require('download', parentOf(vpath), vpath);
    this.#requireName(vpath);
    const { fs, path } = this.#resolve(vpath);
    const st = await fs.stat(path, this.#call);
    if (st.type !== 'file') throw new AppError('is_dir', `${vpath} is not a file`);
    const hash = createHash(algo);
    const stream = await fs.openRead(path, this.#call);
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  /** Releases every mount's backend. */
  async close(): Promise<void> {
    await Promise.allSettled(this.opts.mounts.map((m) => m.fs.close?.()));
  }
}

/** Streams a file from one backend to another; the target is committed only if every byte arrived. */
async function copyAcross(c: { from: Fs; fromPath: string; to: Fs; toPath: string; signal: AbortSignal | undefined }): Promise<void> {
  const { from, to } = c;
  const reader = await from.openRead(c.fromPath, { signal: c.signal });
  const writer = await to.openWrite(c.toPath, { signal: c.signal });
  try {
    for await (const chunk of reader) await writer.write(chunk as Uint8Array);
    await writer.close();
  } catch (err) {
    reader.destroy();
    await writer.abort();
    throw err;
  }
}
