// The store behind a small interface of its own: typed collections, asynchronous atomic
// transactions and change notifications, so that a network store (PostgreSQL) can implement it as
// well as the embedded one (LMDB, lmdb.ts). Nothing outside src/store/ may depend on a driver.
import type { SecretBox } from '../config/sealed.ts';
import type { AdminRecord, EventActionRecord, EventRuleRecord, FolderRecord, GroupRecord, Kind, QuotaUsage, RoleRecord, UserRecord } from '../model.ts';

export interface Override {
  kind: Kind;
  name: string;
  /** Fields set through the API on top of the config's value. */
  fields: Record<string, unknown>;
  updated_at: number;
  updated_by: string;
}

/** A defender ban kept across restarts (key: the address). */
export interface BanRecord {
  ip: string;
  /** Epoch milliseconds the ban ends. */
  until: number;
}

/**
 * An API key as SFTPGo models it (key: its id). Only the hash of the key is kept; the clear key is
 * shown once, when it is created, as `<id>.<key>`.
 */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The key's hash (the `$pbkdf2-sha256$` form). */
  key: string;
  /** 1: an admin's key (admin API); 2: a user's (user API). */
  scope: 1 | 2;
  created_at: number;
  updated_at: number;
  /** Epoch milliseconds; 0 or absent: never used / never expires. */
  last_use_at?: number;
  expires_at?: number;
  description?: string;
  /** The admin the key impersonates; empty: any admin named after the key (`<id>.<key>.<admin>`). */
  admin?: string;
  /** Scope 2: the user the key impersonates; empty: the user named after the key (`<id>.<key>.<user>`). */
  user?: string;
}

export type IpListType = 1 | 2 | 3;
export type IpListMode = 1 | 2;

/** An entry as the store keeps it and the API shows it (SFTPGo's IPListEntry). */
export interface IpListRecord {
  ipornet: string;
  type: IpListType;
  mode: IpListMode;
  /** Bitmask: 1 SSH, 2 FTP, 4 WebDAV, 8 HTTP; 0: every protocol. */
  protocols: number;
  description?: string;
  /** Epoch milliseconds. */
  created_at: number;
  updated_at: number;
  /** Who declared it: the config (reconcile owns it) or the API. */
  source?: 'config' | 'api';
}

/** The store key of an entry (SFTPGo's: the type, an underscore, the normalised network). */
export function ipListKey(type: IpListType, ipornet: string): string {
  return `${type}_${ipornet}`;
}

/** SFTPGo's share scopes: 1 read, 2 write, 3 read-write. */
export type ShareScope = 1 | 2 | 3;

/**
 * A share link as SFTPGo models it (key: its id). Runtime state: the user API creates it, dumps
 * carry it, and it goes with its user. The password is kept hashed; times are epoch milliseconds.
 */
export interface ShareRecord {
  id: string;
  name: string;
  description?: string;
  scope: ShareScope;
  /** Virtual paths of the owner's tree; a write scope has exactly one, a directory. */
  paths: string[];
  username: string;
  created_at: number;
  updated_at: number;
  /** 0 or absent: never used / never expires / no limit. */
  last_use_at?: number;
  expires_at?: number;
  password?: string;
  max_tokens?: number;
  used_tokens?: number;
  allow_from?: string[];
}

/**
 * A replica sharing the store (key: its name), as it registered itself: written at its start and
 * every minute, removed at a clean stop. Runtime state only: dumps leave it out.
 */
export interface NodeRecord {
  name: string;
  /** The base URL other replicas call its REST API at (`http://host:port`); '' when none is configured. */
  url: string;
  /** The key node tokens for this replica are signed with, sealed with the secrets key. */
  key: { sealed: string } | string;
  /** Random per start: tells a restart of the same name from two replicas claiming it. */
  instance: string;
  /** Epoch milliseconds. */
  created_at: number;
  updated_at: number;
}

export interface Collections {
  meta: unknown;
  users: UserRecord;
  folders: FolderRecord;
  groups: GroupRecord;
  admins: AdminRecord;
  usage: QuotaUsage;
  overrides: Override;
  bans: BanRecord;
  api_keys: ApiKeyRecord;
  roles: RoleRecord;
  /** Key: `<type>_<ipornet>` (SFTPGo's). */
  ip_lists: IpListRecord;
  /** Key: the share id. */
  shares: ShareRecord;
  event_actions: EventActionRecord;
  event_rules: EventRuleRecord;
  /** Key: the node name. */
  nodes: NodeRecord;
}
export type CollectionName = keyof Collections;

export interface ReadTx {
  get<C extends CollectionName>(c: C, key: string): Promise<Collections[C] | undefined>;
  /** Entries in key order, fetched a page at a time: a large collection is never held in memory at once. */
  entries<C extends CollectionName>(c: C): AsyncIterable<[string, Collections[C]]>;
  count(c: CollectionName): Promise<number>;
}

export interface WriteTx extends ReadTx {
  put<C extends CollectionName>(c: C, key: string, value: Collections[C]): Promise<void>;
  remove(c: CollectionName, key: string): Promise<void>;
  clear(c: CollectionName): Promise<void>;
}

/** One committed change: `value` undefined means the key was removed. */
export interface StoreChange<C extends CollectionName = CollectionName> {
  collection: C;
  key: string;
  value: Collections[C] | undefined;
  /** The value before the commit; absent when the key is new, and for a remote change. */
  previous?: Collections[C];
  /**
   * Set when another server sharing the store made the change: `value` is the key's value as it
   * is now. Work that follows a change once for the cluster (provider events) skips these.
   */
  remote?: boolean;
}

export type ChangeListener<C extends CollectionName> = (change: StoreChange<C>) => void;

/** One scored host of the cluster's defender: its score within the observation time. */
export interface SharedScore {
  ip: string;
  score: number;
}

/**
 * Counters every server sharing the store updates at once, each update one atomic statement outside
 * the store's write lock (a failed login or a rate-limited request must not queue behind the
 * cluster's writers) and outside the change log (no other server caches them). Only a shared store
 * has them; times are epoch milliseconds of the caller's clock.
 */
export interface SharedCounters {
  /**
   * Adds `score` to `ip`'s events, forgets those at or before `from`, and returns the total. When
   * the total reaches `threshold` the events are cleared in the same statement and `reached` is
   * set: of servers scoring one address at the same moment exactly one sees it reach the threshold.
   */
  addScore(opts: { ip: string; score: number; now: number; from: number; threshold: number; keepUntil: number }): Promise<{ total: number; reached: boolean }>;
  /** Hosts with a score above 0 (events after `from`), by address, at most `limit`; one address when `ip` is given. */
  scores(opts: { from: number; limit: number; ip?: string }): Promise<SharedScore[]>;
  /** Forgets `ip`'s events; whether it had any. */
  forgetScore(ip: string): Promise<boolean>;
  /**
   * One token from the bucket `key` (golang.org/x/time/rate's arithmetic: `perMs` tokens refilled
   * continuously up to `burst`), taken only when the debt it leaves is at most `maxDebt` tokens.
   * Returns whether it was taken and the tokens left (negative: a debt the caller waits out).
   */
  takeToken(opts: { key: string; perMs: number; burst: number; maxDebt: number; now: number }): Promise<{ ok: boolean; tokens: number }>;
}

export interface Store extends ReadTx {
  readonly location: string;
  /** Whether other servers may share this store (PostgreSQL); LMDB is one server's. */
  readonly shared: boolean;
  /**
   * The data directory's key for literal secrets, loaded when the store is opened: it lives beside
   * the store, never in it, so records are sealed with it and logins open them with it.
   */
  readonly secrets: SecretBox;
  /**
   * Runs `fn` with read access; nothing it does is written. A network store may give it a
   * snapshot; LMDB reads the latest commit at each call, as the store-level reads do.
   */
  read<T>(fn: (tx: ReadTx) => Promise<T> | T): Promise<T>;
  /**
   * Runs `fn` in one atomic transaction: all of its writes commit together when it resolves, none
   * when it throws. Writers of one store run one at a time, so `fn` must not start another write.
   */
  write<T>(fn: (tx: WriteTx) => Promise<T> | T): Promise<T>;
  /**
   * Calls `listener` after each commit, once per key of collection `c` it changed. Returns the
   * unsubscribe function. A listener must not throw and should not block: it runs after the commit.
   */
  subscribe<C extends CollectionName>(c: C, listener: ChangeListener<C>): () => void;
  /**
   * Resolves once the changes other servers committed before the call have reached this one's
   * listeners (a no-op for a store no one shares).
   */
  sync(): Promise<void>;
  /** Present on a shared store: the defender's scores and the rate limiters' buckets of the cluster. */
  readonly counters?: SharedCounters;
  close(): Promise<void>;
}

export const META = {
  schemaVersion: 'schema_version',
  /** Random per-store key for password digests and sealing literal secrets. */
  secretKey: 'secret_key',
  nextId: (kind: string) => `next_id:${kind}`,
  /** Epoch ms of a user's first upload / download (by record id): first-* actions fire once. */
  firstTransfer: (direction: 'upload' | 'download', userId: number) => `first_${direction}:${userId}`,
  /** An admin's last login, epoch milliseconds (kept beside the record so reconcile never sees it). */
  adminLastLogin: (username: string) => `admin_last_login:${username}`,
  /** A user's last login, epoch milliseconds (beside the record, as an admin's: reconcile never sees it). */
  userLastLogin: (username: string) => `user_last_login:${username}`,
  /** An account's two-factor recovery codes, hashed (auth/recovery-codes.ts). */
  recoveryCodes: (kind: 'admin' | 'user', name: string) => `recovery_codes:${kind}:${name}`,
  /** SSH host keys generated for every server sharing the store, private keys sealed (core/host-keys.ts). */
  sftpdHostKeys: 'sftpd_host_keys',
  /** The config revision applied last (a ConfigRevisionRecord): reconcile/revision.ts. */
  configRevision: 'config_revision',
  /** A user API token logged out before its expiry (epoch seconds), when the store is shared (auth/revoked-tokens.ts). */
  revokedToken: (jti: string) => `revoked_token:${jti}`,
  /** The last TOTP step an account used, when the store is shared (auth/totp.ts): a code is good once on every replica. */
  totpStep: (kind: 'admin' | 'user', name: string) => `totp_step:${kind}:${name}`,
} as const;

/** What every apply of a config records, so replicas sharing the store agree on which is newest. */
interface RevisionRecordBase {
  /** A keyed hash of the desired state applied (absent in records of earlier versions). */
  hash?: string;
  /** The server that applied it. */
  node?: string;
  /** Epoch milliseconds. */
  applied_at: number;
}

export interface GitRevisionRecord extends RevisionRecordBase {
  source: 'git';
  url: string;
  branch: string;
  path: string;
  /** The commit id. */
  revision: string;
}

export interface FileRevisionRecord extends RevisionRecordBase {
  source: 'file';
  file: string;
  /** The file's modification time, epoch milliseconds. */
  mtime: number;
}

export type ConfigRevisionRecord = GitRevisionRecord | FileRevisionRecord;

export async function configRevisionOf(tx: ReadTx): Promise<ConfigRevisionRecord | undefined> {
  return (await tx.get('meta', META.configRevision)) as ConfigRevisionRecord | undefined;
}

export async function schemaVersionOf(tx: ReadTx): Promise<number> {
  return ((await tx.get('meta', META.schemaVersion)) as number | undefined) ?? 0;
}

export async function nextId(tx: WriteTx, kind: string): Promise<number> {
  const key = META.nextId(kind);
  const id = (((await tx.get('meta', key)) as number | undefined) ?? 0) + 1;
  await tx.put('meta', key, id);
  return id;
}
