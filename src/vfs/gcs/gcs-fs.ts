// Opens a GCS-backed Fs: the GCS ObjectClient under the shared ObjectFs, which supplies the
// directories-as-prefixes, mtime and rename rules common to every object store.
import type { SecretBox } from '../../config/sealed.ts';
import type { GCSConfig } from '../../config/schema-types.ts';
import type { Fs } from '../fs.ts';
import { ObjectFs } from '../object/objectfs.ts';
import { GcsClient } from './client.ts';
import { gcsTarget } from './config.ts';

export interface GcsFsOptions {
  /** Allow renaming a directory as a bounded copy+delete of its objects. */
  renameDirs?: boolean;
  renameDirMaxObjects?: number;
  /** Where relative secret/credential file paths are resolved (default: the working directory). */
  baseDir?: string;
  /** Opens sealed secrets (the data directory's key); without it a sealed secret is refused. */
  secrets?: SecretBox;
}

export function openGcsFs(config: GCSConfig, opts: GcsFsOptions = {}): Fs {
  const target = gcsTarget(config, opts.baseDir ?? process.cwd(), opts.secrets);
  const { baseDir: _unused, secrets: _secrets, ...fsOpts } = opts;
  return new ObjectFs(new GcsClient(target), target.keyPrefix, fsOpts);
}
