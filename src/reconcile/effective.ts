// The effective record a login sees: the stored record (config- or runtime-owned) with its runtime
// override from the API layered on top (overrides.ts), so protocol code never needs to know about
// overrides.
import type { AdminRecord, FolderRecord, UserRecord } from '../model.ts';
import type { ReadTx } from '../store/store.ts';
import { getOverride, layer } from './overrides.ts';

/**
 * The user with its override applied and each virtual folder resolved to its folder's (effective)
 * definition (mapped_path, filesystem), as SFTPGo's user JSON carries it; a folder that no longer
 * exists is dropped from the mounts.
 */
export function effectiveUser(store: ReadTx, username: string): UserRecord | undefined {
  const stored = store.get('users', username);
  if (!stored) return undefined;
  const user = layer(stored, getOverride(store, 'user', username));
  if (!user.virtual_folders?.length) return user;
  const virtual_folders = user.virtual_folders.flatMap((vf) => {
    const folder = effectiveFolder(store, vf.name);
    return folder ? [{ ...vf, mapped_path: folder.mapped_path, filesystem: folder.filesystem, description: folder.description }] : [];
  });
  return { ...user, virtual_folders };
}

export function effectiveFolder(store: ReadTx, name: string): FolderRecord | undefined {
  const stored = store.get('folders', name);
  return stored && layer(stored, getOverride(store, 'folder', name));
}

export function effectiveAdmin(store: ReadTx, username: string): AdminRecord | undefined {
  const stored = store.get('admins', username);
  return stored && layer(stored, getOverride(store, 'admin', username));
}
