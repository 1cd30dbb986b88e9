// What every WebDAV handler works with: the request's virtual path (decoded from the URL below the
// binding's prefix), hrefs for answers, bounded XML bodies, and the precondition checks shared by
// the methods that change things — the `If:` header (412 when false), lock tokens (423 when a lock
// protecting the resource was not submitted) and If-Match/If-None-Match.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import type { Connection } from '../../core/connection.ts';
import { cleanVirtualPath, parentOf } from '../../core/paths.ts';
import type { UserFs } from '../../core/user-fs.ts';
import { AppError } from '../../errors.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import { evaluateIf, parseIfHeader, submittedTokens, type IfList } from './if-header.ts';
import type { LockTable } from './locks.ts';
import { etagOf, type DeadProperties } from './properties.ts';
import { HttpError } from './status.ts';
import { parseXml, type XmlElement } from './xml.ts';

export const MAX_XML_BODY = 1024 * 1024;

const bodiesRead = new WeakSet<IncomingMessage>();

/** Records that the whole request body was read (the connection can be kept alive after an error). */
export function markBodyRead(req: IncomingMessage): void {
  bodiesRead.add(req);
}

/** True when the request has a body nobody read (an early error answer then closes the connection). */
export function bodyUnread(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  const has = (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
  return has && !bodiesRead.has(req);
}

export interface DavShared {
  locks: LockTable;
  props: DeadProperties;
}

export class DavRequest {
  readonly fs: UserFs;
  readonly username: string;
  #ifLists: IfList[] | undefined | null = null;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly conn: Connection,
    /** Binding prefix without a trailing slash ("" for none). */
    readonly prefix: string,
    readonly vpath: string,
    readonly shared: DavShared,
  ) {
    this.fs = conn.fs;
    this.username = conn.username;
  }

  get locks(): LockTable {
    return this.shared.locks;
  }

  get props(): DeadProperties {
    return this.shared.props;
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /** The URL a client uses for `vpath` (collections end with "/"). */
  href(vpath: string, isDir: boolean): string {
    const enc = vpath === '/' ? '' : vpath.split('/').map((s) => encodeURIComponent(s)).join('/');
    return `${this.prefix}${enc}${isDir ? '/' : ''}` || '/';
  }

  /** Resolves a URL or absolute path (Destination, If tags) to a virtual path; undefined if not ours. */
  pathOf(ref: string): string | undefined {
    let path: string;
    try {
      path = new URL(ref, 'http://x').pathname;
    } catch {
      return undefined;
    }
    try {
      return pathBelowPrefix(path, this.prefix);
    } catch {
      return undefined;
    }
  }

  async probe(vpath = this.vpath): Promise<FileInfo | undefined> {
    return this.fs.probe(vpath);
  }

  hasBody(): boolean {
    const len = this.req.headers['content-length'];
    return (len !== undefined && len !== '0') || this.req.headers['transfer-encoding'] !== undefined;
  }

  /** Reads a small body (XML requests); undefined when empty. 413 past MAX_XML_BODY. */
  async readBody(): Promise<string | undefined> {
    if (!this.hasBody()) return undefined;
    const len = Number(this.req.headers['content-length'] ?? 0);
    if (len > MAX_XML_BODY) throw new HttpError(413, 'request body too large');
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const c of this.req) {
      total += (c as Buffer).length;
      if (total > MAX_XML_BODY) throw new HttpError(413, 'request body too large', undefined, { Connection: 'close' });
      chunks.push(c as Buffer);
    }
    markBodyRead(this.req);
    const text = Buffer.concat(chunks).toString('utf8');
    return text.trim() ? text : undefined;
  }

  async readXml(): Promise<XmlElement | undefined> {
    const text = await this.readBody();
    return text === undefined ? undefined : parseXml(text);
  }

  /** The parsed If header (400 when malformed), undefined when absent. */
  ifLists(): IfList[] | undefined {
    if (this.#ifLists === null) {
      const h = this.header('if');
      this.#ifLists = h === undefined ? undefined : parseIfHeader(h);
    }
    return this.#ifLists;
  }

  submitted(): Set<string> {
    return submittedTokens(this.ifLists() ?? []);
  }

  /**
   * Checks the conditional headers for a request on `this.vpath` (412), then that every lock
   * protecting each of `targets` was submitted (423).
   */
  async preconditions(targets: { vpath: string; membership?: boolean; subtree?: boolean }[], current?: FileInfo): Promise<void> {
    const lists = this.ifLists();
    if (lists) {
      const ok = await evaluateIf(lists, async (tag) => {
        const vp = tag === undefined ? this.vpath : this.pathOf(tag);
        if (vp === undefined) return undefined;
        const st = vp === this.vpath && current ? current : await this.probe(vp).catch(() => undefined);
        return {
          etag: st && st.type !== 'dir' ? etagOf(st) : undefined,
          tokens: new Set(this.locks.covering(this.username, vp).map((l) => l.token)),
        };
      });
      if (!ok) throw new HttpError(412, 'the If header conditions do not hold');
    }
    this.checkMatch(current);
    const tokens = this.submitted();
    for (const t of targets) {
      const unmet = this.locks.unmet(this.locks.protecting(this.username, t.vpath, t), tokens);
      if (unmet.length) throw new HttpError(423, `${t.vpath} is locked`, 'lock-token-submitted');
    }
  }

  /** If-Match / If-None-Match against the current state (412 when they fail). */
  checkMatch(current: FileInfo | undefined): void {
    const etag = current && current.type !== 'dir' ? etagOf(current) : undefined;
    const im = this.header('if-match');
    if (im !== undefined) {
      const tags = im.split(',').map((s) => s.trim());
      const ok = current !== undefined && (tags.includes('*') || (etag !== undefined && tags.includes(etag)));
      if (!ok) throw new HttpError(412, 'If-Match failed');
    }
    const inm = this.header('if-none-match');
    if (inm !== undefined && this.req.method !== 'GET' && this.req.method !== 'HEAD') {
      const tags = inm.split(',').map((s) => s.trim().replace(/^W\//, ''));
      if (current !== undefined && (tags.includes('*') || (etag !== undefined && tags.includes(etag)))) throw new HttpError(412, 'If-None-Match failed');
    }
  }

  /** 409 unless the parent collection of `vpath` exists. */
  async requireParent(vpath: string): Promise<void> {
    if (vpath === '/') return;
    const p = await this.probe(parentOf(vpath));
    if (!p || p.type !== 'dir') throw new HttpError(409, `the parent collection of ${vpath} does not exist`);
  }
}

/**
 * The virtual path for a URL path, or throws: 404 outside the binding's prefix, 400 for bad
 * percent-encoding, NUL bytes or dot segments (clients normalize them; a raw ".." is an attempt to
 * climb out, refused rather than silently confined).
 */
export function pathBelowPrefix(rawPath: string, prefix: string): string {
  // A fragment never belongs in a request target; acting on the URL without it could delete
  // something the client did not name.
  if (rawPath.includes('#')) throw new HttpError(400, 'fragment in the request URI');
  let p = rawPath;
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  if (prefix) {
    if (p !== prefix && !p.startsWith(`${prefix}/`)) throw new HttpError(404, 'not found');
    p = p.slice(prefix.length) || '/';
  }
  if (!p.startsWith('/')) throw new HttpError(400, 'bad request path');
  const segments = p.split('/');
  const decoded: string[] = [];
  for (const s of segments) {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      throw new HttpError(400, 'bad percent-encoding in the path');
    }
    if (d === '..' || d === '.' || d.includes('\0') || d.includes('/')) throw new HttpError(400, 'bad path segment');
    decoded.push(d);
  }
  try {
    return cleanVirtualPath(posix.join('/', ...decoded));
  } catch (err) {
    if (err instanceof AppError) throw new HttpError(400, err.message);
    throw err;
  }
}
