// Two servers' reconciles of the same new config, run at the same moment on one PostgreSQL store:
// both plan before either commits, the first to take the write lock applies and records the
// revision, and the second finds the record moved under it, starts over and changes nothing
// (before the revision check it failed with "changed while the plan was applied").
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../../src/config/load.ts';
import type { Log } from '../../../src/log.ts';
import { reconcileRevision } from '../../../src/reconcile/reconcile.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import { openStore } from '../../../src/store/open.ts';
import { Records } from '../../../src/store/records.ts';
import { configRevisionOf, type Store } from '../../../src/store/store.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

let pg: Postgres;
const stores: Store[] = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const s of stores) await s.close();
  await pg?.stop();
  removeTempDirs();
});

test('of two reconciles of one new revision at once, one applies it and the other changes nothing', async () => {
  const dir = tempDir('reconcile-race-');
  const key = randomBytes(32).toString('base64');
  const servers = [];
  for (const n of [0, 1]) {
    const dataDir = join(dir, `data${n}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'secrets.key'), key + '\n', { mode: 0o600 });
    const store = await openStore(dataDir, { provider: { driver: 'postgresql', host: pg.host, port: pg.port, name: pg.database, username: pg.username, password: pg.password }, node: `node${n}` });
    stores.push(store);
    await migrateUp(store, { log: () => undefined });
    const lines: Record<string, unknown>[] = [];
    const log: Log = (level, event, fields) => void lines.push({ level, event, ...fields });
    servers.push({ dataDir, lines, log, records: new Records({ store, secrets: store.secrets, hashing: { bcryptCost: 4 } }) });
  }
  let moved = 0;
  for (let round = 1; round <= 5; round++) {
    const users = Array.from({ length: round * 3 }, (_, i) => `  - { username: u${i}, password: u${i}-Secret-1, home_dir: /srv/u${i}, permissions: { "/": ["*"] } }\n`).join('');
    const loaded = parseConfigText(`users:\n${users}`, join(dir, 'sftpgo.yaml'), dir);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const results = await Promise.all(
      servers.map((s, n) => reconcileRevision({ loaded: loaded.value, dataDir: s.dataDir, records: s.records, log: s.log, node: `node${n}`, origin: { source: 'file', file: '/etc/sftpgo.yaml', mtime: round } })),
    );
    // Three new users a round: created once, by one of the two.
    expect(results.map((r) => r.summary.create).sort()).toEqual([0, 3]);
    const applier = results.findIndex((r) => r.summary.create === 3);
    expect(results[1 - applier]!.revision.verdict.kind).toBe('same');
    const recorded = await configRevisionOf(stores[0]!);
    expect(recorded).toMatchObject({ source: 'file', mtime: round, node: `node${applier}` });
    moved = servers.reduce((n, s) => n + s.lines.filter((l) => l.event === 'config_revision_moved').length, 0);
  }
  // Both planned before either committed at least once: the loser started over.
  expect(moved).toBeGreaterThan(0);
}, 120_000);
