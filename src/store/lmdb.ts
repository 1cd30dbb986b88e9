// The embedded store: one LMDB environment file under the data dir, one named database per
// collection. LMDB gives atomic, crash-safe commits: a SIGKILL mid-transaction leaves the previous
// committed state.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { CollectionName, Collections, Store, WriteTx } from './store.ts';

const COLLECTIONS: CollectionName[] = ['meta', 'users', 'folders', 'admins', 'usage', 'overrides', 'bans'];

export function storePath(dataDir: string): string {
  return join(dataDir, 'sftpgo.lmdb');
}

export function storeExists(dataDir: string): boolean {
  return existsSync(storePath(dataDir));
}

export function openLmdbStore(dataDir: string, opts: { readOnly?: boolean } = {}): Store {
  if (!opts.readOnly) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const location = storePath(dataDir);
  const root: RootDatabase = open({
    path: location,
    maxDbs: 16,
    readOnly: opts.readOnly ?? false,
    encoding: 'msgpack',
    // Plain msgpack: records must read back with every field as written (dump/load round-trips).
    sharedStructuresKey: undefined,
  });
  const dbs = new Map<CollectionName, Database>();
  const db = (c: CollectionName): Database => {
    let d = dbs.get(c);
    if (!d) {
      d = root.openDB({ name: c, encoding: 'msgpack' });
      dbs.set(c, d);
    }
    return d;
  };
  // Named databases are created on first open; do it up front, outside any user transaction.
  if (!opts.readOnly) for (const c of COLLECTIONS) db(c);

  const read = {
    get<C extends CollectionName>(c: C, key: string): Collections[C] | undefined {
      return db(c).get(key) as Collections[C] | undefined;
    },
    *entries<C extends CollectionName>(c: C): Iterable<[string, Collections[C]]> {
      for (const { key, value } of db(c).getRange({})) yield [String(key), value as Collections[C]];
    },
    count(c: CollectionName): number {
      return db(c).getCount();
    },
  };
  const tx: WriteTx = {
    ...read,
    put(c, key, value) {
      db(c).putSync(key, value);
    },
    remove(c, key) {
      db(c).removeSync(key);
    },
    clear(c) {
      const keys = [...db(c).getKeys({})];
      for (const key of keys) db(c).removeSync(key);
    },
  };

  return {
    location,
    ...read,
    write<T>(fn: (tx: WriteTx) => T): T {
      return root.transactionSync(() => fn(tx));
    },
    async close() {
      await root.close();
    },
  };
}
