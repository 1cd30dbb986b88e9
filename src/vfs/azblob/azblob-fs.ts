// Opens an Azure Blob container (or a key prefix inside it) as an Fs: the Azure ObjectClient under
// the shared ObjectFs, which owns directories, key-prefix confinement, renames and mtimes.
import type { SecretBox } from '../../config/sealed.ts';
import type { AzBlobConfig } from '../../config/schema-types.ts';
import { ObjectFs, type ObjectFsOptions } from '../object/objectfs.ts';
import { AzBlobClient } from './client.ts';
import { azTarget } from './config.ts';

export interface AzBlobFsOptions extends ObjectFsOptions {
  /** Where relative `{ file }` secret references resolve (default: the working directory). */
  baseDir?: string;
  /** Opens sealed secrets (the data directory's key); without it a sealed secret is refused. */
  secrets?: SecretBox;
}

export function openAzBlobFs(config: AzBlobConfig, opts: AzBlobFsOptions = {}): ObjectFs {
  const { baseDir, secrets, ...fsOpts } = opts;
  const client = new AzBlobClient(azTarget(config, baseDir ?? process.cwd(), secrets));
  return new ObjectFs(client, config.key_prefix, fsOpts);
}
