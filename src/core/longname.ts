// The `ls -l` line of a directory entry, as OpenSSH's sftp-server writes it: SFTP sends it as
// each entry's longname (sftp's `ls -l` prints it verbatim) and FTP's LIST answers with the same.
import type { FileInfo } from '../vfs/fs.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

function modeString(info: FileInfo): string {
  const t = info.type === 'dir' ? 'd' : info.type === 'symlink' ? 'l' : info.type === 'file' ? '-' : '?';
  let s = t;
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (info.mode >> shift) & 7;
    s += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  return s;
}

/** `ls -l` style line, as OpenSSH's sftp-server writes it (sftp's `ls -l` prints it verbatim). */
export function longnameOf(info: FileInfo, now = Date.now()): string {
  const d = new Date(info.mtimeMs);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const recent = Math.abs(now - info.mtimeMs) < SIX_MONTHS_MS;
  const when = recent
    ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`
    : ` ${d.getUTCFullYear()}`;
  const owner = String(info.uid).padEnd(8, ' ');
  const group = String(info.gid).padEnd(8, ' ');
  return `${modeString(info)} ${String(info.nlink).padStart(4, ' ')} ${owner} ${group} ${String(info.size).padStart(8, ' ')} ${MONTHS[d.getUTCMonth()]} ${day} ${when} ${info.name}`;
}
