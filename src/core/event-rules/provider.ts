// Provider events (trigger 2) from the one place every change goes through: the store's commit
// notifications. Whoever writes (the YAML reconcile, the REST API, the web admin, a login hook, an
// import), each committed add, update or delete of a user, folder, group, admin, API key, share,
// role, event action or rule or IP list entry becomes one event; an override written through the
// API is an update of its record. Who made the change comes from the writer's ChangeOrigin (the
// API sets the admin and client address; anything else is SFTPGo's `__system__`). Secrets never
// reach an action: `{{.ObjectData}}` is the object with its secrets redacted and its password,
// digest, key and recovery codes removed, as SFTPGo renders it. Pure mapping here; the manager queues.
import { definition, mapSecrets } from '../../config/secrets.ts';
import type { EventRule } from '../../config/schema-types.ts';
import type { Kind } from '../../model.ts';
import { groupPatternsHold, patternsHold } from './match.ts';
import { ACTION_FOLDER_QUOTA_RESET, USER_ACTIONS } from './model.ts';
import type { CollectionName, Override, StoreChange } from '../../store/store.ts';

/** Who makes the store changes of the current async context (AsyncLocalStorage on the server context). */
export interface ChangeOrigin {
  /** The admin (or user) making the change; SFTPGo's `__system__` when none. */
  name: string;
  ip: string;
  /** The admin's role. */
  role: string;
}

/** SFTPGo's executor name for changes nobody in particular made (config reconcile, hooks). */
export const SYSTEM_ACTOR = '__system__';

export type ProviderEvent = 'add' | 'update' | 'delete';

export interface ProviderChange {
  event: ProviderEvent;
  /** SFTPGo's object type: user, folder, group, admin, api_key, share, role, event_action, event_rule, ip_list_entry. */
  objectType: string;
  objectName: string;
  /** The object after the change (before it, for a delete); an override's record is read by the manager. */
  object: Record<string, unknown> | undefined;
  /** Set for an override: the record kind whose effective value is the object. */
  overrideOf?: Kind;
}

interface ObjectKind {
  type: string;
  /** The schema definition whose secrets are redacted. */
  definition?: string;
  /** The object's name when it is not the store key. */
  name?: (v: Record<string, unknown>) => string;
  /** Fields the server keeps current as the object is used: a change to these alone is no update. */
  bookkeeping?: readonly string[];
}

const OBJECTS: Partial<Record<CollectionName, ObjectKind>> = {
  users: { type: 'user', definition: 'User', bookkeeping: ['external_auth_cached_until'] },
  folders: { type: 'folder', definition: 'Folder' },
  groups: { type: 'group', definition: 'Group' },
  admins: { type: 'admin', definition: 'Admin' },
  api_keys: { type: 'api_key', bookkeeping: ['last_use_at'] },
  shares: { type: 'share', bookkeeping: ['last_use_at', 'used_tokens'] },
  roles: { type: 'role' },
  event_actions: { type: 'event_action', definition: 'EventAction' },
  event_rules: { type: 'event_rule' },
  ip_lists: { type: 'ip_list_entry', name: (v) => String(v.ipornet ?? '') },
};

const KIND_COLLECTION: Record<Kind, CollectionName> = {
  user: 'users', folder: 'folders', group: 'groups', admin: 'admins', role: 'roles', event_action: 'event_actions', event_rule: 'event_rules',
};

/** The collections a provider rule can hear about (overrides included). */
export const PROVIDER_COLLECTIONS = [...(Object.keys(OBJECTS) as CollectionName[]), 'overrides'] as const;

/** The object type of an override's record kind. */
export function objectTypeOfKind(kind: Kind): string {
  return OBJECTS[KIND_COLLECTION[kind]]!.type;
}

export function collectionOfKind(kind: Kind): CollectionName {
  return KIND_COLLECTION[kind];
}

function onlyBookkeeping(a: Record<string, unknown>, b: Record<string, unknown>, fields: readonly string[]): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!fields.includes(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])) return false;
  return true;
}

/** The provider event a committed change is, or undefined when it is none (usage, meta, bookkeeping). */
export function providerChangeOf(change: StoreChange): ProviderChange | undefined {
  if (change.collection === 'overrides') {
    const o = (change.value ?? change.previous) as Override | undefined;
    const kind = o?.kind ?? (change.key.slice(0, change.key.indexOf(':')) as Kind);
    if (!(kind in KIND_COLLECTION)) return undefined;
    const name = o?.name ?? change.key.slice(change.key.indexOf(':') + 1);
    return { event: 'update', objectType: objectTypeOfKind(kind), objectName: name, object: undefined, overrideOf: kind };
  }
  const kind = OBJECTS[change.collection];
  if (!kind) return undefined;
  const value = change.value as Record<string, unknown> | undefined;
  const previous = change.previous as Record<string, unknown> | undefined;
  // A write that changes nothing but its time (a hook answering the same user again) is no update.
  if (value && previous && onlyBookkeeping(value, previous, ['updated_at', ...(kind.bookkeeping ?? [])])) return undefined;
  const object = value ?? previous;
  return {
    event: value === undefined ? 'delete' : previous === undefined ? 'add' : 'update',
    objectType: kind.type,
    objectName: object && kind.name ? kind.name(object) : change.key,
    object,
  };
}

/**
 * Whether a provider rule fires on the change: its events and object types, and (SFTPGo's
 * semantics) its names and roles matched against who made the change; a change has no groups.
 */
export function providerRuleMatches(rule: Pick<EventRule, 'conditions'>, c: Pick<ProviderChange, 'event' | 'objectType'>, origin: ChangeOrigin): boolean {
  const o = rule.conditions?.options;
  if (!(rule.conditions?.provider_events as readonly string[] | undefined)?.includes(c.event)) return false;
  if (o?.provider_objects?.length && !(o.provider_objects as readonly string[]).includes(c.objectType)) return false;
  return patternsHold(origin.name, o?.names) && groupPatternsHold([], o?.group_names) && patternsHold(origin.role, o?.role_names);
}

/**
 * SFTPGo's consistency rule for provider events: user actions run for a changed user only, folder
 * quota resets for a changed folder. The object type the rule's actions need, when it is not this one.
 */
export function actionsNeedOtherObject(actionTypes: readonly number[], objectType: string): 'user' | 'folder' | undefined {
  if (objectType !== 'user' && actionTypes.some((t) => USER_ACTIONS.has(t))) return 'user';
  if (objectType !== 'folder' && actionTypes.includes(ACTION_FOLDER_QUOTA_RESET)) return 'folder';
  return undefined;
}

const REDACTED = Object.freeze({ status: 'Redacted' });
/** Never shown, at any depth: password hashes and the digests that detect password changes, TOTP recovery codes. */
const HIDDEN_FIELDS: ReadonlySet<string> = new Set(['password', 'password_digest', 'recovery_codes']);

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!HIDDEN_FIELDS.has(k)) out[k] = strip(x);
  return out;
}

/** `{{.ObjectData}}`: the object as JSON with nothing secret in it. */
export function objectData(objectType: string, object: Record<string, unknown> | undefined): string {
  if (!object) return '{}';
  const kind = Object.values(OBJECTS).find((k) => k.type === objectType);
  let v: Record<string, unknown> = kind?.definition ? mapSecrets(object, definition(kind.definition), () => REDACTED) : object;
  if (objectType === 'api_key') {
    const { key: _k, ...rest } = v;
    v = rest;
  }
  return JSON.stringify(strip(v));
}
