// The records kept in the store: users, folders, groups and admins as SFTPGo models them, normalised so that
// two equal specs compare equal, plus the bookkeeping the store adds (ids, times, ownership).
import type { Admin, EventAction, EventRule, Filesystem, Folder, Group, Role, User } from './config/schema-types.ts';

export type ProviderName = 'local' | 's3' | 'gcs' | 'azblob' | 'crypt' | 'sftp';
const PROVIDERS: ProviderName[] = ['local', 's3', 'gcs', 'azblob', 'crypt', 'sftp'];

/** SFTPGo numbers providers 0-5 in this order; names are what we store. */
export function providerName(p: Filesystem['provider'] | undefined): ProviderName {
  if (p === undefined) return 'local';
  return typeof p === 'number' ? PROVIDERS[p]! : p;
}

/** A provider as a body may carry it (a name or SFTPGo's number), or undefined when it is neither. */
export function parseProvider(p: unknown): ProviderName | undefined {
  if (typeof p === 'number') return PROVIDERS[p];
  return PROVIDERS.find((name) => name === p);
}

/** SFTPGo's number for a provider (0 local ... 5 sftp), as its API and dumps carry it. */
export function providerNumber(p: Filesystem['provider'] | undefined): number {
  return PROVIDERS.indexOf(providerName(p));
}

/** Who owns a record: the config file (reconcile may update or delete it) or the runtime API. */
export type Source = 'config' | 'runtime';

export interface RecordMeta {
  id: number;
  created_at: number;
  updated_at: number;
  source: Source;
}

/** A user spec as stored: secrets in stored form (password hashed), defaults filled in. */
export type UserSpec = Omit<User, 'password' | 'virtual_folders'> & {
  virtual_folders?: ResolvedVirtualFolder[];
  status: 0 | 1;
  home_dir: string;
  permissions: Record<string, string[]>;
  /** A password hash, never a clear password. */
  password?: string;
};

/**
 * A user's virtual folder as logins see it: the mount (name, virtual_path, quotas) merged with the
 * folder's own definition, as SFTPGo's user JSON embeds it.
 */
export type ResolvedVirtualFolder = NonNullable<User['virtual_folders']>[number] & Pick<Folder, 'mapped_path' | 'filesystem' | 'description'>;

export type UserRecord = UserSpec &
  RecordMeta & {
    /** Keyed digest of the clear password the hash was made from (see reconcile/secrets). */
    password_digest?: string;
    /**
     * When the password was last set (epoch ms, as SFTPGo's `last_password_change`): kept by the
     * records layer, never declared, and what filters.password_expiration counts from.
     */
    last_password_change?: number;
  };

export type FolderSpec = Folder;
export type FolderRecord = FolderSpec & RecordMeta;

/** A group as stored: its user_settings' filesystem normalised like a user's, secrets in stored form. */
export type GroupSpec = Group;
export type GroupRecord = GroupSpec & RecordMeta;

/** SFTPGo's group mapping types: 1 primary, 2 secondary, 3 membership only. */
export const GROUP_PRIMARY = 1;
export const GROUP_SECONDARY = 2;
export const GROUP_MEMBERSHIP = 3;

export type AdminSpec = Omit<Admin, 'password'> & { status: 0 | 1; permissions: string[]; password?: string };
export type AdminRecord = AdminSpec & RecordMeta & { password_digest?: string };

export interface QuotaUsage {
  used_quota_size: number;
  used_quota_files: number;
  last_quota_update: number;
  used_upload_data_transfer: number;
  used_download_data_transfer: number;
}

/** A role as stored (SFTPGo 2.7): a name and a description; users and admins refer to it by name. */
export type RoleSpec = Role;
export type RoleRecord = RoleSpec & RecordMeta;

/**
 * The options block each event action type reads (SFTPGo's numbers: 1 HTTP, 2 command, 3 email,
 * 8 data retention, 9 filesystem, 11 password expiration, 14 inactivity); backup, the quota resets
 * (4 to 7) and the user expiration check (12) read none.
 */
export const EVENT_ACTION_BLOCK = { 1: 'http_config', 2: 'cmd_config', 3: 'email_config', 8: 'retention_config', 9: 'fs_config', 11: 'pwd_expiration_config', 14: 'user_inactivity_config' } as const;

/** An action without the options blocks its type does not read (SFTPGo's API sends them all, empty). */
export function pruneActionOptions(a: EventAction): EventAction {
  const block = EVENT_ACTION_BLOCK[a.type as keyof typeof EVENT_ACTION_BLOCK];
  const kept = block ? a.options?.[block] : undefined;
  const { options: _o, ...rest } = a;
  return kept ? { ...rest, options: { [block!]: kept } } : rest;
}

/** An event action or rule as stored: SFTPGo's shape, the action's secrets in stored form. */
export type EventActionSpec = EventAction;
export type EventActionRecord = EventActionSpec & RecordMeta;
export type EventRuleSpec = EventRule;
export type EventRuleRecord = EventRuleSpec & RecordMeta;

export type Kind = 'user' | 'folder' | 'group' | 'admin' | 'role' | 'event_action' | 'event_rule';
export const META_FIELDS = ['id', 'created_at', 'updated_at', 'source', 'password_digest', 'last_password_change'] as const;
