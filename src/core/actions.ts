// Custom actions on file events (SFTPGo's `common.actions`): the core reports what happened once,
// here, so SFTP, SCP, FTP and WebDAV send the same notifications. Each event listed in `execute_on`
// runs the `hook` (a program with the event in SFTPGO_ACTION_* variables, or an HTTP URL receiving
// it as JSON). Events run asynchronously through a bounded queue unless listed in `execute_sync`;
// pre-* events always run synchronously and refuse the operation when the hook fails. The settings
// are read at event time, so a reload takes effect for the next event.
import { posix } from 'node:path';
import type { Common, Filesystem } from '../config/schema-types.ts';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import { providerName, type UserRecord } from '../model.ts';
import { META, type Store } from '../store/store.ts';
import { BoundedQueue } from './action-queue.ts';
import type { Connection, Transfer } from './connection.ts';
import { hookSucceeded, runHook } from './hooks.ts';
import type { Metrics } from './metrics.ts';
import type { EventManager, FsOutcome } from './event-rules/manager.ts';
import { cleanVirtualPath, isWithin } from './paths.ts';

export type ActionName = NonNullable<NonNullable<Common['actions']>['execute_on']>[number];

export const DEFAULT_QUEUE_SIZE = 1000;
export const DEFAULT_ACTION_TIMEOUT_S = 30;
/** Concurrent asynchronous hook runs: enough to overlap a slow receiver, few enough to stay cheap. */
const WORKERS = 4;
const PRE_ACTIONS: ReadonlySet<ActionName> = new Set(['pre-upload', 'pre-download', 'pre-delete']);

/** What SFTPGo reports as `status`: 1 ok, 2 generic error, 3 quota exceeded. */
export type ActionStatus = 1 | 2 | 3;

export interface ActionSettings {
  executeOn: ReadonlySet<ActionName>;
  executeSync: ReadonlySet<ActionName>;
  hook: string;
  timeoutMs: number;
  queueSize: number;
}

export function actionSettings(common: Common | undefined): ActionSettings | undefined {
  const a = common?.actions;
  if (!a?.hook || !a.execute_on?.length) return undefined;
  return {
    executeOn: new Set(a.execute_on),
    executeSync: new Set(a.execute_sync ?? []),
    hook: a.hook,
    timeoutMs: (a.timeout ?? DEFAULT_ACTION_TIMEOUT_S) * 1000,
    queueSize: a.queue_size ?? DEFAULT_QUEUE_SIZE,
  };
}

/** One notification, with SFTPGo's JSON field names. Empty optional fields are left out. */
export interface ActionEvent {
  action: ActionName;
  username: string;
  path: string;
  target_path?: string;
  virtual_path: string;
  virtual_target_path?: string;
  ssh_cmd?: string;
  file_size?: number;
  elapsed?: number;
  fs_provider: number;
  bucket?: string;
  endpoint?: string;
  status: ActionStatus;
  protocol: string;
  ip: string;
  session_id: string;
  /** Nanoseconds since the epoch. */
  timestamp: number;
  open_flags?: number;
}

/** The SFTPGO_ACTION_* variables a program hook gets: every one is set, empty when not applicable. */
export function actionEnv(e: ActionEvent): Record<string, string> {
  return {
    SFTPGO_ACTION: e.action,
    SFTPGO_ACTION_USERNAME: e.username,
    SFTPGO_ACTION_PATH: e.path,
    SFTPGO_ACTION_TARGET: e.target_path ?? '',
    SFTPGO_ACTION_VIRTUAL_PATH: e.virtual_path,
    SFTPGO_ACTION_VIRTUAL_TARGET: e.virtual_target_path ?? '',
    SFTPGO_ACTION_SSH_CMD: e.ssh_cmd ?? '',
    SFTPGO_ACTION_FILE_SIZE: String(e.file_size ?? 0),
    SFTPGO_ACTION_ELAPSED: String(e.elapsed ?? 0),
    SFTPGO_ACTION_FS_PROVIDER: String(e.fs_provider),
    SFTPGO_ACTION_BUCKET: e.bucket ?? '',
    SFTPGO_ACTION_ENDPOINT: e.endpoint ?? '',
    SFTPGO_ACTION_STATUS: String(e.status),
    SFTPGO_ACTION_PROTOCOL: e.protocol,
    SFTPGO_ACTION_IP: e.ip,
    SFTPGO_ACTION_SESSION_ID: e.session_id,
    SFTPGO_ACTION_OPEN_FLAGS: String(e.open_flags ?? 0),
    SFTPGO_ACTION_TIMESTAMP: String(e.timestamp),
  };
}

const PROVIDER_NUMBER = { local: 0, s3: 1, gcs: 2, azblob: 3, crypt: 4, sftp: 5 } as const;

/** Where a virtual path lives: the backend's full path (as SFTPGo reports it), provider, bucket, endpoint. */
export function storageOf(user: UserRecord, vpath: string): Pick<ActionEvent, 'path' | 'fs_provider' | 'bucket' | 'endpoint'> {
  let filesystem: Filesystem | undefined = user.filesystem;
  let root = user.home_dir;
  let mountedAt = '/';
  for (const vf of user.virtual_folders ?? []) {
    const at = cleanVirtualPath(vf.virtual_path);
    if (isWithin(vpath, at) && at.length > mountedAt.length) {
      mountedAt = at;
      filesystem = vf.filesystem;
      root = vf.mapped_path ?? '';
    }
  }
  const rel = (mountedAt === '/' ? vpath : vpath.slice(mountedAt.length) || '/').replace(/^\/+/, '');
  const provider = providerName(filesystem?.provider);
  const withPrefix = (prefix: string | undefined): string => `${prefix ?? ''}${rel}`;
  const opt = (v: string | undefined): string | undefined => (v ? v : undefined);
  const base = { fs_provider: PROVIDER_NUMBER[provider] };
  switch (provider) {
    case 's3':
      return { ...base, path: withPrefix(filesystem?.s3config?.key_prefix), bucket: opt(filesystem?.s3config?.bucket), endpoint: opt(filesystem?.s3config?.endpoint) };
    case 'gcs':
      return { ...base, path: withPrefix(filesystem?.gcsconfig?.key_prefix), bucket: opt(filesystem?.gcsconfig?.bucket) };
    case 'azblob':
      return { ...base, path: withPrefix(filesystem?.azblobconfig?.key_prefix), bucket: opt(filesystem?.azblobconfig?.container), endpoint: opt(filesystem?.azblobconfig?.endpoint) };
    case 'sftp':
      return { ...base, path: posix.join(filesystem?.sftpconfig?.prefix || '/', rel), endpoint: opt(filesystem?.sftpconfig?.endpoint) };
    default:
      return { ...base, path: rel ? posix.join(root, rel) : root };
  }
}

export function statusOf(error: unknown): ActionStatus {
  if (error === undefined) return 1;
  return error instanceof AppError && error.code === 'quota_exceeded' ? 3 : 2;
}

export interface EventDetails {
  target?: string;
  sshCmd?: string;
  fileSize?: number;
  elapsedMs?: number;
  error?: unknown;
  openFlags?: number;
}

export function buildEvent(conn: Connection, action: ActionName, vpath: string | undefined, d: EventDetails = {}): ActionEvent {
  const where = vpath !== undefined ? storageOf(conn.user, vpath) : { ...storageOf(conn.user, '/'), path: '' };
  const e: ActionEvent = {
    action,
    username: conn.username,
    path: where.path,
    virtual_path: vpath ?? '',
    fs_provider: where.fs_provider,
    status: statusOf(d.error),
    protocol: conn.protocol,
    ip: conn.remoteAddress,
    session_id: conn.id,
    timestamp: Date.now() * 1e6,
  };
  if (d.target !== undefined) {
    e.target_path = storageOf(conn.user, d.target).path;
    e.virtual_target_path = d.target;
  }
  if (d.sshCmd) e.ssh_cmd = d.sshCmd;
  if (d.fileSize) e.file_size = d.fileSize;
  if (d.elapsedMs !== undefined) e.elapsed = d.elapsedMs;
  if (where.bucket) e.bucket = where.bucket;
  if (where.endpoint) e.endpoint = where.endpoint;
  if (d.openFlags) e.open_flags = d.openFlags;
  return e;
}

export interface ActionsOptions {
  log: Log;
  metrics: Metrics;
  /** Event rules: consulted first; when a matching rule runs synchronous actions the hook is not run (as SFTPGo). */
  events?: EventManager;
}

/** One server's dispatcher, configured from `common.actions` at start and on reload. */
export class Actions {
  #settings: ActionSettings | undefined;
  #store: Store | undefined;
  readonly #log: Log;
  readonly #metrics: Metrics;
  readonly #events: EventManager | undefined;
  #queue: BoundedQueue;
  /** Cancels hook runs still going when shutdown's drain time is up. */
  #cancel = new AbortController();
  /** Users (by record id) known to have had their first upload / download. */
  readonly #firsts = { upload: new Set<number>(), download: new Set<number>() };

  constructor(opts: ActionsOptions) {
    this.#log = opts.log;
    this.#metrics = opts.metrics;
    this.#events = opts.events;
    this.#queue = new BoundedQueue({ capacity: DEFAULT_QUEUE_SIZE, workers: WORKERS, droppedMetric: 'sftpgo_actions_dropped_total', name: 'actions', log: opts.log, metrics: opts.metrics });
  }

  configure(common: Common | undefined, store?: Store): void {
    this.#settings = actionSettings(common);
    if (store) this.#store = store;
    this.#queue.resize(this.#settings?.queueSize ?? DEFAULT_QUEUE_SIZE);
  }

  enabled(action: ActionName): boolean {
    return this.#settings?.executeOn.has(action) ?? false;
  }

  /**
   * Runs a pre-* action: resolves when the operation may go ahead (or nothing is configured);
   * throws permission_denied when the hook fails, times out or cannot be reached.
   */
  async pre(conn: Connection | undefined, action: 'pre-upload' | 'pre-download' | 'pre-delete', vpath: string, d: EventDetails = {}): Promise<void> {
    if (!conn) return;
    const ruled = await this.#rules(conn, action, vpath, d);
    if (ruled.sync) {
      if (ruled.error) throw new AppError('permission_denied', `${action} refused ${vpath}: ${ruled.error.message}`);
      return;
    }
    if (!this.enabled(action)) return;
    if (!(await this.#run(buildEvent(conn, action, vpath, d), true)))
      throw new AppError('permission_denied', `${action} action refused ${vpath}`);
  }

  /**
   * Reports an event that happened. Asynchronous events are queued and this resolves at once;
   * a synchronous one resolves when the hook is done, with false if it failed.
   */
  async notify(conn: Connection | undefined, action: ActionName | 'copy', vpath: string | undefined, d: EventDetails = {}): Promise<boolean> {
    if (!conn) return true;
    const ruled = await this.#rules(conn, action, vpath, d);
    if (ruled.sync) {
      if (ruled.error) this.#log('warn', 'event_rule_sync_failed', { event: action, username: conn.username, virtual_path: vpath ?? '', error: ruled.error.message });
      return !ruled.error;
    }
    if (action === 'copy' || !this.enabled(action)) return true;
    const e = buildEvent(conn, action, vpath, d);
    if (this.#settings!.executeSync.has(action) || PRE_ACTIONS.has(action)) return this.#run(e, true);
    this.#queue.push(() => this.#run(e, false).then(() => undefined), { action });
    return true;
  }

  /**
   * Reports the end of an upload or download (with first-upload/first-download on a user's first
   * successful one). For a completed upload whose synchronous `upload` action failed, returns the
   * error the client must get: the caller removes what was uploaded.
   */
  async transferEnded(t: Transfer, fileSize: number, error: unknown): Promise<AppError | undefined> {
    const conn = t.connection;
    const d: EventDetails = { fileSize, elapsedMs: Date.now() - t.startedAt, error };
    const first = t.direction === 'upload' ? 'first-upload' : 'first-download';
    const ok = await this.notify(conn, t.direction, t.virtualPath, d);
    // A download that sent nothing is not a first download (SFTPGo's rule as well).
    const wanted = this.enabled(first) || ((await this.#events?.wants(first)) ?? false);
    if (error === undefined && ok && (t.direction === 'upload' || t.bytes > 0) && wanted && (await this.#claimFirst(conn.user, t.direction)))
      await this.notify(conn, first, t.virtualPath, d);
    if (!ok && error === undefined && t.direction === 'upload') return new AppError('permission_denied', `upload action refused ${t.virtualPath}`);
    return undefined;
  }

  /**
   * True exactly once per user: at its first successful upload (download) ever. The mark is kept
   * in the store beside the user's id, so a restart does not repeat it and a re-created user
   * (new id) starts over.
   */
  async #claimFirst(user: UserRecord, direction: 'upload' | 'download'): Promise<boolean> {
    const seen = this.#firsts[direction];
    if (seen.has(user.id)) return false;
    seen.add(user.id);
    const store = this.#store;
    if (!store) return true;
    const key = META.firstTransfer(direction, user.id);
    try {
      return await store.write(async (tx) => {
        if ((await tx.get('meta', key)) !== undefined) return false;
        await tx.put('meta', key, Date.now());
        return true;
      });
    } catch (err) {
      this.#log('error', 'action_first_mark_failed', { username: user.username, error: (err as Error).message });
      return false;
    }
  }

  /** The event rules' part of an event: whether synchronous rule actions ran, and their last failure. */
  async #rules(conn: Connection, event: string, vpath: string | undefined, d: EventDetails): Promise<FsOutcome> {
    if (!this.#events) return { sync: false };
    const error = d.error;
    try {
      return await this.#events.fsEvent(conn, event, () => ({
        status: statusOf(error),
        virtualPath: vpath ?? '',
        fsPath: vpath !== undefined ? storageOf(conn.user, vpath).path : '',
        virtualTargetPath: d.target ?? '',
        fsTargetPath: d.target !== undefined ? storageOf(conn.user, d.target).path : '',
        fileSize: d.fileSize ?? 0,
        elapsed: d.elapsedMs ?? 0,
        errors: error === undefined ? [] : [`"${event}" failed: ${(error as Error)?.message ?? String(error)}`],
      }));
    } catch (err) {
      // The rules could not be read (the store is failing): a pre-* operation a rule may guard is
      // refused; an event that already happened goes on without its rules.
      this.#log('error', 'event_rules_unavailable', { event, error: (err as Error).message });
      return PRE_ACTIONS.has(event as ActionName) ? { sync: true, error: err as Error } : { sync: false };
    }
  }

  async #run(e: ActionEvent, sync: boolean): Promise<boolean> {
    const s = this.#settings;
    if (!s) return true;
    const result = await runHook(s.hook, { name: 'actions', env: actionEnv(e), payload: e, timeoutMs: s.timeoutMs, signal: this.#cancel.signal, log: this.#log });
    const ok = hookSucceeded(result);
    this.#metrics.inc('sftpgo_actions_total', { action: e.action, result: ok ? 'ok' : 'failed' });
    if (!ok)
      this.#log(sync ? 'warn' : 'info', 'action_failed', {
        action: e.action,
        username: e.username,
        virtual_path: e.virtual_path,
        sync,
        ...(result.ok ? (result.kind === 'program' ? { code: result.code } : { status: result.status }) : { error: result.error }),
      });
    return ok;
  }

  /**
   * Shutdown: waits up to `ms` for queued notifications, then drops the rest and cancels the runs
   * still going (a hung receiver must not hold the process for its whole timeout), with a log line.
   */
  async drain(ms = 5000): Promise<void> {
    const dropped = await this.#queue.drain(ms);
    const running = this.#queue.running;
    if (dropped > 0 || running > 0) this.#log('warn', 'actions_dropped_on_shutdown', { dropped, cancelled: running });
    this.#cancel.abort();
    this.#cancel = new AbortController();
  }

  /** Queue state, for tests and status. */
  get queued(): number {
    return this.#queue.pending;
  }
}

/**
 * Reaches the actions of the server a connection belongs to, so code that holds a connection (the
 * storage side of a session) reports without knowing the server. Holds no state.
 */
export const actions = {
  pre(conn: Connection | undefined, action: 'pre-upload' | 'pre-download' | 'pre-delete', vpath: string, d: EventDetails = {}): Promise<void> {
    return conn ? conn.context.actions.pre(conn, action, vpath, d) : Promise.resolve();
  },
  notify(conn: Connection | undefined, action: ActionName | 'copy', vpath: string | undefined, d: EventDetails = {}): Promise<boolean> {
    return conn ? conn.context.actions.notify(conn, action, vpath, d) : Promise.resolve(true);
  },
  transferEnded(t: Transfer, fileSize: number, error: unknown): Promise<AppError | undefined> {
    return t.connection.context.actions.transferEnded(t, fileSize, error);
  },
};

/** os.O_* flags of an upload open, as SFTPGo reports `open_flags` (Linux values). */
export function openFlags(o: { truncate: boolean; append?: boolean | undefined; exclusive?: boolean | undefined }): number {
  const O_WRONLY = 0x1;
  const O_CREAT = 0x40;
  const O_EXCL = 0x80;
  const O_TRUNC = 0x200;
  const O_APPEND = 0x400;
  return O_WRONLY | O_CREAT | (o.truncate ? O_TRUNC : 0) | (o.append ? O_APPEND : 0) | (o.exclusive ? O_EXCL : 0);
}
