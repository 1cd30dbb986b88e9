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
//
// Object stores' uploads in flight are journaled here too, by owner (`user:<name>` or
// `folder:<name>`) and object key: an S3 multipart upload or Azure blocks staged but never
// committed. Those cannot be removed before the store is open and the owner's storage known, so
// open() hands them back and keeps them named until serve has discarded them (remote-uploads.ts).
import { accessSync, closeSync, constants, existsSync, fdatasync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { RemoteUploadJournal, TempJournal } from '../vfs/options.ts';
import { isTempName } from '../vfs/temp-names.ts';

/** Past this size a journal with entries still live is rewritten with only those. */
const COMPACT_BYTES = 8 * 1024 * 1024;

export interface UploadJournalOptions {
  /** The journal file (`<data_dir>/uploads.journal`). */
  file: string;
  log: Log;
}

/** An object store upload a previous run left in flight. */
export interface RemoteEntry {
  owner: string;
  key: string;
}

/** What the start found: temporary files removed, entries whose file was already gone, and object store uploads to discard. */
export interface Recovery {
  removed: string[];
  gone: number;
  remote: RemoteEntry[];
}

/** A remote entry's journal text: a JSON array, which no absolute local path can be mistaken for. */
function remoteEntry(owner: string, key: string): string {
  return JSON.stringify([owner, key]);
}

function parseRemote(entry: string): RemoteEntry | undefined {
  if (!entry.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(entry);
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { owner: v[0], key: v[1] };
  } catch {
    // Not one of ours.
  }
  return undefined;
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
  /** Entries in flight, each with the uploads holding it (several uploads of one object key share one). */
  readonly #live = new Map<string, number>();
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
    const recovery: Recovery = { removed: [], gone: 0, remote: [] };
    if (existsSync(opts.file)) {
      for (const path of liveEntries(readFileSync(opts.file, 'utf8'))) {
        const remote = parseRemote(path);
        if (remote) {
          recovery.remote.push(remote);
          continue;
        }
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
    const journal = new UploadJournal(opts, openSync(opts.file, 'a', 0o600));
    // Still open on their stores until discarded.
    for (const r of recovery.remote) journal.#begin(remoteEntry(r.owner, r.key), false);
    return { journal, recovery };
  }

  /** The journal of one owner's object store uploads (its home or one virtual folder). */
  remote(owner: string): RemoteUploadJournal {
    return {
      begin: (key) => this.#begin(remoteEntry(owner, key), true),
      end: (key) => this.end(remoteEntry(owner, key)),
    };
  }

  /** A previous run's upload of `key` is discarded from its store. */
  discarded(entry: RemoteEntry): void {
    this.end(remoteEntry(entry.owner, entry.key));
  }

  /** Records `path`; the caller creates the file only once this resolves. */
  async begin(path: string): Promise<void> {
    // A local temporary file is one upload's, named again by each step that touches it (a copy
    // before its write): begun once, ended once.
    this.#begin(path, false);
  }

  /** `shared`: several uploads may hold the entry at once (one object key), and each ends it. */
  #begin(entry: string, shared: boolean): void {
    const n = this.#live.get(entry) ?? 0;
    this.#live.set(entry, shared ? n + 1 : 1);
    if (n > 0) return;
    this.#append(`+${JSON.stringify(entry)}\n`);
    void this.#sync().catch((err: Error) => this.#log('error', 'upload_journal_sync_failed', { error: err.message }));
  }

  /** `path` is gone (renamed into place or removed). Not synced: a stale entry only costs a failed unlink. */
  end(path: string): void {
    const n = this.#live.get(path);
    if (n === undefined) return;
    if (n > 1) {
      this.#live.set(path, n - 1);
      return;
    }
    this.#live.delete(path);
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
      writeSync(fd, [...this.#live.keys()].map((p) => `+${JSON.stringify(p)}\n`).join(''));
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
