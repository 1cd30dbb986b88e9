// Quota reset actions, as SFTPGo runs them: 5 rescans each user's storage and stores the usage
// found, 6 does the same for virtual folders, 7 zeroes a user's data transfer usage (uploaded and
// downloaded bytes). A rescan is refused for a user or folder whose scan is already running.
import type { FolderRecord, UserRecord } from '../../model.ts';
import type { ServerContext } from '../context.ts';
import { scanFolderUsage, scanUserUsage } from '../quota-scan.ts';

export async function resetUserQuota(ctx: ServerContext, user: UserRecord): Promise<void> {
  const { started, done } = ctx.quotaScans.start('user', user.username, ctx.usage, () => scanUserUsage(user, ctx.backends));
  if (!started) throw new Error(`another quota scan is in progress for user "${user.username}"`);
  const err = await done;
  if (err) throw new Error(`error scanning quota for user "${user.username}": ${err.message}`);
}

export async function resetFolderQuota(ctx: ServerContext, folder: FolderRecord): Promise<void> {
  const { started, done } = ctx.quotaScans.start('folder', folder.name, ctx.usage, () => scanFolderUsage(folder, ctx.backends));
  if (!started) throw new Error(`another quota scan is in progress for folder "${folder.name}"`);
  const err = await done;
  if (err) throw new Error(`error scanning quota for folder "${folder.name}": ${err.message}`);
}

export async function resetTransferQuota(ctx: ServerContext, user: UserRecord): Promise<void> {
  await ctx.usage.setTransferred(`user:${user.username}`, { upload: 0, download: 0 });
}
