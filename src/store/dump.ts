// dumpdata / loaddata: the whole store as one JSON document, and back. Records keep every field
// (ids, times, ownership, hashes), so a dump loaded into an empty store reproduces it; users' and
// admins' last logins, kept in meta beside the records, travel in `last_logins`.
import { AppError } from '../errors.ts';
import { LATEST_SCHEMA_VERSION } from './migrations.ts';
import { META, schemaVersionOf, type CollectionName, type ReadTx, type Store } from './store.ts';

export const DUMP_FORMAT = 'sftpgo-ts-dump';

export interface Dump {
  format: typeof DUMP_FORMAT;
  schema_version: number;
  created_at: string;
  users: Record<string, unknown>[];
  folders: Record<string, unknown>[];
  groups: Record<string, unknown>[];
  admins: Record<string, unknown>[];
  /** Absent from dumps older than schema version 5. */
  roles: Record<string, unknown>[];
  usage: Record<string, unknown>;
  overrides: Record<string, unknown>;
  bans: Record<string, unknown>;
  api_keys: Record<string, unknown>;
  /** Epoch ms by `user:<name>` / `admin:<name>`; a record never logged in has no entry. Absent from older dumps. */
  last_logins: Record<string, number>;
  ip_lists: Record<string, unknown>;
  /** Absent from dumps older than schema version 9. */
  event_actions: Record<string, unknown>[];
  event_rules: Record<string, unknown>[];
  /** Share links by id. Absent from dumps older than schema version 8. */
  shares: Record<string, unknown>;
}

/**
 * The oldest dump this binary loads as is: versions 3 to 9 only added the bans, API keys, roles, groups, IP
 * lists, shares and event actions and rules collections, which an older dump simply lacks. A migration that reshapes records must raise this.
 */
export const OLDEST_LOADABLE_DUMP_VERSION = 2;

const RECORD_COLLECTIONS = ['roles', 'users', 'folders', 'groups', 'admins', 'event_actions', 'event_rules'] as const;
const KEYED_COLLECTIONS = ['usage', 'overrides', 'bans', 'api_keys', 'ip_lists', 'shares'] as const;
const LAST_LOGIN_KEY = { users: META.userLastLogin, admins: META.adminLastLogin } as const;
const LAST_LOGIN_PREFIX = { users: 'user:', admins: 'admin:' } as const;

export async function dumpStore(store: ReadTx): Promise<Dump> {
  const dump: Dump = {
    format: DUMP_FORMAT,
    schema_version: await schemaVersionOf(store),
    created_at: new Date().toISOString(),
    users: [],
    folders: [],
    groups: [],
    admins: [],
    roles: [],
    usage: {},
    overrides: {},
    bans: {},
    api_keys: {},
    last_logins: {},
    ip_lists: {},
    event_actions: [],
    event_rules: [],
    shares: {},
  };
  for (const c of RECORD_COLLECTIONS) for await (const [, v] of store.entries(c)) dump[c].push({ ...v });
  for (const c of KEYED_COLLECTIONS) for await (const [k, v] of store.entries(c)) dump[c][k] = v;
  for (const c of ['users', 'admins'] as const) {
    for (const rec of dump[c]) {
      const name = String(rec.username);
      const at = await store.get('meta', LAST_LOGIN_KEY[c](name));
      if (typeof at === 'number' && at > 0) dump.last_logins[LAST_LOGIN_PREFIX[c] + name] = at;
    }
  }
  return dump;
}

/**
 * Loads a dump; records with the same name are replaced, others are kept. One transaction. Records
 * are restored exactly as dumped (ids, times, hashes), so this is a restore, not a records-layer write.
 */
export async function loadDump(store: Store, value: unknown): Promise<{ users: number; folders: number; groups: number; admins: number; roles: number; event_actions: number; event_rules: number }> {
  const dump = value as Partial<Dump>;
  if (!dump || typeof dump !== 'object' || dump.format !== DUMP_FORMAT)
    throw new AppError('invalid', `not a ${DUMP_FORMAT} file (for an SFTPGo backup use --from-sftpgo)`);
  const v = dump.schema_version;
  if (typeof v !== 'number' || v < OLDEST_LOADABLE_DUMP_VERSION || v > LATEST_SCHEMA_VERSION)
    throw new AppError('invalid', `the dump has schema version ${v}; this binary reads versions ${OLDEST_LOADABLE_DUMP_VERSION} to ${LATEST_SCHEMA_VERSION}`);
  const nameKey = (c: CollectionName) => (c === 'users' || c === 'admins' ? 'username' : 'name');
  const lastLogins = dump.last_logins;
  if (lastLogins !== undefined && (typeof lastLogins !== 'object' || lastLogins === null || Object.values(lastLogins).some((v) => typeof v !== 'number')))
    throw new AppError('invalid', 'last_logins: must map "user:<name>" and "admin:<name>" to epoch milliseconds');
  return store.write(async (tx) => {
    const counts = { users: 0, folders: 0, groups: 0, admins: 0, roles: 0, event_actions: 0, event_rules: 0 };
    for (const c of RECORD_COLLECTIONS) {
      let maxId = ((await tx.get('meta', META.nextId(c.slice(0, -1)))) as number | undefined) ?? 0;
      for (const rec of dump[c] ?? []) {
        const name = rec[nameKey(c)];
        if (typeof name !== 'string' || !name) throw new AppError('invalid', `${c}: a record has no ${nameKey(c)}`);
        await tx.put(c, name, rec as never);
        // A dump with last logins restores them with their records (none listed: never logged in).
        if (lastLogins && (c === 'users' || c === 'admins')) {
          const at = lastLogins[LAST_LOGIN_PREFIX[c] + name];
          if (at) await tx.put('meta', LAST_LOGIN_KEY[c](name), at);
          else await tx.remove('meta', LAST_LOGIN_KEY[c](name));
        }
        maxId = Math.max(maxId, Number(rec.id) || 0);
        counts[c]++;
      }
      await tx.put('meta', META.nextId(c.slice(0, -1)), maxId);
    }
    for (const c of KEYED_COLLECTIONS) for (const [k, v] of Object.entries(dump[c] ?? {})) await tx.put(c, k, v as never);
    return counts;
  });
}
