// reconcile.watch: re-read the config file when it changes on disk. The directory is watched, not
// the file, because editors and `git checkout` replace files by rename, which ends a watch on the
// old inode; changes are debounced and only a different content triggers a reload.
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Log } from '../log.ts';

const DEBOUNCE_MS = 300;

function digest(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/** Calls `onChange` after the file's content changed; returns a function that stops watching. */
export function watchConfigFile(file: string, onChange: () => void, log: Log): () => void {
  const path = resolve(file);
  const name = basename(path);
  let last = digest(path);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== undefined && String(changed) !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const now = digest(path);
        if (now === undefined || now === last) return;
        last = now;
        log('info', 'config_changed', { file: path });
        onChange();
      }, DEBOUNCE_MS);
    });
  } catch (err) {
    log('error', 'config_watch_failed', { file: path, error: (err as Error).message });
    return () => undefined;
  }
  log('info', 'config_watching', { file: path });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
