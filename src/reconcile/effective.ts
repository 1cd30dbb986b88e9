// The effective record a login sees: the stored record (config- or runtime-owned). Runtime
// overrides from the API will be layered here, so protocol code never needs to know about them.
import type { AdminRecord, FolderRecord, UserRecord } from '../model.ts';
import type { ReadTx } from '../store/store.ts';

export function effectiveUser(store: ReadTx, username: string): UserRecord | undefined {
  return store.get('users', username);
}

export function effectiveFolder(store: ReadTx, name: string): FolderRecord | undefined {
  return store.get('folders', name);
}

export function effectiveAdmin(store: ReadTx, username: string): AdminRecord | undefined {
  return store.get('admins', username);
}
