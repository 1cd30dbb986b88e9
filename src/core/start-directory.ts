// filters.start_directory: the virtual directory a session starts in (SFTP's REALPATH ".", FTP's
// first PWD) and from which relative client paths are taken. As in SFTPGo it is created, with any
// missing parents, when the user may create directories there; when it cannot be used the session
// starts at "/" instead of failing the login, and the reason is logged.
import { AppError, isAppError } from '../errors.ts';
import type { Log } from '../log.ts';
import { cleanVirtualPath, parentOf } from './paths.ts';
import type { UserFs } from './user-fs.ts';

/** Sets `fs.startDirectory` from `wanted`; returns the directory the session starts in. */
export async function enterStartDirectory(fs: UserFs, wanted: string | undefined, username: string, log: Log): Promise<string> {
  if (!wanted) return fs.startDirectory;
  let dir = wanted;
  try {
    dir = cleanVirtualPath(wanted);
    if (dir === '/') return fs.startDirectory;
    await ensureDir(fs, dir);
    fs.startDirectory = dir;
  } catch (err) {
    log('warn', 'start_directory_unavailable', {
      username,
      start_directory: dir,
      error: err instanceof Error ? err.message : String(err),
    });
  }
  return fs.startDirectory;
}

async function ensureDir(fs: UserFs, dir: string): Promise<void> {
  const st = await fs.probe(dir);
  if (st?.type === 'dir') return;
  if (st) throw new AppError('not_dir', `${dir} is not a directory`);
  if (parentOf(dir) !== dir) await ensureDir(fs, parentOf(dir));
  // Another session of the same user may have created it meanwhile.
  await fs.mkdir(dir).catch((err) => {
    if (!isAppError(err, 'exists')) throw err;
  });
}
