// Virtual paths: what a client names, cleaned and confined to the user's tree, and resolved to
// (mount, backend path) in this one place. A user's tree is the home Fs mounted at "/" plus, later,
// virtual folders mounted at their `virtual_path`, each its own Fs.
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import type { Fs } from '../vfs/fs.ts';
import type { MountQuota } from './quota.ts';

export interface Mount {
  /** Cleaned absolute virtual path where this Fs appears ("/" for the home). */
  readonly virtualPath: string;
  readonly fs: Fs;
  /** Folder name for virtual folders; undefined for the home. */
  readonly folder?: string;
  /** Usage limits this mount charges; undefined when quotas are not tracked. */
  readonly quota?: MountQuota;
}

/**
 * Cleans a client path into an absolute virtual path. Relative paths are taken from `cwd`; ".."
 * never climbs above "/" (so "../../etc/passwd" is "/etc/passwd" inside the user's tree). A NUL
 * byte is refused: the OS would truncate the name at it.
 */
export function cleanVirtualPath(p: string, cwd = '/'): string {
  if (p.includes('\0')) throw new AppError('invalid', 'path contains a NUL byte');
  const joined = p.startsWith('/') ? p : `${cwd}/${p}`;
  let clean = posix.normalize(joined);
  // normalize keeps leading ".." of a relative path; ours is absolute, so it cannot appear.
  if (!clean.startsWith('/')) clean = `/${clean}`;
  if (clean.length > 1 && clean.endsWith('/')) clean = clean.slice(0, -1);
  return clean;
}

/** The parent of a cleaned virtual path ("/" is its own parent). */
export function parentOf(vpath: string): string {
  return posix.dirname(vpath);
}

/** True when `vpath` is `dir` or below it. Both cleaned. */
export function isWithin(vpath: string, dir: string): boolean {
  return dir === '/' || vpath === dir || vpath.startsWith(`${dir}/`);
}

/**
 * The mount serving `vpath` (the deepest one containing it) and the path inside its Fs.
 * `mounts` must include one at "/".
 */
export function resolveMount<M extends Pick<Mount, 'virtualPath'>>(mounts: readonly M[], vpath: string): { mount: M; path: string } {
  let best: M | undefined;
  for (const m of mounts) {
    if (isWithin(vpath, m.virtualPath) && (!best || m.virtualPath.length > best.virtualPath.length)) best = m;
  }
  if (!best) throw new AppError('not_found', `no storage mounted for ${vpath}`);
  const rest = best.virtualPath === '/' ? vpath : vpath.slice(best.virtualPath.length) || '/';
  return { mount: best, path: rest };
}

/** Mount points directly below `dir` that a listing of `dir` must show even if the Fs has no entry. */
export function mountPointsIn(mounts: readonly Mount[], dir: string): string[] {
  const out: string[] = [];
  for (const m of mounts) {
    if (m.virtualPath !== '/' && parentOf(m.virtualPath) === dir) out.push(posix.basename(m.virtualPath));
  }
  return out;
}
