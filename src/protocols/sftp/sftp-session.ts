// One SFTP v3 subsystem channel: decodes requests (ssh2 parses the wire), calls the user's tree in
// the core, and maps results and errors back. Owns the channel's open handles and releases them
// when the channel closes, however it closes.
import { AppError } from '../../errors.ts';
import type { Connection } from '../../core/connection.ts';
import type { Download, Upload } from '../../core/transfers.ts';
import type { SetAttrs } from '../../core/user-fs.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import type { SFTPWrapper } from '../../lib/ssh2.ts';
import { FX, attrsOf, statusOf } from './status.ts';
import { longnameOf } from '../../core/longname.ts';
import { symlinkArgs, uint64s } from './wire.ts';
import { ReplyOrder } from './reply-order.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';

const OPEN = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 } as const;
const READDIR_PAGE = 100;
// DATA reply: uint32 length, byte type, uint32 id, uint32 data length.
const DATA_HEADER = 13;
// WRITE request: length, type, id, handle string (4 + 4 bytes), uint64 offset, data length.
const WRITE_HEADER = 29;
const MAX_HANDLES = 256;
// Largest READ we serve in one reply (OpenSSH's sftp-server allows the same order of size).
const MAX_READ = 256 * 1024;
// WRITE data buffers: the usual size (OpenSSH's sftp writes up to 32 KiB), and how many a session
// keeps for reuse (OpenSSH keeps up to 64 requests in flight).
const WRITE_BUFFER = 32 * 1024;
const WRITE_POOL = 64;

type Handle =
  | { kind: 'download'; vpath: string; transfer: Download; pending: Set<Promise<unknown>> }
  | {
      kind: 'upload';
      vpath: string;
      transfer: Upload;
      pending: Set<Promise<unknown>>;
      deferred?: SetAttrs;
      /** Opened without truncation: an existing file keeps its bytes. */
      keeps: boolean;
    }
  | { kind: 'dir'; vpath: string; entries: AsyncIterator<FileInfo>; pending: Set<Promise<unknown>> };

interface WireAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: number;
  mtime?: number;
}

function setAttrsOf(a: WireAttrs): SetAttrs {
  const out: SetAttrs = {};
  if (a.mode !== undefined) out.mode = a.mode & 0o7777;
  if (a.uid !== undefined) out.uid = a.uid;
  if (a.gid !== undefined) out.gid = a.gid;
  if (a.size !== undefined) out.size = a.size;
  if (a.atime !== undefined) out.atimeMs = a.atime * 1000;
  if (a.mtime !== undefined) out.mtimeMs = a.mtime * 1000;
  return out;
}

function readStrings(data: Buffer, n: number): string[] | undefined {
  const out: string[] = [];
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (p + 4 > data.length) return undefined;
    const len = data.readUInt32BE(p);
    if (p + 4 + len > data.length) return undefined;
    out.push(data.toString('utf8', p + 4, p + 4 + len));
    p += 4 + len;
  }
  return out;
}

/** A handle's number, read while its request is parsed (the Buffer is ssh2's and transient). */
function handleId(h: Buffer): number {
  return h.length === 4 ? h.readUInt32BE(0) : -1;
}

function readHandle(data: Buffer): Buffer | undefined {
  if (data.length < 4) return undefined;
  const len = data.readUInt32BE(0);
  return data.length >= 4 + len ? data.subarray(4, 4 + len) : undefined;
}

export class SftpSession {
  readonly #handles = new Map<number, Handle>();
  #nextHandle = 1;
  /** Read length that fits one SSH packet, advertised through limits@openssh.com. */
  readonly #packetRead: number;
  /** Read buffers handed back after each DATA reply: ssh2 copies them into the packet. */
  readonly #pool: Buffer[] = [];
  /** Buffers WRITE data is copied into, handed back once the write has landed. */
  readonly #writePool: Buffer[] = [];
  /** Replies leave in the order their requests arrived, however the work finishes. */
  readonly #order = new ReplyOrder();
  #closed = false;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly conn: Connection,
    private readonly onRelease: () => void = () => undefined,
  ) {
    this.#packetRead = Math.max(1024, sftp.outgoingPacketSize - DATA_HEADER);
    sftp.advertiseExtensions({
      'posix-rename@openssh.com': '1',
      'statvfs@openssh.com': '2',
      'fsync@openssh.com': '1',
      'hardlink@openssh.com': '1',
      'limits@openssh.com': '1',
    });
    // Request Buffers are ssh2's only while an event runs: handles and WRITE data are copied when
    // the request arrives, so ssh2 frees each socket chunk once parsed (vendor/ssh2/README.md).
    sftp.useTransientRequestData();
    this.#wire();
  }

  get openHandles(): number {
    return this.#handles.size;
  }

  #wire(): void {
    const s = this.sftp;
    const dispatch = (reqId: number, run: () => Promise<void> | void): void => {
      this.conn.touch();
      this.#order.arrive(reqId);
      Promise.resolve()
        .then(run)
        .catch((err) => this.#fail(reqId, err));
    };
    // Buffer arguments are copied before the event returns (see useTransientRequestData).
    const on = (event: string, fn: (reqId: number, ...args: never[]) => Promise<void> | void): void => {
      s.on(event as never, ((reqId: number, ...args: unknown[]) => {
        const kept = args.map((a) => (Buffer.isBuffer(a) ? Buffer.from(a) : a)) as never[];
        dispatch(reqId, () => fn(reqId, ...kept));
      }) as never);
    };
    on('OPEN', (id, path: string, flags: number, attrs: WireAttrs) => this.#open(id, path, flags, attrs));
    // The data path reads the handle's number and copies WRITE data into a pooled buffer instead.
    s.on('READ', (id: number, h: Buffer, offset: number, length: number) => {
      const hid = handleId(h);
      dispatch(id, () => this.#read(id, hid, offset, length));
    });
    s.on('WRITE', (id: number, h: Buffer, offset: number, data: Buffer) => {
      const hid = handleId(h);
      const buf = this.#writeBuffer(data);
      const n = data.length;
      dispatch(id, () => this.#write(id, hid, offset, buf, n));
    });
    on('CLOSE', (id, h: Buffer) => this.#close(id, h));
    on('FSTAT', (id, h: Buffer) => this.#fstat(id, h));
    on('FSETSTAT', (id, h: Buffer, attrs: WireAttrs) => this.#fsetstat(id, h, attrs));
    on('STAT', (id, path: string) => this.#stat(id, path, true));
    on('LSTAT', (id, path: string) => this.#stat(id, path, false));
    on('SETSTAT', async (id, path: string, attrs: WireAttrs) => {
      await this.conn.fs.setAttrs(this.#path(path), setAttrsOf(attrs));
      this.#ok(id);
    });
    on('OPENDIR', (id, path: string) => this.#opendir(id, path));
    on('READDIR', (id, h: Buffer) => this.#readdir(id, h));
    on('REMOVE', async (id, path: string) => (await this.conn.fs.remove(this.#path(path)), this.#ok(id)));
    on('MKDIR', async (id, path: string) => (await this.conn.fs.mkdir(this.#path(path)), this.#ok(id)));
    on('RMDIR', async (id, path: string) => (await this.conn.fs.rmdir(this.#path(path)), this.#ok(id)));
    on('RENAME', async (id, from: string, to: string) => {
      await this.conn.fs.rename(this.#path(from), this.#path(to), false);
      this.#ok(id);
    });
    on('REALPATH', (id, path: string) => {
      const p = this.#path(path);
      this.#reply(id, () => s.name(id, [{ filename: p, longname: p, attrs: {} as never }]));
    });
    on('READLINK', async (id, path: string) => {
      const target = await this.conn.fs.readlink(this.#path(path));
      this.#reply(id, () => s.name(id, [{ filename: target, longname: target, attrs: {} as never }]));
    });
    on('SYMLINK', async (id, first: string, second: string) => {
      const { target, link } = symlinkArgs(s, first, second);
      await this.conn.fs.symlink(target, this.#path(link));
      this.#ok(id);
    });
    // ssh2 passes no Buffer when the request carries nothing after the extension's name.
    on('EXTENDED', (id, name: string, data: Buffer | undefined) => this.#extended(id, name, data ?? Buffer.alloc(0)));
    // A request whose fields do not decode: its status keeps its place among the other replies.
    s.on('BAD_REQUEST', (id, code, message) => {
      this.conn.context.log('info', 'sftp_bad_request', { connection: this.conn.id, username: this.conn.username, message });
      dispatch(id, () => this.#reply(id, () => s.status(id, code, message)));
    });
    // sftp(1) waits for the server to end the stream after it sends EOF; scp(1) in SFTP mode also
    // wants the subsystem's exit status, as sshd reports it when sftp-server exits.
    s.on('end', () => {
      s.exit(0);
      s.end();
    });
    s.on('close', () => void this.release());
    s.on('error', () => void this.release());
  }

  #path(p: string): string {
    return this.conn.fs.path(p);
  }

  /** Sends a reply once every request that arrived before `id` has had its own. */
  #reply(id: number, write: () => void): void {
    this.#order.reply(id, write);
  }

  #ok(id: number): void {
    this.#reply(id, () => this.sftp.status(id, FX.OK));
  }

  #fail(id: number, err: unknown): void {
    if (this.#closed) return;
    const { code, message } = statusOf(err, this.conn.context.log);
    if (code === FX.PERMISSION_DENIED)
      this.conn.context.log('info', 'sftp_denied', { connection: this.conn.id, username: this.conn.username, message });
    this.#reply(id, () => this.sftp.status(id, code, message));
  }

  #replyAttrs(id: number, attrs: ReturnType<typeof attrsOf>): void {
    this.#reply(id, () => this.sftp.attrs(id, attrs as never));
  }

  #replyHandle(id: number, handle: Buffer): void {
    this.#reply(id, () => this.sftp.handle(id, handle));
  }

  #add(h: Handle): Buffer {
    if (this.#handles.size >= MAX_HANDLES) throw new AppError('quota_exceeded', 'too many open handles');
    const n = this.#nextHandle++;
    this.#handles.set(n, h);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n, 0);
    return b;
  }

  #get(h: Buffer | number): Handle {
    const handle = this.#handles.get(typeof h === 'number' ? h : handleId(h));
    if (!handle) throw new AppError('invalid', 'invalid handle');
    return handle;
  }

  /** Runs `fn` as in-flight work of a handle, so CLOSE waits for pipelined reads and writes. */
  #track<T>(h: Handle, p: Promise<T>): Promise<T> {
    h.pending.add(p);
    const done = (): void => void h.pending.delete(p);
    p.then(done, done);
    return p;
  }

  async #open(id: number, path: string, flags: number, attrs: WireAttrs): Promise<void> {
    const vpath = this.#path(path);
    const fs = this.conn.fs;
    if (flags & OPEN.WRITE) {
      if (!(flags & OPEN.CREAT)) await fs.stat(vpath);
      const transfer = await fs.openUpload(this.conn, vpath, {
        truncate: (flags & OPEN.TRUNC) !== 0,
        append: (flags & OPEN.APPEND) !== 0,
        exclusive: (flags & OPEN.EXCL) !== 0,
        mode: attrs.mode !== undefined ? attrs.mode & 0o777 : undefined,
      });
      this.#replyHandle(id, this.#add({ kind: 'upload', vpath, transfer, pending: new Set(), keeps: (flags & OPEN.TRUNC) === 0 }));
      return;
    }
    const transfer = await fs.openDownload(this.conn, vpath);
    this.#replyHandle(id, this.#add({ kind: 'download', vpath, transfer, pending: new Set() }));
  }

  async #read(id: number, hb: number, offset: number, length: number): Promise<void> {
    const h = this.#get(hb);
    if (h.kind !== 'download') throw new AppError('unsupported', 'handle not open for reading');
    // Served as asked: OpenSSH's sftp reads the one-packet size from limits@openssh.com, while
    // other clients (pkg/sftp behind rclone) treat a short read mid-file as an error.
    const want = Math.min(length, MAX_READ);
    const pooled = this.#pool.pop();
    const b = pooled && pooled.length >= want ? pooled : Buffer.allocUnsafe(Math.max(want, this.#packetRead));
    let n: number;
    try {
      n = await this.#track(h, h.transfer.read(want === b.length ? b : b.subarray(0, want), offset));
    } catch (err) {
      this.#pool.push(b);
      throw err;
    }
    if (this.#closed) return;
    // The buffer goes back to the pool once ssh2 has copied it into the packet, which may be
    // after replies to earlier requests have gone out.
    this.#reply(id, () => {
      try {
        if (n === 0) this.sftp.status(id, FX.EOF);
        else this.sftp.data(id, n === b.length ? b : b.subarray(0, n));
      } finally {
        this.#pool.push(b);
      }
    });
  }

  /** A pooled buffer holding a copy of `data` in its first bytes. */
  #writeBuffer(data: Buffer): Buffer {
    let b = this.#writePool.pop();
    if (!b || b.length < data.length) {
      if (b) freeBuffer(b);
      b = Buffer.allocUnsafe(Math.max(WRITE_BUFFER, data.length));
    }
    data.copy(b, 0);
    return b;
  }

  async #write(id: number, hb: number, offset: number, buf: Buffer, n: number): Promise<void> {
    const h = this.#get(hb);
    if (h.kind !== 'upload') throw new AppError('unsupported', 'handle not open for writing');
    // FileWriter.write is done with the bytes once it resolves; a failed write leaves its buffer
    // to the collector, in case the backend is not.
    await this.#track(h, h.transfer.write(n === buf.length ? buf : buf.subarray(0, n), offset));
    if (this.#closed || this.#writePool.length >= WRITE_POOL) freeBuffer(buf);
    else this.#writePool.push(buf);
    this.#ok(id);
  }

  async #close(id: number, hb: Buffer): Promise<void> {
    const h = this.#get(hb);
    this.#handles.delete(hb.readUInt32BE(0));
    await Promise.allSettled([...h.pending]);
    if (h.kind === 'dir') {
      await h.entries.return?.();
    } else {
      await h.transfer.close();
      if (h.kind === 'upload' && h.deferred) await this.conn.fs.setAttrs(h.vpath, h.deferred);
    }
    this.#ok(id);
  }

  async #stat(id: number, path: string, follow: boolean): Promise<void> {
    this.#replyAttrs(id, attrsOf(await this.conn.fs.stat(this.#path(path), follow)));
  }

  async #fstat(id: number, hb: Buffer): Promise<void> {
    const h = this.#get(hb);
    if (h.kind === 'upload') {
      // The data may be under a temporary name (atomic uploads): report what the client wrote,
      // over the bytes an existing file kept (the target still has them until the commit).
      const st = await this.conn.fs.stat(h.vpath).catch(() => undefined);
      const now = Date.now();
      const base: FileInfo = st ?? { name: '', type: 'file', size: 0, mtimeMs: now, atimeMs: now, mode: 0o644, uid: 0, gid: 0, nlink: 1 };
      const size = h.keeps ? Math.max(st?.size ?? 0, h.transfer.size) : h.transfer.size;
      this.#replyAttrs(id, attrsOf({ ...base, size }));
      return;
    }
    this.#replyAttrs(id, attrsOf(await this.conn.fs.stat(h.vpath)));
  }

  async #fsetstat(id: number, hb: Buffer, attrs: WireAttrs): Promise<void> {
    const h = this.#get(hb);
    const a = setAttrsOf(attrs);
    if (h.kind === 'upload') {
      // Applied once the upload is committed, so an atomic upload's final file gets them.
      this.conn.fs.checkAttrs(h.vpath, a, false);
      h.deferred = { ...h.deferred, ...a };
    } else {
      await this.conn.fs.setAttrs(h.vpath, a);
    }
    this.#ok(id);
  }

  async #opendir(id: number, path: string): Promise<void> {
    const vpath = this.#path(path);
    const entries = (await this.conn.fs.openDir(vpath))[Symbol.asyncIterator]();
    this.#replyHandle(id, this.#add({ kind: 'dir', vpath, entries, pending: new Set() }));
  }

  async #readdir(id: number, hb: Buffer): Promise<void> {
    const h = this.#get(hb);
    if (h.kind !== 'dir') throw new AppError('invalid', 'not a directory handle');
    // The whole page is one piece of in-flight work for CLOSE to wait for, not each entry.
    const page = await this.#track(h, this.#page(h.entries));
    if (page.length === 0) this.#reply(id, () => this.sftp.status(id, FX.EOF));
    else this.#reply(id, () => this.sftp.name(id, page));
  }

  async #page(entries: AsyncIterator<FileInfo>): Promise<{ filename: string; longname: string; attrs: never }[]> {
    const page: { filename: string; longname: string; attrs: never }[] = [];
    const now = Date.now();
    while (page.length < READDIR_PAGE) {
      const next = await entries.next();
      if (next.done) break;
      page.push({ filename: next.value.name, longname: longnameOf(next.value, now), attrs: attrsOf(next.value) as never });
    }
    return page;
  }

  async #extended(id: number, name: string, data: Buffer): Promise<void> {
    const fs = this.conn.fs;
    switch (name) {
      case 'posix-rename@openssh.com':
      case 'hardlink@openssh.com': {
        const args = readStrings(data, 2);
        if (!args) throw new AppError('invalid', `malformed ${name}`);
        if (name === 'posix-rename@openssh.com') await fs.rename(this.#path(args[0]!), this.#path(args[1]!), true);
        else await fs.link(this.#path(args[0]!), this.#path(args[1]!));
        return this.#ok(id);
      }
      case 'statvfs@openssh.com': {
        const args = readStrings(data, 1);
        if (!args) throw new AppError('invalid', 'malformed statvfs');
        const u = await fs.statvfs(this.#path(args[0]!));
        const reply = uint64s([u.blockSize, u.blockSize, u.blocks, u.blocksFree, u.blocksAvail, u.files, u.filesFree, u.filesFree, 0, 0, u.nameMax]);
        this.#reply(id, () => this.sftp.extendedReply(id, reply));
        return;
      }
      case 'fsync@openssh.com': {
        const hb = readHandle(data);
        const h = hb && this.#get(hb);
        if (!h || h.kind !== 'upload') throw new AppError('invalid', 'fsync needs a file open for writing');
        await h.transfer.sync();
        return this.#ok(id);
      }
      case 'limits@openssh.com': {
        // Sizes that keep every DATA reply and WRITE request inside one SSH packet.
        const reply = uint64s([this.#packetRead + DATA_HEADER, this.#packetRead, 32768 - WRITE_HEADER, MAX_HANDLES]);
        this.#reply(id, () => this.sftp.extendedReply(id, reply));
        return;
      }
      default:
        throw new AppError('unsupported', `extension ${name} is not supported`);
    }
  }

  /** Releases every handle: open uploads are aborted (the upload mode decides what remains). */
  async release(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.onRelease();
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    // Nothing references pooled buffers: reads gave theirs back after ssh2 copied them, writes
    // after the backend was done.
    for (const b of this.#pool.splice(0)) freeBuffer(b);
    for (const b of this.#writePool.splice(0)) freeBuffer(b);
    this.#order.clear();
    await Promise.allSettled(
      handles.map(async (h) => {
        await Promise.allSettled([...h.pending]);
        if (h.kind === 'dir') await h.entries.return?.();
        else await h.transfer.abort();
      }),
    );
  }
}
