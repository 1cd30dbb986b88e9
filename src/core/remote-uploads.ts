// The start's repair of object store uploads a crash left open: S3 multipart uploads and Azure
// blocks staged but never committed, named by the upload journal with their owner. Each owner's
// storage is opened as its sessions open it and told to discard those keys, before serve takes
// logins (so no new upload of the same key can be caught). Bounded in time: a store that does not
// answer keeps its entries journaled for the next start, and the server starts anyway.
import type { Log } from '../log.ts';
import { userWithGroups } from '../store/groups.ts';
import { effectiveFolder } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { Fs } from '../vfs/fs.ts';
import { openFs } from '../vfs/open.ts';
import type { BackendServices } from './login.ts';
import type { RemoteEntry, UploadJournal } from './upload-journal.ts';

export interface DiscardOptions {
  entries: readonly RemoteEntry[];
  journal: Pick<UploadJournal, 'discarded'>;
  store: Store;
  backends: BackendServices;
  log: Log;
  /** For all owners together. */
  timeoutMs: number;
}

/** The storage `owner` names now, or undefined when the user or folder is gone. */
async function ownerFs(owner: string, store: Store, backends: BackendServices): Promise<Fs | undefined> {
  const sep = owner.indexOf(':');
  const kind = owner.slice(0, sep);
  const name = owner.slice(sep + 1);
  const opts = { ...backends, createRoot: false };
  if (kind === 'user') {
    const user = await userWithGroups(store, name);
    return user ? openFs(user.filesystem, user.home_dir, opts) : undefined;
  }
  if (kind === 'folder') {
    const folder = await effectiveFolder(store, name);
    return folder ? openFs(folder.filesystem, folder.mapped_path ?? '', opts) : undefined;
  }
  return undefined;
}

export async function discardRemoteUploads(opts: DiscardOptions): Promise<void> {
  const byOwner = new Map<string, RemoteEntry[]>();
  for (const e of opts.entries) byOwner.set(e.owner, [...(byOwner.get(e.owner) ?? []), e]);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  for (const [owner, entries] of byOwner) {
    const keys = entries.map((e) => e.key);
    let fs: Fs | undefined;
    try {
      fs = await ownerFs(owner, opts.store, opts.backends);
      if (!fs?.discardUploads) {
        // The owner is gone or its storage changed: nothing here can reach those uploads any
        // more (S3 lifecycle rules and Azure's one-week expiry still do).
        opts.log('warn', 'remote_uploads_unreachable', { owner, keys });
      } else {
        const discarded = await fs.discardUploads(keys, { signal });
        opts.log('info', 'remote_uploads_discarded', { owner, keys: keys.length, discarded });
      }
      for (const e of entries) opts.journal.discarded(e);
    } catch (err) {
      opts.log('error', 'remote_uploads_discard_failed', { owner, keys: keys.length, error: (err as Error).message });
    } finally {
      await fs?.close?.().catch(() => undefined);
    }
  }
}
