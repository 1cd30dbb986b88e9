// Opens the backend a user's `filesystem` block names. Only the local backend exists so far; the
// object-store and SFTP backends will be added here without any caller changing.
import { AppError } from '../errors.ts';
import { providerName } from '../model.ts';
import type { Filesystem } from '../config/schema-types.ts';
import type { Fs } from './fs.ts';
import { openLocalFs } from './local/local-fs.ts';

export async function openFs(filesystem: Filesystem | undefined, localRoot: string): Promise<Fs> {
  const provider = providerName(filesystem?.provider);
  if (provider === 'local') return openLocalFs(localRoot);
  throw new AppError('unsupported', `filesystem provider ${provider} is not supported yet`);
}
