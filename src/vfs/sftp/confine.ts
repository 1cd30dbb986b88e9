// Path rules of the SFTP backend: backend paths are cleaned lexically (".." cannot climb above the
// root), then, when a prefix is set, checked against where they really land on the remote: the
// remote realpath of whatever a request touches must stay inside the real prefix, so a symlink
// placed below the prefix cannot lead out of it (the same rule LocalFs applies locally).
import { posix } from 'node:path';
import { AppError } from '../../errors.ts';
import { remoteTempPath } from '../temp-names.ts';
import type { SftpSession } from './connection.ts';
import { FX, statusOf } from './errors.ts';

/** The backend path as an absolute, normalized POSIX path. */
export function cleanPath(path: string): string {
  if (path.includes('\0')) throw new AppError('invalid', 'path contains a NUL byte');
  return posix.normalize(`/${path}`).replace(/(.)\/+$/, '$1');
}

/**
 * The remote path for `path` after checking where it really lands. With `followLast` the final
 * component is resolved too (open, stat, list); without it only its parent is (lstat, remove,
 * rename), so a link itself can be managed wherever it points. Costs one REALPATH round trip
 * when a prefix is set (none when the root is "/": nothing can lead out of it).
 */
export async function confinedPath(s: SftpSession, path: string, followLast: boolean): Promise<string> {
  const clean = remoteTempPath(cleanPath(path));
  if (s.root === '/') return clean;
  const lexical = clean === '/' ? s.root : s.root + clean;
  const parent = posix.dirname(lexical);
  let probe = followLast ? lexical : parent;
  if (clean === '/' || probe === s.root) return lexical;
  const inside = (real: string): boolean => real === s.root || real.startsWith(s.root + '/');
  for (;;) {
    try {
      // OpenSSH resolves a missing last component to itself, so one request covers a new file.
      const real = await s.call<string>((cb) => s.sftp.realpath(probe, cb));
      if (!inside(real)) throw new AppError('permission_denied', `${path}: outside the root`);
      if (probe === lexical) return real;
      if (probe === parent) return posix.join(real, posix.basename(lexical));
      return lexical; // only an ancestor exists: the operation itself reports not_found
    } catch (err) {
      if (statusOf(err) !== FX.NO_SUCH_FILE) throw err;
      // Walk up to the deepest existing ancestor, so a link to outside is refused even there.
      probe = posix.dirname(probe);
      if (probe === s.root || !inside(probe)) return lexical;
    }
  }
}
