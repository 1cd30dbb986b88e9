// POST /api/v2/loaddata?from=sftpgo: an SFTPGo backup mapped by migrate/sftpgo.ts, written as
// runtime-owned records in one transaction. A name the config declares is refused (the YAML owns it).
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import { importSftpgoDump } from '../migrate/sftpgo.ts';
import { emptyUsage, splitPassword } from '../store/records.ts';
import { KINDS, prepareNew, type Preparing } from './resources.ts';

export async function importIntoStore(runtime: Preparing & { log: Log }, dump: unknown, by: string): Promise<{ users: number; folders: number; admins: number; warnings: string[] }> {
  const result = importSftpgoDump(dump);
  const prepared: { plural: 'users' | 'folders' | 'admins'; name: string; fields: Record<string, unknown>; usage?: { size: number; files: number } }[] = [];
  for (const f of result.folders) prepared.push({ plural: 'folders', name: f.name, fields: await prepareNew(runtime, KINDS.folders, f as never), usage: result.usage[`folder:${f.name}`] });
  for (const u of result.users) prepared.push({ plural: 'users', name: u.username, fields: await prepareNew(runtime, KINDS.users, u as never), usage: result.usage[`user:${u.username}`] });
  for (const a of result.admins) prepared.push({ plural: 'admins', name: a.username, fields: await prepareNew(runtime, KINDS.admins, a as never) });
  await runtime.records.write(async (tx) => {
    const now = runtime.records.now();
    for (const p of prepared) {
      const k = KINDS[p.plural];
      const current = await tx.get(k.kind, p.name);
      if (current?.source === 'config') throw new AppError('exists', `${k.kind} "${p.name}" is declared in the config file; remove it from the backup or the YAML`);
      const { spec, password } = splitPassword(p.fields);
      const changedAt = k.kind === 'user' ? result.passwordChangedAt[p.name] : undefined;
      await tx.put(k.kind, p.name, spec, {
        source: 'runtime',
        password,
        ...(changedAt !== undefined ? { passwordChangedAt: changedAt } : {}),
        ...(k.kind !== 'admin'
          ? { usage: { ...emptyUsage(), used_quota_size: p.usage?.size ?? 0, used_quota_files: p.usage?.files ?? 0, last_quota_update: p.usage ? now : 0 } }
          : {}),
      });
    }
  });
  const counts = { users: result.users.length, folders: result.folders.length, admins: result.admins.length };
  runtime.log('info', 'api_import_sftpgo', { ...counts, warnings: result.warnings.length, by });
  return { ...counts, warnings: result.warnings };
}
