// An Fs over WebDAV with `fetch`, for running the backend suite through the WebDAV front-end:
// PROPFIND (Depth 0 for stat, Depth 1 for listings, read as it streams in), GET with Range, PUT
// with a streamed body, DELETE, MKCOL, MOVE with Overwrite: T, and PROPPATCH of getlastmodified
// for times (which this server, like SFTPGo, applies to the file). DELETE removes a collection
// with everything in it, so remove() and rmdir() look first: that check is not atomic. A GET of a
// collection answers an HTML index, which openRead() does not look out for.
// The multistatus reader matches element names whatever their prefix and ignores namespaces: it
// reads one server's answers in tests, it is not a general WebDAV client.
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { AppError, type ErrorCode } from '../../src/errors.ts';
import type { Capabilities, FileInfo, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../../src/vfs/fs.ts';

export interface WebDavFsOptions {
  /** Base URL of the user's root, e.g. http://127.0.0.1:8080 (a path prefix is allowed). */
  url: string;
  username: string;
  password: string;
}

const CAPABILITIES: Capabilities = {
  // MOVE onto an existing target deletes it first: there is a moment with neither.
  atomicRename: false,
  realDirectories: true,
  randomWrites: false,
  // PUT with Content-Range is refused (and not standard): an upload cannot be continued.
  resume: false,
  checksums: [],
};

const DEFAULT_ERRORS: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid',
  401: 'permission_denied',
  403: 'permission_denied',
  404: 'not_found',
  412: 'exists',
  415: 'invalid',
  423: 'permission_denied',
  501: 'unsupported',
  507: 'quota_exceeded',
};

const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/></D:prop></D:propfind>';

/** `<prefix:name ...>` or `<name ...>`, any prefix. */
const el = (name: string, flags = ''): RegExp => new RegExp(`<(?:[\\w.-]+:)?${name}(?=[\\s/>])[^>]*?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}\\s*>`, flags);
const RESPONSE = el('response');
const PROPSTAT = el('propstat', 'g');
const HREF = el('href');
const STATUS = /HTTP\/\d(?:\.\d)?\s+(\d{3})/;
const COLLECTION = /<(?:[\w.-]+:)?collection[\s/>]/;
const LENGTH = el('getcontentlength');
const MODIFIED = el('getlastmodified');

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()] ?? '';
  });
}

function normalize(path: string): string {
  return posix.normalize(`/${path}`).replace(/(.)\/+$/, '$1');
}

async function drain(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

export class WebDavFs implements Fs {
  readonly kind = 'webdav';
  readonly capabilities = CAPABILITIES;
  readonly #base: URL;
  readonly #auth: string;

  constructor(opts: WebDavFsOptions) {
    this.#base = new URL(opts.url.replace(/\/+$/, ''));
    this.#auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  }

  #url(path: string): string {
    const enc = path === '/' ? '/' : path.split('/').map(encodeURIComponent).join('/');
    return `${this.#base.origin}${this.#base.pathname.replace(/\/$/, '')}${enc}`;
  }

  /** The backend path an href names (below the base URL), or undefined. */
  #pathOf(href: string): string | undefined {
    const pathname = new URL(unescapeXml(href.trim()), this.#base).pathname;
    const prefix = this.#base.pathname.replace(/\/$/, '');
    if (!pathname.startsWith(prefix)) return undefined;
    return normalize(pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/'));
  }

  #fetch(method: string, path: string, init: { headers?: Record<string, string>; body?: RequestInit['body']; signal?: AbortSignal } = {}): Promise<Response> {
    return fetch(this.#url(path), {
      method,
      headers: { Authorization: this.#auth, ...init.headers },
      body: init.body,
      signal: init.signal,
      redirect: 'manual',
      // A streamed request body needs half duplex.
      ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  async #fail(what: string, res: Response, overrides: Readonly<Record<number, ErrorCode>> = {}): Promise<AppError> {
    const text = (await res.text().catch(() => '')).trim().slice(0, 200);
    return new AppError(overrides[res.status] ?? DEFAULT_ERRORS[res.status] ?? 'io', `${what}: HTTP ${res.status} ${text}`);
  }

  /** The entries of a PROPFIND answer, parsed as the multistatus streams in. */
  async *#propfind(path: string, depth: '0' | '1'): AsyncGenerator<FileInfo & { path: string }> {
    const res = await this.#fetch('PROPFIND', path, { headers: { Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' }, body: PROPFIND_BODY });
    if (res.status !== 207) throw await this.#fail(`PROPFIND ${path}`, res);
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body ?? []) {
        buf += decoder.decode(chunk, { stream: true });
        for (let m = RESPONSE.exec(buf); m; m = RESPONSE.exec(buf)) {
          buf = buf.slice(m.index + m[0].length);
          const entry = this.#entryOf(m[1]!);
          if (entry) yield entry;
        }
      }
    } finally {
      await drain(res);
    }
  }

  #entryOf(xml: string): (FileInfo & { path: string }) | undefined {
    const href = HREF.exec(xml)?.[1];
    const path = href === undefined ? undefined : this.#pathOf(href);
    if (path === undefined) return undefined;
    // Only properties the server found (200) count; missing ones come in a 404 propstat.
    const found = [...xml.matchAll(PROPSTAT)].filter((p) => STATUS.exec(p[1]!)?.[1] === '200').map((p) => p[1]!).join('');
    const isDir = COLLECTION.test(found);
    const modified = MODIFIED.exec(found)?.[1];
    const mtimeMs = modified ? Date.parse(unescapeXml(modified).trim()) || 0 : 0;
    return {
      path,
      name: path === '/' ? '' : posix.basename(path),
      type: isDir ? 'dir' : 'file',
      size: isDir ? 0 : Number(LENGTH.exec(found)?.[1]?.trim() ?? 0),
      mtimeMs,
      atimeMs: mtimeMs,
      mode: isDir ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      nlink: 1,
    };
  }

  async stat(path: string): Promise<FileInfo> {
    const p = normalize(path);
    for await (const { path: _, ...info } of this.#propfind(p, '0')) return info;
    throw new AppError('io', `PROPFIND ${p}: no response for the resource`);
  }

  lstat(path: string): Promise<FileInfo> {
    return this.stat(path);
  }

  async *list(path: string): AsyncIterable<FileInfo> {
    const p = normalize(path);
    for await (const { path: entryPath, ...info } of this.#propfind(p, '1')) {
      if (entryPath !== p) yield info;
      else if (info.type !== 'dir') throw new AppError('not_dir', `${p} is not a directory`);
    }
  }

  async openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    const p = normalize(path);
    const ranged = (range.start ?? 0) > 0 || range.end !== undefined;
    const res = await this.#fetch('GET', p, { headers: ranged ? { Range: `bytes=${range.start ?? 0}-${range.end ?? ''}` } : {} });
    if (res.status === 416) {
      await drain(res);
      return Readable.from([]);
    }
    if (res.status !== (ranged ? 206 : 200)) {
      if (res.status === 200) await drain(res);
      throw res.status === 200 ? new AppError('io', `GET ${p}: the server ignored the Range`) : await this.#fail(`GET ${p}`, res);
    }
    const body = res.body;
    if (!body) return Readable.from([]);
    const out = Readable.from(body, { objectMode: false });
    // Destroyed before its first read, nothing else would let go of the response.
    out.once('close', () => void body.cancel().catch(() => undefined));
    return out;
  }

  async openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const p = normalize(path);
    if (opts.append || (opts.offset ?? 0) > 0 || opts.truncate === false) throw new AppError('unsupported', 'webdav: an upload always replaces the whole file');
    if (opts.exclusive && (await this.#exists(p))) throw new AppError('exists', `${p} exists`);
    return new PutWriter(p, (body, signal) => this.#fetch('PUT', p, { body, signal }), (res) => this.#fail(`PUT ${p}`, res, { 405: 'is_dir', 409: 'not_found' }));
  }

  async #exists(p: string): Promise<FileInfo | undefined> {
    try {
      return await this.stat(p);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const [a, b] = [normalize(from), normalize(to)];
    const res = await this.#fetch('MOVE', a, { headers: { Destination: this.#url(b), Overwrite: 'T' } });
    if (res.status !== 201 && res.status !== 204) throw await this.#fail(`MOVE ${a} ${b}`, res, { 409: 'not_found' });
    await drain(res);
  }

  async remove(path: string): Promise<void> {
    const p = normalize(path);
    if ((await this.stat(p)).type === 'dir') throw new AppError('is_dir', `${p} is a directory`);
    await this.#delete(p);
  }

  async #delete(p: string): Promise<void> {
    const res = await this.#fetch('DELETE', p);
    if (res.status !== 204 && res.status !== 200) throw await this.#fail(`DELETE ${p}`, res);
    await drain(res);
  }

  async mkdir(path: string): Promise<void> {
    const p = normalize(path);
    const res = await this.#fetch('MKCOL', p);
    if (res.status !== 201) throw await this.#fail(`MKCOL ${p}`, res, { 405: 'exists', 409: 'not_found' });
    await drain(res);
  }

  async rmdir(path: string): Promise<void> {
    const p = normalize(path);
    for await (const _ of this.list(p)) throw new AppError('not_empty', `${p} is not empty`);
    await this.#delete(p);
  }

  /** PROPPATCH of DAV:getlastmodified (whole seconds); the access time has no property. */
  async setTimes(path: string, _atimeMs: number, mtimeMs: number): Promise<void> {
    const p = normalize(path);
    const body = `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getlastmodified>${new Date(mtimeMs).toUTCString()}</D:getlastmodified></D:prop></D:set></D:propertyupdate>`;
    const res = await this.#fetch('PROPPATCH', p, { headers: { 'Content-Type': 'application/xml; charset=utf-8' }, body });
    if (res.status !== 207) throw await this.#fail(`PROPPATCH ${p}`, res);
    const xml = await res.text();
    const statuses = [...xml.matchAll(PROPSTAT)].map((m) => STATUS.exec(m[1]!)?.[1]);
    if (statuses.length === 0 || statuses.some((s) => s !== '200')) throw new AppError('io', `PROPPATCH ${p}: ${statuses.join(', ') || 'no status'}`);
  }

  /** Only to 0 (an empty PUT) or to the current size: WebDAV cannot cut a file short. */
  async truncate(path: string, size: number): Promise<void> {
    const st = await this.stat(path);
    if (st.type === 'dir') throw new AppError('is_dir', `${path} is a directory`);
    if (size === st.size) return;
    if (size !== 0) throw new AppError('unsupported', 'webdav: a file can only be truncated to 0');
    const w = await this.openWrite(path);
    await w.close();
  }

  async statvfs(_path: string): Promise<FsUsage> {
    throw new AppError('unsupported', 'webdav: this server publishes no quota properties');
  }
}

/**
 * One PUT whose body is fed by write(): each chunk waits until fetch has taken the previous one,
 * so memory stays bounded. abort() cuts the request, which the server takes as a failed upload.
 */
class PutWriter implements FileWriter {
  #size = 0;
  #done = false;
  readonly #ac = new AbortController();
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #pulled: (() => void) | undefined;
  readonly #response: Promise<Response>;
  readonly #settled: Promise<void>;

  constructor(
    private readonly path: string,
    put: (body: ReadableStream<Uint8Array>, signal: AbortSignal) => Promise<Response>,
    private readonly fail: (res: Response) => Promise<AppError>,
  ) {
    const body = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#controller = c),
      pull: () => {
        this.#pulled?.();
        this.#pulled = undefined;
      },
    });
    this.#response = put(body, this.#ac.signal);
    this.#settled = this.#response.then(
      () => undefined,
      () => undefined,
    );
  }

  get size(): number {
    return this.#size;
  }

  async write(data: Uint8Array, position?: number): Promise<void> {
    if (this.#done) throw new AppError('io', `PUT ${this.path}: the upload is over`);
    if (position !== undefined && position !== this.#size) throw new AppError('unsupported', `webdav: write at ${position}, the upload is at ${this.#size}`);
    // A copy: the caller may reuse its buffer once write() resolves, fetch may still hold the chunk.
    this.#controller.enqueue(data.slice());
    this.#size += data.length;
    if ((this.#controller.desiredSize ?? 0) > 0) return;
    const taken = new Promise<boolean>((resolve) => (this.#pulled = () => resolve(false)));
    // The server may answer (an error) before it has read everything.
    if (await Promise.race([taken, this.#settled.then(() => true)])) {
      const res = await this.#response.catch(() => undefined);
      throw res ? await this.fail(res) : new AppError('io', `PUT ${this.path}: the request failed`);
    }
  }

  async sync(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      this.#controller.close();
    } catch {
      // fetch already gave up on the body: the response says why.
    }
    let res: Response;
    try {
      res = await this.#response;
    } catch (err) {
      throw new AppError('io', `PUT ${this.path}: ${(err as Error).message}`);
    }
    if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await this.fail(res);
    await drain(res);
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#ac.abort();
    await this.#settled;
  }
}
