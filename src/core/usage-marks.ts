// Which quota usage counters a crash may have left wrong, and their repair at the next start.
//
// Usage deltas reach the store in batches (quota.ts), and a file changes on disk before its delta
// is even counted: a kill -9 loses the deltas of the last moments, and in standard upload mode
// the bytes of every upload cut short. So each counter a session can change (`user:<name>`,
// `folder:<name>`) is marked in a small file in the data dir when the first session that can
// change it opens, before any file changes, and unmarked once its last session has ended and its
// deltas are committed. A clean stop leaves the file empty; after a crash it names exactly the
// counters to recompute, and serve rescans those (and only those) before it accepts logins.
// A mark is one write(2) per counter per busy period, not per transfer; the fdatasync that carries
// it through a power loss runs behind, as the upload journal's does.
import { closeSync, existsSync, fdatasync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { Log } from '../log.ts';
import { userWithGroups } from '../store/groups.ts';
import { effectiveFolder } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { BackendServices } from './login.ts';
import type { UsageBook } from './quota.ts';
import { scanFolderUsage, scanUserUsage } from './quota-scan.ts';
import { liveEntries } from './upload-journal.ts';

/** Past this many bytes of marks and unmarks, the file is rewritten with the marked counters only. */
const COMPACT_BYTES = 1024 * 1024;

export interface UsageMarksOptions {
  /** The marks file (`<data_dir>/usage.marks`). */
  file: string;
  log: Log;
  /** Commits the usage deltas counted so far (the usage book's flush). */
  flush: () => Promise<void>;
}

export class UsageMarks {
  readonly #opts: UsageMarksOptions;
  #fd: number;
  /** Sessions holding each marked counter. */
  readonly #holders = new Map<string, number>();
  /** Counters a crash left marked, not yet recomputed. */
  readonly #stale = new Set<string>();
  #syncing: Promise<void> | undefined;
  #closed = false;
  #bytes = 0;

  private constructor(opts: UsageMarksOptions, fd: number) {
    this.#opts = opts;
    this.#fd = fd;
  }

  /**
   * Reads the counters a previous run left marked (it did not stop cleanly). They stay marked
   * until repaired() says each was recomputed, so a crash during the repair loses nothing.
   */
  static open(opts: UsageMarksOptions): { marks: UsageMarks; stale: string[] } {
    const stale = existsSync(opts.file) ? [...liveEntries(readFileSync(opts.file, 'utf8'))] : [];
    const marks = new UsageMarks(opts, openSync(opts.file, 'a', 0o600));
    for (const key of stale) marks.#stale.add(key);
    marks.#compact();
    return { marks, stale };
  }

  /** `key` was recomputed from storage: its mark from the crash can go. */
  repaired(key: string): void {
    if (!this.#stale.delete(key) || this.#holders.has(key)) return;
    this.#unmark(key);
  }

  /** Marks `keys` for one session; the returned function releases them when it ends. */
  hold(keys: readonly string[]): () => void {
    for (const key of keys) {
      const n = this.#holders.get(key) ?? 0;
      if (n === 0 && !this.#stale.has(key) && !this.#closed) this.#append(`+${JSON.stringify(key)}\n`);
      this.#holders.set(key, n + 1);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of keys) this.#release(key);
    };
  }

  /** Counters marked now. */
  get size(): number {
    return this.#holders.size;
  }

  /**
   * After the usage book's last flush on a clean stop: what sessions marked is exact now; only
   * counters still waiting for their repair stay marked.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#holders.clear();
    this.#compact();
    this.#closed = true;
    await this.#syncing;
    closeSync(this.#fd);
  }

  #release(key: string): void {
    const n = (this.#holders.get(key) ?? 1) - 1;
    if (n > 0) {
      this.#holders.set(key, n);
      return;
    }
    this.#holders.set(key, 0);
    // Unmarked only once its deltas are in the store, and if no session took it meanwhile.
    void this.#opts
      .flush()
      .then(() => {
        if (this.#closed || this.#holders.get(key) !== 0) return;
        this.#holders.delete(key);
        if (!this.#stale.has(key)) this.#unmark(key);
      })
      .catch((err: Error) => this.#opts.log('error', 'usage_marks_flush_failed', { key, error: err.message }));
  }

  #unmark(key: string): void {
    if (this.#holders.size === 0 && this.#stale.size === 0) {
      ftruncateSync(this.#fd, 0);
      this.#bytes = 0;
    } else this.#append(`-${JSON.stringify(key)}\n`);
  }

  #append(line: string): void {
    this.#bytes += writeSync(this.#fd, line);
    if (this.#bytes > COMPACT_BYTES) this.#compact();
    if (this.#syncing) return;
    const fd = this.#fd;
    this.#syncing = new Promise<void>((resolve) =>
      fdatasync(fd, (err) => {
        if (err && !this.#closed) this.#opts.log('error', 'usage_marks_sync_failed', { error: err.message });
        resolve();
      }),
    ).finally(() => (this.#syncing = undefined));
  }

  /** Rewrites the file with the marked counters only, atomically (a crash keeps one or the other). */
  #compact(): void {
    const next = `${this.#opts.file}.next`;
    const fd = openSync(next, 'w', 0o600);
    try {
      this.#bytes = writeSync(fd, [...new Set([...this.#holders.keys(), ...this.#stale])].map((k) => `+${JSON.stringify(k)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(next, this.#opts.file);
    const old = this.#fd;
    this.#fd = openSync(this.#opts.file, 'a', 0o600);
    // A sync of the old file may still be running on its descriptor.
    if (this.#syncing) void this.#syncing.finally(() => closeSync(old));
    else closeSync(old);
  }
}

export interface RepairOptions {
  stale: readonly string[];
  marks: UsageMarks;
  store: Store;
  usage: UsageBook;
  backends: BackendServices;
  log: Log;
}

/**
 * Recomputes from storage each counter a crash left marked, one after the other, before serve
 * takes logins (so no upload races the scan). A user or folder gone since counts nothing; a scan
 * that fails keeps its mark, and the next start tries again.
 */
export async function repairUsage(opts: RepairOptions): Promise<void> {
  for (const key of opts.stale) {
    const sep = key.indexOf(':');
    const kind = key.slice(0, sep);
    const name = key.slice(sep + 1);
    const started = Date.now();
    try {
      let scan: (() => Promise<{ size: number; files: number }>) | undefined;
      if (kind === 'user') {
        const user = await userWithGroups(opts.store, name);
        if (user) scan = () => scanUserUsage(user, opts.backends);
      } else if (kind === 'folder') {
        const folder = await effectiveFolder(opts.store, name);
        if (folder) scan = () => scanFolderUsage(folder, opts.backends);
      }
      if (scan) {
        const u = await scan();
        await opts.usage.set(key, u);
        opts.log('info', 'usage_repaired', { kind, name, used_quota_size: u.size, used_quota_files: u.files, duration_ms: Date.now() - started });
      }
      opts.marks.repaired(key);
    } catch (err) {
      opts.log('error', 'usage_repair_failed', { kind, name, error: (err as Error).message });
    }
  }
}
