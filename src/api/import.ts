// POST /api/v2/loaddata?from=sftpgo and `loaddata --from-sftpgo`: an SFTPGo backup mapped by
// migrate/sftpgo.ts, written as runtime-owned records in one transaction, with SFTPGo's loaddata
// modes (0 add and update, 1 add only, 2 add, update and disconnect the updated users) and its
// scan-quota choices. A name the config declares is refused (the YAML owns it).
import { readFile } from 'node:fs/promises';
import type { FieldError } from '../config/validate.ts';
import type { ServerContext } from '../core/context.ts';
import { backendServices } from '../core/login.ts';
import { scanFolderUsage, scanUserUsage } from '../core/quota-scan.ts';
import type { Store } from '../store/store.ts';
import type { FolderRecord, UserRecord } from '../model.ts';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { User } from '../config/schema-types.ts';
import { importSftpgoDump, type ImportOptions, type RecordState } from '../migrate/sftpgo.ts';
import { effectiveFolder, emptyUsage, splitPassword } from '../store/records.ts';
import { sortKeys } from '../store/canonical.ts';
import { userWithGroups } from '../store/groups.ts';
import { KINDS, prepareNew, type Preparing } from './resources.ts';
import { ipListSpec } from '../core/ip-lists.ts';
import { ipListKey } from '../store/store.ts';
import { normaliseEventAction, normaliseEventRule } from '../store/specs.ts';

/** SFTPGo's loaddata `mode`. */
export type LoadMode = 0 | 1 | 2;
/** SFTPGo's loaddata `scan-quota`: 0 none, 1 every imported user and folder, 2 users with quota limits (and every folder). */
export type ScanQuota = 0 | 1 | 2;

export interface SftpgoImportOptions extends ImportOptions {
  mode?: LoadMode;
  scanQuota?: ScanQuota;
  /** Who asked, for the log. */
  by: string;
  /** Ends a user's live sessions (mode 2); absent when no server runs in this process. */
  disconnect?: (username: string) => Promise<number>;
  /** Recomputes a user's or a folder's usage from its storage (scan-quota). */
  scan?: (kind: 'user' | 'folder', name: string) => Promise<void>;
}

export interface SftpgoImportSummary {
  /** Records written (added or updated). */
  users: number;
  folders: number;
  groups: number;
  admins: number;
  roles: number;
  /** IP list entries written. */
  ip_lists: number;
  /** Event actions and rules written. */
  event_actions: number;
  event_rules: number;
  /** Share links written. */
  shares: number;
  warnings: string[];
  /** Records left out, each with why; the rest was imported. */
  skipped: FieldError[];
  /** Existing records mode 1 left as they were (`user "name"`). */
  not_updated: string[];
  /** Users whose sessions mode 2 ended. */
  disconnected: string[];
}

type Plural = 'users' | 'folders' | 'groups' | 'admins';

export async function importIntoStore(runtime: Preparing & { log: Log }, dump: unknown, opts: SftpgoImportOptions): Promise<SftpgoImportSummary> {
  const mode = opts.mode ?? 0;
  const result = importSftpgoDump(dump, { masterKey: opts.masterKey, enabledCommands: runtime.config.common?.event_manager?.enabled_commands ?? [] });
  const prepared: { plural: Plural; name: string; fields: Record<string, unknown>; state?: RecordState }[] = [];
  const add = async (plural: Plural, name: string, body: object) =>
    prepared.push({ plural, name, fields: await prepareNew(runtime, KINDS[plural], body as Record<string, unknown>), state: result.state[`${KINDS[plural].kind}:${name}`] });
  for (const f of result.folders) await add('folders', f.name, f);
  for (const g of result.groups) await add('groups', g.name, g);
  for (const u of result.users) await add('users', u.username, u);
  for (const a of result.admins) await add('admins', a.username, a);

  const written = { users: 0, folders: 0, groups: 0, admins: 0, roles: 0 };
  let ipLists = 0;
  const events = { event_actions: 0, event_rules: 0 };
  let shares = 0;
  const declared: string[] = [];
  const notUpdated: string[] = [];
  const updatedUsers: string[] = [];
  await runtime.records.write(async (tx) => {
    const now = runtime.records.now();
    // Roles first: users and admins name them.
    for (const r of result.roles) {
      const current = await tx.get('role', r.name);
      if (current && mode === 1) {
        notUpdated.push(`role "${r.name}"`);
        continue;
      }
      if (current?.source === 'config') throw new AppError('exists', `role "${r.name}" is declared in the config file; remove it from the backup or the YAML`);
      await tx.put('role', r.name, sortKeys({ ...r }) as Record<string, unknown>, { source: 'runtime', current: current ?? null });
      written.roles++;
    }
    for (const p of prepared) {
      const k = KINDS[p.plural];
      const current = await tx.get(k.kind, p.name);
      if (current && mode === 1) {
        notUpdated.push(`${k.kind} "${p.name}"`);
        continue;
      }
      if (current?.source === 'config') throw new AppError('exists', `${k.kind} "${p.name}" is declared in the config file; remove it from the backup or the YAML`);
      const role = p.fields.role;
      if (typeof role === 'string' && !(await tx.get('role', role))) throw new AppError('invalid', `${k.kind} "${p.name}": role "${role}" is neither in the backup nor on this server`);
      const { spec, password } = splitPassword(p.fields);
      const u = p.state?.usage;
      // As SFTPGo: an updated record keeps the usage this server counted; a new one starts from the backup's.
      const usage =
        k.kind === 'admin' || k.kind === 'group' || current || !u
          ? undefined
          : { ...emptyUsage(), used_quota_size: u.size, used_quota_files: u.files, last_quota_update: u.size || u.files ? now : 0, used_upload_data_transfer: u.upload, used_download_data_transfer: u.download };
      // The password's age carries over, so password_expiration counts from the real change.
      const changedAt = k.kind === 'user' && password ? p.state?.fields?.last_password_change : undefined;
      const rec = await tx.put(k.kind, p.name, { ...spec, ...p.state?.fields }, {
        source: 'runtime',
        password,
        current: current ?? null,
        ...(usage ? { usage } : {}),
        ...(typeof changedAt === 'number' ? { passwordChangedAt: changedAt } : {}),
      });
      if (p.state?.first_upload) await tx.markFirstTransfer('upload', rec.id!, p.state.first_upload);
      if (p.state?.first_download) await tx.markFirstTransfer('download', rec.id!, p.state.first_download);
      // As the usage: a new record takes the backup's last login, an updated one keeps the one recorded here.
      if (!current && p.state?.last_login && (k.kind === 'user' || k.kind === 'admin')) await tx.markLastLogin(k.kind, p.name, p.state.last_login);
      written[p.plural]++;
      if (current && k.kind === 'user') updatedUsers.push(p.name);
    }
    for (const e of result.ip_lists) {
      const spec = ipListSpec(e, 'api');
      const key = ipListKey(spec.type, spec.ipornet);
      const current = await tx.ipListEntry(key);
      if (current && mode === 1) {
        notUpdated.push(`IP list entry ${key}`);
        continue;
      }
      // The config owns what it declares; the backup's copy gives way.
      if (current?.source === 'config') {
        declared.push(`ip_lists: ${spec.ipornet} (type ${spec.type}) is declared in the config file, kept as the config says`);
        continue;
      }
      await tx.putIpListEntry(spec, current);
      ipLists++;
    }
    // Actions before the rules that run them.
    const secrets = { baseDir: runtime.dataDir, secrets: runtime.records.secrets };
    const eventRecords = [
      ...result.event_actions.map((a) => ({ kind: 'event_action' as const, name: a.name, spec: normaliseEventAction(a, secrets) })),
      ...result.event_rules.map((r) => ({ kind: 'event_rule' as const, name: r.name, spec: normaliseEventRule(r) })),
    ];
    for (const e of eventRecords) {
      const noun = e.kind === 'event_action' ? 'event action' : 'event rule';
      const current = await tx.get(e.kind, e.name);
      if (current && mode === 1) {
        notUpdated.push(`${noun} "${e.name}"`);
        continue;
      }
      if (current?.source === 'config') throw new AppError('exists', `${noun} "${e.name}" is declared in the config file; remove it from the backup or the YAML`);
      await tx.put(e.kind, e.name, { ...e.spec }, { source: 'runtime', current: current ?? null });
      events[`${e.kind}s`]++;
    }
    for (const share of result.shares) {
      const current = await tx.share(share.id);
      if (current && mode === 1) {
        notUpdated.push(`share "${share.id}"`);
        continue;
      }
      // The owner came with the backup, or (left out as declared in the config) is on this server.
      if (!(await tx.get('user', share.username))) {
        declared.push(`shares: "${share.id}" belongs to user "${share.username}", who is not on this server: not imported`);
        continue;
      }
      await tx.putShare(share);
      shares++;
    }
  });

  const disconnected: string[] = [];
  if (mode === 2) for (const name of updatedUsers) if ((await opts.disconnect?.(name)) ?? 0) disconnected.push(name);
  const warnings = [...result.warnings, ...declared];
  if (mode === 2 && !opts.disconnect && updatedUsers.length) warnings.push('mode 2: no server runs in this process, so no session was disconnected');
  await startScans(opts, result.users, result.folders.map((f) => f.name), new Set(notUpdated));

  const summary: SftpgoImportSummary = { ...written, ip_lists: ipLists, ...events, shares, warnings, skipped: result.skipped, not_updated: notUpdated, disconnected };
  runtime.log('info', 'import_sftpgo', { ...written, ip_lists: ipLists, ...events, shares, mode, scan_quota: opts.scanQuota ?? 0, warnings: warnings.length, skipped: result.skipped.length, not_updated: notUpdated.length, disconnected: disconnected.length, by: opts.by });
  for (const w of warnings) runtime.log('warn', 'import_sftpgo_warning', { warning: w, by: opts.by });
  for (const e of result.skipped) runtime.log('warn', 'import_sftpgo_skipped', { path: e.path, reason: e.message, by: opts.by });
  return summary;
}

/** scan-quota: SFTPGo scans every restored folder for 1 and 2, and users by its HasQuotaRestrictions for 2. */
async function startScans(opts: SftpgoImportOptions, users: User[], folders: string[], notUpdated: Set<string>): Promise<void> {
  const scanQuota = opts.scanQuota ?? 0;
  if (!scanQuota || !opts.scan) return;
  for (const name of folders) if (!notUpdated.has(`folder "${name}"`)) await opts.scan('folder', name);
  for (const u of users) {
    if (notUpdated.has(`user "${u.username}"`)) continue;
    if (scanQuota === 1 || (u.quota_size ?? 0) > 0 || (u.quota_files ?? 0) > 0) await opts.scan('user', u.username);
  }
}

/** Reads `mode` and `scan-quota` (SFTPGo's names) from a query or the CLI flags; each 0, 1 or 2. */
export function loadOptions(get: (name: 'mode' | 'scan-quota') => string | undefined): { mode: LoadMode; scanQuota: ScanQuota } | FieldError {
  const out: number[] = [];
  for (const name of ['mode', 'scan-quota'] as const) {
    const v = get(name);
    if (v === undefined || v === '') out.push(0);
    else if (/^[012]$/.test(v)) out.push(Number(v));
    else return { path: name, message: `must be 0, 1 or 2, not ${JSON.stringify(v)}` };
  }
  return { mode: out[0] as LoadMode, scanQuota: out[1] as ScanQuota };
}

/**
 * SFTPGo's master key for mode-1 Secretbox secrets, under the names its own config takes from the
 * environment: SFTPGO_KMS__SECRETS__MASTER_KEY_PATH (a file, trimmed, as SFTPGo reads it) wins over
 * SFTPGO_KMS__SECRETS__MASTER_KEY.
 */
export async function masterKeyFromEnv(env: Record<string, string | undefined>): Promise<string | undefined> {
  const path = env.SFTPGO_KMS__SECRETS__MASTER_KEY_PATH;
  if (path) return readMasterKey(path);
  return env.SFTPGO_KMS__SECRETS__MASTER_KEY || undefined;
}

/** The master key from a file, trimmed as SFTPGo reads its master_key_path. */
export async function readMasterKey(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new AppError('invalid', `cannot read the SFTPGo master key file ${path}: ${(err as Error).message}`);
  }
}

/** Quota scans for an import with no server running (the CLI): each runs to its end and writes its result. */
export function offlineImportHooks(store: Store, log: Log): Pick<SftpgoImportOptions, 'scan'> {
  const backends = backendServices(log, store.secrets);
  return {
    scan: async (kind, name) => {
      const rec = kind === 'user' ? await userWithGroups(store, name) : await effectiveFolder(store, name);
      if (!rec) return;
      const usage = kind === 'user' ? await scanUserUsage(rec as UserRecord, backends) : await scanFolderUsage(rec as FolderRecord, backends);
      await store.write(async (tx) => {
        const key = `${kind}:${name}`;
        await tx.put('usage', key, { ...((await tx.get('usage', key)) ?? emptyUsage()), used_quota_size: usage.size, used_quota_files: usage.files, last_quota_update: Date.now() });
      });
    },
  };
}

/** What a running server lends an import: ending sessions (mode 2) and background quota scans. */
export function serverImportHooks(server: Pick<ServerContext, 'connections' | 'quotaScans' | 'usage' | 'store' | 'backends' | 'config' | 'log'>): Pick<SftpgoImportOptions, 'disconnect' | 'scan'> {
  return {
    disconnect: async (username) => {
      const sessions = server.connections.sessions().filter((s) => s.username === username);
      await Promise.allSettled(sessions.map((s) => s.close()));
      return sessions.length;
    },
    scan: async (kind, name) => {
      // As the scan endpoints: with tracking off there are no counters to set.
      if (server.config.data_provider?.track_quota === 0) return;
      const rec = kind === 'user' ? await userWithGroups(server.store, name) : await effectiveFolder(server.store, name);
      if (!rec) return;
      const scan = kind === 'user' ? () => scanUserUsage(rec as UserRecord, server.backends) : () => scanFolderUsage(rec as FolderRecord, server.backends);
      server.quotaScans.start(kind, name, server.usage, scan);
    },
  };
}
