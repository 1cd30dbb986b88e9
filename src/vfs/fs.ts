// The storage contract every backend implements (local, S3, GCS, Azure, SFTP, crypt, memory).
// It is deliberately small and streaming, in the spirit of rclone's Fs/Object. Each optional
// operation (copy, chmod, chown, symlink, readlink, link, openReader) exists once, as an optional
// method: its presence is the capability, so a flag and a method can never disagree. The few flags
// left in `capabilities` describe semantics of operations every backend has (how rename, writes and
// directories behave), checked by the session core so that protocol quirks never turn into special
// cases inside a backend. Paths are backend-relative POSIX paths ("" or "/" is the backend root),
// already resolved and confined by the core.
//
// Cancellation: every call takes one options object last, `CallOptions` or an extension of it
// (`ReadRange`, `WriteOptions`), whose `signal` cancels the call: an aborted call rejects promptly
// (AppError 'io', "aborted") and releases whatever it opened. A signal given to openRead,
// openReader or openWrite also governs the stream or handle it returns: once the signal aborts,
// the stream is destroyed and the handle's reads and writes reject; the caller still closes or
// aborts the handle, and close()/abort() work after the signal aborted. The session core passes
// its connection's signal to every call, so a client that leaves cancels its backend work.
import type { Readable } from 'node:stream';

export interface Capabilities {
  /** rename() replaces the target atomically (POSIX rename semantics). */
  atomicRename: boolean;
  /** Directories exist on their own (object stores emulate them with prefixes). */
  realDirectories: boolean;
  /** A writer accepts writes at any offset, and an existing file can be reopened to write into it. */
  randomWrites: boolean;
  /** openWrite({ offset }) can continue an existing file at its current end (upload resume). */
  resume: boolean;
  /**
   * Positional reads cost about a local pread (the kernel reads ahead): the core serves downloads
   * straight from openReader() instead of reading ahead of sequential reads.
   */
  lowLatencyReads?: boolean;
  /** Hash algorithms the backend can compute without the caller reading the data. */
  checksums: readonly string[];
}

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface FileInfo {
  /** Base name; for stat() of the root it is "". */
  name: string;
  type: EntryType;
  size: number;
  /** Unix ms. */
  mtimeMs: number;
  atimeMs: number;
  /** POSIX permission bits (no type bits); backends without modes report 0o644 / 0o755. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
}

/** The options every call takes; see the header for what `signal` means. */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface ReadRange extends CallOptions {
  /** First byte, inclusive. */
  start?: number;
  /** Last byte, inclusive (as in node:fs createReadStream). */
  end?: number;
}

export interface WriteOptions extends CallOptions {
  /** Start writing here; an existing file keeps its bytes before it (resume). */
  offset?: number;
  /** Append to the current end of an existing file. */
  append?: boolean;
  /** Empty an existing file first. Default: true when neither offset nor append is given. */
  truncate?: boolean;
  /** Fail with `exists` when the file already exists. */
  exclusive?: boolean;
  /** Permission bits for a new file. */
  mode?: number;
}

/** An open upload. Nothing is committed until close() resolves; abort() discards what it can. */
export interface FileWriter {
  /** Bytes known to be in the file (starting offset plus what was written past it). */
  readonly size: number;
  /**
   * Writes `data` at `position` (default: just after the previous write). Backends without
   * `randomWrites` reject any position other than the current end with `unsupported`. Once the
   * promise resolves the backend holds no reference to `data`: the caller reuses or frees it.
   */
  write(data: Uint8Array, position?: number): Promise<void>;
  /** Makes written data durable (fsync) where the backend can; otherwise resolves. */
  sync(): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** Positional reads (Fs.openReader): no stream per request, caller-owned buffers. */
export interface FileReader {
  read(into: Uint8Array, position: number): Promise<number>;
  /**
   * Copies up to `count` bytes from `position` straight to `fd`, a connected non-blocking socket,
   * inside the kernel (sendfile): the bytes never enter this process. Returns the count sent, 0 at
   * the end of the file, -1 when the socket takes nothing more now, -2, nothing sent, when the
   * bytes are not in memory (sending them would wait for the disk on the caller's thread): read
   * them instead. Synchronous: the caller sends a bounded count at a time. Present only where the
   * backend and the runtime can (the local backend under Bun on Linux).
   */
  sendTo?(fd: number, position: number, count: number): number;
  close(): Promise<void>;
}

export interface FsUsage {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  blocksAvail: number;
  files: number;
  filesFree: number;
  nameMax: number;
}

export interface Fs {
  /** Short backend name for logs: "local", "s3", ... */
  readonly kind: string;
  readonly capabilities: Capabilities;
  /** Follows symlinks. */
  stat(path: string, opts?: CallOptions): Promise<FileInfo>;
  /** Does not follow a final symlink (same as stat where symlinks are not supported). */
  lstat(path: string, opts?: CallOptions): Promise<FileInfo>;
  /** Entries of a directory, paged by the backend; never the whole listing in memory at once. */
  list(path: string, opts?: CallOptions): AsyncIterable<FileInfo>;
  openRead(path: string, range?: ReadRange): Promise<Readable>;
  /** Positional reads; absent where every read needs its own stream (object stores). */
  openReader?(path: string, opts?: CallOptions): Promise<FileReader>;
  openWrite(path: string, opts?: WriteOptions): Promise<FileWriter>;
  /** Replaces an existing target file (POSIX semantics) when capabilities.atomicRename. */
  rename(from: string, to: string, opts?: CallOptions): Promise<void>;
  /** Removes a file or symlink; a directory gives `is_dir`. */
  remove(path: string, opts?: CallOptions): Promise<void>;
  mkdir(path: string, opts?: CallOptions): Promise<void>;
  /** Removes an empty directory; `not_empty` otherwise. */
  rmdir(path: string, opts?: CallOptions): Promise<void>;
  setTimes(path: string, atimeMs: number, mtimeMs: number, opts?: CallOptions): Promise<void>;
  /** Sets the size of an existing file (truncate or extend). */
  truncate(path: string, size: number, opts?: CallOptions): Promise<void>;
  statvfs(path: string, opts?: CallOptions): Promise<FsUsage>;
  // Optional operations: present only on backends that can do them (their presence is the
  // capability), so the core checks `fs.copy` before calling it, never a flag.
  /** Server-side copy of a file: the bytes do not travel through this process. */
  copy?(from: string, to: string, opts?: CallOptions): Promise<void>;
  /** POSIX permission bits. */
  chmod?(path: string, mode: number, opts?: CallOptions): Promise<void>;
  /** POSIX owner and group. */
  chown?(path: string, uid: number, gid: number, opts?: CallOptions): Promise<void>;
  /** `target` is a backend path; the link is stored so that readlink() gives it back. */
  symlink?(target: string, linkPath: string, opts?: CallOptions): Promise<void>;
  readlink?(path: string, opts?: CallOptions): Promise<string>;
  /** Hard link. */
  link?(existing: string, newPath: string, opts?: CallOptions): Promise<void>;
  /**
   * Discards what uploads of these full object keys left open server-side (S3 multipart uploads,
   * Azure blocks never committed): the crash repair of object stores. Resolves the number discarded.
   */
  discardUploads?(keys: readonly string[], opts?: CallOptions): Promise<number>;
  /** Releases clients and pools held by the backend. */
  close?(): Promise<void>;
}
