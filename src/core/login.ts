// Account checks every protocol applies at login, after the credentials are verified: a disabled
// or expired user, or one already at max_sessions, is refused with a stable reason for the log;
// an accepted one gets its tree of mounts in a Session (core/session.ts). The gate (core/gate.ts)
// is the only caller.
import type { Common } from '../config/schema-types.ts';
import type { UserRecord } from '../model.ts';
import { openFs, type OpenFsOptions } from '../vfs/open.ts';
import type { RemoteUploadJournal } from '../vfs/options.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { Log } from '../log.ts';
import type { Protocol } from './connection.ts';
import type { ServerContext } from './context.ts';
import { cleanVirtualPath, type Mount } from './paths.ts';
import type { Config } from '../config/load.ts';
import type { Store } from '../store/store.ts';
import { folderQuota, userQuota, type UsageBook } from './quota.ts';
import { parseUploadMode, type UploadMode } from './transfers.ts';
import { FilePatterns } from './patterns.ts';
import { enterStartDirectory } from './start-directory.ts';
import { UserFs } from './user-fs.ts';
import { Session } from './session.ts';
import type { LimitsSource } from './transfer-limits.ts';
import { userWithGroups } from '../store/groups.ts';
import type { SecretBox } from '../config/sealed.ts';
import type { CurrentUsers } from './current-users.ts';

/**
 * What every backend is opened with: secrets read as the config reads them (`{ file }` references
 * are absolute by now; sealed ones open with the data directory's key), and the server's log.
 */
export type BackendServices = Pick<OpenFsOptions, 'resolveSecret' | 'log' | 'staging'> & {
  /** The journal of one owner's (`user:<name>`, `folder:<name>`) object store uploads, for the crash repair. */
  remoteUploads?: (owner: string) => RemoteUploadJournal;
};

export function backendServices(log: Log, secrets: SecretBox, journals: Pick<BackendServices, 'staging' | 'remoteUploads'> = {}): BackendServices {
  return { resolveSecret: (secret) => resolveSecret(secret, process.cwd(), secrets), log, ...journals };
}

export type LoginRefusal = 'user_disabled' | 'user_expired' | 'max_sessions' | 'unsupported_filesystem';

export function loginRefusal(user: UserRecord, now: number, activeSessions: number): LoginRefusal | undefined {
  if (user.status === 0) return 'user_disabled';
  if (user.expiration_date && user.expiration_date > 0 && user.expiration_date <= now) return 'user_expired';
  if (user.max_sessions && user.max_sessions > 0 && activeSessions >= user.max_sessions) return 'max_sessions';
  return undefined;
}

/** The parts of `common` the core applies to every connection. */
export interface CoreSettings {
  uploadMode: UploadMode;
  setstatMode: number;
  /** common.rename_mode: 0 refuses a rename across mounts, 1 copies the file then deletes it. */
  crossMountRename: 'refuse' | 'copy';
  /** Where quota usage is kept; without it quotas are neither tracked nor enforced. */
  usage?: UsageBook;
  /** Bandwidth and data transfer limits (core/transfer-limits.ts). */
  limits?: LimitsSource;
}

export function coreSettings(common: Common | undefined, usage?: UsageBook): CoreSettings {
  return {
    uploadMode: parseUploadMode(common?.upload_mode),
    setstatMode: common?.setstat_mode ?? 0,
    crossMountRename: common?.rename_mode === 1 ? 'copy' : 'refuse',
    ...(usage ? { usage } : {}),
  };
}

/** Where a server's settings come from: the current config, its store and its usage book. */
export interface SettingsSource {
  config: Config;
  store: Store;
  usage: UsageBook;
  /** Effective users remembered between transfers; without it each transfer reads the store. */
  currentUsers?: Pick<CurrentUsers, 'get'>;
}

/**
 * The settings every protocol front-end logs users in with: `common` from the config, and quota
 * tracking in the store unless `data_provider.track_quota` is 0.
 */
export function coreSettingsFor({ config, store, usage: book, currentUsers }: SettingsSource): CoreSettings {
  return {
    ...coreSettings(config.common, config.data_provider?.track_quota === 0 ? undefined : book),
    limits: { currentUser: (name) => (currentUsers ? currentUsers.get(name) : userWithGroups(store, name)), book },
  };
}

export interface SessionRequest {
  protocol: Protocol;
  remoteAddress: string;
  method: string;
  context: ServerContext;
  single: boolean;
  clientVersion?: string;
  onEnded: (s: Session) => void;
}

/**
 * Builds the user's tree (home mount plus one mount per virtual folder) and enters the start
 * directory: a Session ready for its channels, registered live. Call after loginRefusal() said yes.
 */
export async function openSession(user: UserRecord, settings: CoreSettings, req: SessionRequest): Promise<Session> {
  // Compiled first: a pattern the config check let through must not leave mounts open.
  const patterns = new FilePatterns(user.filters?.file_patterns);
  const mounts: Mount[] = [];
  // filters.disable_fs_checks: the home and folder roots are not created (nor required) at login.
  const { remoteUploads, ...backends } = req.context.backends;
  const fsOpts = { createRoot: user.filters?.disable_fs_checks !== true, ...backends };
  const journaled = (owner: string) => (remoteUploads ? { ...fsOpts, uploads: remoteUploads(owner) } : fsOpts);
  let startDirectory: string;
  try {
    const book = settings.usage;
    mounts.push({ virtualPath: '/', fs: await openFs(user.filesystem, user.home_dir, journaled(`user:${user.username}`)), ...(book ? { quota: userQuota(book, user) } : {}) });
    // Virtual folders: each its own Fs, mounted at its virtual_path (resolved by effectiveUser, groups' mounts added by userWithGroups).
    for (const vf of user.virtual_folders ?? []) {
      const root = vf.mapped_path ?? '';
      mounts.push({
        virtualPath: cleanVirtualPath(vf.virtual_path),
        fs: await openFs(vf.filesystem, root, journaled(`folder:${vf.name}`)),
        folder: vf.name,
        ...(book ? { quota: folderQuota(book, user, vf) } : {}),
      });
    }
    const fs = new UserFs({
      mounts,
      permissions: user.permissions,
      uploadMode: settings.uploadMode,
      setstatMode: settings.setstatMode,
      crossMountRename: settings.crossMountRename,
      patterns,
    });
    startDirectory = await enterStartDirectory(fs, user.filters?.start_directory, user.username, req.context.log);
  } catch (err) {
    await Promise.allSettled(mounts.map((m) => m.fs.close?.()));
    throw err;
  }
  // Marked before any file can change through this session, released once it has ended.
  const quotaKeys = mounts.flatMap((m) => m.quota?.scopes.map((s) => s.key) ?? []);
  const release = quotaKeys.length > 0 ? req.context.usageMarks?.hold(quotaKeys) : undefined;
  const onEnded = release
    ? (s: Session) => {
        release();
        req.onEnded(s);
      }
    : req.onEnded;
  const session = new Session({ user, mounts, patterns, startDirectory, settings, ...req, onEnded });
  req.context.connections.addSession(session);
  return session;
}
