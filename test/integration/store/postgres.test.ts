// The PostgreSQL store against a real PostgreSQL from Debian's packages: the same store contract as
// LMDB's, changes reaching the other servers that share the database (by notification, and by the
// poll when the listening connection is gone), writers of several servers one at a time, the
// numbered migrations up and down (once when servers start together), and the secrets key that
// every server sharing the store must hold.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LATEST_SCHEMA_VERSION, migrateDown, migrateUp } from '../../../src/store/migrations.ts';
import { openStore } from '../../../src/store/open.ts';
import { openPgStore, type PgSettings } from '../../../src/store/postgres.ts';
import { schemaVersionOf, type Store, type StoreChange } from '../../../src/store/store.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { storeContract } from '../../support/store-contract.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

let pg: Postgres;
let dbCount = 0;
const opened: Store[] = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

afterAll(async () => {
  await pg?.stop();
  removeTempDirs();
});

function freshDatabase(): string {
  const name = `t${++dbCount}`;
  pg.createDatabase(name);
  return name;
}

function settings(database: string): PgSettings {
  return { host: pg.host, port: pg.port, name: database, username: pg.username, password: pg.password, sslmode: 0, poolSize: 4 };
}

async function open(database: string, node: string, pollMs?: number): Promise<Store> {
  const s = await openPgStore({ settings: settings(database), node, ...(pollMs ? { pollMs } : {}) });
  opened.push(s);
  return s;
}

/** Resolves with the first change `s` hears on `collection` for `key`, or rejects after `ms`. */
function heard(s: Store, key: string, ms: number): Promise<{ change: StoreChange<'bans'>; after: number }> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no change of ${key} within ${ms} ms`))), ms);
    const off = s.subscribe('bans', (change) => {
      if (change.key !== key) return;
      clearTimeout(timer);
      off();
      resolve({ change, after: Date.now() - start });
    });
  });
}

describe('the store contract', () => {
  storeContract(async () => open(freshDatabase(), 'contract'));
});

describe('servers sharing one database', () => {
  test("one server's commit reaches the other's listeners, marked remote, well within a second", async () => {
    const db = freshDatabase();
    const a = await open(db, 'a');
    const b = await open(db, 'b');
    const ownHeard: StoreChange[] = [];
    a.subscribe('bans', (c) => ownHeard.push(c));
    const onB = heard(b, '10.0.0.1', 5000);
    await a.write((tx) => tx.put('bans', '10.0.0.1', { ip: '10.0.0.1', until: 42 }));
    const { change, after } = await onB;
    expect(change).toEqual({ collection: 'bans', key: '10.0.0.1', value: { ip: '10.0.0.1', until: 42 }, remote: true });
    expect(after).toBeLessThan(1000);
    // The writer heard its own change once, as a local one.
    expect(ownHeard).toEqual([{ collection: 'bans', key: '10.0.0.1', value: { ip: '10.0.0.1', until: 42 } }]);
    const removed = heard(b, '10.0.0.1', 5000);
    await a.write((tx) => tx.remove('bans', '10.0.0.1'));
    expect((await removed).change.value).toBeUndefined();
    expect(await b.get('bans', '10.0.0.1')).toBeUndefined();
  });

  test('with its listening connection cut, a server still hears changes by polling, then listens again', async () => {
    const db = freshDatabase();
    const a = await open(db, 'a');
    const b = await open(db, 'b', 300);
    pg.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND query LIKE 'LISTEN%'`);
    await new Promise((r) => setTimeout(r, 100));
    const onB = heard(b, 'polled', 5000);
    await a.write((tx) => tx.put('bans', 'polled', { ip: 'polled', until: 1 }));
    expect((await onB).change.value).toEqual({ ip: 'polled', until: 1 });
    // The listener comes back within a couple of seconds.
    const deadline = Date.now() + 10_000;
    let listening = 0;
    while (Date.now() < deadline) {
      listening = Number(pg.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND query LIKE 'LISTEN%'`).trim());
      if (listening > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listening).toBeGreaterThan(0);
  });

  test('a server that missed pruned changes says so and asks to be restarted; a skipped id is no alarm', async () => {
    const db = freshDatabase();
    const a = await open(db, 'a');
    const lines: Record<string, unknown>[] = [];
    const log = (level: string, event: string, fields?: Record<string, unknown>): void => void lines.push({ level, event, ...fields });
    const b = await openPgStore({ settings: settings(db), node: 'b', pollMs: 600_000, log });
    opened.push(b);
    const missed = () => lines.filter((l) => l.event === 'store_changes_missed');
    await a.write((tx) => tx.put('meta', 'k1', 1));
    await b.sync();
    // Changes commit unseen by b (no notification) and leave a hole: a skipped id says nothing.
    const add = (key: string): string => `INSERT INTO sftpgo_changes (collection, key, node) VALUES ('meta', '${key}', 'a');`;
    pg.sql(`${add('k2')} ${add('k3')} DELETE FROM sftpgo_changes WHERE key = 'k2'`, db);
    await b.sync();
    expect(missed()).toEqual([]);
    // The prune dropped an id b had not read (as its statement records it): b says so.
    pg.sql(`${add('k4')} ${add('k5')} WITH d AS (DELETE FROM sftpgo_changes WHERE key = 'k4' RETURNING id) INSERT INTO sftpgo_changes_pruned (one, through) SELECT true, max(id) FROM d ON CONFLICT (one) DO UPDATE SET through = EXCLUDED.through`, db);
    await b.sync();
    expect(missed()).toEqual([expect.objectContaining({ level: 'error', action: 'restart this server: its caches may be stale' })]);
    // Without a hole nothing more is said.
    await a.write((tx) => tx.put('meta', 'k6', 6));
    await b.sync();
    expect(missed()).toHaveLength(1);
  });

  test("writers of different servers run one at a time: read-modify-writes from both lose nothing", async () => {
    const db = freshDatabase();
    const a = await open(db, 'a');
    const b = await open(db, 'b');
    const bump = (s: Store) => () =>
      s.write(async (tx) => {
        const n = ((await tx.get('meta', 'n')) as number | undefined) ?? 0;
        await new Promise((r) => setTimeout(r, 2));
        await tx.put('meta', 'n', n + 1);
      });
    await Promise.all([...Array.from({ length: 15 }, bump(a)), ...Array.from({ length: 15 }, bump(b))]);
    expect(await a.get('meta', 'n')).toBe(30);
    await b.sync();
    expect(await b.get('meta', 'n')).toBe(30);
  });

  test('values come back exactly as written, and keys sort bytewise as in LMDB', async () => {
    const s = await open(freshDatabase(), 'a');
    const value = { z: 1, a: [1, 'two', { x: null }], 'ü': 'ünïcode', nested: { b: true, a: 0.5 } };
    await s.write(async (tx) => {
      await tx.put('meta', 'v', value);
      for (const k of ['b', 'B', 'a', '_', 'é', '10', '9']) await tx.put('bans', k, { ip: k, until: 0 });
    });
    const back = await s.get('meta', 'v');
    expect(JSON.stringify(back)).toBe(JSON.stringify(value));
    const keys: string[] = [];
    for await (const [k] of s.entries('bans')) keys.push(k);
    expect(keys).toEqual(['10', '9', 'B', '_', 'a', 'b', 'é']);
  });
});

describe('migrations', () => {
  test('the numbered migrations run up and down on PostgreSQL as on LMDB', async () => {
    const s = await open(freshDatabase(), 'a');
    expect(await migrateUp(s)).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    expect(await schemaVersionOf(s)).toBe(LATEST_SCHEMA_VERSION);
    await s.write((tx) => tx.put('bans', '1.2.3.4', { ip: '1.2.3.4', until: Date.now() + 60_000 }));
    await migrateDown(s, 2);
    expect(await schemaVersionOf(s)).toBe(2);
    // Version 3 brought the bans: going below it drops them.
    expect(await s.count('bans')).toBe(0);
    await migrateUp(s);
    expect(await schemaVersionOf(s)).toBe(LATEST_SCHEMA_VERSION);
  });

  test('servers starting together apply each step once', async () => {
    const db = freshDatabase();
    const [a, b, c] = await Promise.all([open(db, 'a'), open(db, 'b'), open(db, 'c')]);
    const applied = await Promise.all([migrateUp(a), migrateUp(b), migrateUp(c)]);
    expect(applied.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    expect(await schemaVersionOf(c)).toBe(LATEST_SCHEMA_VERSION);
  });
});

describe('data_provider and the secrets key', () => {
  test('driver postgresql opens the shared store; every server must hold the same secrets.key', async () => {
    const db = freshDatabase();
    const passwordFile = join(tempDir('pgpass-'), 'password');
    writeFileSync(passwordFile, `${pg.password}\n`);
    const provider = { driver: 'postgresql' as const, host: pg.host, port: pg.port, name: db, username: pg.username, password: { file: passwordFile }, sslmode: 0 as const };
    const first = tempDir('node1-');
    const s1 = await openStore(first, { provider });
    opened.push(s1);
    expect(s1.shared).toBe(true);
    expect(existsSync(join(first, 'secrets.key'))).toBe(true);
    const sealed = s1.secrets.seal('a secret');
    await s1.write((tx) => tx.put('meta', 'sealed', sealed));

    // A second server without the key is refused, and makes none.
    const second = tempDir('node2-');
    await expect(openStore(second, { provider })).rejects.toThrow(/sealed with a secrets key this server does not have: copy secrets.key/);
    expect(existsSync(join(second, 'secrets.key'))).toBe(false);
    // With another key, it is refused too.
    const third = tempDir('node3-');
    writeFileSync(join(third, 'secrets.key'), Buffer.alloc(32, 7).toString('base64') + '\n');
    await expect(openStore(third, { provider })).rejects.toThrow(/is not the secrets key the shared store .* was sealed with/);
    // With the first server's key, it opens what the first sealed.
    copyFileSync(join(first, 'secrets.key'), join(second, 'secrets.key'));
    const s2 = await openStore(second, { provider });
    opened.push(s2);
    const got = (await s2.get('meta', 'sealed')) as { sealed: string };
    expect(s2.secrets.unseal(got.sealed)).toBe('a secret');
  });

  test('pool_size bounds the connections a server keeps for its queries', async () => {
    const db = freshDatabase();
    const base = { driver: 'postgresql' as const, host: pg.host, port: pg.port, name: db, username: pg.username, password: pg.password };
    const dataDir = tempDir('pool-');
    const connections = async (poolSize: number): Promise<number> => {
      const s = await openStore(dataDir, { provider: { ...base, pool_size: poolSize } });
      try {
        await Promise.all(Array.from({ length: 40 }, () => s.count('bans')));
        // Pool connections stay open while idle; the listening connection is not the pool's.
        return Number(pg.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'sftpgo' AND query NOT LIKE 'LISTEN%'`).trim());
      } finally {
        await s.close();
      }
    };
    expect(await connections(2)).toBe(2);
    const wider = await connections(6);
    expect(wider).toBeGreaterThan(2);
    expect(wider).toBeLessThanOrEqual(6);
  });

  test('a wrong password is a clear error naming the database', async () => {
    const provider = { driver: 'postgresql' as const, host: pg.host, port: pg.port, name: pg.database, username: pg.username, password: 'not-the-password', sslmode: 0 as const };
    await expect(openStore(tempDir('nodex-'), { provider })).rejects.toThrow(/cannot open the PostgreSQL store postgresql:\/\/sftpgo@127\.0\.0\.1:\d+\/sftpgo: password authentication failed/);
  });
});
