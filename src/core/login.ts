// Account checks every protocol applies at login, after the credentials are verified: a disabled
// or expired user, or one already at max_sessions, is refused with a stable reason for the log;
// an accepted one gets its tree of mounts and a registered Connection.
import type { Common } from '../config/schema-types.ts';
import type { UserRecord } from '../model.ts';
import { openFs } from '../vfs/open.ts';
import { Connection, connections, type Protocol } from './connection.ts';
import { cleanVirtualPath, type Mount } from './paths.ts';
import type { Config } from '../config/load.ts';
import type { Store } from '../store/store.ts';
import { folderQuota, storeUsageBook, userQuota, type UsageBook } from './quota.ts';
import { parseUploadMode, type UploadMode } from './transfers.ts';
import { FilePatterns } from './patterns.ts';
import { enterStartDirectory } from './start-directory.ts';
import { UserFs } from './user-fs.ts';
import { notifyDisconnect } from '../auth/login-hooks.ts';
import type { LimitsSource } from './transfer-limits.ts';
import { effectiveUser } from '../store/records.ts';
import type { SecretBox } from '../config/sealed.ts';

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
  /** Told when a logged-in connection has closed (common.post_disconnect_hook). */
  onClosed?: (c: Connection) => void;
  /** Bandwidth and data transfer limits (core/transfer-limits.ts). */
  limits?: LimitsSource;
  /** Opens the sealed secrets of the user's storage (the data directory's key). */
  secrets?: SecretBox;
}

export function coreSettings(common: Common | undefined, usage?: UsageBook): CoreSettings {
  return {
    uploadMode: parseUploadMode(common?.upload_mode),
    setstatMode: common?.setstat_mode ?? 0,
    crossMountRename: common?.rename_mode === 1 ? 'copy' : 'refuse',
    ...(usage ? { usage } : {}),
  };
}

/**
 * The settings every protocol front-end logs users in with: `common` from the config, and quota
 * tracking in the store unless `data_provider.track_quota` is 0.
 */
export function coreSettingsFor(config: Config, store: Store): CoreSettings {
  const book = storeUsageBook(store);
  const settings: CoreSettings = {
    ...coreSettings(config.common, config.data_provider?.track_quota === 0 ? undefined : book),
    limits: { currentUser: (name) => effectiveUser(store, name), book },
    secrets: store.secrets,
  };
  if (config.common?.post_disconnect_hook)
    settings.onClosed = (c) => notifyDisconnect(config, { ip: c.remoteAddress, protocol: c.protocol, username: c.username, durationMs: Date.now() - c.startedAt });
  return settings;
}

/**
 * Builds the user's tree (home mount plus one mount per virtual folder) and registers a live Connection.
 * Call after loginRefusal() said yes.
 */
export async function openConnection(
  user: UserRecord,
  settings: CoreSettings,
  init: { protocol: Protocol; remoteAddress: string; disconnect: () => void },
): Promise<Connection> {
  // Compiled first: a pattern the config check let through must not leave mounts open.
  const patterns = new FilePatterns(user.filters?.file_patterns);
  const mounts: Mount[] = [];
  // filters.disable_fs_checks: the home and folder roots are not created (nor required) at login.
  const fsOpts = { createRoot: user.filters?.disable_fs_checks !== true, ...(settings.secrets ? { secrets: settings.secrets } : {}) };
  try {
    const book = settings.usage;
    mounts.push({ virtualPath: '/', fs: await openFs(user.filesystem, user.home_dir, fsOpts), ...(book ? { quota: userQuota(book, user) } : {}) });
    // Virtual folders: each its own Fs, mounted at its virtual_path (resolved by effectiveUser).
    for (const vf of user.virtual_folders ?? []) {
      const root = vf.mapped_path ?? '';
      mounts.push({
        virtualPath: cleanVirtualPath(vf.virtual_path),
        fs: await openFs(vf.filesystem, root, fsOpts),
        folder: vf.name,
        ...(book ? { quota: folderQuota(book, user, vf) } : {}),
      });
    }
  } catch (err) {
    await Promise.allSettled(mounts.map((m) => m.fs.close?.()));
    throw err;
  }
  const fs = new UserFs({
    mounts,
    permissions: user.permissions,
    uploadMode: settings.uploadMode,
    setstatMode: settings.setstatMode,
    crossMountRename: settings.crossMountRename,
    patterns,
  });
  await enterStartDirectory(fs, user.filters?.start_directory, user.username);
  const conn = new Connection({
    user, fs, ...init,
    ...(settings.onClosed ? { onClosed: settings.onClosed } : {}),
    ...(settings.limits ? { limits: settings.limits } : {}),
  });
  connections.add(conn);
  return conn;
}
