// Users, folders, groups and admins through the API: normalise a validated body the way reconcile normalises
// the YAML, hash passwords and API keys before the write, and write through the records layer in
// one transaction. A resource the YAML declares (`source: 'config'`) is never edited in place: the
// change becomes its override (store/records.ts). A resource created here is `source: 'runtime'`
// and edited directly.
import { resolve } from 'node:path';
import { isPasswordHash } from '../auth/passwords.ts';
import type { Admin, Folder, Group, User } from '../config/schema-types.ts';
import { definition, forEachSecret } from '../config/secrets.ts';
import { AppError } from '../errors.ts';
import type { AdminRecord, Kind, RecordMeta } from '../model.ts';
import { sortKeys } from '../store/canonical.ts';
import { adminFilters, desiredUser, normaliseFolder, normaliseGroup, passwordIntent, specOf } from '../store/specs.ts';
import { resolveGroup } from '../store/groups.ts';
import { groupMappingProblems } from '../config/semantic.ts';
import { isSealed, type SecretBox } from '../config/sealed.ts';
import { apiView, keepSecrets, overrideView, REDACTED_SECRET } from './shapes.ts';
import { effectiveGroup, effectiveOf as effectiveRecord, getOverride, layer, splitPassword, type EditOutcome } from '../store/records.ts';
import { META, type CollectionName, type Override, type ReadTx } from '../store/store.ts';
import type { ServerContext } from '../core/context.ts';

/** What the record routes read and write through: the store, its usage book and the records layer. */
export type Runtime = Pick<ServerContext, 'config' | 'dataDir' | 'store' | 'usage' | 'records'>;
/** What preparing a record from a request body reads: the config (hashing, paths) and the records layer. */
export type Preparing = Pick<Runtime, 'config' | 'dataDir' | 'records'>;
import { hashApiKey } from './auth.ts';
import type { Definition } from '../config/validate.ts';

/** Shown instead of an admin's API keys and an override's password; sending it back in a PUT keeps the stored value. */
export const REDACTED = '[**redacted**]';

export interface KindInfo {
  kind: Exclude<Kind, 'role' | 'event_action' | 'event_rule'>;
  collection: Extract<CollectionName, 'users' | 'folders' | 'groups' | 'admins'>;
  definition: Definition;
  nameField: 'username' | 'name';
}

export const KINDS: Record<'users' | 'folders' | 'groups' | 'admins', KindInfo> = {
  users: { kind: 'user', collection: 'users', definition: 'User', nameField: 'username' },
  folders: { kind: 'folder', collection: 'folders', definition: 'Folder', nameField: 'name' },
  groups: { kind: 'group', collection: 'groups', definition: 'Group', nameField: 'name' },
  admins: { kind: 'admin', collection: 'admins', definition: 'Admin', nameField: 'username' },
};

/** Read-only fields SFTPGo clients send back from an admin GET; dropped before validation (users and folders: shapes.ts). */
export const READ_ONLY_FIELDS = [
  'id', 'created_at', 'updated_at', 'last_login', 'source', 'overrides', 'used_quota_size', 'used_quota_files',
  'last_quota_update', 'used_upload_data_transfer', 'used_download_data_transfer', 'first_upload', 'first_download',
  'last_password_change', 'users', 'password_digest', 'external_auth_cached_until',
];

export function stripReadOnly(body: Record<string, unknown>): Record<string, unknown> {
  const out = { ...body };
  for (const f of READ_ONLY_FIELDS) delete out[f];
  return out;
}

type Rec = Record<string, unknown> & Partial<RecordMeta>;

// ---- reading ----------------------------------------------------------------------------------

export function effectiveOf(store: ReadTx, k: KindInfo, name: string): Promise<Rec | undefined> {
  return effectiveRecord(store, k.kind, name);
}

/**
 * The JSON a GET returns: the effective record without password hashes, with its ownership and
 * override, and live usage from the server's usage book.
 */
export async function render(
  { store, usage: book }: Pick<Runtime, 'store' | 'usage'>,
  k: KindInfo,
  name: string,
  known: Partial<Relations> = {},
): Promise<Record<string, unknown> | undefined> {
  let rec = await effectiveOf(store, k, name);
  if (!rec) return undefined;
  // As SFTPGo, a group's mounts embed their folders' definitions, and it lists its users.
  const group = k.kind === 'group' ? await effectiveGroup(store, name) : undefined;
  if (group) {
    const users = (known.groupUsers ?? (await relations(store)).groupUsers).get(name);
    rec = { ...rec, virtual_folders: (await resolveGroup(store, group)).virtual_folders, ...(users?.length ? { users } : {}) };
  }
  const { password, password_digest, ...rest } = rec;
  void password_digest;
  const shown = k.kind === 'admin' ? redactAdminTotp(rest) : apiView(k.kind, rest);
  const out: Record<string, unknown> = k.kind === 'user' || k.kind === 'admin' ? { ...shown, has_password: password !== undefined } : shown;
  if (k.kind === 'admin') out.api_keys = redactKeys((rest as unknown as AdminRecord).api_keys);
  if (k.kind === 'user' || k.kind === 'folder') {
    const usage = book.get(`${k.kind}:${name}`);
    const stored = await store.get('usage', `${k.kind}:${name}`);
    Object.assign(out, { used_quota_size: usage.size, used_quota_files: usage.files, last_quota_update: stored?.last_quota_update ?? 0 });
    if (k.kind === 'folder') {
      const rel = known.folderUsers && known.folderGroups ? (known as Relations) : await relations(store);
      const users = rel.folderUsers.get(name);
      if (users?.length) out.users = users;
      const groups = rel.folderGroups.get(name);
      if (groups?.length) out.groups = groups;
    }
    if (k.kind === 'user') {
      const moved = book.transferred(`user:${name}`);
      Object.assign(out, { used_upload_data_transfer: moved.upload, used_download_data_transfer: moved.download });
      out.last_login = ((await store.get('meta', META.userLastLogin(name))) as number | undefined) ?? 0;
    }
  }
  const o = await getOverride(store, k.kind, name);
  if (o) {
    const fields = { ...o.fields };
    if ('password' in fields) fields.password = REDACTED;
    delete fields.password_digest;
    if (Array.isArray(fields.api_keys)) fields.api_keys = redactKeys(fields.api_keys as AdminRecord['api_keys']);
    out.overrides = { fields: k.kind === 'admin' ? redactAdminTotp(fields) : overrideView(k.kind, fields), updated_at: o.updated_at, updated_by: o.updated_by };
  }
  return out;
}

/** An admin's TOTP secret as every other stored secret reads on the API: SFTPGo's redacted secret. */
function redactAdminTotp(rec: Record<string, unknown>): Record<string, unknown> {
  const filters = rec.filters as AdminRecord['filters'];
  const totp = filters?.totp_config;
  if (totp?.secret === undefined) return rec;
  return { ...rec, filters: { ...filters, totp_config: { ...totp, secret: { ...REDACTED_SECRET } } } };
}

function redactKeys(keys: AdminRecord['api_keys']): unknown {
  return keys?.map((k) => ({ ...k, key: typeof k.key === 'string' && !isPasswordHash(k.key) ? REDACTED : k.key }));
}

/** Who refers to what, as SFTPGo's folder `users` and `groups` and group `users` list it. */
interface Relations {
  /** Folder name → users mounting it directly. */
  folderUsers: Map<string, string[]>;
  /** Folder name → groups mounting it. */
  folderGroups: Map<string, string[]>;
  /** Group name → users mapped to it (any type). */
  groupUsers: Map<string, string[]>;
}

/** One pass over the effective users and groups. */
async function relations(store: ReadTx): Promise<Relations> {
  const overrides = new Map<string, Override>();
  for await (const [key, o] of store.entries('overrides')) overrides.set(key, o);
  const push = (m: Map<string, string[]>, key: string, v: string): void => {
    const list = m.get(key) ?? [];
    list.push(v);
    m.set(key, list);
  };
  const out: Relations = { folderUsers: new Map(), folderGroups: new Map(), groupUsers: new Map() };
  for await (const [name, u] of store.entries('users')) {
    const user = layer(u, overrides.get(`user:${name}`));
    for (const vf of user.virtual_folders ?? []) push(out.folderUsers, vf.name, name);
    for (const g of user.groups ?? []) push(out.groupUsers, g.name, name);
  }
  for await (const [name, g] of store.entries('groups'))
    for (const vf of layer(g, overrides.get(`group:${name}`)).virtual_folders ?? []) push(out.folderGroups, vf.name, name);
  return out;
}

export interface ListOptions {
  offset: number;
  limit: number;
  /** Only records this says yes to are listed (and counted by offset): a role admin's users. */
  admits?(name: string): Promise<boolean>;
}

export async function list(runtime: Pick<Runtime, 'store' | 'usage'>, k: KindInfo, opts: ListOptions): Promise<Record<string, unknown>[]> {
  const { store } = runtime;
  const { offset, limit, admits } = opts;
  const out: Record<string, unknown>[] = [];
  const known = k.kind === 'folder' || k.kind === 'group' ? await relations(store) : {};
  // Names first: admits() reads the store, and a store iterator must not stay open across awaits.
  const names: string[] = [];
  for await (const [name] of store.entries(k.collection)) names.push(name);
  let i = 0;
  for (const name of names) {
    if (admits && !(await admits(name))) continue;
    if (i++ < offset) continue;
    if (out.length >= limit) break;
    const r = await render(runtime, k, name, known);
    if (r) out.push(r);
  }
  return out;
}

// ---- writing ----------------------------------------------------------------------------------

interface Prepared {
  /** The normalised fields the body sets (top level), secrets in stored form. */
  fields: Record<string, unknown>;
  /** Top-level fields to remove (an empty password). */
  cleared: string[];
}

function refuseSecretRefs(k: KindInfo, body: Record<string, unknown>, current: Rec | undefined, box: SecretBox): void {
  const pw = body.password;
  if (pw && typeof pw === 'object' && !('status' in pw))
    throw new AppError('invalid', 'password: env, file and generate references are for the config file; send the password itself');
  // An env or file reference would have the server read its own environment or files into a
  // backend credential the caller chooses. Only the reference already stored at the same place
  // (a record read and sent back) is accepted.
  if (k.kind === 'admin') return;
  forEachSecret(body, (secret, path) => {
    if (typeof secret !== 'object') return;
    const sealed = isSealed(secret);
    if (!sealed && !('env' in secret || 'file' in secret)) return;
    const stored = path.reduce<unknown>((v, key) => (v as Record<string | number, unknown> | undefined)?.[key], current);
    if (JSON.stringify(stored) === JSON.stringify(secret)) return;
    if (sealed) {
      // Our at-rest form (from a dump) is accepted when it opens with this server's key.
      try {
        box.unseal(secret.sealed);
        return;
      } catch {
        throw new AppError('invalid', `${path.join('.')}: this sealed value does not open with this server's secrets.key; send the secret with status "Plain"`);
      }
    }
    throw new AppError('invalid', `${path.join('.')}: env and file references are for the config file; send the value itself`);
  }, definition(k.definition));
}

/**
 * Normalises a validated body. A user or folder body is the whole record, as in SFTPGo: fields it
 * leaves out get their defaults (except the password and secrets, kept by keepSecrets). An admin
 * update only touches what the body names (defaults filled in by normalisation are not "changes").
 */
async function prepare(runtime: Preparing, k: KindInfo, input: Record<string, unknown>, current: Rec | undefined, replaceAdmin = false): Promise<Prepared> {
  const body = k.kind !== 'admin' ? keepSecrets(k.kind, input, current) : input;
  refuseSecretRefs(k, body, current, runtime.records.secrets);
  // A redacted TOTP secret keeps the stored one; with none stored there is nothing to keep.
  const filters = k.kind === 'user' ? body.filters : undefined;
  const totp = filters && typeof filters === 'object' ? (filters as NonNullable<User['filters']>).totp_config : undefined;
  if (totp?.enabled && totp.secret === undefined) throw new AppError('invalid', 'filters.totp_config.secret: required when enabled (a redacted secret keeps the stored one, and there is none)');
  // Users and folders are always replaced by a PUT; an admin when the route asks for it.
  const replace = k.kind !== 'admin' || replaceAdmin;
  const present = new Set(Object.keys(body));
  const usersBase = runtime.config.data_provider?.users_base_dir ?? resolve(runtime.dataDir, 'users');
  const ctx = { baseDir: runtime.dataDir, secrets: runtime.records.secrets };
  let spec: Record<string, unknown>;
  if (k.kind === 'user') spec = desiredUser(body as unknown as User, usersBase, ctx).spec as unknown as Record<string, unknown>;
  else if (k.kind === 'folder') spec = normaliseFolder(body as unknown as Folder, ctx) as unknown as Record<string, unknown>;
  else if (k.kind === 'group') spec = normaliseGroup(body as unknown as Group, ctx) as unknown as Record<string, unknown>;
  else {
    const { password: _p, ...rest } = body as unknown as Admin;
    void _p;
    // As SFTPGo, an admin's TOTP configuration is kept unless the write sets one (the admin's own
    // /api/v2/admin/totp/save); a new one's secret is sealed.
    const kept = (current as unknown as AdminRecord | undefined)?.filters?.totp_config;
    if (kept && rest.filters?.totp_config === undefined && (rest.filters || replaceAdmin)) rest.filters = { ...rest.filters, totp_config: kept };
    if (rest.filters) rest.filters = adminFilters(rest.filters, ctx);
    spec = sortKeys({ ...rest, status: rest.status ?? 1, permissions: rest.permissions ?? [] }) as Record<string, unknown>;
    if (spec.api_keys) spec.api_keys = hashKeys(spec.api_keys as NonNullable<Admin['api_keys']>, (current as unknown as AdminRecord | undefined)?.api_keys);
  }
  // On create every normalised default is part of the record; on update only what the body names.
  const fields: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(spec)) if (!current || replace || present.has(key)) fields[key] = v;
  delete fields.password;
  const cleared: string[] = [];
  if (current && replace) {
    if (k.kind === 'admin') {
      // A replacing PUT clears every definition field the body leaves out; the password is kept unless sent.
      for (const f of Object.keys(current)) if (!(f in fields) && !KEPT_ON_REPLACE.has(f)) cleared.push(f);
    } else {
      for (const key of Object.keys(specOf(current))) if (!(key in fields) && key !== k.nameField) cleared.push(key);
    }
  }
  if ((k.kind === 'user' || k.kind === 'admin') && body.password !== undefined) {
    const intent = passwordIntent(body.password as never, ctx);
    if (intent.kind === 'none') cleared.push('password', 'password_digest');
    else if (intent.kind === 'hash') Object.assign(fields, { password: intent.hash, password_digest: null });
    else if (intent.kind === 'clear') Object.assign(fields, await runtime.records.storedPassword(intent.clear));
  }
  return { fields, cleared };
}

/** A user's group mappings name stored groups, none twice, at most one primary (SFTPGo's rules). */
async function checkGroupMappings(runtime: Preparing, mappings: User['groups']): Promise<void> {
  if (!mappings?.length) return;
  const known = new Set<string>();
  for (const m of mappings) if (await runtime.records.store.get('groups', m.name)) known.add(m.name);
  const details = groupMappingProblems(mappings, known).map((p) => ({ path: `groups[${String(p.path[0])}].${String(p.path[1])}`, message: p.message }));
  if (details.length > 0) throw Object.assign(new AppError('invalid', details.map((d) => `${d.path}: ${d.message}`).join('; ')), { details });
}

/** Fields a replacing PUT keeps: record metadata and the password (sent empty or left out: unchanged). */
const KEPT_ON_REPLACE: ReadonlySet<string> = new Set(['id', 'created_at', 'updated_at', 'source', 'password', 'password_digest', 'username', 'name']);

/** A user's or an admin's role must exist, and a role admin is never a super admin (as SFTPGo). */
async function checkRole(runtime: Pick<Runtime, 'store'>, k: KindInfo, body: Record<string, unknown>): Promise<void> {
  const role = body.role;
  if (k.kind === 'folder' || typeof role !== 'string' || role === '') return;
  if (!(await runtime.store.get('roles', role))) throw new AppError('invalid', `role: role "${role}" does not exist`);
  if (k.kind === 'admin' && Array.isArray(body.permissions) && body.permissions.includes('*')) throw new AppError('invalid', 'permissions: a role admin cannot be a super admin (*)');
}

function hashKeys(keys: NonNullable<Admin['api_keys']>, current: AdminRecord['api_keys']): NonNullable<Admin['api_keys']> {
  return keys.map((k) => {
    if (k.key === REDACTED) {
      const kept = current?.find((c) => c.name === k.name);
      if (!kept) throw new AppError('invalid', `api_keys: no stored key named "${k.name}" to keep`);
      return { ...k, key: kept.key };
    }
    if (typeof k.key === 'string') return { ...k, key: isPasswordHash(k.key) ? k.key : hashApiKey(k.key) };
    if ('status' in k.key) return { ...k, key: hashApiKey(k.key.payload) };
    return k;
  });
}

/** The stored fields of a new record from a (validated) body: what create and imports write. */
export async function prepareNew(runtime: Preparing, k: KindInfo, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return stripNulls((await prepare(runtime, k, body, undefined)).fields);
}

function stripNulls(r: Record<string, unknown>): Record<string, unknown> {
  for (const [key, v] of Object.entries(r)) if (v === null) delete r[key];
  return r;
}

export async function create(runtime: Runtime, k: KindInfo, body: Record<string, unknown>): Promise<void> {
  const name = String(body[k.nameField]);
  if (await runtime.store.get(k.collection, name)) throw new AppError('exists', `${k.kind} "${name}" already exists`);
  await checkRole(runtime, k, body);
  if (k.kind === 'user') await checkGroupMappings(runtime, (body as unknown as User).groups);
  const { fields } = await prepare(runtime, k, body, undefined);
  const { spec, password } = splitPassword(stripNulls(fields));
  await runtime.records.write(async (tx) => {
    if (await tx.get(k.kind, name)) throw new AppError('exists', `${k.kind} "${name}" already exists`);
    await tx.put(k.kind, name, spec, { source: 'runtime', password });
  });
}

/** What an update did: edited a runtime record in place, or set/dropped a config record's override. */
export type UpdateOutcome = EditOutcome;

export interface UpdateOptions {
  /** Who asked (kept on an override). */
  by: string;
  /** The body is the whole definition (SFTPGo's PUT): fields it leaves out are cleared. */
  replace?: boolean;
  /** A role admin's role: the user must still be of it when the write commits. */
  onlyRole?: string;
}

export async function update(runtime: Runtime, k: KindInfo, name: string, body: Record<string, unknown>, opts: UpdateOptions | string): Promise<UpdateOutcome> {
  const { by, replace = false, onlyRole } = typeof opts === 'string' ? { by: opts } : opts;
  const current = (await runtime.store.get(k.collection, name)) as Rec | undefined;
  if (!current) throw new AppError('not_found', `${k.kind} "${name}" not found`);
  if (body[k.nameField] !== undefined && body[k.nameField] !== name) throw new AppError('invalid', `${k.nameField}: cannot rename (${name} in the path)`);
  if (k.kind === 'user') await checkGroupMappings(runtime, (body as unknown as User).groups);
  const effective = layer(current, await getOverride(runtime.store, k.kind, name));
  await checkRole(runtime, k, k.kind === 'admin' && !replace ? { ...effective, ...body } : body);
  const { fields, cleared } = await prepare(runtime, k, body, effective, replace);
  if (k.kind === 'user') clearPasswordChangeRequest(fields, body, effective);
  return runtime.records.write((tx) => tx.edit(k.kind, name, { fields, cleared, by, expectUpdatedAt: current.updated_at!, onlyRole }));
}

/**
 * A new password set through the API satisfies filters.require_password_change, as a change through
 * SFTPGo's client does, unless the same body asks for the change again (an admin resetting a
 * password to a temporary one).
 */
function clearPasswordChangeRequest(fields: Record<string, unknown>, body: Record<string, unknown>, current: Rec): void {
  if (typeof fields.password !== 'string') return;
  if ((body.filters as User['filters'] | undefined)?.require_password_change === true) return;
  const filters = (fields.filters ?? (current as unknown as User).filters) as User['filters'] | undefined;
  if (!filters?.require_password_change) return;
  const { require_password_change: _r, ...rest } = filters;
  fields.filters = rest;
}

/** `onlyRole`: a role admin's role, which the user must still have when the delete commits. */
export async function remove(runtime: Runtime, k: KindInfo, name: string, onlyRole?: string): Promise<void> {
  await runtime.records.write(async (tx) => {
    const rec = await tx.get(k.kind, name);
    if (!rec) throw new AppError('not_found', `${k.kind} "${name}" not found`);
    await tx.requireRole(k.kind, name, onlyRole);
    if (rec.source === 'config')
      throw new AppError('exists', `${k.kind} "${name}" is declared in the config file: remove it there (an API change to it is an override)`);
    // As SFTPGo: a group users still map cannot be removed.
    if (k.kind === 'group') {
      const users = (await relations(runtime.store)).groupUsers.get(name);
      if (users?.length) throw new AppError('invalid', `the group "${name}" is referenced, it cannot be removed (users: ${users.join(', ')})`);
    }
    await tx.delete(k.kind, name);
  });
}

export async function removeOverride(runtime: Runtime, k: KindInfo, name: string, onlyRole?: string): Promise<void> {
  await runtime.records.write(async (tx) => {
    if (!(await tx.get(k.kind, name))) throw new AppError('not_found', `${k.kind} "${name}" not found`);
    await tx.requireRole(k.kind, name, onlyRole);
    if (!(await tx.dropOverride(k.kind, name))) throw new AppError('not_found', `${k.kind} "${name}" has no override`);
  });
}
