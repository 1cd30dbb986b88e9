// Opens an Azure Blob container (or a key prefix inside it) as an Fs: the Azure ObjectClient under
// the shared ObjectFs, which owns directories, key-prefix confinement, renames and mtimes.
import type { AzBlobConfig } from '../../config/schema-types.ts';
import { ObjectFs, type ObjectFsOptions } from '../object/objectfs.ts';
import type { SecretResolver } from '../options.ts';
import { AzBlobClient } from './client.ts';
import { azTarget } from './config.ts';

export interface AzBlobFsOptions extends ObjectFsOptions {
  /** Reads account_key and sas_url (default: literals only). */
  resolveSecret?: SecretResolver;
}

export function openAzBlobFs(config: AzBlobConfig, opts: AzBlobFsOptions = {}): ObjectFs {
  const { resolveSecret, ...fsOpts } = opts;
  const client = new AzBlobClient(azTarget(config, resolveSecret));
  return new ObjectFs(client, config.key_prefix, fsOpts);
}
