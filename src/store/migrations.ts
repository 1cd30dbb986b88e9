// Numbered store schema migrations, each with an up and a down step, applied in one transaction per
// step. `initprovider` migrates up to LATEST; `revertprovider --to-version N` walks down.
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import { createLog, type Log } from '../log.ts';
import { META, schemaVersionOf, type CollectionName, type Store, type WriteTx } from './store.ts';

interface Migration {
  version: number;
  description: string;
  up(tx: WriteTx, log: Log): Promise<void>;
  down(tx: WriteTx, log: Log): Promise<void>;
}

/** Before version 2, users and folders carried their usage (as SFTPGo's records do). */
type V1Usage = { used_quota_size?: number; used_quota_files?: number; last_quota_update?: number };
const USAGE_OWNERS = [
  ['users', 'user'],
  ['folders', 'folder'],
] as const;

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'users, folders and admins; quota usage kept on the user record',
    async up(tx) {
      if ((await tx.get('meta', META.secretKey)) === undefined) await tx.put('meta', META.secretKey, randomBytes(32).toString('base64'));
    },
    async down(tx) {
      for (const c of ['users', 'folders', 'admins', 'meta'] as const) await tx.clear(c);
    },
  },
  {
    version: 2,
    description: 'quota and transfer usage in its own collection (so reconcile never rewrites it); runtime overrides',
    async up(tx) {
      for (const [collection, kind] of USAGE_OWNERS) {
        for await (const [name, record] of tx.entries(collection)) {
          const r = record as V1Usage;
          await tx.put('usage', `${kind}:${name}`, {
            used_quota_size: r.used_quota_size ?? 0,
            used_quota_files: r.used_quota_files ?? 0,
            last_quota_update: r.last_quota_update ?? 0,
            used_upload_data_transfer: 0,
            used_download_data_transfer: 0,
          });
          delete r.used_quota_size;
          delete r.used_quota_files;
          delete r.last_quota_update;
          await tx.put(collection, name, r as never);
        }
      }
    },
    async down(tx, log) {
      for await (const [key, usage] of tx.entries('usage')) {
        const [kind, name] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
        const collection = USAGE_OWNERS.find(([, k]) => k === kind)?.[0];
        const r = collection && ((await tx.get(collection, name)) as V1Usage | undefined);
        if (!collection || !r) continue;
        r.used_quota_size = usage.used_quota_size;
        r.used_quota_files = usage.used_quota_files;
        r.last_quota_update = usage.last_quota_update;
        await tx.put(collection, name, r as never);
      }
      const dropped = await tx.count('overrides');
      if (dropped > 0) log('warn', 'store_migration_drop', { collection: 'overrides', records: dropped });
      await tx.clear('usage');
      await tx.clear('overrides');
    },
  },
  {
    version: 3,
    description: 'defender bans kept across restarts',
    async up() {
      // The collection starts empty; the defender fills it.
    },
    async down(tx, log) {
      // Bans are short-lived runtime state: dropping them only forgets who is banned right now.
      await dropCollection(tx, log, 'bans');
    },
  },
  {
    version: 4,
    description: 'API keys as their own resource (SFTPGo\'s /api/v2/apikeys)',
    async up() {
      // The collection starts empty; keys declared on admins in the YAML stay on the admin.
    },
    async down(tx, log) {
      await dropCollection(tx, log, 'api_keys');
    },
  },
  {
    version: 5,
    description: 'roles (SFTPGo 2.7): admins limited to the users of their role',
    async up() {
      // The collection starts empty; reconcile and the API fill it.
    },
    async down(tx, log) {
      // Version 4 keeps a user's or an admin's role as state without effect (as an SFTPGo import
      // left it), so a role admin would manage every user: it is disabled for review.
      await dropCollection(tx, log, 'roles');
      const limited: string[] = [];
      for await (const [name, a] of tx.entries('admins')) if (a.role) limited.push(name);
      for (const name of limited) {
        const a = (await tx.get('admins', name))!;
        await tx.put('admins', name, { ...a, status: 0 });
        log('warn', 'store_migration_admin_disabled', { admin: name, role: a.role });
      }
      const roleOverrides: string[] = [];
      for await (const [key, o] of tx.entries('overrides')) if (o.kind === 'role') roleOverrides.push(key);
      for (const key of roleOverrides) await tx.remove('overrides', key);
    },
  },
  {
    version: 6,
    description: 'groups (SFTPGo\'s /api/v2/groups), their overrides and users\' group mappings',
    async up() {
      // The collection starts empty; users imported before keep their group mappings, which now apply.
    },
    async down(tx, log) {
      await dropCollection(tx, log, 'groups');
      const overrides: string[] = [];
      for await (const [key, o] of tx.entries('overrides')) if (o.kind === 'group') overrides.push(key);
      for (const key of overrides) await tx.remove('overrides', key);
    },
  },
  {
    version: 7,
    description: "IP lists (SFTPGo's allow list, defender and rate limiters' safe list entries)",
    async up() {
      // The collection starts empty; reconcile and the API fill it.
    },
    async down(tx, log) {
      await dropCollection(tx, log, 'ip_lists');
    },
  },
  {
    version: 8,
    description: "shares (SFTPGo's share links: /api/v2/user/shares and the public /api/v2/shares)",
    async up() {
      // The collection starts empty; users fill it through the user API.
    },
    async down(tx, log) {
      await dropCollection(tx, log, 'shares');
    },
  },
  {
    version: 9,
    description: "event actions and rules (SFTPGo's event manager: /api/v2/eventactions, /api/v2/eventrules)",
    async up() {
      // The collections start empty; reconcile and the API fill them.
    },
    async down(tx, log) {
      await dropCollection(tx, log, 'event_rules');
      await dropCollection(tx, log, 'event_actions');
      const overrides: string[] = [];
      for await (const [key, o] of tx.entries('overrides')) if (o.kind === 'event_action' || o.kind === 'event_rule') overrides.push(key);
      for (const key of overrides) await tx.remove('overrides', key);
    },
  },
  {
    version: 10,
    description: 'nodes: the replicas sharing the store, each with its API address and key',
    async up() {
      // The collection starts empty; each replica registers itself at its start.
    },
    async down(tx, log) {
      // Live registrations only: a replica running the older version no longer lists the others.
      await dropCollection(tx, log, 'nodes');
    },
  },
];

/** Empties a collection a down migration gives up, saying how many records went. */
async function dropCollection(tx: WriteTx, log: Log, collection: CollectionName): Promise<void> {
  const dropped = await tx.count(collection);
  if (dropped > 0) log('warn', 'store_migration_drop', { collection, records: dropped });
  await tx.clear(collection);
}

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function migrationList(): { version: number; description: string }[] {
  return MIGRATIONS.map(({ version, description }) => ({ version, description }));
}

/** Migrates up to `target` (default: latest). Returns the versions applied. */
/** Where a migration reports: `log` (stderr by default), `target` (default: the latest version). */
export interface MigrateOptions {
  log?: Log;
  target?: number;
}

export async function migrateUp(store: Store, opts: MigrateOptions = {}): Promise<number[]> {
  const { log = createLog(), target = LATEST_SCHEMA_VERSION } = opts;
  const current = await schemaVersionOf(store);
  if (current > LATEST_SCHEMA_VERSION) throw newerSchemaError(current);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    // Servers sharing a store may start together: the step is applied by the one whose
    // transaction still finds the version before it.
    const done = await store.write(async (tx) => {
      if ((await schemaVersionOf(tx)) !== m.version - 1) return false;
      await m.up(tx, log);
      await tx.put('meta', META.schemaVersion, m.version);
      return true;
    });
    if (!done) continue;
    log('info', 'store_migrated', { direction: 'up', version: m.version, description: m.description });
    applied.push(m.version);
  }
  return applied;
}

export async function migrateDown(store: Store, target: number, log: Log = createLog()): Promise<number[]> {
  const current = await schemaVersionOf(store);
  if (current > LATEST_SCHEMA_VERSION) throw newerSchemaError(current);
  if (target < 0 || target > current)
    throw new AppError('invalid', `cannot revert to version ${target}: the store is at version ${current}`);
  const reverted: number[] = [];
  for (const m of [...MIGRATIONS].reverse()) {
    if (m.version > current || m.version <= target) continue;
    await store.write(async (tx) => {
      await m.down(tx, log);
      await tx.put('meta', META.schemaVersion, m.version - 1);
    });
    log('info', 'store_migrated', { direction: 'down', version: m.version - 1, description: m.description });
    reverted.push(m.version);
  }
  return reverted;
}

export function newerSchemaError(found: number): AppError {
  return new AppError(
    'store',
    `the store's schema version ${found} is newer than this binary supports (${LATEST_SCHEMA_VERSION}); ` +
      `run a newer sftpgo, or downgrade the store with that newer binary: sftpgo revertprovider --to-version ${LATEST_SCHEMA_VERSION}`,
  );
}
