// The Fs of every object store (S3, GCS, Azure Blob), written once over the narrow ObjectClient.
// Directories are key prefixes read with delimiter listings; an empty directory is kept by a
// zero-byte marker object "dir/" (created by mkdir, removed by rmdir; removing a directory's last
// file leaves its marker, so the directory stays). A file rename is a server-side copy + delete
// that carries the mtime; a directory rename is an explicit, bounded, logged copy+delete of every
// object under the prefix. The client-set mtime lives in user metadata (MTIME_METADATA_KEY).
//
// Not atomic by nature: `exclusive` writes and rename targets are checked, then written; two
// sessions racing on one key see last-writer-wins, as with every object store.
import { Readable } from 'node:stream';
import { AppError, isAppError } from '../../errors.ts';
import { checkAborted } from '../abort.ts';
import type { CallOptions, Capabilities, FileInfo, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../fs.ts';
import { MTIME_METADATA_KEY, type ObjectClient, type ObjectInfo } from './client.ts';
import { DELIMITER, KeyMap, dirInfo, entriesOfPage, fileInfo, movedKey, mtimeOf } from './keys.ts';
import { ObjectWriter } from './writer.ts';
import type { RemoteUploadJournal, VfsLog } from '../options.ts';

export interface ObjectFsOptions {
  /** Allow renaming a directory as a copy+delete of its objects (default false). */
  renameDirs?: boolean;
  /** Refuse a directory rename touching more objects than this (default 1000; 0 means the default, as in SFTPGo's settings). */
  renameDirMaxObjects?: number;
  /** Keys asked for per listing page (default 1000, the S3 maximum). */
  listPageSize?: number;
  /** Where directory renames (long, many requests) are logged; default: not logged. */
  log?: VfsLog | undefined;
  /** Journals the uploads that open server-side state, for the crash repair. */
  uploads?: RemoteUploadJournal | undefined;
}

const CAPABILITIES: Capabilities = Object.freeze({
  atomicRename: false,
  realDirectories: false,
  randomWrites: false,
  resume: false,
  checksums: [],
});

/** Parallel copies/deletes during a directory rename: enough to hide latency, few sockets. */
const RENAME_PARALLEL = 8;

// Object stores have no capacity to report; like SFTPGo for cloud storage, answer "plenty"
// (1 PiB in 4 KiB blocks, a billion free inodes) so clients that check free space proceed.
const USAGE: FsUsage = Object.freeze({
  blockSize: 4096,
  blocks: 2 ** 38,
  blocksFree: 2 ** 38,
  blocksAvail: 2 ** 38,
  files: 1e9,
  filesFree: 1e9,
  nameMax: 255,
});

function baseName(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

async function parallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class ObjectFs implements Fs {
  readonly kind: string;
  readonly capabilities = CAPABILITIES;
  readonly keys: KeyMap;
  readonly #renameDirs: boolean;
  readonly #renameDirMax: number;
  readonly #pageSize: number;
  readonly #log: VfsLog;
  readonly #uploads: RemoteUploadJournal | undefined;
  readonly discardUploads?: Fs['discardUploads'];

  constructor(
    readonly client: ObjectClient,
    keyPrefix: string | undefined,
    opts: ObjectFsOptions = {},
  ) {
    this.kind = client.kind;
    this.keys = new KeyMap(keyPrefix);
    this.#renameDirs = opts.renameDirs ?? false;
    this.#renameDirMax = opts.renameDirMaxObjects || 1000;
    this.#pageSize = opts.listPageSize || 1000;
    this.#log = opts.log ?? (() => undefined);
    this.#uploads = opts.uploads;
    const discard = client.discardUploads?.bind(client);
    if (discard) {
      this.discardUploads = async (keys, o = {}) => {
        let n = 0;
        for (const key of keys) n += await discard(key, o);
        return n;
      };
    }
  }

  /** Flat (recursive) listing of everything under `prefix`, page by page. */
  async *#walk(prefix: string, o: CallOptions): AsyncIterable<ObjectInfo[]> {
    let token: string | undefined;
    do {
      const page = await this.client.list(prefix, { signal: o.signal, token, maxKeys: this.#pageSize });
      yield page.objects.filter((o) => o.key.startsWith(prefix));
      token = page.nextToken;
    } while (token);
  }

  /** A directory exists when its marker or any object under its prefix does. */
  async #dirStat(path: string, o: CallOptions): Promise<FileInfo | undefined> {
    const rel = this.keys.rel(path);
    if (!rel) return dirInfo('');
    const prefix = this.keys.dirPrefix(path);
    const marker = await this.client.head(prefix, o);
    if (marker) return dirInfo(baseName(rel), mtimeOf(marker));
    const page = await this.client.list(prefix, { signal: o.signal, maxKeys: 1 });
    const first = page.objects[0];
    if (first) return dirInfo(baseName(rel), first.lastModifiedMs);
    return page.prefixes.length ? dirInfo(baseName(rel)) : undefined;
  }

  async stat(path: string, o: CallOptions = {}): Promise<FileInfo> {
    const rel = this.keys.rel(path);
    if (!rel) return dirInfo('');
    const obj = await this.client.head(this.keys.fileKey(path), o);
    if (obj) return fileInfo(baseName(rel), obj);
    const dir = await this.#dirStat(path, o);
    if (dir) return dir;
    throw new AppError('not_found', `stat ${path}: not found`);
  }

  lstat(path: string, o: CallOptions = {}): Promise<FileInfo> {
    return this.stat(path, o);
  }

  async *list(path: string, o: CallOptions = {}): AsyncIterable<FileInfo> {
    const prefix = this.keys.dirPrefix(path);
    let token: string | undefined;
    let lastDir: string | undefined;
    let first = true;
    do {
      const page = await this.client.list(prefix, { signal: o.signal, delimiter: DELIMITER, token, maxKeys: this.#pageSize });
      const { entries, sawAny } = entriesOfPage(page, prefix, lastDir);
      if (first && !sawAny && !this.keys.isRoot(path)) {
        // Nothing under the prefix: a file, or nothing at all (never an empty listing of nothing).
        const obj = await this.client.head(this.keys.fileKey(path), o);
        throw obj ? new AppError('not_dir', `list ${path}: not a directory`) : new AppError('not_found', `list ${path}: not found`);
      }
      first = false;
      for (const e of entries) {
        if (e.type === 'dir') lastDir = e.name;
        yield e;
      }
      token = page.nextToken;
    } while (token);
  }

  async openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    const o = { signal: range.signal };
    const key = this.keys.fileKey(path);
    const obj = await this.client.head(key, o);
    if (!obj) {
      if (await this.#dirStat(path, o)) throw new AppError('is_dir', `open ${path}: is a directory`);
      throw new AppError('not_found', `open ${path}: not found`);
    }
    // The size from head clamps the range: a read at or past the end (the core's stream reader
    // asks for it at EOF) is an empty stream, not a store error.
    const start = range.start ?? 0;
    const end = Math.min(range.end ?? obj.size - 1, obj.size - 1);
    if (start < 0 || (range.end !== undefined && range.end < start)) throw new AppError('invalid', `open ${path}: bad range`);
    if (start > end) return Readable.from([]);
    return this.client.get(key, { start, end, signal: range.signal });
  }

  async openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const o = { signal: opts.signal };
    if ((opts.offset ?? 0) !== 0 || opts.append) throw new AppError('unsupported', `write ${path}: object storage cannot resume or append`);
    const key = this.keys.fileKey(path);
    if (opts.truncate === false && (await this.client.head(key, o)))
      throw new AppError('unsupported', `write ${path}: object storage cannot keep existing bytes`);
    if (opts.exclusive && (await this.client.head(key, o))) throw new AppError('exists', `create ${path}: exists`);
    return new ObjectWriter(this.client.put(key, { ...o, ...(this.#uploads ? { journal: this.#uploads } : {}) }), path);
  }

  async rename(from: string, to: string, o: CallOptions = {}): Promise<void> {
    const a = this.keys.rel(from);
    const b = this.keys.rel(to);
    if (!a || !b) throw new AppError('permission_denied', 'the root cannot be renamed or replaced');
    if (a === b) return;
    const src = await this.client.head(this.keys.fileKey(from), o);
    if (src) {
      if (await this.#dirStat(to, o)) throw new AppError('is_dir', `rename ${from} -> ${to}: target is a directory`);
      // The copy gets a fresh last-modified; the metadata keeps the time the user saw.
      const metadata = { ...src.metadata, [MTIME_METADATA_KEY]: String(mtimeOf(src)) };
      await this.client.copy(src.key, this.keys.fileKey(to), metadata, o);
      await this.client.delete(src.key, o);
      return;
    }
    if (!(await this.#dirStat(from, o))) throw new AppError('not_found', `rename ${from}: not found`);
    await this.#renameDir(from, to, o);
  }

  async #renameDir(from: string, to: string, o: CallOptions): Promise<void> {
    const a = this.keys.rel(from);
    const b = this.keys.rel(to);
    if (!this.#renameDirs) throw new AppError('unsupported', `rename ${from}: renaming directories is disabled for this storage`);
    if (b.startsWith(`${a}/`)) throw new AppError('invalid', `rename ${from} -> ${to}: target inside the source`);
    if (await this.client.head(this.keys.fileKey(to), o)) throw new AppError('not_dir', `rename ${from} -> ${to}: target is a file`);
    const fromPrefix = this.keys.dirPrefix(from);
    const toPrefix = this.keys.dirPrefix(to);
    // POSIX lets a directory replace only an empty one; an existing empty target's marker is
    // simply overwritten by the source's.
    for await (const objs of this.#walk(toPrefix, o)) {
      if (objs.some((o) => o.key !== toPrefix)) throw new AppError('not_empty', `rename ${from} -> ${to}: target not empty`);
    }
    // The bound is checked before anything is copied: a refused rename changes nothing.
    let count = 0;
    for await (const objs of this.#walk(fromPrefix, o)) {
      count += objs.length;
      if (count > this.#renameDirMax)
        throw new AppError('unsupported', `rename ${from}: more than ${this.#renameDirMax} objects; refusing to copy them one by one`);
    }
    const fields = { bucket: this.client.location.bucket, from: fromPrefix, to: toPrefix, objects: count };
    this.#log('info', 'object_dir_rename_start', fields);
    const started = Date.now();
    let done = 0;
    try {
      // Copy everything first, delete after: a failure midway leaves the source whole (plus
      // partial copies), never a tree split between the two names.
      for await (const objs of this.#walk(fromPrefix, o)) {
        await parallel(objs, RENAME_PARALLEL, async (obj) => {
          await this.client.copy(obj.key, movedKey(obj.key, fromPrefix, toPrefix), undefined, o);
          done++;
        });
      }
      const keys: string[] = [];
      for await (const objs of this.#walk(fromPrefix, o)) for (const obj of objs) keys.push(obj.key);
      await parallel(keys, RENAME_PARALLEL, (k) => this.client.delete(k, o));
    } catch (err) {
      this.#log('error', 'object_dir_rename_failed', { ...fields, copied: done, error: (err as Error).message });
      throw isAppError(err) ? err : new AppError('io', `rename ${from} -> ${to}: ${(err as Error).message}`, { cause: err });
    }
    this.#log('info', 'object_dir_rename_done', { ...fields, ms: Date.now() - started });
  }

  async remove(path: string, o: CallOptions = {}): Promise<void> {
    if (this.keys.isRoot(path)) throw new AppError('is_dir', 'remove /: is a directory');
    const key = this.keys.fileKey(path);
    if (await this.client.head(key, o)) return this.client.delete(key, o);
    if (await this.#dirStat(path, o)) throw new AppError('is_dir', `remove ${path}: is a directory`);
    throw new AppError('not_found', `remove ${path}: not found`);
  }

  async mkdir(path: string, o: CallOptions = {}): Promise<void> {
    if (this.keys.isRoot(path)) throw new AppError('exists', 'mkdir /: exists');
    if (await this.client.head(this.keys.fileKey(path), o)) throw new AppError('exists', `mkdir ${path}: a file exists`);
    if (await this.#dirStat(path, o)) throw new AppError('exists', `mkdir ${path}: exists`);
    const marker = this.client.put(this.keys.markerKey(path), o);
    try {
      await marker.complete();
    } catch (err) {
      await marker.abort().catch(() => undefined);
      throw err;
    }
  }

  async rmdir(path: string, o: CallOptions = {}): Promise<void> {
    if (this.keys.isRoot(path)) throw new AppError('permission_denied', 'the root cannot be removed');
    const prefix = this.keys.dirPrefix(path);
    // Two keys are enough to tell "only the marker" from "something else too".
    const page = await this.client.list(prefix, { signal: o.signal, maxKeys: 2 });
    const others = page.objects.filter((o) => o.key !== prefix);
    if (others.length || page.prefixes.length) throw new AppError('not_empty', `rmdir ${path}: not empty`);
    if (page.objects.length) return this.client.delete(prefix, o);
    if (await this.client.head(this.keys.fileKey(path), o)) throw new AppError('not_dir', `rmdir ${path}: not a directory`);
    throw new AppError('not_found', `rmdir ${path}: not found`);
  }

  async setTimes(path: string, _atimeMs: number, mtimeMs: number, o: CallOptions = {}): Promise<void> {
    const mtime = String(Math.round(mtimeMs));
    if (!this.keys.isRoot(path)) {
      const obj = await this.client.head(this.keys.fileKey(path), o);
      if (obj) return this.client.copy(obj.key, obj.key, { ...obj.metadata, [MTIME_METADATA_KEY]: mtime }, o);
    }
    // A directory keeps its time on its marker when it has one; an implied directory has nowhere
    // to keep it, and accepting silently is what clients preserving times expect.
    const dir = await this.#dirStat(path, o);
    if (!dir) throw new AppError('not_found', `setTimes ${path}: not found`);
    if (this.keys.isRoot(path)) return;
    const marker = await this.client.head(this.keys.markerKey(path), o);
    if (marker) await this.client.copy(marker.key, marker.key, { ...marker.metadata, [MTIME_METADATA_KEY]: mtime }, o);
  }

  /** Only truncation to 0 (an empty object replaces the file); any other size is `unsupported`. */
  async truncate(path: string, size: number, o: CallOptions = {}): Promise<void> {
    const key = this.keys.fileKey(path);
    const obj = await this.client.head(key, o);
    if (!obj) {
      if (await this.#dirStat(path, o)) throw new AppError('is_dir', `truncate ${path}: is a directory`);
      throw new AppError('not_found', `truncate ${path}: not found`);
    }
    if (size === obj.size) return;
    if (size !== 0) throw new AppError('unsupported', `truncate ${path}: object storage can only truncate to 0`);
    const up = this.client.put(key, o);
    try {
      await up.complete();
    } catch (err) {
      await up.abort().catch(() => undefined);
      throw err;
    }
  }

  async statvfs(path: string, o: CallOptions = {}): Promise<FsUsage> {
    checkAborted(o.signal, 'statvfs', path);
    return USAGE;
  }

  async copy(from: string, to: string, o: CallOptions = {}): Promise<void> {
    const src = await this.client.head(this.keys.fileKey(from), o);
    if (!src) {
      if (await this.#dirStat(from, o)) throw new AppError('is_dir', `copy ${from}: is a directory`);
      throw new AppError('not_found', `copy ${from}: not found`);
    }
    await this.client.copy(src.key, this.keys.fileKey(to), undefined, o);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
