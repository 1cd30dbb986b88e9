// The shared store: the same collections as LMDB's, in one PostgreSQL table, so that several
// servers (replicas behind a load balancer) read and write one state.
//
// - Values are JSON text (exactly what was written, key order kept); keys sort bytewise (COLLATE
//   "C"), as LMDB's do, so entries come in the same order from both stores.
// - A write runs in one PostgreSQL transaction that first takes a cluster-wide advisory lock: the
//   writers of every replica run one at a time, so a read-modify-write (a usage flush, an id, a
//   schedule's claim) inside a write sees no other writer commit under it.
// - Each commit appends its changed keys to a change log and NOTIFYs the other replicas; each
//   replica follows the log (woken by the notification, and by a poll every second when the
//   listening connection is down) and tells its own listeners, marked `remote`, with the value as
//   it is now. The lock makes log ids commit in order, so a replica following `id > last` misses
//   nothing.
// - The defender's scores and the rate limiters' buckets are counters beside the collections
//   (pg-counters.ts), updated without the write lock.
import { readFileSync } from 'node:fs';
import type { Pool, PoolClient, PoolConfig, Client as PgClient, Notification } from 'pg';
import { NO_SECRETS, type SecretBox } from '../config/sealed.ts';
import { AppError } from '../errors.ts';
import { createLog, type Log } from '../log.ts';
import { ChangeListeners, SerialQueue } from './listeners.ts';
import { COUNTERS_SCHEMA, pgCounters } from './pg-counters.ts';
import type { CollectionName, Collections, ReadTx, Store, StoreChange, WriteTx } from './store.ts';

/** The connection settings, as data_provider gives them with the password already resolved. */
export interface PgSettings {
  host: string;
  port: number;
  /** The database. */
  name: string;
  username: string;
  password: string;
  /** SFTPGo's: 0 disable, 1 require, 2 verify-ca, 3 verify-full. */
  sslmode: number;
  rootCert?: string;
  clientCert?: string;
  clientKey?: string;
  /** Connections in the pool (0: 10). */
  poolSize: number;
}

export interface PgStoreOptions {
  settings: PgSettings;
  /** This replica's name in the change log. */
  node: string;
  readOnly?: boolean;
  secrets?: SecretBox;
  log?: Log;
  /** How often the change log is read when no notification arrives (ms); default 1000. */
  pollMs?: number;

}

const PAGE = 512;
const CHANNEL = 'sftpgo_changes';
/** The advisory lock every write transaction takes (an arbitrary constant: "sftpgo" in ASCII). */
const WRITE_LOCK = 0x736674706730;
/**
 * Change log entries older than this are pruned. A replica that could not read the log for longer
 * (a frozen process) has missed changes: it says so, and must be restarted.
 */
const CHANGE_LOG_KEEP_MS = 24 * 3600_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sftpgo_kv (
  collection text NOT NULL,
  key text COLLATE "C" NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (collection, key)
);
CREATE TABLE IF NOT EXISTS sftpgo_changes (
  id bigserial PRIMARY KEY,
  collection text NOT NULL,
  key text COLLATE "C" NOT NULL,
  node text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS sftpgo_changes_pruned (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  through bigint NOT NULL
);`;

/** Drops change log entries older than the keep time and records the last id it dropped. */
const PRUNE_CHANGES = `
WITH d AS (DELETE FROM sftpgo_changes WHERE at < now() - $1::interval RETURNING id)
INSERT INTO sftpgo_changes_pruned (one, through) SELECT true, max(id) FROM d HAVING max(id) IS NOT NULL
ON CONFLICT (one) DO UPDATE SET through = greatest(sftpgo_changes_pruned.through, EXCLUDED.through)`;

export function pgConfig(s: PgSettings): PoolConfig {
  const ssl =
    s.sslmode === 0
      ? false
      : {
          // 1 (require) encrypts without checking the server; 2 checks the chain; 3 also the name.
          rejectUnauthorized: s.sslmode >= 2,
          ...(s.sslmode === 2 ? { checkServerIdentity: () => undefined } : {}),
          ...(s.rootCert ? { ca: readFileSync(s.rootCert, 'utf8') } : {}),
          ...(s.clientCert ? { cert: readFileSync(s.clientCert, 'utf8') } : {}),
          ...(s.clientKey ? { key: readFileSync(s.clientKey, 'utf8') } : {}),
        };
  return {
    host: s.host,
    port: s.port,
    database: s.name,
    user: s.username,
    password: s.password,
    ssl,
    max: s.poolSize > 0 ? s.poolSize : 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'sftpgo',
  };
}

type Queryable = Pick<PoolClient, 'query'>;

export async function openPgStore(opts: PgStoreOptions): Promise<Store> {
  const log = opts.log ?? createLog();
  const pg = await import('pg');
  const where = `postgresql://${opts.settings.username}@${opts.settings.host}:${opts.settings.port}/${opts.settings.name}`;
  const config = pgConfig(opts.settings);
  const pool: Pool = new pg.default.Pool(config);
  // An idle client's error (the server restarted) must not crash the process: the pool drops it.
  pool.on('error', (err) => log('warn', 'store_connection_error', { store: where, error: err.message }));
  try {
    // Servers starting together would race on CREATE TABLE IF NOT EXISTS: one at a time.
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      await c.query(SCHEMA);
      await c.query(COUNTERS_SCHEMA);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new AppError('store', `cannot open the PostgreSQL store ${where}: ${(err as Error).message}`);
  }

  const listeners = new ChangeListeners(log);
  // Local writers, and the reads of the change log, one at a time (see follow()).
  const queue = new SerialQueue();
  let closed = false;

  const parse = (text: string): unknown => JSON.parse(text);

  function reader(q: Queryable): ReadTx {
    return {
      async get<C extends CollectionName>(c: C, key: string) {
        const r = await q.query<{ value: string }>('SELECT value FROM sftpgo_kv WHERE collection = $1 AND key = $2', [c, key]);
        return r.rows[0] ? (parse(r.rows[0].value) as Collections[C]) : undefined;
      },
      entries: <C extends CollectionName>(c: C) => paged(q, c) as AsyncIterable<[string, Collections[C]]>,
      async count(c) {
        const r = await q.query<{ n: string }>('SELECT count(*) AS n FROM sftpgo_kv WHERE collection = $1', [c]);
        return Number(r.rows[0]?.n ?? 0);
      },
    };
  }

  async function* paged(q: Queryable, c: CollectionName): AsyncGenerator<[string, unknown]> {
    let after: string | undefined;
    for (;;) {
      const r =
        after === undefined
          ? await q.query<{ key: string; value: string }>('SELECT key, value FROM sftpgo_kv WHERE collection = $1 ORDER BY key LIMIT $2', [c, PAGE])
          : await q.query<{ key: string; value: string }>('SELECT key, value FROM sftpgo_kv WHERE collection = $1 AND key > $2 ORDER BY key LIMIT $3', [c, after, PAGE]);
      for (const row of r.rows) {
        after = row.key;
        yield [row.key, parse(row.value)];
      }
      if (r.rows.length < PAGE) return;
    }
  }

  const committed = reader(pool);
  const counters = pgCounters(pool);

  async function runWrite<T>(fn: (tx: WriteTx) => Promise<T> | T): Promise<T> {
    if (opts.readOnly) throw new AppError('store', 'the store is open read-only');
    const client = await pool.connect();
    // Per key: the value before this transaction (first seen) and after it (last written).
    const touched = new Map<string, { collection: CollectionName; key: string; previous: unknown; value: unknown }>();
    const note = (c: CollectionName, key: string, previous: unknown, value: unknown): void => {
      const id = `${c}\u0000${key}`;
      const t = touched.get(id);
      if (t) t.value = value;
      else touched.set(id, { collection: c, key, previous, value });
    };
    let failed = true;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const base = reader(client);
      const tx: WriteTx = {
        ...base,
        async put(c, key, value) {
          // One round trip: the CTE reads the row as it was before the upsert in the same statement.
          const r = await client.query<{ value: string }>(
            `WITH old AS (SELECT value FROM sftpgo_kv WHERE collection = $1 AND key = $2),
                  up AS (INSERT INTO sftpgo_kv (collection, key, value) VALUES ($1, $2, $3)
                         ON CONFLICT (collection, key) DO UPDATE SET value = EXCLUDED.value)
             SELECT value FROM old`,
            [c, key, JSON.stringify(value)],
          );
          note(c, key, r.rows[0] ? parse(r.rows[0].value) : undefined, value);
        },
        async remove(c, key) {
          const r = await client.query<{ value: string }>('DELETE FROM sftpgo_kv WHERE collection = $1 AND key = $2 RETURNING value', [c, key]);
          if (r.rows[0]) note(c, key, parse(r.rows[0].value), undefined);
        },
        async clear(c) {
          const r = await client.query<{ key: string; value: string }>('DELETE FROM sftpgo_kv WHERE collection = $1 RETURNING key, value', [c]);
          for (const row of r.rows) note(c, row.key, parse(row.value), undefined);
        },
      };
      const result = await fn(tx);
      if (touched.size > 0) {
        const entries = [...touched.values()];
        await client.query(
          'INSERT INTO sftpgo_changes (collection, key, node) SELECT c, k, $3 FROM unnest($1::text[], $2::text[]) AS t(c, k)',
          [entries.map((e) => e.collection), entries.map((e) => e.key), opts.node],
        );
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, opts.node]);
      }
      await client.query('COMMIT');
      failed = false;
      const changes: StoreChange[] = [];
      for (const t of touched.values()) {
        // A key put then removed in one transaction that did not exist before changed nothing.
        if (t.value === undefined && t.previous === undefined) continue;
        changes.push({ collection: t.collection, key: t.key, value: t.value as never, ...(t.previous !== undefined ? { previous: t.previous as never } : {}) });
      }
      listeners.dispatch(changes);
      return result;
    } finally {
      if (failed) await client.query('ROLLBACK').catch(() => undefined);
      client.release(failed);
    }
  }

  // Following the other replicas' changes.
  let lastSeen = 0;
  {
    const r = await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM sftpgo_changes');
    lastSeen = Number(r.rows[0]?.id ?? 0);
  }
  // Following runs in the writer queue: a local commit and a read of the log never interleave, so
  // a value read from the log is never older than one this replica's listeners already saw.
  let followQueued: Promise<void> | undefined;
  async function followOnce(): Promise<void> {
    for (;;) {
      const r = await pool.query<{ id: string; collection: CollectionName; key: string; node: string; value: string | null }>(
        `SELECT c.id, c.collection, c.key, c.node, kv.value FROM sftpgo_changes c
           LEFT JOIN sftpgo_kv kv ON kv.collection = c.collection AND kv.key = c.key
          WHERE c.id > $1 ORDER BY c.id LIMIT 5000`,
        [lastSeen],
      );
      const changes: StoreChange[] = [];
      // Writers commit one at a time, so ids follow each other, but a sequence may also skip (a
      // rolled back commit, a database restart): a hole is missed changes only if the prune
      // dropped ids this server had not read.
      const first = r.rows[0] ? Number(r.rows[0].id) : 0;
      if (first > lastSeen + 1 && lastSeen > 0) {
        const p = await pool.query<{ through: string }>('SELECT through FROM sftpgo_changes_pruned');
        const through = Number(p.rows[0]?.through ?? 0);
        if (through > lastSeen)
          log('error', 'store_changes_missed', { store: where, from: lastSeen + 1, to: Math.min(through, first - 1), action: 'restart this server: its caches may be stale' });
      }
      for (const row of r.rows) {
        lastSeen = Number(row.id);
        if (row.node === opts.node) continue;
        changes.push({ collection: row.collection, key: row.key, value: row.value === null ? undefined : (parse(row.value) as never), remote: true });
      }
      listeners.dispatch(changes);
      if (r.rows.length < 5000 || closed) return;
    }
  }
  function follow(): Promise<void> {
    // One follow waiting in the queue serves every wake-up that comes before it starts.
    if (followQueued) return followQueued;
    const run = (): Promise<void> => {
      followQueued = undefined;
      return followOnce().catch((err: unknown) => log('warn', 'store_follow_failed', { store: where, error: (err as Error).message }));
    };
    followQueued = queue.run(run);
    return followQueued;
  }

  let listener: PgClient | undefined;
  let listening = false;
  async function listen(): Promise<void> {
    if (closed || opts.readOnly) return;
    const client = new pg.default.Client(config);
    // A failed connect may also emit 'error': one retry per client, so listeners never double.
    let retrying = false;
    const retry = (): void => {
      if (retrying || closed) return;
      retrying = true;
      client.end().catch(() => undefined);
      setTimeout(() => void listen().catch(() => undefined), 1000).unref?.();
    };
    client.on('error', (err) => {
      if (listening) log('warn', 'store_listen_lost', { store: where, error: err.message });
      listening = false;
      retry();
    });
    client.on('notification', (n: Notification) => {
      if (n.channel === CHANNEL && n.payload !== opts.node) void follow();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      listener = client;
      listening = true;
      // What committed while no one listened.
      void follow();
    } catch (err) {
      log('warn', 'store_listen_failed', { store: where, error: (err as Error).message });
      retry();
    }
  }
  await listen();
  const pollMs = opts.pollMs ?? 1000;
  const poll = setInterval(() => {
    // The notification is the fast path; the poll covers a lost listening connection.
    if (!listening) void follow();
  }, pollMs);
  poll.unref?.();
  const prune = setInterval(() => {
    pool.query(PRUNE_CHANGES, [`${CHANGE_LOG_KEEP_MS} milliseconds`]).catch(() => undefined);
    counters.prune(Date.now()).catch(() => undefined);
  }, 60_000);
  prune.unref?.();

  return {
    location: where,
    secrets: opts.secrets ?? NO_SECRETS,
    shared: true,
    counters,
    ...committed,
    async read<T>(fn: (tx: ReadTx) => Promise<T> | T): Promise<T> {
      return fn(committed);
    },
    write<T>(fn: (tx: WriteTx) => Promise<T> | T): Promise<T> {
      return queue.run(() => runWrite(fn));
    },
    subscribe: (c, listener) => listeners.subscribe(c, listener),
    async sync() {
      await follow();
    },
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(prune);
      await queue.idle();
      listeners.clear();
      listening = false;
      await listener?.end().catch(() => undefined);
      await pool.end();
    },
  };
}
