// Quota scans: recompute a user's or a folder's usage by walking its storage (files added or removed
// behind the server's back), in the background, one scan at a time per user and per folder. The
// result replaces the stored counters. A user's scan covers the home and, as SFTPGo does, the
// virtual folders included in the user's quota (quota -1). The home's walk skips the directories a
// virtual folder hides (a folder mounted at /data hides the home's own /data): the user cannot
// reach them, uploads never count them, and a folder whose mapped_path is that directory would
// otherwise be counted twice.
import { isAppError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { FolderRecord, UserRecord } from '../model.ts';
import type { Fs } from '../vfs/fs.ts';
import { openFs } from '../vfs/open.ts';
import type { BackendServices } from './login.ts';
import { cleanVirtualPath } from './paths.ts';
import { scanUsage, type Usage, type UsageBook } from './quota.ts';

export type ScanKind = 'user' | 'folder';

export interface RunningScan {
  name: string;
  /** Epoch ms. */
  start_time: number;
}

/** Usage of one backend; storage that does not exist yet holds nothing. */
async function scanFs(open: () => Promise<Fs>, skip?: ReadonlySet<string>): Promise<Usage> {
  const fs = await open();
  try {
    return await scanUsage(fs, '/', skip);
  } catch (err) {
    if (isAppError(err, 'not_found')) return { size: 0, files: 0 };
    throw err;
  } finally {
    await fs.close?.();
  }
}

export async function scanUserUsage(user: UserRecord, backends: BackendServices): Promise<Usage> {
  const hidden = new Set((user.virtual_folders ?? []).map((vf) => cleanVirtualPath(vf.virtual_path)));
  const total = await scanFs(() => openFs(user.filesystem, user.home_dir, backends), hidden);
  for (const vf of user.virtual_folders ?? []) {
    if ((vf.quota_size ?? 0) !== -1 && (vf.quota_files ?? 0) !== -1) continue;
    const u = await scanFs(() => openFs(vf.filesystem, vf.mapped_path ?? '', backends));
    total.size += u.size;
    total.files += u.files;
  }
  return total;
}

export function scanFolderUsage(folder: FolderRecord, backends: BackendServices): Promise<Usage> {
  return scanFs(() => openFs(folder.filesystem, folder.mapped_path ?? '', backends));
}

/** The scans running on one server. */
export class QuotaScans {
  readonly #running = { user: new Map<string, RunningScan>(), folder: new Map<string, RunningScan>() };

  constructor(private readonly reporter: { log: Log }) {}

  list(kind: ScanKind): RunningScan[] {
    return [...this.#running[kind].values()];
  }

  /**
   * Starts `scan` in the background and stores its result under `<kind>:<name>`; false (nothing
   * started) when a scan of that user or folder is already running. `done` resolves when it ends,
   * with the failure if it failed.
   */
  start(kind: ScanKind, name: string, book: UsageBook, scan: () => Promise<Usage>): { started: boolean; done: Promise<Error | undefined> } {
    const running = this.#running[kind];
    if (running.has(name)) return { started: false, done: Promise.resolve(undefined) };
    const startedAt = Date.now();
    running.set(name, { name, start_time: startedAt });
    const done = (async () => {
      try {
        const usage = await scan();
        await book.set(`${kind}:${name}`, usage);
        this.reporter.log('info', 'quota_scan_done', { kind, name, used_quota_size: usage.size, used_quota_files: usage.files, duration_ms: Date.now() - startedAt });
        return undefined;
      } catch (err) {
        this.reporter.log('error', 'quota_scan_failed', { kind, name, error: String((err as Error)?.message ?? err) });
        return err instanceof Error ? err : new Error(String(err));
      } finally {
        running.delete(name);
      }
    })();
    return { started: true, done };
  }
}

