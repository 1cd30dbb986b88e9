// The embedded store: one LMDB environment file under the data dir, one named database per
// collection. LMDB gives atomic, crash-safe commits: a SIGKILL mid-transaction leaves the previous
// committed state.
//
// A write transaction's callback may be asynchronous, and LMDB's own write transactions may not
// span an await. So a write buffers its puts and removes in an overlay (reads inside it see them)
// and commits them all in one synchronous LMDB transaction when the callback resolves; if it
// throws, the overlay is dropped and nothing is written. Writers are queued one at a time per
// store, so no other writer of this process commits between an overlay's reads and its commit.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { NO_SECRETS, type SecretBox } from '../config/sealed.ts';
import { createLog, type Log } from '../log.ts';
import { ChangeListeners, SerialQueue } from './listeners.ts';
import type { CollectionName, Collections, ReadTx, Store, StoreChange, WriteTx } from './store.ts';

const COLLECTIONS: CollectionName[] = ['meta', 'users', 'folders', 'groups', 'admins', 'usage', 'overrides', 'bans', 'api_keys', 'roles', 'ip_lists', 'shares', 'event_actions', 'event_rules', 'nodes'];

/** Entries are read this many at a time, so an iteration holds one page, not the collection. */
const PAGE = 512;

/** Marks a key removed in an overlay. */
const REMOVED = Symbol('removed');
type Overlay = Map<CollectionName, Map<string, unknown>>;

export function storePath(dataDir: string): string {
  return join(dataDir, 'sftpgo.lmdb');
}

export function storeExists(dataDir: string): boolean {
  return existsSync(storePath(dataDir));
}

export function openLmdbStore(dataDir: string, opts: { readOnly?: boolean; secrets?: SecretBox; log?: Log } = {}): Store {
  // Where a failing change listener is reported (the commit itself stands).
  const log = opts.log ?? createLog();
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

  const listeners = new ChangeListeners(log);
  const writers = new SerialQueue();

  const committed: ReadTx = {
    async get<C extends CollectionName>(c: C, key: string) {
      return db(c).get(key) as Collections[C] | undefined;
    },
    entries: <C extends CollectionName>(c: C) => pagedEntries(db(c)) as AsyncIterable<[string, Collections[C]]>,
    async count(c) {
      return db(c).getCount();
    },
  };

  function overlayTx(overlay: Overlay): WriteTx {
    const layer = (c: CollectionName): Map<string, unknown> => {
      let m = overlay.get(c);
      if (!m) overlay.set(c, (m = new Map()));
      return m;
    };
    return {
      async get<C extends CollectionName>(c: C, key: string) {
        const v = overlay.get(c)?.get(key);
        if (v === REMOVED) return undefined;
        return (v !== undefined ? v : db(c).get(key)) as Collections[C] | undefined;
      },
      entries: <C extends CollectionName>(c: C) => mergedEntries(db(c), overlay.get(c)) as AsyncIterable<[string, Collections[C]]>,
      async count(c) {
        let n = db(c).getCount();
        for (const [key, v] of overlay.get(c) ?? []) {
          const stored = db(c).doesExist(key);
          if (v === REMOVED && stored) n--;
          else if (v !== REMOVED && !stored) n++;
        }
        return n;
      },
      async put(c, key, value) {
        layer(c).set(key, value);
      },
      async remove(c, key) {
        layer(c).set(key, REMOVED);
      },
      async clear(c) {
        const m = layer(c);
        for (const key of db(c).getKeys({})) m.set(String(key), REMOVED);
        for (const key of m.keys()) m.set(key, REMOVED);
      },
    };
  }

  function commit(overlay: Overlay): StoreChange[] {
    const changes: StoreChange[] = [];
    root.transactionSync(() => {
      for (const [c, m] of overlay) {
        const d = db(c);
        // The value replaced is read only when someone listens: usage flushes stay one write each.
        const watched = listeners.watched(c);
        for (const [key, v] of m) {
          const previous = watched ? (d.get(key) as Collections[typeof c] | undefined) : undefined;
          const before = previous !== undefined ? { previous } : {};
          if (v === REMOVED) {
            if (d.removeSync(key)) changes.push({ collection: c, key, value: undefined, ...before });
          } else {
            d.putSync(key, v);
            changes.push({ collection: c, key, value: v as Collections[typeof c], ...before });
          }
        }
      }
    });
    return changes;
  }

  return {
    location,
    shared: false,
    secrets: opts.secrets ?? NO_SECRETS,
    ...committed,
    async read<T>(fn: (tx: ReadTx) => Promise<T> | T): Promise<T> {
      return fn(committed);
    },
    write<T>(fn: (tx: WriteTx) => Promise<T> | T): Promise<T> {
      const run = async (): Promise<T> => {
        const overlay: Overlay = new Map();
        const result = await fn(overlayTx(overlay));
        listeners.dispatch(commit(overlay));
        return result;
      };
      return writers.run(run);
    },
    subscribe: (c, listener) => listeners.subscribe(c, listener),
    async sync() {
      // No one else writes this store.
    },
    async close() {
      await writers.idle();
      listeners.clear();
      await root.close();
    },
  };
}

/** The collection in key order, one page per LMDB read, resuming after the last key seen. */
async function* pagedEntries(d: Database): AsyncGenerator<[string, unknown]> {
  let after: string | undefined;
  for (;;) {
    const page = [...d.getRange(after === undefined ? { limit: PAGE } : { start: after, limit: PAGE + 1 })];
    let n = 0;
    for (const { key, value } of page) {
      const k = String(key);
      if (k === after) continue;
      n++;
      after = k;
      yield [k, value];
    }
    if (n < PAGE) return;
  }
}

/** The committed entries with a write transaction's overlay applied, still in key order. */
async function* mergedEntries(d: Database, overlay: Map<string, unknown> | undefined): AsyncGenerator<[string, unknown]> {
  if (!overlay || overlay.size === 0) {
    yield* pagedEntries(d);
    return;
  }
  const added = [...overlay].filter(([, v]) => v !== REMOVED).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let i = 0;
  for await (const [key, value] of pagedEntries(d)) {
    while (i < added.length && added[i]![0] < key) {
      const [k, v] = added[i++]!;
      if (!d.doesExist(k)) yield [k, v];
    }
    const v = overlay.get(key);
    if (v === REMOVED) continue;
    yield [key, v !== undefined ? v : value];
  }
  for (; i < added.length; i++) {
    const [k, v] = added[i]!;
    if (!d.doesExist(k)) yield [k, v];
  }
}
