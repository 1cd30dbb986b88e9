// The records layer: the one writer of users, folders, groups and admins. Reconcile, the admin API, login
// hooks and imports all write through it, so record metadata (id, created_at, updated_at, source),
// usage rows, password hashing (only for a password that changed), sealing literal secrets and
// override layering are done once. It also owns the effective view of a record: the stored record
// with its runtime override on top, and a user's virtual folders resolved to their folders (its
// groups are applied by store/groups.ts). Roles are records too: deleting one takes it off its
// users and is refused while an admin has it.
import type { HashPasswordOptions } from '../auth/passwords.ts';
import { hashPassword, passwordDigest } from '../auth/passwords.ts';
import type { SecretBox } from '../config/sealed.ts';
import type { DataProvider } from '../config/schema-types.ts';
import { AppError } from '../errors.ts';
import type { AdminRecord, EventActionRecord, EventRuleRecord, FolderRecord, GroupRecord, Kind, QuotaUsage, RoleRecord, Source, UserRecord } from '../model.ts';
import { canonical } from './canonical.ts';
import { configRevisionOf, ipListKey, META, nextId, type CollectionName, type ConfigRevisionRecord, type IpListRecord, type Override, type ReadTx, type ShareRecord, type Store, type WriteTx } from './store.ts';

export const COLLECTION_OF = { user: 'users', folder: 'folders', group: 'groups', admin: 'admins', role: 'roles', event_action: 'event_actions', event_rule: 'event_rules' } as const satisfies Record<Kind, CollectionName>;

/** A stored user, folder or admin, seen generically. */
export type StoredRecord = Record<string, unknown> & {
  id?: number;
  created_at?: number;
  updated_at?: number;
  source?: Source;
  password?: string;
  password_digest?: string;
  last_password_change?: number;
};

export function emptyUsage(): QuotaUsage {
  return { used_quota_size: 0, used_quota_files: 0, last_quota_update: 0, used_upload_data_transfer: 0, used_download_data_transfer: 0 };
}

/** The hashing options `data_provider.password_hashing` asks for. */
export function hashingOptions(h: DataProvider['password_hashing'] | undefined): HashPasswordOptions {
  const a = h?.argon2_options;
  return {
    algo: h?.algo ?? 'bcrypt',
    ...(h?.bcrypt_options?.cost ? { bcryptCost: h.bcrypt_options.cost } : {}),
    ...(a ? { argon2: { memoryKiB: a.memory ?? 65536, iterations: a.iterations ?? 1, parallelism: a.parallelism ?? 2 } } : {}),
  };
}

// ---- overrides --------------------------------------------------------------------------------
// Changes made through the API to a resource the YAML declares live in the `overrides` collection
// beside the config's record (key `<kind>:<name>`), hold only the top-level fields that differ
// from it, and are layered on top of it. Reconcile rewrites the base record and leaves the
// override alone; a reconcile that deletes the record drops it.

/** Fields an override may never carry: bookkeeping owned by the store. */
const NOT_OVERRIDABLE: ReadonlySet<string> = new Set(['id', 'created_at', 'updated_at', 'source', 'username', 'name']);

export function overrideKey(kind: Kind, name: string): string {
  return `${kind}:${name}`;
}

export function getOverride(tx: ReadTx, kind: Kind, name: string): Promise<Override | undefined> {
  return tx.get('overrides', overrideKey(kind, name));
}

/**
 * The record with the override's fields on top. A field set to `null` in the override removes the
 * base's value (the API was asked to clear it).
 */
export function layer<T extends object>(base: T, override: Override | undefined): T {
  if (!override) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(override.fields)) {
    if (NOT_OVERRIDABLE.has(k)) continue;
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out as T;
}

/**
 * The override that turns `base` into `wanted`: every top-level field of `wanted` whose value differs
 * from the base's, plus `null` for fields the base has and `wanted` clears. Returns undefined when
 * nothing differs (the override can be dropped).
 */
export function diffOverride(base: Record<string, unknown>, wanted: Record<string, unknown>, cleared: string[] = []): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(wanted)) {
    if (NOT_OVERRIDABLE.has(k) || v === undefined) continue;
    if (canonical(base[k]) !== canonical(v) && !(unset(k, base[k]) && unset(k, v))) fields[k] = v;
  }
  for (const k of cleared) if (!NOT_OVERRIDABLE.has(k) && base[k] !== undefined && wanted[k] === undefined && !unset(k, base[k])) fields[k] = null;
  return Object.keys(fields).length > 0 ? fields : undefined;
}

/**
 * A value that means the field is not set: absent, 0, "", false, [] or an object of only such
 * values, as SFTPGo's API sends unset fields. `status` is the exception: 0 disables.
 */
function unset(key: string, v: unknown): boolean {
  if (key === 'status') return v === undefined;
  return isUnsetValue(v);
}

function isUnsetValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(isUnsetValue);
  return false;
}

// ---- effective views --------------------------------------------------------------------------

/**
 * The user with its override applied and each virtual folder resolved to its folder's (effective)
 * definition (mapped_path, filesystem), as SFTPGo's user JSON carries it; a folder that no longer
 * exists is dropped from the mounts.
 */
export async function effectiveUser(tx: ReadTx, username: string): Promise<UserRecord | undefined> {
  const stored = await tx.get('users', username);
  if (!stored) return undefined;
  const user = layer(stored, await getOverride(tx, 'user', username));
  if (!user.virtual_folders?.length) return user;
  const virtual_folders = [];
  for (const vf of user.virtual_folders) {
    const folder = await effectiveFolder(tx, vf.name);
    if (folder) virtual_folders.push({ ...vf, mapped_path: folder.mapped_path, filesystem: folder.filesystem, description: folder.description });
  }
  return { ...user, virtual_folders };
}

export async function effectiveFolder(tx: ReadTx, name: string): Promise<FolderRecord | undefined> {
  const stored = await tx.get('folders', name);
  return stored && layer(stored, await getOverride(tx, 'folder', name));
}

export async function effectiveGroup(tx: ReadTx, name: string): Promise<GroupRecord | undefined> {
  const stored = await tx.get('groups', name);
  return stored && layer(stored, await getOverride(tx, 'group', name));
}

export async function effectiveAdmin(tx: ReadTx, username: string): Promise<AdminRecord | undefined> {
  const stored = await tx.get('admins', username);
  return stored && layer(stored, await getOverride(tx, 'admin', username));
}

export async function effectiveRole(tx: ReadTx, name: string): Promise<RoleRecord | undefined> {
  const stored = await tx.get('roles', name);
  return stored && layer(stored, await getOverride(tx, 'role', name));
}

export async function effectiveEventAction(tx: ReadTx, name: string): Promise<EventActionRecord | undefined> {
  const stored = await tx.get('event_actions', name);
  return stored && layer(stored, await getOverride(tx, 'event_action', name));
}

export async function effectiveEventRule(tx: ReadTx, name: string): Promise<EventRuleRecord | undefined> {
  const stored = await tx.get('event_rules', name);
  return stored && layer(stored, await getOverride(tx, 'event_rule', name));
}

export function effectiveOf(tx: ReadTx, kind: Kind, name: string): Promise<StoredRecord | undefined> {
  const fn = {
    user: effectiveUser, folder: effectiveFolder, group: effectiveGroup, admin: effectiveAdmin, role: effectiveRole,
    event_action: effectiveEventAction, event_rule: effectiveEventRule,
  }[kind];
  return fn(tx, name) as Promise<StoredRecord | undefined>;
}

// ---- writing ----------------------------------------------------------------------------------

/** A password as stored: the hash, and the keyed digest of the clear value it was made from. */
export interface StoredPassword {
  password: string;
  password_digest?: string;
}

/**
 * Fields prepared from an API body or an import, split into the definition and the password they
 * carry (null: none), as put() takes them.
 */
export function splitPassword(fields: Record<string, unknown>): { spec: Record<string, unknown>; password: StoredPassword | null } {
  const { password, password_digest, ...spec } = fields;
  if (typeof password !== 'string') return { spec, password: null };
  return { spec, password: { password, ...(typeof password_digest === 'string' ? { password_digest } : {}) } };
}

export interface PutOptions {
  source: Source;
  /** The password to store; absent keeps the record's current one, null removes it. */
  password?: StoredPassword | null;
  /** Replaces the usage row (imports carry usage); otherwise a missing row starts empty. */
  usage?: QuotaUsage;
  /** The record as the caller read it in this transaction (null: none), to spare a second read. */
  current?: StoredRecord | null;
  /** A user's last_password_change as an import carries it; otherwise put() keeps or stamps it. */
  passwordChangedAt?: number;
}

/** What an edit did: changed a runtime record in place, or set/dropped a config record's override. */
export type EditOutcome = 'updated' | 'override_set' | 'override_dropped';

export interface EditOptions {
  /** Top-level fields to set (a null value clears the field). */
  fields: Record<string, unknown>;
  /** Top-level fields to remove. */
  cleared: string[];
  /** Who asked (kept on an override). */
  by: string;
  /** updated_at the caller read; the edit is refused when the record moved since. */
  expectUpdatedAt?: number;
  /** A role admin's role: a user not of it (checked in this transaction) is not found. */
  onlyRole?: string;
}

/**
 * A user's last_password_change after a write storing `hash`: now for a new or different hash,
 * otherwise the current one. A record written before the field existed counts from its last update,
 * the latest its password can have been set.
 */
export function passwordChangedAt(current: StoredRecord | undefined, hash: string, now: number): number {
  if (current?.password !== hash) return now;
  const kept = current.last_password_change;
  return typeof kept === 'number' ? kept : (current.updated_at ?? now);
}

/** Users and folders have quota usage rows; groups and admins do not. */
function hasUsage(kind: Kind): boolean {
  return kind === 'user' || kind === 'folder';
}

function withoutNulls(r: Record<string, unknown>): Record<string, unknown> {
  for (const [key, v] of Object.entries(r)) if (v === null) delete r[key];
  return r;
}

/** The record writes of one store transaction; every write of a user, folder or admin is one of these. */
export class RecordsTx {
  constructor(
    private readonly tx: WriteTx,
    private readonly now: number,
  ) {}

  /** The config revision applied last (reconcile reads and writes it under the write lock). */
  async configRevision(): Promise<ConfigRevisionRecord | undefined> {
    return configRevisionOf(this.tx);
  }

  async recordConfigRevision(record: ConfigRevisionRecord): Promise<void> {
    await this.tx.put('meta', META.configRevision, record);
  }

  get(kind: Kind, name: string): Promise<StoredRecord | undefined> {
    return this.tx.get(COLLECTION_OF[kind], name) as Promise<StoredRecord | undefined>;
  }

  ipListEntry(key: string): Promise<IpListRecord | undefined> {
    return this.tx.get('ip_lists', key);
  }

  /** Writes an IP list entry, keeping its creation time; returns what was stored. */
  async putIpListEntry(spec: Omit<IpListRecord, 'created_at' | 'updated_at'>, current: IpListRecord | undefined): Promise<IpListRecord> {
    const rec: IpListRecord = { ...spec, created_at: current?.created_at ?? this.now, updated_at: this.now };
    await this.tx.put('ip_lists', ipListKey(spec.type, spec.ipornet), rec);
    return rec;
  }

  share(id: string): Promise<ShareRecord | undefined> {
    return this.tx.get('shares', id);
  }

  /** Restores a share as a backup has it (times, uses and password hash kept). */
  async putShare(share: ShareRecord): Promise<void> {
    await this.tx.put('shares', share.id, share);
  }

  async deleteIpListEntry(key: string): Promise<boolean> {
    if (!(await this.tx.get('ip_lists', key))) return false;
    await this.tx.remove('ip_lists', key);
    return true;
  }

  /**
   * Writes `spec` as the whole definition of the record, keeping its id and creation time, and
   * gives a user or folder its usage row.
   */
  async put(kind: Kind, name: string, spec: Record<string, unknown>, opts: PutOptions): Promise<StoredRecord> {
    const current = opts.current === undefined ? await this.get(kind, name) : (opts.current ?? undefined);
    const { password: _p, password_digest: _d, ...definition } = spec;
    const pw =
      opts.password === null ? undefined : (opts.password ?? (current?.password !== undefined ? { password: current.password, password_digest: current.password_digest } : undefined));
    const { last_password_change: _l, ...declared } = definition;
    const changedAt = kind === 'user' && pw ? (opts.passwordChangedAt ?? passwordChangedAt(current, pw.password, this.now)) : undefined;
    const record: StoredRecord = {
      ...declared,
      ...(pw ? { password: pw.password } : {}),
      ...(pw?.password_digest !== undefined ? { password_digest: pw.password_digest } : {}),
      ...(changedAt !== undefined ? { last_password_change: changedAt } : {}),
      id: current?.id ?? (await nextId(this.tx, kind)),
      created_at: current?.created_at ?? this.now,
      updated_at: this.now,
      source: opts.source,
    };
    await this.tx.put(COLLECTION_OF[kind], name, record as never);
    if (hasUsage(kind)) {
      const key = `${kind}:${name}`;
      if (opts.usage) await this.tx.put('usage', key, opts.usage);
      else if (!(await this.tx.get('usage', key))) await this.tx.put('usage', key, emptyUsage());
    }
    return record;
  }

  /** Records a user's first upload or download (an import carries SFTPGo's), so first-* actions do not fire again. */
  async markFirstTransfer(direction: 'upload' | 'download', userId: number, at: number): Promise<void> {
    await this.tx.put('meta', META.firstTransfer(direction, userId), at);
  }

  /** Sets a user's or an admin's last login (an import carries SFTPGo's). */
  async markLastLogin(kind: 'user' | 'admin', name: string, at: number): Promise<void> {
    await this.tx.put('meta', kind === 'user' ? META.userLastLogin(name) : META.adminLastLogin(name), at);
  }

  /**
   * A role admin acts only on users of its role. Checked inside the write transaction, so a role
   * changed between the request's scope check and its write cannot let the write through; such a
   * user is answered as if it did not exist, like the scope check does.
   */
  async requireRole(kind: Kind, name: string, role: string | undefined): Promise<void> {
    if (role === undefined || kind !== 'user') return;
    const stored = await this.get(kind, name);
    const effective = stored && layer(stored, await getOverride(this.tx, kind, name));
    if (effective?.role !== role) throw new AppError('not_found', `user "${name}" not found`);
  }

  /** Removes the record with its usage row and override; false when there was none. */
  async delete(kind: Kind, name: string): Promise<boolean> {
    if (!(await this.get(kind, name))) return false;
    if (kind === 'role') await this.#releaseRole(name);
    if (kind === 'event_action') await this.#requireUnusedAction(name);
    await this.tx.remove(COLLECTION_OF[kind], name);
    if (hasUsage(kind)) await this.tx.remove('usage', `${kind}:${name}`);
    else if (kind === 'admin') await this.#dropAdminState(name);
    // A later user of the same name inherits neither the login time, the API keys nor the share links.
    if (kind === 'user') await this.#dropUserState(name);
    await this.tx.remove('overrides', overrideKey(kind, name));
    return true;
  }

  /** A user's API keys, shares (as SFTPGo's foreign keys), last login and recovery codes go with it, so a later user of the same name inherits none. */
  async #dropUserState(user: string): Promise<void> {
    const ids: string[] = [];
    for await (const [id, k] of this.tx.entries('api_keys')) if (k.user === user) ids.push(id);
    for (const id of ids) await this.tx.remove('api_keys', id);
    const shares: string[] = [];
    for await (const [id, s] of this.tx.entries('shares')) if (s.username === user) shares.push(id);
    for (const id of shares) await this.tx.remove('shares', id);
    await this.tx.remove('meta', META.userLastLogin(user));
    await this.tx.remove('meta', META.recoveryCodes('user', user));
  }

  /**
   * An admin's API keys, last login and recovery codes go with it (as SFTPGo's foreign key takes
   * the keys), so a later admin of the same name inherits none of them.
   */
  async #dropAdminState(admin: string): Promise<void> {
    const ids: string[] = [];
    for await (const [id, k] of this.tx.entries('api_keys')) if (k.admin === admin) ids.push(id);
    for (const id of ids) await this.tx.remove('api_keys', id);
    await this.tx.remove('meta', META.adminLastLogin(admin));
    await this.tx.remove('meta', META.recoveryCodes('admin', admin));
  }

  /** As SFTPGo: an event action a rule still runs cannot be removed. */
  async #requireUnusedAction(action: string): Promise<void> {
    const users: string[] = [];
    for await (const [name, r] of this.tx.entries('event_rules')) {
      const rule = layer(r, await getOverride(this.tx, 'event_rule', name));
      if (rule.actions.some((a) => a.name === action)) users.push(name);
    }
    if (users.length) throw new AppError('invalid', `event action "${action}" is referenced by the event rules ${users.map((u) => `"${u}"`).join(', ')}: it cannot be removed`);
  }

  /**
   * As SFTPGo: a role an admin still has cannot be removed (the admin would become global), while
   * its users simply lose it (an override that gave it is dropped back to the config's role).
   */
  async #releaseRole(role: string): Promise<void> {
    const overrides = new Map<string, Override>();
    for await (const [key, o] of this.tx.entries('overrides')) if (o.kind !== 'folder' && o.kind !== 'role') overrides.set(key, o);
    for await (const [name, a] of this.tx.entries('admins'))
      if (layer(a, overrides.get(overrideKey('admin', name))).role === role)
        throw new AppError('invalid', `role "${role}" is referenced by admin "${name}": it cannot be removed`);
    const users: string[] = [];
    for await (const [name, u] of this.tx.entries('users')) if (u.role === role || overrides.get(overrideKey('user', name))?.fields.role === role) users.push(name);
    for (const name of users) {
      const u = (await this.tx.get('users', name))!;
      const o = overrides.get(overrideKey('user', name));
      if (o?.fields.role === role) {
        const { role: _r, ...fields } = o.fields;
        await this.setOverride('user', name, Object.keys(fields).length > 0 ? fields : undefined, o.updated_by);
      }
      if (u.role === role) {
        const { role: _r, ...rest } = u;
        await this.tx.put('users', name, { ...rest, updated_at: this.now });
      }
    }
  }

  /**
   * An API edit: a runtime record changes in place; a record the config declares is never edited,
   * the change becomes (or drops) its override.
   */
  async edit(kind: Kind, name: string, opts: EditOptions): Promise<EditOutcome> {
    const base = await this.get(kind, name);
    if (!base && opts.expectUpdatedAt === undefined) throw new AppError('not_found', `${kind} "${name}" not found`);
    if (!base || (opts.expectUpdatedAt !== undefined && base.updated_at !== opts.expectUpdatedAt))
      throw new AppError('store', `${kind} "${name}" changed during the update; retry`);
    await this.requireRole(kind, name, opts.onlyRole);
    const fields = { ...opts.fields };
    const cleared = [...opts.cleared];
    if (kind === 'user' && typeof fields.password === 'string') {
      const current = layer(base, await getOverride(this.tx, kind, name));
      fields.last_password_change = passwordChangedAt(current, fields.password, this.now);
    }
    if (kind === 'user' && cleared.includes('password')) cleared.push('last_password_change');
    if (base.source !== 'config') {
      const next: StoredRecord = { ...base, ...fields, updated_at: this.now };
      for (const c of cleared) delete next[c];
      await this.tx.put(COLLECTION_OF[kind], name, withoutNulls(next) as never);
      return 'updated';
    }
    const wanted: Record<string, unknown> = { ...layer(base, await getOverride(this.tx, kind, name)), ...fields };
    for (const c of cleared) delete wanted[c];
    withoutNulls(wanted);
    const diff = diffOverride(base, wanted, Object.keys(base));
    await this.setOverride(kind, name, diff, opts.by);
    return diff ? 'override_set' : 'override_dropped';
  }

  /** Writes (or, when `fields` is undefined, drops) the override of one resource. */
  async setOverride(kind: Kind, name: string, fields: Record<string, unknown> | undefined, by: string): Promise<void> {
    const key = overrideKey(kind, name);
    if (!fields) await this.tx.remove('overrides', key);
    else await this.tx.put('overrides', key, { kind, name, fields, updated_at: this.now, updated_by: by });
  }

  /** Drops an override; false when there was none. */
  async dropOverride(kind: Kind, name: string): Promise<boolean> {
    const key = overrideKey(kind, name);
    if (!(await this.tx.get('overrides', key))) return false;
    await this.tx.remove('overrides', key);
    return true;
  }
}

export interface RecordsOptions {
  store: Store;
  /** The data directory's key: literal secrets in records are sealed with it. */
  secrets: SecretBox;
  /** How new passwords are hashed (data_provider.password_hashing). */
  hashing: HashPasswordOptions;
  /** Epoch milliseconds; record times come from here. */
  now?: () => number;
}

export class Records {
  readonly store: Store;
  readonly secrets: SecretBox;
  readonly hashing: HashPasswordOptions;
  readonly #now: () => number;

  constructor(opts: RecordsOptions) {
    this.store = opts.store;
    this.secrets = opts.secrets;
    this.hashing = opts.hashing;
    this.#now = opts.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  /** Runs `fn` in one store transaction; all of its record writes commit together or none do. */
  write<T>(fn: (tx: RecordsTx) => Promise<T> | T): Promise<T> {
    const now = this.#now();
    return this.store.write((tx) => fn(new RecordsTx(tx, now)));
  }

  effectiveUser(username: string): Promise<UserRecord | undefined> {
    return effectiveUser(this.store, username);
  }

  effectiveFolder(name: string): Promise<FolderRecord | undefined> {
    return effectiveFolder(this.store, name);
  }

  effectiveAdmin(username: string): Promise<AdminRecord | undefined> {
    return effectiveAdmin(this.store, username);
  }

  /** The store's key for password digests (meta secret_key, made by the first migration). */
  async digestKey(): Promise<Buffer> {
    const key = (await this.store.get('meta', META.secretKey)) as string | undefined;
    if (!key) throw new AppError('store', 'the store is not initialised (no secret key): run sftpgo initprovider');
    return Buffer.from(key, 'base64');
  }

  /**
   * The stored form of a clear password. bcrypt and argon2 are slow by design, so when `current`
   * already holds a hash of the same password (same keyed digest) it is kept.
   */
  async storedPassword(clear: string, current?: { password?: string; password_digest?: string }, digestKey?: Buffer): Promise<StoredPassword> {
    const digest = passwordDigest(clear, digestKey ?? (await this.digestKey()));
    if (current?.password !== undefined && current.password_digest === digest) return { password: current.password, password_digest: digest };
    return { password: await hashPassword(clear, this.hashing), password_digest: digest };
  }
}
