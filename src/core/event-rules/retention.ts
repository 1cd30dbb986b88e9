// Data retention checks (action type 8), as SFTPGo runs them for one user: each configured folder
// with a retention above 0 is walked, and every file whose modification time is older than the
// retention of its nearest configured ancestor is removed through the core (quota and the
// `common.actions` hook follow). A folder with retention 0 is skipped with its subtree, except
// where a deeper folder has a retention of its own. With delete_empty_dirs, a subdirectory left
// empty is removed (never a configured folder itself). The report says, per folder walked, what
// was removed, for the run's log line.
import { posix } from 'node:path';
import type { EventRetentionConfig } from '../../config/schema-types.ts';
import { isAppError } from '../../errors.ts';
import type { Connection } from '../connection.ts';

type FolderRetention = NonNullable<EventRetentionConfig['folders']>[number];

/** One folder's outcome (SFTPGo's folderRetentionCheckResult). */
export interface RetentionResult {
  path: string;
  retention: number;
  deleted_files: number;
  deleted_size: number;
  info?: string;
  error?: string;
}

/** SFTPGo refuses to walk deeper than this, so a loop through links cannot run forever. */
const MAX_DEPTH = 1000;
const HOUR_MS = 3_600_000;

function clean(p: string): string {
  const n = posix.normalize(`/${p}`);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** The retention of `dir`: its own, or its nearest configured ancestor's. */
function retentionFor(folders: readonly FolderRetention[], dir: string): FolderRetention | undefined {
  for (let d = dir; ; d = posix.dirname(d)) {
    const f = folders.find((x) => clean(x.path) === d);
    if (f || d === '/') return f;
  }
}

export interface RetentionOptions {
  config: EventRetentionConfig;
  /** The user's tree, opened with every permission (SFTPGo's retention connection has them all). */
  conn: Connection;
  /** "Now" for the age comparison. */
  now: number;
  /** Where each folder's result goes as it is walked: the caller keeps what was done even when a later folder fails. */
  report: RetentionResult[];
}

/** Runs the check; throws when a folder cannot be walked or a file removed. */
export async function runRetentionCheck(opts: RetentionOptions): Promise<void> {
  const folders = opts.config.folders ?? [];
  const configured = new Set(folders.map((f) => clean(f.path)));
  const results = opts.report;
  const fs = opts.conn.fs;

  const cleanup = async (dir: string, depth: number): Promise<void> => {
    const f = retentionFor(folders, dir);
    const result: RetentionResult = { path: dir, retention: f?.retention ?? 0, deleted_files: 0, deleted_size: 0 };
    results.push(result);
    if (depth >= MAX_DEPTH) {
      result.info = 'skipped: directories nested too deep';
      throw new Error(`data retention check of ${dir}: directories nested too deep`);
    }
    if (!f || !f.retention) {
      result.info = 'skipped: retention is 0';
      return;
    }
    let entries: AsyncIterable<{ name: string; type: string; size: number; mtimeMs: number }>;
    try {
      entries = await fs.openDir(dir);
    } catch (err) {
      if (isAppError(err, 'not_found')) {
        result.info = 'skipped: the folder does not exist';
        return;
      }
      result.error = `cannot list ${dir}: ${(err as Error).message}`;
      throw new Error(result.error);
    }
    const limit = opts.now - f.retention * HOUR_MS;
    const subdirs: string[] = [];
    const old: { path: string; size: number }[] = [];
    for await (const e of entries) {
      const p = posix.join(dir, e.name);
      if (e.type === 'dir') subdirs.push(p);
      else if (e.mtimeMs < limit) old.push({ path: p, size: e.size });
    }
    for (const d of subdirs) await cleanup(d, depth + 1);
    for (const o of old) {
      try {
        await fs.remove(o.path);
      } catch (err) {
        if (isAppError(err, 'not_found')) continue;
        result.error = `cannot remove ${o.path}: ${(err as Error).message}`;
        throw new Error(result.error);
      }
      result.deleted_files++;
      result.deleted_size += o.size;
    }
    if (f.delete_empty_dirs && dir !== '/' && !configured.has(dir)) await removeIfEmpty(opts.conn, dir);
  };

  for (const f of folders) if ((f.retention ?? 0) > 0) await cleanup(clean(f.path), 0);
}

async function removeIfEmpty(conn: Connection, dir: string): Promise<void> {
  for await (const _ of await conn.fs.openDir(dir)) return;
  await conn.fs.rmdir(dir).catch(() => undefined);
}
