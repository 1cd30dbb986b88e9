// Groups applied to a user, as SFTPGo applies them at login: the primary group's settings where the
// user leaves them unset (its home_dir and a non-local filesystem replace the user's), then the
// additive parts (permissions, virtual folders, file patterns, IP and method lists) of the primary
// and every secondary group; membership groups give nothing. Placeholders (%username%, %role%) in
// the group's paths are replaced for the user. The merge is pure; userWithGroups reads the records.
import { resolve } from 'node:path';
import type { Filesystem, GroupMapping, UserFilters } from '../config/schema-types.ts';
import { GROUP_PRIMARY, GROUP_SECONDARY, type GroupRecord, type GroupSpec, type ResolvedVirtualFolder, type UserRecord } from '../model.ts';
import { effectiveFolder, effectiveGroup, effectiveUser } from './records.ts';
import type { ReadTx } from './store.ts';
import { replaceUserPlaceholders } from '../lib/user-placeholders.ts';

const DAY_MS = 86_400_000;

/** The role a user's %role% placeholder stands for: "" for a user without one, as in SFTPGo. */
export function roleOf(user: UserRecord): string {
  const role: unknown = 'role' in user ? user.role : undefined;
  return typeof role === 'string' ? role : '';
}

/** The groups a user's settings come from: names of its primary and secondary mappings. */
export function settingGroups(mappings: readonly GroupMapping[] | undefined): string[] {
  return (mappings ?? []).filter((g) => g.type === GROUP_PRIMARY || g.type === GROUP_SECONDARY).map((g) => g.name);
}

/** A group's virtual folder resolved to its folder's definition, as a user's mounts are. */
export type GroupMount = ResolvedVirtualFolder;

/** A group as the merge reads it: the definition, with its mounts resolved to their folders. */
export type ResolvedGroup = Pick<GroupSpec, 'name' | 'user_settings'> & { virtual_folders?: GroupMount[] };

/** Where a merged setting came from: the group, and the path of the setting inside its record. */
export interface GroupOrigin {
  group: string;
  path: (string | number)[];
}

/**
 * Told of each setting a group gives the user, keyed `<field>:<value>` for entries of a map or list
 * (`permissions:/in`, `file_patterns:/in`, `virtual_folders:/shared`, `denied_ip:10.0.0.0/8`,
 * `denied_protocols:FTP`) and by field name for single values (`start_directory`, `expiration_date`).
 * Only `explain` asks: a login merges without one.
 */
export type MergeTrace = (setting: string, origin: GroupOrigin) => void;

/**
 * The user with its groups applied. `groups` holds the groups the user's mappings name (a mapping to
 * a group that is not there is skipped, as SFTPGo skips it); the user's own mounts must already be
 * resolved. The input is not modified.
 */
export function applyGroups(user: UserRecord, groups: ReadonlyMap<string, ResolvedGroup>, trace?: MergeTrace): UserRecord {
  const mappings = user.groups ?? [];
  if (!mappings.some((g) => g.type === GROUP_PRIMARY || g.type === GROUP_SECONDARY)) return user;
  const who = { username: user.username, role: roleOf(user) };
  // A copy of what the merge changes (not a deep clone of the whole record: this runs per lookup).
  const f = user.filters;
  const out: UserRecord = {
    ...user,
    permissions: { ...user.permissions },
    ...(f ? { filters: { ...f, ...(f.hooks ? { hooks: { ...f.hooks } } : {}), ...(f.file_patterns ? { file_patterns: [...f.file_patterns] } : {}) } } : {}),
    ...(user.virtual_folders ? { virtual_folders: user.virtual_folders.map((vf) => ({ ...vf })) } : {}),
  };
  const primary = mappings.find((g) => g.type === GROUP_PRIMARY);
  const primaryGroup = primary && groups.get(primary.name);
  if (primaryGroup) {
    mergePrimary(out, primaryGroup, who, trace);
    mergeAdditive(out, primaryGroup, GROUP_PRIMARY, who, trace);
  }
  for (const m of mappings) {
    if (m.type !== GROUP_SECONDARY) continue;
    const g = groups.get(m.name);
    if (g) mergeAdditive(out, g, GROUP_SECONDARY, who, trace);
  }
  alignFolderQuotas(out);
  return out;
}

type Who = { username: string; role: string };

function mergePrimary(u: UserRecord, group: ResolvedGroup, who: Who, trace: MergeTrace | undefined): void {
  const s = group.user_settings ?? {};
  if (s.home_dir) u.home_dir = resolve(replaceUserPlaceholders(s.home_dir, who));
  if (s.filesystem && s.filesystem.provider !== undefined && s.filesystem.provider !== 'local' && s.filesystem.provider !== 0)
    u.filesystem = filesystemFor(s.filesystem, who);
  const keep = <K extends 'max_sessions' | 'quota_size' | 'quota_files' | 'upload_bandwidth' | 'download_bandwidth'>(k: K): void => {
    if (!u[k] && s[k]) u[k] = s[k];
  };
  keep('max_sessions');
  keep('quota_size');
  keep('quota_files');
  keep('upload_bandwidth');
  keep('download_bandwidth');
  if (!u.upload_data_transfer && !u.download_data_transfer && !u.total_data_transfer) {
    u.upload_data_transfer = s.upload_data_transfer ?? 0;
    u.download_data_transfer = s.download_data_transfer ?? 0;
    u.total_data_transfer = s.total_data_transfer ?? 0;
  }
  if (!u.expiration_date && s.expires_in && s.expires_in > 0) {
    u.expiration_date = u.created_at + s.expires_in * DAY_MS;
    trace?.('expiration_date', { group: group.name, path: ['user_settings', 'expires_in'] });
  }
  const gf = s.filters;
  if (!gf) return;
  const f: UserFilters = (u.filters ??= {});
  if (!f.max_upload_file_size && gf.max_upload_file_size) f.max_upload_file_size = gf.max_upload_file_size;
  if (gf.hooks) {
    const hooks = (f.hooks ??= {});
    for (const k of ['check_password_disabled', 'pre_login_disabled', 'external_auth_disabled'] as const) if (!hooks[k] && gf.hooks[k]) hooks[k] = true;
  }
  if (!f.disable_fs_checks && gf.disable_fs_checks) f.disable_fs_checks = true;
  if (!f.ftp_security && gf.ftp_security) f.ftp_security = gf.ftp_security;
  if (!f.start_directory && gf.start_directory) {
    f.start_directory = replaceUserPlaceholders(gf.start_directory, who);
    trace?.('start_directory', { group: group.name, path: ['user_settings', 'filters', 'start_directory'] });
  }
  if (!f.password_expiration && gf.password_expiration) f.password_expiration = gf.password_expiration;
}

function mergeAdditive(u: UserRecord, group: ResolvedGroup, type: number, who: Who, trace: MergeTrace | undefined): void {
  // Virtual folders: added at paths the user does not mount yet; "/" only from the primary group.
  const mounted = new Set((u.virtual_folders ?? []).map((vf) => vf.virtual_path));
  for (const [i, vf] of (group.virtual_folders ?? []).entries()) {
    if (vf.virtual_path === '/' && type !== GROUP_PRIMARY) continue;
    const virtual_path = replaceUserPlaceholders(vf.virtual_path, who);
    if (mounted.has(virtual_path)) continue;
    mounted.add(virtual_path);
    trace?.(`virtual_folders:${virtual_path}`, { group: group.name, path: ['virtual_folders', i] });
    (u.virtual_folders ??= []).push({
      ...vf,
      virtual_path,
      ...(vf.mapped_path !== undefined ? { mapped_path: replaceUserPlaceholders(vf.mapped_path, who) } : {}),
      ...(vf.filesystem !== undefined ? { filesystem: filesystemFor(vf.filesystem, who) } : {}),
    });
  }
  // Permissions: the primary group's "/" replaces the user's; other paths are added where unset.
  const perms = group.user_settings?.permissions ?? {};
  for (const [path, granted] of Object.entries(perms)) {
    const origin = { group: group.name, path: ['user_settings', 'permissions', path] };
    if (path === '/') {
      if (type === GROUP_PRIMARY) {
        u.permissions['/'] = [...granted];
        trace?.('permissions:/', origin);
      }
      continue;
    }
    const p = replaceUserPlaceholders(path, who);
    if (!(p in u.permissions)) {
      u.permissions[p] = [...granted];
      trace?.(`permissions:${p}`, origin);
    }
  }
  const gf = group.user_settings?.filters;
  if (!gf) return;
  if (gf.file_patterns?.length) {
    const f = (u.filters ??= {});
    const paths = new Set((f.file_patterns ?? []).map((p) => p.path));
    for (const [i, pattern] of gf.file_patterns.entries()) {
      if (pattern.path === '/' && type !== GROUP_PRIMARY) continue;
      const path = replaceUserPlaceholders(pattern.path, who);
      if (paths.has(path)) continue;
      paths.add(path);
      trace?.(`file_patterns:${path}`, { group: group.name, path: ['user_settings', 'filters', 'file_patterns', i] });
      (f.file_patterns ??= []).push({ ...pattern, path });
    }
  }
  if (gf.allowed_ip?.length || gf.denied_ip?.length || gf.denied_login_methods?.length || gf.denied_protocols?.length) {
    const f = (u.filters ??= {});
    if (trace) {
      for (const k of ['allowed_ip', 'denied_ip', 'denied_login_methods', 'denied_protocols'] as const)
        (gf[k] ?? []).forEach((entry, i) => {
          if (!(f[k] as readonly string[] | undefined)?.includes(entry)) trace(`${k}:${entry}`, { group: group.name, path: ['user_settings', 'filters', k, i] });
        });
    }
    f.allowed_ip = union(f.allowed_ip, gf.allowed_ip);
    f.denied_ip = union(f.denied_ip, gf.denied_ip);
    f.denied_login_methods = union(f.denied_login_methods, gf.denied_login_methods);
    f.denied_protocols = union(f.denied_protocols, gf.denied_protocols);
  }
}

/** The user's entries, then the group's it lacks, each once (SFTPGo appends, then removes duplicates); undefined when both are empty. */
function union<T>(own: readonly T[] | undefined, extra: readonly T[] | undefined): T[] | undefined {
  const out = [...new Set([...(own ?? []), ...(extra ?? [])])];
  return out.length > 0 ? out : undefined;
}

/** A folder mounted twice (by the user and a group, or two groups) keeps the quota of its first mount, as in SFTPGo. */
function alignFolderQuotas(u: UserRecord): void {
  const first = new Map<string, ResolvedVirtualFolder>();
  for (const vf of u.virtual_folders ?? []) {
    const seen = first.get(vf.name);
    if (!seen) first.set(vf.name, vf);
    else {
      if (seen.quota_size !== undefined) vf.quota_size = seen.quota_size;
      else delete vf.quota_size;
      if (seen.quota_files !== undefined) vf.quota_files = seen.quota_files;
      else delete vf.quota_files;
    }
  }
}

/** A group's filesystem for one member: placeholders replaced in key prefixes and an SFTP backend's username and prefix. */
export function filesystemFor(fs: Filesystem, who: Who): Filesystem {
  const out = structuredClone(fs);
  for (const block of [out.s3config, out.gcsconfig, out.azblobconfig]) if (block?.key_prefix) block.key_prefix = replaceUserPlaceholders(block.key_prefix, who);
  if (out.sftpconfig) {
    if (out.sftpconfig.username) out.sftpconfig.username = replaceUserPlaceholders(out.sftpconfig.username, who);
    if (out.sftpconfig.prefix) out.sftpconfig.prefix = replaceUserPlaceholders(out.sftpconfig.prefix, who);
  }
  return out;
}

/** A group with each of its virtual folders resolved to its folder's (effective) definition; a missing folder is dropped. */
export async function resolveGroup(tx: ReadTx, group: GroupRecord): Promise<ResolvedGroup> {
  const virtual_folders: GroupMount[] = [];
  for (const vf of group.virtual_folders ?? []) {
    const folder = await effectiveFolder(tx, vf.name);
    if (folder) virtual_folders.push({ ...vf, ...(folder.mapped_path !== undefined ? { mapped_path: folder.mapped_path } : {}), ...(folder.filesystem ? { filesystem: folder.filesystem } : {}), ...(folder.description !== undefined ? { description: folder.description } : {}) });
  }
  return { name: group.name, ...(group.user_settings ? { user_settings: group.user_settings } : {}), virtual_folders };
}

/**
 * The user a login sees: its effective record (override, folders) with its groups applied. The
 * API shows the user's own record (effectiveUser) and its group mappings, as SFTPGo does.
 */
export async function userWithGroups(tx: ReadTx, username: string): Promise<UserRecord | undefined> {
  const user = await effectiveUser(tx, username);
  return user && withStoredGroups(tx, user);
}

/** An effective user (as effectiveUser returns it, what hooks are shown) with the stored groups it maps applied. */
export async function withStoredGroups(tx: ReadTx, user: UserRecord, trace?: MergeTrace): Promise<UserRecord> {
  const names = settingGroups(user.groups);
  if (names.length === 0) return user;
  const groups = new Map<string, ResolvedGroup>();
  for (const name of names) {
    const g = await effectiveGroup(tx, name);
    if (g) groups.set(name, await resolveGroup(tx, g));
  }
  return applyGroups(user, groups, trace);
}
