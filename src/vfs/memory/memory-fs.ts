// The in-memory backend: a whole tree (directories, files, symlinks, hard links) held in this
// process, for fast in-process tests of the session core and the protocols. It implements the
// whole contract with the local backend's semantics: real directories, POSIX rename (atomic,
// replacing a file or an empty directory), writes in place at any offset (so an aborted upload
// keeps what arrived, as on a disk), resume, copy, chmod/chown, symlinks and hard links. Symlink
// targets are backend paths, so nothing can point outside the tree. Each instance owns its tree;
// nothing is shared between instances.
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { AppError } from '../../errors.ts';
import { checkAborted, destroyOnAbort } from '../abort.ts';
import type { CallOptions, Capabilities, EntryType, FileInfo, FileReader, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../fs.ts';

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  atimeMs: number;
}
interface FileNode extends Meta {
  type: 'file';
  /** Bytes [0, size) are the content; the rest is room to grow. */
  data: Buffer;
  size: number;
  /** Hard links to this node. */
  links: number;
}
interface DirNode extends Meta {
  type: 'dir';
  entries: Map<string, Node>;
}
interface LinkNode extends Meta {
  type: 'symlink';
  /** Absolute backend path. */
  target: string;
}
type Node = FileNode | DirNode | LinkNode;

export interface MemoryFsOptions {
  /** Owner reported for new entries (default 0). */
  uid?: number;
  gid?: number;
  /** What statvfs reports as the capacity (default 1 GiB); writes are not limited by it. */
  capacityBytes?: number;
}

const CAPABILITIES: Capabilities = Object.freeze({
  atomicRename: true,
  realDirectories: true,
  randomWrites: true,
  resume: true,
  lowLatencyReads: true,
  checksums: [],
});

/** Symlinks followed while resolving one path at most (Linux's MAXSYMLINKS). */
const MAX_HOPS = 40;
const READ_CHUNK = 256 * 1024;
const BLOCK = 4096;

function parts(path: string): string[] {
  if (path.includes('\0')) throw new AppError('invalid', 'path contains a NUL byte');
  return posix.normalize(`/${path}`).split('/').filter(Boolean);
}

function notFound(op: string, path: string): AppError {
  return new AppError('not_found', `${op} ${path || '/'}: not found`);
}

export class MemoryFs implements Fs {
  readonly kind = 'memory';
  readonly capabilities = CAPABILITIES;
  readonly #root: DirNode;
  readonly #owner: { uid: number; gid: number };
  readonly #capacity: number;

  constructor(opts: MemoryFsOptions = {}) {
    this.#owner = { uid: opts.uid ?? 0, gid: opts.gid ?? 0 };
    this.#capacity = opts.capacityBytes ?? 2 ** 30;
    this.#root = this.#dir(0o755);
  }

  #meta(mode: number): Meta {
    const now = Date.now();
    return { mode, ...this.#owner, mtimeMs: now, atimeMs: now };
  }

  #dir(mode: number): DirNode {
    return { type: 'dir', entries: new Map(), ...this.#meta(mode) };
  }

  /** The node at `path` (undefined when missing), following symlinks on the way and, with `follow`, at the end. */
  #resolve(path: string, follow: boolean, hops = 0): Node | undefined {
    const names = parts(path);
    let node: Node = this.#root;
    for (let i = 0; i < names.length; i++) {
      if (node.type !== 'dir') throw new AppError('not_dir', `${path}: a parent is not a directory`);
      const child: Node | undefined = node.entries.get(names[i]!);
      if (!child) return undefined;
      if (child.type === 'symlink' && (follow || i < names.length - 1)) {
        if (hops >= MAX_HOPS) throw new AppError('invalid', `${path}: too many levels of symbolic links`);
        return this.#resolve(posix.join(child.target, ...names.slice(i + 1)), follow, hops + 1);
      }
      node = child;
    }
    return node;
  }

  #need(path: string, follow: boolean, op: string): Node {
    const node = this.#resolve(path, follow);
    if (!node) throw notFound(op, path);
    return node;
  }

  #file(path: string, op: string): FileNode {
    const node = this.#need(path, true, op);
    if (node.type === 'dir') throw new AppError('is_dir', `${op} ${path}: is a directory`);
    if (node.type !== 'file') throw new AppError('invalid', `${op} ${path}: not a regular file`);
    return node;
  }

  /** The directory holding `path` and its last name; the root has none. */
  #parent(path: string, op: string): { dir: DirNode; name: string } {
    const names = parts(path);
    const name = names.pop();
    if (name === undefined) throw new AppError('permission_denied', `${op} /: not allowed on the root`);
    const dir = this.#resolve(names.join('/'), true);
    if (!dir) throw notFound(op, path);
    if (dir.type !== 'dir') throw new AppError('not_dir', `${op} ${path}: a parent is not a directory`);
    return { dir, name };
  }

  #info(name: string, node: Node): FileInfo {
    const size = node.type === 'file' ? node.size : node.type === 'symlink' ? node.target.length : 0;
    const nlink = node.type === 'file' ? node.links : node.type === 'dir' ? 2 : 1;
    return { name, type: node.type satisfies EntryType, size, mtimeMs: node.mtimeMs, atimeMs: node.atimeMs, mode: node.mode, uid: node.uid, gid: node.gid, nlink };
  }

  async stat(path: string, o: CallOptions = {}): Promise<FileInfo> {
    checkAborted(o.signal, 'stat', path);
    return this.#info(posix.basename(posix.normalize(`/${path}`)), this.#need(path, true, 'stat'));
  }

  async lstat(path: string, o: CallOptions = {}): Promise<FileInfo> {
    checkAborted(o.signal, 'lstat', path);
    return this.#info(posix.basename(posix.normalize(`/${path}`)), this.#need(path, false, 'lstat'));
  }

  async *list(path: string, o: CallOptions = {}): AsyncIterable<FileInfo> {
    checkAborted(o.signal, 'list', path);
    const dir = this.#need(path, true, 'list');
    if (dir.type !== 'dir') throw new AppError('not_dir', `list ${path}: not a directory`);
    // A snapshot of the names: entries added or removed while the caller iterates are its race.
    for (const name of [...dir.entries.keys()].sort()) {
      checkAborted(o.signal, 'list', path);
      const node = dir.entries.get(name);
      if (node) yield this.#info(name, node);
    }
  }

  async openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    checkAborted(range.signal, 'open', path);
    const node = this.#file(path, 'open');
    const start = range.start ?? 0;
    if (start < 0 || (range.end !== undefined && range.end < start)) throw new AppError('invalid', `open ${path}: bad range`);
    const endExclusive = range.end === undefined ? Infinity : range.end + 1;
    // Read as the stream is consumed, as from a disk: bytes written meanwhile are seen.
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let at = start; at < Math.min(endExclusive, node.size); ) {
        const n = Math.min(READ_CHUNK, Math.min(endExclusive, node.size) - at);
        yield Buffer.from(node.data.subarray(at, at + n));
        at += n;
      }
    }
    return destroyOnAbort(Readable.from(chunks(), { objectMode: false }), range.signal, 'read', path);
  }

  async openReader(path: string, o: CallOptions = {}): Promise<FileReader> {
    checkAborted(o.signal, 'open', path);
    return new MemoryReader(this.#file(path, 'open'), path, o.signal);
  }

  async openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    checkAborted(opts.signal, 'create', path);
    const { dir, name } = this.#parent(path, 'create');
    let node = this.#resolve(path, true);
    if (node?.type === 'dir') throw new AppError('is_dir', `create ${path}: is a directory`);
    if (node && opts.exclusive) throw new AppError('exists', `create ${path}: already exists`);
    if (node && node.type !== 'file') throw new AppError('invalid', `create ${path}: not a regular file`);
    if (!node) {
      node = { type: 'file', data: Buffer.alloc(0), size: 0, links: 1, ...this.#meta(opts.mode ?? 0o644) };
      dir.entries.set(name, node);
      dir.mtimeMs = Date.now();
    }
    const resume = opts.offset !== undefined || opts.append === true;
    if (opts.truncate ?? !resume) resize(node, 0);
    const start = opts.append ? node.size : (opts.offset ?? 0);
    return new MemoryWriter(node, start, path, opts.signal);
  }

  async rename(from: string, to: string, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'rename', from);
    const a = this.#parent(from, 'rename');
    const b = this.#parent(to, 'rename');
    const src = a.dir.entries.get(a.name);
    if (!src) throw notFound('rename', from);
    if (a.dir === b.dir && a.name === b.name) return;
    if (src.type === 'dir' && this.#inside(b.dir, src)) throw new AppError('invalid', `rename ${from} -> ${to}: target inside the source`);
    const dst = b.dir.entries.get(b.name);
    if (dst?.type === 'dir') {
      if (src.type !== 'dir') throw new AppError('is_dir', `rename ${from} -> ${to}: target is a directory`);
      if (dst.entries.size > 0) throw new AppError('not_empty', `rename ${from} -> ${to}: target not empty`);
    } else if (dst && src.type === 'dir') throw new AppError('not_dir', `rename ${from} -> ${to}: target is not a directory`);
    if (dst?.type === 'file') dst.links--;
    a.dir.entries.delete(a.name);
    b.dir.entries.set(b.name, src);
    a.dir.mtimeMs = b.dir.mtimeMs = Date.now();
  }

  /** Whether `dir` is `ancestor` or lies below it. */
  #inside(dir: DirNode, ancestor: DirNode): boolean {
    if (dir === ancestor) return true;
    for (const child of ancestor.entries.values()) if (child.type === 'dir' && this.#inside(dir, child)) return true;
    return false;
  }

  async remove(path: string, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'remove', path);
    const { dir, name } = this.#parent(path, 'remove');
    const node = dir.entries.get(name);
    if (!node) throw notFound('remove', path);
    if (node.type === 'dir') throw new AppError('is_dir', `remove ${path}: is a directory`);
    if (node.type === 'file') node.links--;
    dir.entries.delete(name);
    dir.mtimeMs = Date.now();
  }

  async mkdir(path: string, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'mkdir', path);
    if (parts(path).length === 0) throw new AppError('exists', 'mkdir /: exists');
    const { dir, name } = this.#parent(path, 'mkdir');
    if (dir.entries.has(name)) throw new AppError('exists', `mkdir ${path}: exists`);
    dir.entries.set(name, this.#dir(0o755));
    dir.mtimeMs = Date.now();
  }

  async rmdir(path: string, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'rmdir', path);
    const { dir, name } = this.#parent(path, 'rmdir');
    const node = dir.entries.get(name);
    if (!node) throw notFound('rmdir', path);
    if (node.type !== 'dir') throw new AppError('not_dir', `rmdir ${path}: not a directory`);
    if (node.entries.size > 0) throw new AppError('not_empty', `rmdir ${path}: directory not empty`);
    dir.entries.delete(name);
    dir.mtimeMs = Date.now();
  }

  async setTimes(path: string, atimeMs: number, mtimeMs: number, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'utimes', path);
    const node = this.#need(path, true, 'utimes');
    node.atimeMs = atimeMs;
    node.mtimeMs = mtimeMs;
  }

  async truncate(path: string, size: number, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'truncate', path);
    if (size < 0) throw new AppError('invalid', `truncate ${path}: negative size`);
    resize(this.#file(path, 'truncate'), size);
  }

  async statvfs(path: string, o: CallOptions = {}): Promise<FsUsage> {
    checkAborted(o.signal, 'statvfs', path);
    this.#need(path, true, 'statvfs');
    let used = 0;
    let files = 0;
    const walk = (d: DirNode): void => {
      for (const n of d.entries.values()) {
        files++;
        if (n.type === 'file') used += n.size;
        else if (n.type === 'dir') walk(n);
      }
    };
    walk(this.#root);
    const blocks = Math.ceil(this.#capacity / BLOCK);
    const free = Math.max(0, blocks - Math.ceil(used / BLOCK));
    return { blockSize: BLOCK, blocks, blocksFree: free, blocksAvail: free, files: files + 1e6, filesFree: 1e6, nameMax: 255 };
  }

  async copy(from: string, to: string, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'copy', from);
    const src = this.#file(from, 'copy');
    const w = await this.openWrite(to, { mode: src.mode });
    await w.write(src.data.subarray(0, src.size), 0);
    await w.close();
  }

  async chmod(path: string, mode: number, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'chmod', path);
    this.#need(path, true, 'chmod').mode = mode & 0o7777;
  }

  async chown(path: string, uid: number, gid: number, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'chown', path);
    const node = this.#need(path, true, 'chown');
    node.uid = uid;
    node.gid = gid;
  }

  async symlink(target: string, linkPath: string, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'symlink', linkPath);
    const { dir, name } = this.#parent(linkPath, 'symlink');
    if (dir.entries.has(name)) throw new AppError('exists', `symlink ${linkPath}: exists`);
    dir.entries.set(name, { type: 'symlink', target: posix.normalize(`/${target}`), ...this.#meta(0o777) });
  }

  async readlink(path: string, o: CallOptions = {}): Promise<string> {
    checkAborted(o.signal, 'readlink', path);
    const node = this.#need(path, false, 'readlink');
    if (node.type !== 'symlink') throw new AppError('invalid', `readlink ${path}: not a symbolic link`);
    return node.target;
  }

  async link(existing: string, newPath: string, o: CallOptions = {}): Promise<void> {
    checkAborted(o.signal, 'link', newPath);
    const node = this.#need(existing, false, 'link');
    if (node.type === 'dir') throw new AppError('permission_denied', `link ${existing}: is a directory`);
    const { dir, name } = this.#parent(newPath, 'link');
    if (dir.entries.has(name)) throw new AppError('exists', `link ${newPath}: exists`);
    if (node.type === 'file') node.links++;
    dir.entries.set(name, node);
  }

  async close(): Promise<void> {
    // Nothing is held outside the tree; the tree stays readable for a test that closed the Fs.
  }
}

/** Sets the content length, growing the buffer (zero-filled) by doubling so appends stay cheap. */
function resize(node: FileNode, size: number): void {
  if (size > node.data.length) {
    const grown = Buffer.alloc(Math.max(size, Math.min(node.data.length * 2, size + 64 * 2 ** 20)));
    node.data.copy(grown, 0, 0, node.size);
    node.data = grown;
  } else if (size > node.size) node.data.fill(0, node.size, size);
  node.size = size;
  node.mtimeMs = Date.now();
}

class MemoryReader implements FileReader {
  #open = true;
  constructor(
    private readonly node: FileNode,
    private readonly path: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async read(into: Uint8Array, position: number): Promise<number> {
    if (!this.#open) throw new AppError('invalid', 'read after close');
    checkAborted(this.signal, 'read', this.path);
    const n = Math.max(0, Math.min(into.byteLength, this.node.size - position));
    into.set(this.node.data.subarray(position, position + n));
    return n;
  }

  async close(): Promise<void> {
    this.#open = false;
  }
}

/** Writes land in the file at once, as on a disk: abort() keeps them (the core's upload mode decides). */
class MemoryWriter implements FileWriter {
  #next: number;
  #size: number;
  #open = true;

  constructor(
    private readonly node: FileNode,
    start: number,
    private readonly path: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.#next = this.#size = start;
  }

  get size(): number {
    return this.#size;
  }

  async write(data: Uint8Array, position = this.#next): Promise<void> {
    if (!this.#open) throw new AppError('invalid', 'write after close');
    checkAborted(this.signal, 'write', this.path);
    const end = position + data.byteLength;
    if (end > this.node.size) resize(this.node, end);
    this.node.data.set(data, position);
    this.node.mtimeMs = Date.now();
    this.#next = end;
    if (end > this.#size) this.#size = end;
  }

  async sync(): Promise<void> {}

  async close(): Promise<void> {
    this.#open = false;
  }

  async abort(): Promise<void> {
    this.#open = false;
  }
}
