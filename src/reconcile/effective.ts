// The effective record a login sees: the stored record (config- or runtime-owned). Runtime
// overrides from the API will be layered here, so protocol code never needs to know about them.
import type { AdminRecord, FolderRecord, UserRecord } from '../model.ts';
import type { ReadTx } from '../store/store.ts';

/**
 * The user with each virtual folder resolved to its folder's definition (mapped_path, filesystem),
 * as SFTPGo's user JSON carries it; a folder that no longer exists is dropped from the mounts.
 */
export function effectiveUser(store: ReadTx, username: string): UserRecord | undefined {
  const user = store.get('users', username);
  if (!user?.virtual_folders?.length) return user;
  const virtual_folders = user.virtual_folders.flatMap((vf) => {
    const folder = effectiveFolder(store, vf.name);
    return folder ? [{ ...vf, mapped_path: folder.mapped_path, filesystem: folder.filesystem, description: folder.description }] : [];
  });
  return { ...user, virtual_folders };
}

export function effectiveFolder(store: ReadTx, name: string): FolderRecord | undefined {
  return store.get('folders', name);
}

export function effectiveAdmin(store: ReadTx, username: string): AdminRecord | undefined {
  return store.get('admins', username);
}
