// Backup actions (type 4): the whole store written as this server's dump (what `sftpgo dumpdata`
// writes and `sftpgo loaddata` reads back) into data_provider.backups_path. File names are
// SFTPGo's, backup_<Weekday>_<hour>.json in UTC, so a week of hourly backups is kept and the
// oldest is overwritten: the same retention as SFTPGo. The file is written beside its final name
// and renamed, so a reader never sees half a dump; mode 0600, as it holds password hashes.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { dumpStore } from '../../store/dump.ts';
import type { ReadTx } from '../../store/store.ts';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** data_provider.backups_path resolved: relative to the data dir, `<data dir>/backups` by default. */
export function backupsDir(configured: string | undefined, dataDir: string): string {
  if (!configured) return join(dataDir, 'backups');
  return isAbsolute(configured) ? configured : resolve(dataDir, configured);
}

/** SFTPGo's name for a backup taken at `at`. */
export function backupFileName(at: Date): string {
  return `backup_${WEEKDAYS[at.getUTCDay()]}_${at.getUTCHours()}.json`;
}

export interface BackupOptions {
  store: ReadTx;
  dir: string;
  now: Date;
}

/** Writes the dump; resolves with its path and size. */
export async function runBackup(opts: BackupOptions): Promise<{ path: string; size: number }> {
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const path = join(opts.dir, backupFileName(opts.now));
  const text = JSON.stringify(await dumpStore(opts.store));
  const partial = `${path}.partial`;
  try {
    await writeFile(partial, text, { mode: 0o600 });
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw new Error(`cannot write the backup ${path}: ${(err as Error).message}`);
  }
  return { path, size: Buffer.byteLength(text) };
}
