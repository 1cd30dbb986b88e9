// The plan: which roles, users, folders, groups, admins, IP list entries, event actions and rules to create, update or delete so the store matches the
// config. Computing it only reads; `plan` prints it, `serve` and reload apply it.
import { passwordDigest } from '../auth/passwords.ts';
import { META_FIELDS, type Kind } from '../model.ts';
import { COLLECTION_OF } from '../store/records.ts';
import { META, type ReadTx } from '../store/store.ts';
import { canonical, sameCanonical } from '../store/canonical.ts';
import type { DesiredState } from './desired.ts';
import type { IpListSpec } from '../core/ip-lists.ts';
import type { Desired, PasswordIntent } from '../store/specs.ts';
import { settingGroups } from '../store/groups.ts';
import type { GroupMapping } from '../config/schema-types.ts';
import { oneShot } from '../lib/jit.ts';
import { AppError } from '../errors.ts';

export type Action = 'create' | 'update' | 'delete';

export interface Change {
  action: Action;
  /** `iplist` changes are named by their store key (`<type>_<network>`). */
  kind: Kind | 'iplist';
  name: string;
  /** For updates: the top-level fields that differ (secret values are never shown). */
  fields: string[];
  /**
   * For updates: the stored values of the changed fields (`source` included when it changes), so
   * a report can show old and new values. Secrets in it are in their stored form, never clear.
   */
  before?: Record<string, unknown>;
  /** The desired spec (create/update). */
  spec?: Record<string, unknown>;
  /** An IP list entry's desired definition (create/update). */
  ipList?: IpListSpec;
  password?: PasswordIntent;
  /** True when apply must write a new password hash. */
  passwordChanged?: boolean;
  /** updated_at of the stored record the change was planned against (optimistic check at apply). */
  baseUpdatedAt?: number;
  /** For a group: the users whose settings come from it (primary or secondary members), sorted. */
  members?: string[];
}

export interface Plan {
  changes: Change[];
}

type Stored = Record<string, unknown> & { password?: string; password_digest?: string; source?: string; updated_at?: number };

export async function computePlan(desired: DesiredState, store: ReadTx | undefined): Promise<Plan> {
  const key = (await store?.get('meta', META.secretKey)) as string | undefined;
  const digestKey = key ? Buffer.from(key, 'base64') : undefined;
  const changes: Change[] = [];
  // Roles and folders first: users and admins reference them, and apply keeps this order. Roles
  // are deleted last, once no user or admin of the config has them any more.
  const roles: Change[] = [];
  await diffKind('role', desired.roles, store, digestKey, desired.prune, roles);
  changes.push(...roles.filter((c) => c.action !== 'delete'));
  await diffKind('folder', desired.folders, store, digestKey, desired.prune, changes);
  await diffKind('group', desired.groups, store, digestKey, desired.prune, changes);
  await diffKind('user', desired.users, store, digestKey, desired.prune, changes);
  await diffKind('admin', desired.admins, store, digestKey, desired.prune, changes);
  await refuseReferencedGroupDeletes(desired, store, changes);
  const groupChanges = changes.filter((c) => c.kind === 'group');
  if (groupChanges.length > 0) {
    const members = await groupMembers(desired, store, changes);
    for (const c of groupChanges) c.members = members.get(c.name) ?? [];
  }
  changes.push(...roles.filter((c) => c.action === 'delete'));
  await diffIpLists(desired, store, changes);
  // Event actions before the rules that run them; an action is deleted once no rule runs it.
  const eventActions: Change[] = [];
  await diffKind('event_action', desired.eventActions, store, digestKey, desired.prune, eventActions);
  changes.push(...eventActions.filter((c) => c.action !== 'delete'));
  await diffKind('event_rule', desired.eventRules, store, digestKey, desired.prune, changes);
  changes.push(...eventActions.filter((c) => c.action === 'delete'));
  return { changes };
}

/** IP list entries: the config owns those it declares (an API entry with the same key included). */
async function diffIpLists(desired: DesiredState, store: ReadTx | undefined, out: Change[]): Promise<void> {
  const seen = new Set<string>();
  const deletes: Change[] = [];
  if (store) {
    for await (const [key, stored] of store.entries('ip_lists')) {
      const spec = desired.ipLists.get(key);
      if (!spec) {
        if (stored.source === 'config' || desired.prune) deletes.push({ action: 'delete', kind: 'iplist', name: key, fields: [], baseUpdatedAt: stored.updated_at });
        continue;
      }
      seen.add(key);
      // `source` is bookkeeping, compared apart.
      const { source: _source, ...definition } = spec;
      void _source;
      const fields = changedSpecFields({ ...stored }, definition);
      if (stored.source !== 'config') fields.push('source');
      if (fields.length) out.push({ action: 'update', kind: 'iplist', name: key, fields, before: pick(stored, fields), ipList: spec, baseUpdatedAt: stored.updated_at });
    }
  }
  for (const [key, spec] of desired.ipLists) if (!seen.has(key)) out.push({ action: 'create', kind: 'iplist', name: key, fields: [], ipList: spec });
  out.push(...deletes);
}

/**
 * As SFTPGo refuses to remove a group users still map: a group the config drops while a user the
 * plan keeps (created through the API, or given the group by an override) still maps it, with any
 * type, fails the plan, so nothing is applied and the running state stays.
 */
async function refuseReferencedGroupDeletes(desired: DesiredState, store: ReadTx | undefined, changes: Change[]): Promise<void> {
  const removed = new Set(changes.filter((c) => c.kind === 'group' && c.action === 'delete').map((c) => c.name));
  if (removed.size === 0 || !store) return;
  const deletedUsers = new Set(changes.filter((c) => c.kind === 'user' && c.action === 'delete').map((c) => c.name));
  const holders = new Map<string, Set<string>>();
  const hold = (user: string, mappings: readonly GroupMapping[] | undefined): void => {
    for (const m of mappings ?? []) if (removed.has(m.name)) holders.set(m.name, (holders.get(m.name) ?? new Set()).add(user));
  };
  for await (const [name, u] of store.entries('users')) if (!desired.users.has(name) && !deletedUsers.has(name)) hold(name, u.groups);
  for await (const [, o] of store.entries('overrides'))
    if (o.kind === 'user' && !deletedUsers.has(o.name)) hold(o.name, o.fields.groups as GroupMapping[] | undefined);
  if (holders.size === 0) return;
  const lines = [...holders].map(([g, users]) => `the group "${g}" is referenced, it cannot be removed (users: ${[...users].sort().join(', ')})`);
  throw new AppError('invalid', `${lines.join('; ')}: remove it from those users through the API first, or keep the group in the config`);
}

/**
 * Who takes settings from each group once the plan is applied: the config's users and the stored
 * users the plan keeps, by their primary and secondary mappings.
 */
async function groupMembers(desired: DesiredState, store: ReadTx | undefined, changes: Change[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const add = (user: string, mappings: readonly GroupMapping[] | undefined): void => {
    for (const name of settingGroups(mappings)) out.set(name, [...(out.get(name) ?? []), user]);
  };
  for (const [name, d] of desired.users) add(name, d.spec.groups);
  const deleted = new Set(changes.filter((c) => c.kind === 'user' && c.action === 'delete').map((c) => c.name));
  if (store) for await (const [name, u] of store.entries('users')) if (!desired.users.has(name) && !deleted.has(name)) add(name, u.groups);
  for (const list of out.values()) list.sort();
  return out;
}

/**
 * One paged scan of the stored collection (not a read per wanted record: a network store would
 * pay a round trip each), then the changes in the config's order, deletes last in key order.
 */
async function diffKind(
  kind: Kind,
  wanted: Map<string, Desired<object>>,
  store: ReadTx | undefined,
  digestKey: Buffer | undefined,
  prune: boolean,
  out: Change[],
): Promise<void> {
  const updates = new Map<string, Change | undefined>();
  const deletes: Change[] = [];
  if (store) {
    for await (const [name, record] of store.entries(COLLECTION_OF[kind])) {
      const stored = record as unknown as Stored;
      const d = wanted.get(name);
      if (d) updates.set(name, updateOf(kind, name, d, stored, digestKey));
      else if (stored.source === 'config' || prune) deletes.push({ action: 'delete', kind, name, fields: [], baseUpdatedAt: stored.updated_at });
    }
  }
  for (const [name, d] of wanted) {
    if (!updates.has(name))
      out.push({ action: 'create', kind, name, fields: [], spec: d.spec as Record<string, unknown>, password: d.password, passwordChanged: d.password.kind !== 'none' });
    else {
      const change = updates.get(name);
      if (change) out.push(change);
    }
  }
  out.push(...deletes);
}

/** The update that brings `stored` to `d`, or undefined when they already match. */
function updateOf(kind: Kind, name: string, d: Desired<object>, stored: Stored, digestKey: Buffer | undefined): Change | undefined {
  const fields = changedSpecFields(stored, d.spec as Record<string, unknown>);
  const passwordChanged = !samePassword(d.password, stored, digestKey);
  if (passwordChanged) fields.push('password');
  if (stored.source !== 'config') fields.push('source');
  if (fields.length === 0) return undefined;
  return {
    action: 'update',
    kind,
    name,
    fields: fields.sort(),
    before: pick(stored, fields),
    spec: d.spec as Record<string, unknown>,
    password: d.password,
    passwordChanged,
    baseUpdatedAt: stored.updated_at,
  };
}

/** The stored values of `fields` (the password as stored is a hash: it is left out). */
function pick(stored: object, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f !== 'password' && Object.hasOwn(stored, f)) out[f] = (stored as Record<string, unknown>)[f];
  return out;
}

/** Fields not compared: bookkeeping and the password, which samePassword compares. */
const NOT_SPEC: ReadonlySet<string> = new Set([...META_FIELDS, 'password']);

/**
 * The top-level fields whose canonical JSON differs between the stored record's definition (without
 * NOT_SPEC) and the desired spec, sorted: changedFields(specOf(stored), spec) without the copy.
 */
function changedSpecFields(stored: Stored, spec: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(spec)) if (!sameCanonical(NOT_SPEC.has(k) ? undefined : stored[k], spec[k])) out.push(k);
  for (const k of Object.keys(stored)) if (!NOT_SPEC.has(k) && !Object.hasOwn(spec, k) && !sameCanonical(stored[k], undefined)) out.push(k);
  return out.sort();
}

function samePassword(intent: PasswordIntent, stored: Stored, digestKey: Buffer | undefined): boolean {
  switch (intent.kind) {
    case 'none':
      return stored.password === undefined;
    case 'hash':
      return stored.password === intent.hash;
    case 'generate':
      return stored.password !== undefined;
    case 'clear':
      return (
        stored.password !== undefined &&
        digestKey !== undefined &&
        stored.password_digest === passwordDigest(intent.clear, digestKey)
      );
  }
}

export function planSummary(plan: Plan): { create: number; update: number; delete: number } {
  const n = (a: Action) => plan.changes.filter((c) => c.action === a).length;
  return { create: n('create'), update: n('update'), delete: n('delete') };
}

export { canonical };

// Run over every stored record at start (see lib/jit.ts).
oneShot(diffKind, updateOf, changedSpecFields, samePassword);
