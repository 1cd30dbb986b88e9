// WebDAV properties: the live ones computed from a FileInfo (and the lock table), and dead ones
// set by PROPPATCH. Dead properties are kept in memory per user and virtual path (lost on restart,
// bounded in count); they follow their resource on MOVE and COPY and go away with it on DELETE.
import { isWithin } from '../../core/paths.ts';
import { contentTypeOf } from '../../lib/mime.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import type { Lock } from './locks.ts';
import { DAV_NS, escapeXml, serializeXml, type XmlElement } from './xml.ts';

export { contentTypeOf };

export const MS_NS = 'urn:schemas-microsoft-com:';

export const LIVE_PROPS = [
  'creationdate',
  'displayname',
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'getlastmodified',
  'resourcetype',
  'supportedlock',
  'lockdiscovery',
] as const;

export function propKey(ns: string, local: string): string {
  return `{${ns}}${local}`;
}

/** Strong ETag from size and mtime (what changes when the content does, on every backend). */
export function etagOf(info: FileInfo): string {
  return `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
}


function lockXml(l: Lock, href: string): string {
  return (
    `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${l.scope}/></D:lockscope>` +
    `<D:depth>${l.depth === 0 ? '0' : 'infinity'}</D:depth>${l.owner ?? ''}` +
    `<D:timeout>Second-${Math.max(0, Math.round((l.expiresAt - Date.now()) / 1000))}</D:timeout>` +
    `<D:locktoken><D:href>${escapeXml(l.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(href)}</D:href></D:lockroot></D:activelock>`
  );
}

export function lockDiscoveryXml(locks: readonly Lock[], hrefOf: (vpath: string) => string): string {
  return `<D:lockdiscovery>${locks.map((l) => lockXml(l, hrefOf(l.root))).join('')}</D:lockdiscovery>`;
}

/** The value of a live property (inner XML), or undefined when the resource does not have it. */
export function liveValue(name: string, info: FileInfo, displayName: string, locks: () => string): string | undefined {
  const file = info.type !== 'dir';
  switch (name) {
    case 'creationdate':
      return new Date(info.mtimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    case 'displayname':
      return escapeXml(displayName);
    case 'getcontentlength':
      return file ? String(info.size) : undefined;
    case 'getcontenttype':
      return file ? contentTypeOf(displayName) : undefined;
    case 'getetag':
      return file ? escapeXml(etagOf(info)) : undefined;
    case 'getlastmodified':
      return new Date(info.mtimeMs).toUTCString();
    case 'resourcetype':
      return file ? '' : '<D:collection/>';
    case 'supportedlock':
      return (
        '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
        '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>'
      );
    case 'lockdiscovery':
      return locks();
    default:
      return undefined;
  }
}

/** Renders `<name>value</name>` for a DAV: property (value already XML). */
export function davProp(name: string, value: string): string {
  if (name === 'lockdiscovery') return value;
  return value ? `<D:${name}>${value}</D:${name}>` : `<D:${name}/>`;
}

/** An empty element naming a property (propname answers, 404/403 propstats). */
export function emptyProp(ns: string, local: string): string {
  if (ns === DAV_NS) return `<D:${local}/>`;
  if (ns === '') return `<${local} xmlns=""/>`;
  return `<X:${local} xmlns:X="${escapeXml(ns)}"/>`;
}

export type DeadChange = { set: XmlElement } | { remove: string };

const MAX_PROPS_PER_RESOURCE = 256;
const MAX_RESOURCES = 100_000;

export class DeadProperties {
  /** "username\0vpath" -> property key -> the property element as set. */
  readonly #byResource = new Map<string, Map<string, XmlElement>>();

  #key(username: string, vpath: string): string {
    return `${username}\0${vpath}`;
  }

  get(username: string, vpath: string): ReadonlyMap<string, XmlElement> {
    return this.#byResource.get(this.#key(username, vpath)) ?? new Map();
  }

  /** Applies a PROPPATCH's changes all at once, in document order (callers validated them first). */
  apply(username: string, vpath: string, changes: readonly DeadChange[]): boolean {
    const k = this.#key(username, vpath);
    const next = new Map(this.#byResource.get(k) ?? []);
    for (const c of changes) {
      if ('set' in c) next.set(propKey(c.set.ns, c.set.local), c.set);
      else next.delete(c.remove);
    }
    if (next.size > MAX_PROPS_PER_RESOURCE) return false;
    if (!this.#byResource.has(k) && this.#byResource.size >= MAX_RESOURCES) return false;
    if (next.size) this.#byResource.set(k, next);
    else this.#byResource.delete(k);
    return true;
  }

  /** Serialized `<prop>` element for PROPFIND. */
  static render(el: XmlElement): string {
    return serializeXml(el);
  }

  removeTree(username: string, vpath: string): void {
    const prefix = `${username}\0`;
    for (const k of [...this.#byResource.keys()]) if (k.startsWith(prefix) && isWithin(k.slice(prefix.length), vpath)) this.#byResource.delete(k);
  }

  copyTree(username: string, from: string, to: string, move: boolean): void {
    const prefix = `${username}\0`;
    if (move) this.removeTree(username, to);
    for (const [k, v] of [...this.#byResource]) {
      if (!k.startsWith(prefix)) continue;
      const p = k.slice(prefix.length);
      if (!isWithin(p, from)) continue;
      const dest = to + p.slice(from.length);
      this.#byResource.set(this.#key(username, dest), new Map(v));
      if (move) this.#byResource.delete(k);
    }
  }
}
