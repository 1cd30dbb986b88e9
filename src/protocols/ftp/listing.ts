// Directory listing formats: `ls -l` lines for LIST and STAT, bare names for NLST, and RFC 3659
// facts for MLSD/MLST (with `perm` computed from the user's permissions), plus FTP timestamps.
import { hasPermission, type PermissionMap } from '../../core/permissions.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import { longnameOf } from '../../core/longname.ts';

/** YYYYMMDDHHMMSS in UTC (MDTM, MFMT, MLSx `modify`). */
export function ftpTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Parses YYYYMMDDHHMMSS[.sss] (UTC); undefined when malformed. */
export function parseFtpTime(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, se) + (m[7] ? Number(m[7].padEnd(3, '0')) : 0);
  return Number.isNaN(ms) ? undefined : ms;
}

export function listLine(info: FileInfo): string {
  return longnameOf(info);
}

/** RFC 3659 `perm` fact for an entry of directory `dir` (`path` is the entry's own virtual path). */
function permFact(perms: PermissionMap, dir: string, path: string, info: FileInfo): string {
  const can = (d: string, p: Parameters<typeof hasPermission>[2]): boolean => hasPermission(perms, d, p);
  let s = '';
  if (info.type === 'dir') {
    if (can(path, 'list')) s += 'el';
    if (can(path, 'upload')) s += 'c';
    if (can(path, 'create_dirs')) s += 'm';
    if (can(path, 'delete_files') || can(path, 'delete_dirs')) s += 'p';
    if (can(dir, 'delete_dirs')) s += 'd';
    if (can(dir, 'rename_dirs')) s += 'f';
    return s;
  }
  if (can(dir, 'download')) s += 'r';
  if (can(dir, 'overwrite')) s += 'aw';
  if (can(dir, 'delete_files')) s += 'd';
  if (can(dir, 'rename_files')) s += 'f';
  return s;
}

/** `type=...;size=...;modify=...;perm=...;UNIX.mode=...; name` (the name is the caller's choice). */
export function mlsxLine(info: FileInfo, name: string, perms: PermissionMap, dir: string, path: string, kind?: 'cdir'): string {
  const type = kind ?? (info.type === 'dir' ? 'dir' : info.type === 'file' ? 'file' : info.type === 'symlink' ? 'OS.unix=symlink' : 'OS.unix=other');
  const facts = [
    `type=${type}`,
    info.type === 'file' ? `size=${info.size}` : `sizd=${info.size}`,
    `modify=${ftpTime(info.mtimeMs)}`,
    `perm=${permFact(perms, dir, path, info)}`,
    `UNIX.mode=0${(info.mode & 0o7777).toString(8)}`,
    `UNIX.uid=${info.uid}`,
    `UNIX.gid=${info.gid}`,
  ];
  return `${facts.join(';')}; ${name}`;
}
