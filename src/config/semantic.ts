// Checks the schema cannot express: unique names, references between resources, backend config
// matching the provider, paths that must be absolute, keys that must parse.
import { isAbsolute } from 'node:path';
import type { Config, PathSegment } from './load.ts';
import type { Filesystem, Folder, Group, GroupMapping, PatternsFilter, VirtualFolder } from './schema-types.ts';
import { parsePublicKey } from '../auth/keys.ts';
import { hasKnownHashPrefix, isPasswordHash } from '../auth/passwords.ts';
import { patternError } from '../core/patterns.ts';
import { providerName } from '../model.ts';
import { defenderProblems } from '../core/defender.ts';
import { oneShot } from '../lib/jit.ts';
import { isAddressOrCidr, normaliseIpOrNet, parseAddress } from '../lib/cidr.ts';
import { ipListEntryProblem } from '../core/ip-lists.ts';
import { rateLimiterProblems } from '../core/rate-limiters.ts';
import { eventActionProblems, eventRuleProblems } from '../core/event-rules/model.ts';

export interface Problem {
  path: PathSegment[];
  message: string;
}

/** SFTPGo's telemetry keys that have no counterpart here are refused unless left at their default. */
function telemetryProblems(t: Config['telemetry'], add: (key: string, message: string) => void): void {
  if (!t) return;
  if (t.enable_profiler) add('enable_profiler', "not supported: there is no Go profiler here (run bun with --inspect instead)");
  if (t.tls_cipher_suites?.length) add('tls_cipher_suites', 'not supported: leave it empty (Node picks the TLS 1.2 cipher suites)');
  if (t.tls_protocols?.includes('h2')) add('tls_protocols', 'h2 is not supported: only http/1.1');
  if (t.bind_address?.startsWith('/')) add('bind_address', 'Unix domain sockets are not supported: give an IP address');
  if (Boolean(t.certificate_file) !== Boolean(t.certificate_key_file))
    add(t.certificate_file ? 'certificate_key_file' : 'certificate_file', 'certificate_file and certificate_key_file go together');
}

/** A user's or an admin's role names a declared role; a role admin is never a super admin (as SFTPGo). */
function roleProblems(config: Config): Problem[] {
  const out: Problem[] = [];
  const roles = new Set((config.roles ?? []).map((r) => r.name));
  const unknown = (role: string) => `role "${role}" is not declared in roles`;
  (config.users ?? []).forEach((u, i) => {
    if (u.role !== undefined && !roles.has(u.role)) out.push({ path: ['users', i, 'role'], message: unknown(u.role) });
  });
  (config.admins ?? []).forEach((a, i) => {
    if (a.role === undefined) return;
    if (!roles.has(a.role)) out.push({ path: ['admins', i, 'role'], message: unknown(a.role) });
    const star = (a.permissions ?? []).indexOf('*');
    if (star >= 0) out.push({ path: ['admins', i, 'permissions', star], message: 'a role admin cannot be a super admin (*)' });
  });
  return out;
}

export function checkSemantics(config: Config): Problem[] {
  const problems: Problem[] = [];
  const add = (path: PathSegment[], message: string) => problems.push({ path, message });

  duplicates(config.users ?? [], (u) => u.username, (i, name) => add(['users', i, 'username'], `duplicate username "${name}"`));
  duplicates(config.folders ?? [], (f) => f.name, (i, name) => add(['folders', i, 'name'], `duplicate folder name "${name}"`));
  duplicates(config.admins ?? [], (a) => a.username, (i, name) => add(['admins', i, 'username'], `duplicate admin "${name}"`));
  duplicates(config.roles ?? [], (r) => r.name, (i, name) => add(['roles', i, 'name'], `duplicate role "${name}"`));
  for (const p of roleProblems(config)) add(p.path, p.message);
  // A node is one of several servers sharing a store; a single server's LMDB store has none to name.
  if (config.data_provider?.node && config.data_provider.driver !== 'postgresql')
    add(['data_provider', 'node'], 'data_provider.node names this server among replicas sharing a store: it needs driver postgresql');

  const folderNames = new Set((config.folders ?? []).map((f) => f.name));
  (config.folders ?? []).forEach((f, i) => {
    checkFilesystem(f.filesystem, ['folders', i, 'filesystem'], add);
    for (const p of folderPathProblems(f)) add(['folders', i, ...p.path], p.message);
  });

  duplicates(config.groups ?? [], (g) => g.name, (i, name) => add(['groups', i, 'name'], `duplicate group name "${name}"`));
  const groupNames = new Set((config.groups ?? []).map((g) => g.name));
  (config.groups ?? []).forEach((g, i) => {
    for (const p of groupProblems(g, folderNames)) add(['groups', i, ...p.path], p.message);
  });

  (config.users ?? []).forEach((u, i) => {
    const at = ['users', i] as PathSegment[];
    if (u.home_dir !== undefined && !isAbsolute(u.home_dir)) add([...at, 'home_dir'], 'must be an absolute path');
    if (u.home_dir === undefined && !config.data_provider?.users_base_dir && providerName(u.filesystem?.provider) === 'local') {
      // Allowed: defaults to <data_dir>/users/<username>.
    }
    checkHashLiteral(u.password, [...at, 'password'], add);
    if (u.permissions && Object.keys(u.permissions).length > 0 && !u.permissions['/'])
      add([...at, 'permissions'], 'permissions for the root directory "/" must be set');
    (u.public_keys ?? []).forEach((k, j) => {
      const parsed = parsePublicKey(k);
      if (!parsed.ok) add([...at, 'public_keys', j], parsed.error);
    });
    checkFilesystem(u.filesystem, [...at, 'filesystem'], add);
    for (const p of filePatternProblems(u.filters?.file_patterns)) add([...at, 'filters', 'file_patterns', ...p.path], p.message);
    mountProblems(u.virtual_folders, folderNames, [...at, 'virtual_folders'], add);
    for (const p of groupMappingProblems(u.groups, groupNames)) add([...at, 'groups', ...p.path], p.message);
  });

  (config.admins ?? []).forEach((a, i) => checkHashLiteral(a.password, ['admins', i, 'password'], add));

  const ranges = config.ftpd?.passive_port_range;
  if (ranges && ranges.start !== undefined && ranges.end !== undefined && ranges.start > ranges.end)
    add(['ftpd', 'passive_port_range'], 'start must not be greater than end');
  for (const p of defenderProblems(config.common?.defender, config.data_provider?.driver)) add(['common', 'defender', ...p.path], p.message);
  for (const p of rateLimiterProblems(config.common?.rate_limiters)) add(['common', 'rate_limiters', ...p.path], p.message);
  const ipListKeys = new Set<string>();
  (config.ip_lists ?? []).forEach((e, i) => {
    const problem = ipListEntryProblem(e);
    if (problem) return add(['ip_lists', i, problem.field], problem.message);
    const key = `${e.type}_${normaliseIpOrNet(e.ipornet)}`;
    if (ipListKeys.has(key)) add(['ip_lists', i, 'ipornet'], `duplicate entry "${e.ipornet}" in list type ${e.type}`);
    ipListKeys.add(key);
  });
  for (const p of eventProblems(config)) add(p.path, p.message);
  // As SFTPGo: a message needs a sender, the From address or else the login.
  if (config.smtp?.host && !config.smtp.from && !config.smtp.user) add(['smtp', 'from'], 'from and user cannot both be empty when host is set');
  telemetryProblems(config.telemetry, (key, message) => add(['telemetry', key], message));
  for (const p of proxyProblems(config)) add(p.path, p.message);
  for (const p of gitBootstrapProblems(config)) add(p.path, p.message);
  for (const p of assertionProblems(config)) add(p.path, p.message);
  return problems;
}

/** Event actions and rules: unique names, what each type and trigger needs, rules naming declared actions. */
function eventProblems(config: Config): Problem[] {
  const out: Problem[] = [];
  const enabledCommands = config.common?.event_manager?.enabled_commands ?? [];
  duplicates(config.event_actions ?? [], (a) => a.name, (i, name) => out.push({ path: ['event_actions', i, 'name'], message: `duplicate event action "${name}"` }));
  duplicates(config.event_rules ?? [], (r) => r.name, (i, name) => out.push({ path: ['event_rules', i, 'name'], message: `duplicate event rule "${name}"` }));
  (config.event_actions ?? []).forEach((a, i) => {
    for (const p of eventActionProblems(a, { enabledCommands })) out.push({ path: ['event_actions', i, ...p.path], message: p.message });
  });
  const declared = new Map((config.event_actions ?? []).map((a) => [a.name, a]));
  (config.event_rules ?? []).forEach((r, i) => {
    for (const p of eventRuleProblems(r, (name) => declared.get(name)))
      out.push({ path: ['event_rules', i, ...p.path], message: p.message.replace(/^event action "(.*)" does not exist$/, 'event action "$1" is not declared in event_actions') });
  });
  return out;
}

export const GIT_LOCAL_ONLY = "with reconcile.git set this key belongs in the repository's config file: the local file only says where to fetch it";

/**
 * With reconcile.git the local file only says where the config is; the repository's file is the
 * whole config. A key beside it would be silently shadowed, so it is refused instead (the data dir
 * stays: the store and the fetched revisions live there before any config is read).
 */
function gitBootstrapProblems(config: Config): Problem[] {
  if (!config.reconcile?.git) return [];
  const message = GIT_LOCAL_ONLY;
  const kept: Record<string, string> = { reconcile: 'git', data_provider: 'data_dir' };
  const out: Problem[] = [];
  const token = config.reconcile.git.token;
  if (typeof token === 'object' && 'generate' in token)
    out.push({ path: ['reconcile', 'git', 'token'], message: 'a token is issued by the Git server, it cannot be generated: give it with env or file' });
  for (const [key, value] of Object.entries(config)) {
    const only = kept[key];
    if (only === undefined) out.push({ path: [key], message });
    else for (const sub of Object.keys(value as object)) if (sub !== only) out.push({ path: [key, sub], message });
  }
  return out;
}

/** An assertion names a user the file declares and, when it gives one, a single client address. */
function assertionProblems(config: Config): Problem[] {
  const out: Problem[] = [];
  const users = new Set((config.users ?? []).map((u) => u.username));
  (config.assertions ?? []).forEach((a, i) => {
    if (!users.has(a.user)) out.push({ path: ['assertions', i, 'user'], message: `user "${a.user}" is not declared in users` });
    if (a.ip !== undefined && !parseAddress(a.ip)) out.push({ path: ['assertions', i, 'ip'], message: `"${a.ip}" is not an IP address` });
  });
  return out;
}

/** PROXY protocol keys: valid source lists, and each binding kind's own switch (SFTPGo's names). */
function proxyProblems(config: Config): Problem[] {
  const out: Problem[] = [];
  for (const field of ['proxy_allowed', 'proxy_skipped'] as const)
    (config.common?.[field] ?? []).forEach((entry, i) => {
      if (!isAddressOrCidr(entry)) out.push({ path: ['common', field, i], message: `"${entry}" is not an IP address or CIDR network` });
    });
  return out;
}

/** A list of mounts: each folder declared, no two paths overlapping, no . or .. segments. */
function mountProblems(mounts: readonly VirtualFolder[] | undefined, folderNames: ReadonlySet<string> | undefined, at: PathSegment[], add: (p: PathSegment[], m: string) => void): void {
  const seen: string[] = [];
  (mounts ?? []).forEach((vf, j) => {
    const vp = vf.virtual_path.replace(/\/+$/, '');
    if (folderNames && !folderNames.has(vf.name)) add([...at, j, 'name'], `folder "${vf.name}" is not declared in folders`);
    const clash = seen.find((s) => s === vp || s.startsWith(vp + '/') || vp.startsWith(s + '/'));
    if (clash) add([...at, j, 'virtual_path'], `overlaps virtual folder at ${clash}`);
    if (vp.split('/').some((seg) => seg === '..' || seg === '.')) add([...at, j, 'virtual_path'], 'must not contain . or .. segments');
    seen.push(vp);
  });
}

/**
 * A user's group mappings, as SFTPGo validates them: each group known, none named twice, at most
 * one primary. `known` is every group name (the YAML's, or the store's for an API body).
 */
export function groupMappingProblems(mappings: readonly GroupMapping[] | undefined, known: ReadonlySet<string>): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  let primary: string | undefined;
  (mappings ?? []).forEach((m, j) => {
    if (!known.has(m.name)) out.push({ path: [j, 'name'], message: `group "${m.name}" is not declared in groups` });
    if (seen.has(m.name)) out.push({ path: [j, 'name'], message: `the group "${m.name}" is duplicated` });
    seen.add(m.name);
    if (m.type === 1) {
      if (primary !== undefined) out.push({ path: [j, 'type'], message: `only one primary group is allowed ("${primary}" is primary already)` });
      primary ??= m.name;
    }
  });
  return out;
}

/**
 * A group's own checks: its filesystem and file patterns as a user's, its mounts against the
 * declared folders (undefined: the names are not checked here).
 */
export function groupProblems(g: Group, folderNames: ReadonlySet<string> | undefined): Problem[] {
  const out: Problem[] = [];
  const add = (path: PathSegment[], message: string) => out.push({ path, message });
  checkFilesystem(g.user_settings?.filesystem, ['user_settings', 'filesystem'], add);
  for (const p of filePatternProblems(g.user_settings?.filters?.file_patterns)) add(['user_settings', 'filters', 'file_patterns', ...p.path], p.message);
  mountProblems(g.virtual_folders, folderNames, ['virtual_folders'], add);
  return out;
}

function duplicates<T>(items: T[], name: (t: T) => string, report: (index: number, name: string) => void): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const n = name(item);
    if (seen.has(n)) report(i, n);
    seen.add(n);
  });
}

const CONFIG_KEY = { s3: 's3config', gcs: 'gcsconfig', azblob: 'azblobconfig', crypt: 'cryptconfig', sftp: 'sftpconfig' } as const;

function checkFilesystem(fs: Filesystem | undefined, at: PathSegment[], add: (p: PathSegment[], m: string) => void): void {
  if (!fs) return;
  const provider = providerName(fs.provider);
  if (provider !== 'crypt' && fs.cryptconfig?.storage !== undefined)
    add([...at, 'cryptconfig', 'storage'], `only used with provider crypt (provider is ${provider})`);
  if (provider === 'local') return;
  const key = CONFIG_KEY[provider];
  if (!fs[key]) add(at, `${key} is required for provider ${provider}`);
  // Encrypted storage on another backend takes that backend's usual block, beside cryptconfig.
  const storage = provider === 'crypt' ? cryptStorage(fs) : provider;
  if (provider === 'crypt' && storage !== 'local' && !fs[CONFIG_KEY[storage]])
    add([...at, 'cryptconfig', 'storage'], `${CONFIG_KEY[storage]} is required beside cryptconfig for storage ${storage}`);
  if (storage === 'azblob') {
    const az = fs.azblobconfig;
    if (az && !az.sas_url && !az.container) add([...at, 'azblobconfig', 'container'], 'required unless sas_url is set');
  }
}

/**
 * What the schema cannot say about a filesystem block (the chosen provider's config block, the
 * block crypt's storage names, an Azure container), for records that do not come from the YAML:
 * API bodies, login hooks' answers, imports. Paths are relative to the block.
 */
export function filesystemProblems(fs: Filesystem | undefined): Problem[] {
  const out: Problem[] = [];
  checkFilesystem(fs, [], (path, message) => out.push({ path, message }));
  return out;
}

/** A folder on local disk needs an absolute mapped_path (the YAML's folders and API bodies alike). */
export function folderPathProblems(f: Pick<Folder, 'mapped_path' | 'filesystem'>): Problem[] {
  const provider = providerName(f.filesystem?.provider);
  if ((provider === 'local' || (provider === 'crypt' && cryptStorage(f.filesystem) === 'local')) && !f.mapped_path)
    return [{ path: [], message: `mapped_path is required for a ${provider} folder` }];
  if (f.mapped_path && !isAbsolute(f.mapped_path)) return [{ path: ['mapped_path'], message: 'must be an absolute path' }];
  return [];
}

function cryptStorage(fs: Filesystem | undefined): NonNullable<NonNullable<Filesystem['cryptconfig']>['storage']> {
  return fs?.cryptconfig?.storage ?? 'local';
}

/** A literal that starts like a hash but does not parse is a mistake, not a clear password to hash. */
function checkHashLiteral(value: unknown, at: PathSegment[], add: (p: PathSegment[], m: string) => void): void {
  if (typeof value === 'string' && hasKnownHashPrefix(value) && !isPasswordHash(value))
    add(at, 'looks like a password hash but is malformed or in an unsupported format');
}

/**
 * filters.file_patterns: absolute, distinct paths, at least one pattern each, valid shell patterns.
 * Paths in the problems are relative to the file_patterns list (the REST API checks bodies too).
 */
export function filePatternProblems(filters: readonly PatternsFilter[] | undefined): Problem[] {
  const out: Problem[] = [];
  const add = (path: PathSegment[], message: string) => out.push({ path, message });
  const paths = new Set<string>();
  (filters ?? []).forEach((f, j) => {
    if (!f.path.startsWith('/')) add([j, 'path'], `must be an absolute virtual path, got "${f.path}"`);
    else if (f.path.split('/').some((seg) => seg === '..' || seg === '.')) add([j, 'path'], 'must not contain . or .. segments');
    const key = f.path.length > 1 ? f.path.replace(/\/+$/, '') : f.path;
    if (paths.has(key)) add([j, 'path'], `duplicate file patterns filter for path "${key}"`);
    paths.add(key);
    if (!f.allowed_patterns?.length && !f.denied_patterns?.length) add([j], 'set allowed_patterns or denied_patterns (or both)');
    for (const kind of ['allowed_patterns', 'denied_patterns'] as const) {
      (f[kind] ?? []).forEach((p, k) => {
        const err = patternError(p.toLowerCase());
        if (err) add([j, kind, k], err);
      });
    }
  });
  return out;
}

// Run over every user of the config at start (see lib/jit.ts).
oneShot(checkSemantics, checkFilesystem, checkHashLiteral, filePatternProblems, duplicates);
