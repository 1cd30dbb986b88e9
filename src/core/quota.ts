// Quotas: usage per user and per virtual folder, kept in the store so it is exact after a restart,
// and the limits each mount charges against. SFTPGo's rules: a virtual folder with quota -1 is
// included in the user's quota; 0 means unlimited; a positive value is the folder's own limit.
// Usage is always tracked for the folder itself, so a scan is never needed to know it.
import { AppError } from '../errors.ts';
import type { QuotaUsage, ResolvedVirtualFolder, UserRecord } from '../model.ts';
import type { Store } from '../store/store.ts';
import type { Fs } from '../vfs/fs.ts';

export interface Usage {
  size: number;
  files: number;
}

/** Persistent usage counters, keyed `user:<name>` or `folder:<name>`. */
export interface UsageBook {
  get(key: string): Usage;
  /** Adds (possibly negative) deltas atomically; counters never go below zero. */
  add(key: string, size: number, files: number): void;
  set(key: string, usage: Usage): void;
  /** Bytes moved so far against the data transfer limits (`user:<name>` keys). */
  transferred(key: string): Transferred;
  /** Adds bytes moved; batched like add(). */
  addTransferred(key: string, upload: number, download: number): void;
  setTransferred(key: string, t: Transferred): void;
}

export interface Transferred {
  upload: number;
  download: number;
}

interface Pending {
  size: number;
  files: number;
  upload: number;
  download: number;
}

const EMPTY: QuotaUsage = {
  used_quota_size: 0,
  used_quota_files: 0,
  last_quota_update: 0,
  used_upload_data_transfer: 0,
  used_download_data_transfer: 0,
};

/**
 * Usage in the store. Deltas are kept in memory and written in one transaction at most every
 * FLUSH_MS (a synchronous LMDB commit per uploaded file measured 0.4 ms, ~13% of a small-file
 * upload); reads add the pending deltas, and serve flushes on shutdown, so usage stays exact.
 */
const FLUSH_MS = 200;
const books = new Map<Store, StoreUsageBook>();

export function storeUsageBook(store: Store): UsageBook {
  let book = books.get(store);
  if (!book) books.set(store, (book = new StoreUsageBook(store)));
  return book;
}

/**
 * Writes the pending usage deltas kept for `store` and forgets its book; serve calls it before
 * closing the store. The books are a cache keyed by store, so each server has its own.
 */
export function flushUsage(store: Store): void {
  books.get(store)?.flush();
  books.delete(store);
}

class StoreUsageBook implements UsageBook {
  readonly #pending = new Map<string, Pending>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly store: Store) {}

  get(key: string): Usage {
    const u = this.store.get('usage', key);
    const p = this.#pending.get(key);
    return {
      size: Math.max(0, (u?.used_quota_size ?? 0) + (p?.size ?? 0)),
      files: Math.max(0, (u?.used_quota_files ?? 0) + (p?.files ?? 0)),
    };
  }

  add(key: string, size: number, files: number): void {
    if (size === 0 && files === 0) return;
    this.#addPending(key, { size, files, upload: 0, download: 0 });
  }

  transferred(key: string): Transferred {
    const u = this.store.get('usage', key);
    const p = this.#pending.get(key);
    return {
      upload: (u?.used_upload_data_transfer ?? 0) + (p?.upload ?? 0),
      download: (u?.used_download_data_transfer ?? 0) + (p?.download ?? 0),
    };
  }

  addTransferred(key: string, upload: number, download: number): void {
    if (upload === 0 && download === 0) return;
    this.#addPending(key, { size: 0, files: 0, upload, download });
  }

  #addPending(key: string, d: Pending): void {
    const p = this.#pending.get(key) ?? { size: 0, files: 0, upload: 0, download: 0 };
    this.#pending.set(key, { size: p.size + d.size, files: p.files + d.files, upload: p.upload + d.upload, download: p.download + d.download });
    this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    // Never keep the process alive just to write usage: shutdown flushes explicitly.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  set(key: string, usage: Usage): void {
    // Only the quota counters are replaced: pending transfer bytes still have to land.
    const p = this.#pending.get(key);
    if (p) this.#pending.set(key, { ...p, size: 0, files: 0 });
    this.store.write((tx) => {
      const u = tx.get('usage', key) ?? EMPTY;
      tx.put('usage', key, { ...u, used_quota_size: usage.size, used_quota_files: usage.files, last_quota_update: Date.now() });
    });
  }

  setTransferred(key: string, t: Transferred): void {
    const p = this.#pending.get(key);
    if (p) this.#pending.set(key, { ...p, upload: 0, download: 0 });
    this.store.write((tx) => {
      const u = tx.get('usage', key) ?? EMPTY;
      tx.put('usage', key, { ...u, used_upload_data_transfer: t.upload, used_download_data_transfer: t.download });
    });
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const deltas = [...this.#pending];
    this.#pending.clear();
    const now = Date.now();
    this.store.write((tx) => {
      for (const [key, d] of deltas) {
        const u = tx.get('usage', key) ?? EMPTY;
        tx.put('usage', key, {
          ...u,
          used_quota_size: Math.max(0, u.used_quota_size + d.size),
          used_quota_files: Math.max(0, u.used_quota_files + d.files),
          last_quota_update: d.size !== 0 || d.files !== 0 ? now : u.last_quota_update,
          used_upload_data_transfer: (u.used_upload_data_transfer ?? 0) + d.upload,
          used_download_data_transfer: (u.used_download_data_transfer ?? 0) + d.download,
        });
      }
    });
  }
}

export interface QuotaScope {
  key: string;
  /** Bytes; 0 = unlimited. */
  maxSize: number;
  /** 0 = unlimited. */
  maxFiles: number;
}

/** What one mount charges: the user, the folder, or both. */
export class MountQuota {
  constructor(
    private readonly book: UsageBook,
    readonly scopes: readonly QuotaScope[],
  ) {}

  /** Throws quota_exceeded when adding `size` bytes and `files` files would pass a limit. */
  check(size: number, files: number): void {
    for (const s of this.scopes) {
      if (s.maxSize <= 0 && s.maxFiles <= 0) continue;
      const used = this.book.get(s.key);
      if (s.maxFiles > 0 && files > 0 && used.files + files > s.maxFiles)
        throw new AppError('quota_exceeded', `quota exceeded: ${s.key} may hold ${s.maxFiles} files`);
      if (s.maxSize > 0 && size > 0 && used.size + size > s.maxSize)
        throw new AppError('quota_exceeded', `quota exceeded: ${s.key} may hold ${s.maxSize} bytes`);
    }
  }

  charge(size: number, files: number): void {
    for (const s of this.scopes) this.book.add(s.key, size, files);
  }
}

export function userQuota(book: UsageBook, user: UserRecord): MountQuota {
  return new MountQuota(book, [{ key: `user:${user.username}`, maxSize: user.quota_size ?? 0, maxFiles: user.quota_files ?? 0 }]);
}

export function folderQuota(book: UsageBook, user: UserRecord, vf: ResolvedVirtualFolder): MountQuota {
  const included = (vf.quota_size ?? 0) === -1 || (vf.quota_files ?? 0) === -1;
  const scopes: QuotaScope[] = [{ key: `folder:${vf.name}`, maxSize: Math.max(0, vf.quota_size ?? 0), maxFiles: Math.max(0, vf.quota_files ?? 0) }];
  if (included) scopes.push({ key: `user:${user.username}`, maxSize: user.quota_size ?? 0, maxFiles: user.quota_files ?? 0 });
  return new MountQuota(book, scopes);
}

/** Recomputes usage by walking a backend: the quota scan. Listings stream; nothing is held whole. */
export async function scanUsage(fs: Fs, dir = '/', skip: ReadonlySet<string> = new Set()): Promise<Usage> {
  const total: Usage = { size: 0, files: 0 };
  const pending = [dir];
  while (pending.length > 0) {
    const d = pending.pop()!;
    for await (const e of fs.list(d)) {
      const path = d === '/' ? `/${e.name}` : `${d}/${e.name}`;
      if (e.type === 'dir' && !skip.has(path)) pending.push(path);
      else if (e.type === 'file') {
        total.size += e.size;
        total.files += 1;
      }
    }
  }
  return total;
}
