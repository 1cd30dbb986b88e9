// Opens the backend a `filesystem` block names, for a home dir or a virtual folder. The cloud SDKs
// are imported on first use: a server that never touches S3 does not pay for loading it (the cold
// start of a binary importing every SDK up front measured ~2x slower).
import type { Filesystem } from '../config/schema-types.ts';
import { AppError } from '../errors.ts';
import { providerName } from '../model.ts';
import type { Fs } from './fs.ts';
import { openLocalFs } from './local/local-fs.ts';
import type { LocalStaging, RemoteUploadJournal, SecretResolver, VfsLog } from './options.ts';

/** Requires a provider's config block (validation guarantees it for config-declared records). */
function block<T>(value: T | undefined, name: string): T {
  if (!value) throw new AppError('config', `filesystem: ${name} is missing`);
  return value;
}

export interface OpenFsOptions {
  /** false: a missing local or encrypted root is not created (filters.disable_fs_checks). */
  createRoot?: boolean;
  /** Reads the block's secrets (keys, passwords, passphrases): the caller owns the secrets key. */
  resolveSecret: SecretResolver;
  /** Where backends log what they do at length (object-store directory renames). */
  log?: VfsLog;
  /** Temporary uploads on local disk (plain or encrypted): journaled, and kept in common.temp_path if set. */
  staging?: LocalStaging;
  /** Uploads that hold server-side state on an object store (S3, Azure): journaled for the crash repair. */
  uploads?: RemoteUploadJournal;
}

/**
 * `localRoot` is the directory for local and encrypted storage (home_dir or mapped_path). Secret
 * `{ file }` references in the block are absolute by now (reconcile made them so).
 */
export async function openFs(filesystem: Filesystem | undefined, localRoot: string, opts: OpenFsOptions): Promise<Fs> {
  const provider = providerName(filesystem?.provider);
  const { resolveSecret, log } = opts;
  const local = { createRoot: opts.createRoot !== false, ...(opts.staging ? { staging: opts.staging } : {}) };
  const objectOpts = {
    resolveSecret,
    ...(log ? { log } : {}),
    renameDirs: filesystem?.rename_dirs ?? false,
    ...(filesystem?.rename_dir_max_objects !== undefined ? { renameDirMaxObjects: filesystem.rename_dir_max_objects } : {}),
    ...(opts.uploads ? { uploads: opts.uploads } : {}),
  };
  switch (provider) {
    case 'local':
      return openLocalFs(localRoot, local);
    case 'crypt': {
      const config = block(filesystem?.cryptconfig, 'cryptconfig');
      const { cryptFsOver } = await import('./crypt/crypt-fs.ts');
      // The backend underneath is opened from its usual block beside cryptconfig, as if it were the provider.
      const storage = config.storage ?? 'local';
      const inner: Fs = storage === 'local' ? await openLocalFs(localRoot, local) : await openFs({ ...filesystem, provider: storage }, localRoot, opts);
      try {
        return cryptFsOver(inner, config, { resolveSecret });
      } catch (err) {
        await inner.close?.();
        throw err;
      }
    }
    case 's3': {
      const { openS3Fs } = await import('./s3/s3fs.ts');
      return openS3Fs(block(filesystem?.s3config, 's3config'), objectOpts);
    }
    case 'gcs': {
      const { openGcsFs } = await import('./gcs/gcs-fs.ts');
      return openGcsFs(block(filesystem?.gcsconfig, 'gcsconfig'), objectOpts);
    }
    case 'azblob': {
      const { openAzBlobFs } = await import('./azblob/azblob-fs.ts');
      return openAzBlobFs(block(filesystem?.azblobconfig, 'azblobconfig'), objectOpts);
    }
    case 'sftp': {
      const { openSftpFs } = await import('./sftp/sftp-fs.ts');
      return openSftpFs(block(filesystem?.sftpconfig, 'sftpconfig'), { resolveSecret });
    }
  }
}
