// Opens a GCS-backed Fs: the GCS ObjectClient under the shared ObjectFs, which supplies the
// directories-as-prefixes, mtime and rename rules common to every object store.
import type { GCSConfig } from '../../config/schema-types.ts';
import type { Fs } from '../fs.ts';
import { ObjectFs } from '../object/objectfs.ts';
import type { SecretResolver, VfsLog } from '../options.ts';
import { GcsClient } from './client.ts';
import { gcsTarget } from './config.ts';

export interface GcsFsOptions {
  /** Allow renaming a directory as a bounded copy+delete of its objects. */
  renameDirs?: boolean;
  renameDirMaxObjects?: number;
  /** Where a relative credentials_file is found (default: the working directory). */
  baseDir?: string;
  /** Reads `credentials` (default: literals only). */
  resolveSecret?: SecretResolver;
  log?: VfsLog;
}

export function openGcsFs(config: GCSConfig, opts: GcsFsOptions = {}): Fs {
  const { baseDir, resolveSecret, ...fsOpts } = opts;
  const target = gcsTarget(config, baseDir ?? process.cwd(), resolveSecret);
  return new ObjectFs(new GcsClient(target), target.keyPrefix, fsOpts);
}
