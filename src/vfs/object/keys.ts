// Pure rules of the object-store layer: how a backend path maps to keys under the mount's key
// prefix (the user is confined to it), and how one page of a delimiter listing becomes directory
// entries. No I/O here, so all of it is unit-tested.
import { posix } from 'node:path';
import { AppError } from '../../errors.ts';
import type { FileInfo } from '../fs.ts';
import { MTIME_METADATA_KEY, type ListPage, type ObjectInfo } from './client.ts';

export const DELIMITER = '/';
export const FILE_MODE = 0o644;
export const DIR_MODE = 0o755;

/** "a/b", "/a/b/", "a" → "a/b/" style: no leading slash, one trailing slash; "" stays "". */
export function normalizePrefix(prefix: string | undefined): string {
  const parts = (prefix ?? '').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new AppError('config', `key prefix must not contain "..": ${prefix}`);
  return parts.length ? parts.join('/') + '/' : '';
}

/**
 * Maps backend paths to keys under `prefix`. Paths are normalised first, so ".." can never climb
 * above the prefix: "/../x" is "x" under the prefix, as "/../x" is "/x" on a POSIX root.
 */
export class KeyMap {
  readonly prefix: string;

  constructor(prefix: string | undefined) {
    this.prefix = normalizePrefix(prefix);
  }

  /** "" for the root, else "a/b" (no leading or trailing slash). */
  rel(path: string): string {
    if (path.includes('\0')) throw new AppError('invalid', 'path contains a NUL byte');
    const clean = posix.normalize(`/${path}`);
    return clean === '/' ? '' : clean.replace(/^\/+/, '').replace(/\/+$/, '');
  }

  isRoot(path: string): boolean {
    return this.rel(path) === '';
  }

  /** The key of the object a file path names. The root has none. */
  fileKey(path: string): string {
    const rel = this.rel(path);
    if (!rel) throw new AppError('is_dir', 'the root is a directory');
    return this.prefix + rel;
  }

  /** The prefix (ending in "/", or the mount prefix itself for the root) a directory path names. */
  dirPrefix(path: string): string {
    const rel = this.rel(path);
    return rel ? `${this.prefix}${rel}${DELIMITER}` : this.prefix;
  }

  /** The marker object of an empty directory: its prefix as a zero-byte key. */
  markerKey(path: string): string {
    const rel = this.rel(path);
    if (!rel) throw new AppError('invalid', 'the root has no marker');
    return `${this.prefix}${rel}${DELIMITER}`;
  }

  /** Whether `key` lies inside the mount (used to check what a store hands back). */
  contains(key: string): boolean {
    return key.startsWith(this.prefix);
  }
}

/** The client-set mtime carried in metadata, else the store's last-modified. */
export function mtimeOf(obj: Pick<ObjectInfo, 'lastModifiedMs' | 'metadata'>): number {
  const raw = obj.metadata?.[MTIME_METADATA_KEY];
  if (raw !== undefined && /^\d{1,16}$/.test(raw)) return Number(raw);
  return obj.lastModifiedMs;
}

export function fileInfo(name: string, obj: Pick<ObjectInfo, 'size' | 'lastModifiedMs' | 'metadata'>): FileInfo {
  const mtimeMs = mtimeOf(obj);
  return { name, type: 'file', size: obj.size, mtimeMs, atimeMs: mtimeMs, mode: FILE_MODE, uid: 0, gid: 0, nlink: 1 };
}

export function dirInfo(name: string, mtimeMs = 0): FileInfo {
  return { name, type: 'dir', size: 0, mtimeMs, atimeMs: mtimeMs, mode: DIR_MODE, uid: 0, gid: 0, nlink: 1 };
}

/** What one page of a delimiter listing of `dirPrefix` contributes to the directory's entries. */
export interface PageEntries {
  entries: FileInfo[];
  /** The page held the directory's own marker object. */
  sawMarker: boolean;
  /** The page held anything at all under the prefix (marker included). */
  sawAny: boolean;
}

/**
 * Turns one listing page into entries, sorted by name. The directory's own marker is not an
 * entry; empty names (keys like "a//b") are skipped, since no path can reach them. `lastDir` is the
 * last directory name yielded by the previous page: some stores repeat a common prefix across a
 * page boundary, and listings are ordered, so a repeat can only follow directly.
 */
export function entriesOfPage(page: ListPage, dirPrefix: string, lastDir?: string): PageEntries {
  const entries: FileInfo[] = [];
  let sawMarker = false;
  for (const obj of page.objects) {
    if (!obj.key.startsWith(dirPrefix)) continue;
    const name = obj.key.slice(dirPrefix.length);
    if (name === '') {
      sawMarker = true;
      continue;
    }
    if (name.includes(DELIMITER)) continue; // a store ignoring the delimiter; not this level
    entries.push(fileInfo(name, obj));
  }
  for (const p of page.prefixes) {
    if (!p.startsWith(dirPrefix)) continue;
    const name = p.slice(dirPrefix.length).replace(/\/$/, '');
    if (name === '' || name.includes(DELIMITER) || name === lastDir) continue;
    entries.push(dirInfo(name));
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, sawMarker, sawAny: page.objects.length > 0 || page.prefixes.length > 0 };
}

/** The key an object under `fromPrefix` gets when its directory moves to `toPrefix`. */
export function movedKey(key: string, fromPrefix: string, toPrefix: string): string {
  if (!key.startsWith(fromPrefix)) throw new AppError('invalid', `key ${key} is not under ${fromPrefix}`);
  return toPrefix + key.slice(fromPrefix.length);
}
