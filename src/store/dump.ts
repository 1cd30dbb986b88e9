// dumpdata / loaddata: the whole store as one JSON document, and back. Records keep every field
// (ids, times, ownership, hashes), so a dump loaded into an empty store reproduces it.
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
  admins: Record<string, unknown>[];
  usage: Record<string, unknown>;
  overrides: Record<string, unknown>;
  bans: Record<string, unknown>;
  api_keys: Record<string, unknown>;
  ip_lists: Record<string, unknown>;
}

/**
 * The oldest dump this binary loads as is: versions 3, 4 and 5 only added the bans, API keys and IP
 * lists collections, which an older dump simply lacks. A migration that reshapes records must raise this.
 */
export const OLDEST_LOADABLE_DUMP_VERSION = 2;

const RECORD_COLLECTIONS = ['users', 'folders', 'admins'] as const;
const KEYED_COLLECTIONS = ['usage', 'overrides', 'bans', 'api_keys', 'ip_lists'] as const;

export async function dumpStore(store: ReadTx): Promise<Dump> {
  const dump: Dump = {
    format: DUMP_FORMAT,
    schema_version: await schemaVersionOf(store),
    created_at: new Date().toISOString(),
    users: [],
    folders: [],
    admins: [],
    usage: {},
    overrides: {},
    bans: {},
    api_keys: {},
    ip_lists: {},
  };
  for (const c of RECORD_COLLECTIONS) for await (const [, v] of store.entries(c)) dump[c].push({ ...v });
  for (const c of KEYED_COLLECTIONS) for await (const [k, v] of store.entries(c)) dump[c][k] = v;
  return dump;
}

/**
 * Loads a dump; records with the same name are replaced, others are kept. One transaction. Records
 * are restored exactly as dumped (ids, times, hashes), so this is a restore, not a records-layer write.
 */
export async function loadDump(store: Store, value: unknown): Promise<{ users: number; folders: number; admins: number }> {
  const dump = value as Partial<Dump>;
  if (!dump || typeof dump !== 'object' || dump.format !== DUMP_FORMAT)
    throw new AppError('invalid', `not a ${DUMP_FORMAT} file (for an SFTPGo backup use --from-sftpgo)`);
  const v = dump.schema_version;
  if (typeof v !== 'number' || v < OLDEST_LOADABLE_DUMP_VERSION || v > LATEST_SCHEMA_VERSION)
    throw new AppError('invalid', `the dump has schema version ${v}; this binary reads versions ${OLDEST_LOADABLE_DUMP_VERSION} to ${LATEST_SCHEMA_VERSION}`);
  const nameKey = (c: CollectionName) => (c === 'folders' ? 'name' : 'username');
  return store.write(async (tx) => {
    const counts = { users: 0, folders: 0, admins: 0 };
    for (const c of RECORD_COLLECTIONS) {
      let maxId = ((await tx.get('meta', META.nextId(c.slice(0, -1)))) as number | undefined) ?? 0;
      for (const rec of dump[c] ?? []) {
        const name = rec[nameKey(c)];
        if (typeof name !== 'string' || !name) throw new AppError('invalid', `${c}: a record has no ${nameKey(c)}`);
        await tx.put(c, name, rec as never);
        maxId = Math.max(maxId, Number(rec.id) || 0);
        counts[c]++;
      }
      await tx.put('meta', META.nextId(c.slice(0, -1)), maxId);
    }
    for (const c of KEYED_COLLECTIONS) for (const [k, v] of Object.entries(dump[c] ?? {})) await tx.put(c, k, v as never);
    return counts;
  });
}
