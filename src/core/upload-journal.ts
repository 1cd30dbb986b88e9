// The journal of temporary uploads in flight on this machine's disks: a small append-only file in
// the data dir naming each temporary file before it is created and again once it is gone (renamed
// into place or removed). A crash leaves the journal naming exactly the files it orphaned, so the
// next start removes them without walking any home directory. Also common.temp_path's check at
// start.
//
// Why a file beside the store and not the store: the temporary files are this node's, on its own
// disks; a store shared by several servers must not let one server's start delete another's
// uploads in progress. And cost: an entry is written (write(2), in the page cache, so a killed
// process cannot lose it) before its file is created, which costs microseconds; the fdatasync
// that carries it through a power loss runs behind, shared by every upload starting meanwhile.
// Waiting for it measured 0.8 ms per upload here, a quarter of a small-file upload, to close a
// window of a few milliseconds in which a power loss could orphan a file (whose own data was
// never synced either).
import { accessSync, closeSync, constants, existsSync, fdatasync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { TempJournal } from '../vfs/options.ts';
import { isTempName } from '../vfs/temp-names.ts';

/** Past this size a journal with entries still live is rewritten with only those. */
const COMPACT_BYTES = 8 * 1024 * 1024;

export interface UploadJournalOptions {
  /** The journal file (`<data_dir>/uploads.journal`). */
  file: string;
  log: Log;
}

/** What the start found: temporary files removed, and entries whose file was already gone. */
export interface Recovery {
  removed: string[];
  gone: number;
}

/** The paths a journal's text leaves live: each `+` line not followed by its `-` line. */
export function liveEntries(text: string): Set<string> {
  const live = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.length < 2) continue;
    let path: unknown;
    try {
      path = JSON.parse(line.slice(1));
    } catch {
      // A line torn by the crash: its file was never created (the append comes first).
      continue;
    }
    if (typeof path !== 'string') continue;
    if (line[0] === '+') live.add(path);
    else if (line[0] === '-') live.delete(path);
  }
  return live;
}

export class UploadJournal implements TempJournal {
  readonly #file: string;
  readonly #log: Log;
  #fd: number;
  readonly #live = new Set<string>();
  #syncing: Promise<void> | undefined;
  /** Appended since the last fdatasync started. */
  #dirty = false;

  private constructor(opts: UploadJournalOptions, fd: number) {
    this.#file = opts.file;
    this.#log = opts.log;
    this.#fd = fd;
  }

  /**
   * Removes the temporary files a previous run left (they are named by the journal), then starts
   * an empty journal. Only names of the temporary-upload patterns are ever removed, whatever the
   * file says.
   */
  static open(opts: UploadJournalOptions): { journal: UploadJournal; recovery: Recovery } {
    const recovery: Recovery = { removed: [], gone: 0 };
    if (existsSync(opts.file)) {
      for (const path of liveEntries(readFileSync(opts.file, 'utf8'))) {
        if (!isTempName(basename(path))) continue;
        try {
          unlinkSync(path);
          recovery.removed.push(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') recovery.gone++;
          else opts.log('error', 'upload_temp_remove_failed', { path, error: (err as Error).message });
        }
      }
    }
    for (const path of recovery.removed) opts.log('info', 'upload_temp_removed', { path });
    // The leftovers are gone: the journal starts over (created 0600, it names users' files).
    const fd = openSync(opts.file, 'w', 0o600);
    closeSync(fd);
    return { journal: new UploadJournal(opts, openSync(opts.file, 'a', 0o600)), recovery };
  }

  /** Records `path`; the caller creates the file only once this resolves. */
  async begin(path: string): Promise<void> {
    this.#append(`+${JSON.stringify(path)}\n`);
    this.#live.add(path);
    void this.#sync().catch((err: Error) => this.#log('error', 'upload_journal_sync_failed', { error: err.message }));
  }

  /** `path` is gone (renamed into place or removed). Not synced: a stale entry only costs a failed unlink. */
  end(path: string): void {
    if (!this.#live.delete(path)) return;
    if (this.#live.size === 0) {
      // Nothing in flight: the whole journal can go (the file is opened for appending, so the
      // next entry lands at the new end).
      ftruncateSync(this.#fd, 0);
      return;
    }
    this.#append(`-${JSON.stringify(path)}\n`);
    if (fstatSync(this.#fd).size > COMPACT_BYTES) this.#compact();
  }

  /** Temporary files in flight. */
  get size(): number {
    return this.#live.size;
  }

  /** Resolves once every entry written so far is on disk. */
  flush(): Promise<void> {
    return this.#sync();
  }

  async close(): Promise<void> {
    await this.#syncing?.catch(() => undefined);
    closeSync(this.#fd);
  }

  #append(line: string): void {
    writeSync(this.#fd, line);
    this.#dirty = true;
  }

  /** One fdatasync covers every entry appended before it started; later ones wait for the next. */
  async #sync(): Promise<void> {
    while (this.#syncing) await this.#syncing;
    if (!this.#dirty) return;
    this.#dirty = false;
    const fd = this.#fd;
    this.#syncing = new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))).finally(() => {
      this.#syncing = undefined;
    });
    await this.#syncing;
  }

  /** Rewrites the journal with the live entries only, atomically (a crash keeps one or the other). */
  #compact(): void {
    const next = `${this.#file}.next`;
    const fd = openSync(next, 'w', 0o600);
    try {
      writeSync(fd, [...this.#live].map((p) => `+${JSON.stringify(p)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(next, this.#file);
    const old = this.#fd;
    this.#fd = openSync(this.#file, 'a', 0o600);
    // A sync of the old file may still be running on its descriptor.
    if (this.#syncing) void this.#syncing.catch(() => undefined).finally(() => closeSync(old));
    else closeSync(old);
    this.#log('debug', 'upload_journal_compacted', { live: this.#live.size });
  }
}

/**
 * common.temp_path made ready at start: resolved against the data dir when relative, created
 * when missing, and required to be a directory the server can write. A temp_path on another
 * filesystem than the users' base dir still works (each upload is then copied beside its
 * target before the rename), but at the cost of a copy: said once, at start.
 */
export function prepareTempPath(opts: { tempPath: string; dataDir: string; usersBaseDir: string; log: Log }): string {
  const dir = resolve(opts.dataDir, opts.tempPath);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new AppError('config', `common.temp_path ${dir} cannot be used: ${(err as Error).message}`);
  }
  const base = statSync(opts.usersBaseDir, { throwIfNoEntry: false });
  if (base && base.dev !== statSync(dir).dev)
    opts.log('warn', 'temp_path_other_filesystem', { temp_path: dir, users_base_dir: opts.usersBaseDir, effect: 'each atomic upload is copied into place instead of renamed' });
  return dir;
}
