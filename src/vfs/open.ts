// Opens the backend a `filesystem` block names, for a home dir or a virtual folder. The cloud SDKs
// are imported on first use: a server that never touches S3 does not pay for loading it (the cold
// start of a binary importing every SDK up front measured ~2x slower).
import type { SecretBox } from '../config/sealed.ts';
import type { Filesystem } from '../config/schema-types.ts';
import { AppError } from '../errors.ts';
import { providerName } from '../model.ts';
import type { Fs } from './fs.ts';
import { openLocalFs } from './local/local-fs.ts';

/** Requires a provider's config block (validation guarantees it for config-declared records). */
function block<T>(value: T | undefined, name: string): T {
  if (!value) throw new AppError('config', `filesystem: ${name} is missing`);
  return value;
}

export interface OpenFsOptions {
  /** false: a missing local or encrypted root is not created (filters.disable_fs_checks). */
  createRoot?: boolean;
  /** Opens the block's sealed secrets: the data directory's key. */
  secrets?: SecretBox;
}

/**
 * `localRoot` is the directory for local and encrypted storage (home_dir or mapped_path). Secret
 * `{ file }` references in the block are absolute by now (reconcile made them so).
 */
export async function openFs(filesystem: Filesystem | undefined, localRoot: string, opts: OpenFsOptions = {}): Promise<Fs> {
  const provider = providerName(filesystem?.provider);
  const objectOpts = {
    renameDirs: filesystem?.rename_dirs ?? false,
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
    ...(filesystem?.rename_dir_max_objects !== undefined ? { renameDirMaxObjects: filesystem.rename_dir_max_objects } : {}),
  };
  switch (provider) {
    case 'local':
      return openLocalFs(localRoot, opts);
    case 'crypt': {
      const { openCryptFs } = await import('./crypt/crypt-fs.ts');
      return openCryptFs(localRoot, block(filesystem?.cryptconfig, 'cryptconfig'), opts);
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
      return openSftpFs(block(filesystem?.sftpconfig, 'sftpconfig'), opts.secrets ? { secrets: opts.secrets } : {});
    }
  }
}
