// The store behind a small interface of its own: typed collections and synchronous, atomic write
// transactions. LMDB is the embedded implementation (lmdb.ts); nothing outside src/store/ may depend
// on LMDB itself, so a shared implementation (PostgreSQL) can follow.
import type { AdminRecord, FolderRecord, QuotaUsage, UserRecord } from '../model.ts';

export interface Override {
  kind: 'user' | 'folder' | 'admin';
  name: string;
  /** Fields set through the API on top of the config's value. */
  fields: Record<string, unknown>;
  updated_at: number;
  updated_by: string;
}

/** A defender ban kept across restarts (key: the address). */
export interface BanRecord {
  ip: string;
  /** Epoch milliseconds the ban ends. */
  until: number;
}

export interface Collections {
  meta: unknown;
  users: UserRecord;
  folders: FolderRecord;
  admins: AdminRecord;
  usage: QuotaUsage;
  overrides: Override;
  bans: BanRecord;
}
export type CollectionName = keyof Collections;

export interface ReadTx {
  get<C extends CollectionName>(c: C, key: string): Collections[C] | undefined;
  /** Entries in key order; lazy, so a large collection is never held in memory at once. */
  entries<C extends CollectionName>(c: C): Iterable<[string, Collections[C]]>;
  count(c: CollectionName): number;
}

export interface WriteTx extends ReadTx {
  put<C extends CollectionName>(c: C, key: string, value: Collections[C]): void;
  remove(c: CollectionName, key: string): void;
  clear(c: CollectionName): void;
}

export interface Store extends ReadTx {
  readonly location: string;
  /** Runs `fn` in one atomic transaction: all of its writes commit together or none do. */
  write<T>(fn: (tx: WriteTx) => T): T;
  close(): Promise<void>;
}

export const META = {
  schemaVersion: 'schema_version',
  /** Random per-store key for password digests and sealing literal secrets. */
  secretKey: 'secret_key',
  nextId: (kind: string) => `next_id:${kind}`,
} as const;

export function schemaVersionOf(tx: ReadTx): number {
  return (tx.get('meta', META.schemaVersion) as number | undefined) ?? 0;
}

export function nextId(tx: WriteTx, kind: string): number {
  const key = META.nextId(kind);
  const id = ((tx.get('meta', key) as number | undefined) ?? 0) + 1;
  tx.put('meta', key, id);
  return id;
}
