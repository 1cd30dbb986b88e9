// Per-path permissions as SFTPGo models them: a map from virtual directory to granted permissions,
// where the most specific configured directory wins (no merging with parents). File operations are
// checked against the directory that holds the file, listing against the directory itself.
import type { Permissions } from '../config/schema-types.ts';
import { parentOf } from './paths.ts';

/** SFTPGo's permission names, as the config schema lists them. */
export type Permission = Permissions[string][number];

export type PermissionMap = Readonly<Record<string, readonly string[]>>;

function normaliseKey(dir: string): string {
  if (dir === '/' || dir === '') return '/';
  return dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/**
 * The key of the configured entry in force at virtual directory `dir` (cleaned): the nearest
 * configured ancestor, as the key is written (trailing slash kept); undefined when none is.
 */
function governingKey(perms: PermissionMap, dir: string): string | undefined {
  // Config keys may carry a trailing slash; index them once per call (maps are small).
  const byDir = new Map<string, string>();
  for (const k in perms) byDir.set(normaliseKey(k), k);
  for (let d = dir; ; d = parentOf(d)) {
    const key = byDir.get(d);
    if (key !== undefined) return key;
    if (d === '/') return undefined;
  }
}

/** The configured entry in force at `dir`, with its key as written: what `explain` names. */
export function governingEntry(perms: PermissionMap, dir: string): { key: string; granted: readonly string[] } | undefined {
  const key = governingKey(perms, dir);
  return key === undefined ? undefined : { key, granted: perms[key]! };
}

/** The permissions in force at virtual directory `dir` (cleaned): the nearest configured ancestor. */
export function permissionsAt(perms: PermissionMap, dir: string): readonly string[] {
  const key = governingKey(perms, dir);
  return key === undefined ? [] : perms[key]!;
}

/** True when `granted` includes `perm`, directly, by "*", or by its umbrella permission. */
export function grants(granted: readonly string[], perm: Permission): boolean {
  if (granted.includes('*') || granted.includes(perm)) return true;
  if ((perm === 'delete_files' || perm === 'delete_dirs') && granted.includes('delete')) return true;
  if ((perm === 'rename_files' || perm === 'rename_dirs') && granted.includes('rename')) return true;
  return false;
}

/** True when `perm` is granted at `dir`, directly, by "*", or by its umbrella permission. */
export function hasPermission(perms: PermissionMap, dir: string, perm: Permission): boolean {
  return grants(permissionsAt(perms, dir), perm);
}

/** What an operation needs, keyed by the virtual path it acts on; `isDir` is the target's type. */
export function deletePermission(isDir: boolean): Permission {
  return isDir ? 'delete_dirs' : 'delete_files';
}

export function renamePermission(isDir: boolean): Permission {
  return isDir ? 'rename_dirs' : 'rename_files';
}

/** Directory whose permissions govern an operation on `vpath`: the path's parent (or "/" for "/"). */
export function governingDir(vpath: string): string {
  return parentOf(vpath);
}
