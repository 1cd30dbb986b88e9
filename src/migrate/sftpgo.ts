// Import from SFTPGo: its `dumpdata` backup (`{users, folders, admins, api_keys, version, ...}`)
// mapped onto our model (the config schema's User / Folder / Admin), driven by the schema itself:
// every field our schema knows is copied, secrets (SFTPGo `{status, payload, key, additional_data}`)
// are opened (sftpgo-kms.ts), and anything else is reported. What SFTPGo keeps beside a record's
// definition (usage, first transfers, last login, password change time, group membership) travels in
// `state`. A record whose secret cannot be opened is left out with its reason; the rest imports.
// `toYaml` prints the result as config so a team can move its state into Git.
import { posix } from 'node:path';
import { Document } from 'yaml';
import schema from '../../sftpgo.schema.json' with { type: 'json' };
import { validateBody, type FieldError } from '../config/validate.ts';
import { checkSemantics } from '../config/semantic.ts';
import type { Admin, EventAction, EventRule, Folder, Group, IPListEntry, Role, User } from '../config/schema-types.ts';
import { eventActionProblems, eventRuleProblems } from '../core/event-rules/model.ts';
import { pruneActionOptions } from '../model.ts';
import { ipListEntryProblem, ipListSpec } from '../core/ip-lists.ts';
import { formatPath, type PathSegment } from '../config/load.ts';
import { AppError } from '../errors.ts';
import { openSftpgoSecret } from './sftpgo-kms.ts';
import { checkShareSpec } from '../store/shares.ts';
import type { ShareRecord } from '../store/store.ts';
import { hasKnownHashPrefix, isPasswordHash } from '../auth/passwords.ts';

export interface ImportOptions {
  /** SFTPGo's kms.secrets.master_key: opens Secretbox secrets sealed in mode 1. */
  masterKey?: string;
  /**
   * common.event_manager.enabled_commands of the server imported into: a command action naming
   * another program is left out. Absent (a YAML export): every command is kept, the config decides.
   */
  enabledCommands?: readonly string[];
}

/** What SFTPGo keeps about a record besides its definition. */
export interface RecordState {
  /** Quota and transfer usage (bytes). */
  usage?: { size: number; files: number; upload: number; download: number };
  /** Epoch ms of the user's first upload / download (0: none yet). */
  first_upload?: number;
  first_download?: number;
  /** Epoch ms of the user's or admin's last login (0: never). */
  last_login?: number;
  /**
   * Fields stored on the record beside its definition: `last_password_change`. Shown on GET.
   */
  fields?: Record<string, unknown>;
}

export interface ImportResult {
  users: User[];
  folders: Folder[];
  groups: Group[];
  admins: Admin[];
  roles: Role[];
  /** IP list entries (allow list, defender, rate limiters' safe list), networks normalised. */
  ip_lists: IPListEntry[];
  /** Event actions of the types this server runs, and the rules that run only those. */
  event_actions: EventAction[];
  event_rules: EventRule[];
  /** Share links, as SFTPGo keeps them (password hashes, uses, times): runtime state, not config. */
  shares: ShareRecord[];
  /** Fields dropped or adjusted and records not supported yet, one line each: review them. */
  warnings: string[];
  /** Records left out (a secret that does not open, a folder left out under a mount), with why. */
  skipped: FieldError[];
  /** Keyed `user:<name>`, `folder:<name>`, `admin:<name>`. */
  state: Record<string, RecordState>;
}

/** An import that cannot be done faithfully: every problem, with its path in the backup. */
export class MigrationError extends AppError {
  constructor(readonly details: FieldError[]) {
    super('invalid', `the SFTPGo backup cannot be imported: ${details.length} problem(s), first: ${details[0]?.path}: ${details[0]?.message}`);
  }
}

type Node = { $ref?: string; properties?: Record<string, Node>; items?: Node; additionalProperties?: Node | boolean; type?: string | string[]; const?: unknown };
const DEFS = schema.definitions as unknown as Record<string, Node>;
const SECRET_REF = '#/definitions/Secret';

/** SFTPGo's provider numbers; 6 (HTTP) has no backend here. */
const PROVIDERS: Record<number, string> = { 0: 'local', 1: 's3', 2: 'gcs', 3: 'azblob', 4: 'crypt', 5: 'sftp' };
const PROVIDER_BLOCK: Record<string, string> = { s3: 's3config', gcs: 'gcsconfig', azblob: 'azblobconfig', crypt: 'cryptconfig', sftp: 'sftpconfig' };

/**
 * Bookkeeping SFTPGo writes that is carried in `state` or has no meaning here (ids, times of this
 * row): not copied, without a warning.
 */
const IGNORED: ReadonlySet<string> = new Set([
  'id', 'created_at', 'updated_at', 'last_login', 'used_quota_size', 'used_quota_files', 'last_quota_update',
  'used_upload_data_transfer', 'used_download_data_transfer', 'first_download', 'first_upload', 'last_password_change',
  'users', 'admins', 'groups', 'oidc_custom_fields', 'role', 'has_password', 'mode',
]);

interface Ctx {
  warnings: string[];
  /** Problems that refuse the whole import (values our schema refuses). */
  errors: FieldError[];
  /** Secrets of the record being mapped that do not open: the record is left out. */
  recordErrors: FieldError[];
  masterKey?: string;
}

function deref(n: Node): Node {
  let node = n;
  while (node.$ref && node.$ref !== SECRET_REF) node = DEFS[node.$ref.replace('#/definitions/', '')]!;
  return node;
}

/** Empty at every level: `{secret: {}}` or `[[]]` carry nothing worth a warning. */
function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === '') return true;
  if (Array.isArray(v)) return v.every(isEmpty);
  if (typeof v === 'object') return Object.values(v as object).every(isEmpty);
  return false;
}

/** An SFTPGo secret opened to its clear value (stored sealed by the records layer); empty → undefined. */
function mapSecret(v: unknown, path: PathSegment[], ctx: Ctx): string | undefined {
  const opened = openSftpgoSecret(v, { masterKey: ctx.masterKey });
  if (opened.ok) return opened.value;
  ctx.recordErrors.push({ path: formatPath(path), message: opened.reason });
  return undefined;
}

/** Copies `value` along our schema: known fields kept (secrets unwrapped), unknown non-empty ones reported. */
function mapBySchema(value: unknown, node: Node, path: PathSegment[], ctx: Ctx): unknown {
  if (node.$ref === SECRET_REF) return mapSecret(value, path, ctx);
  const n = deref(node);
  if (n.$ref === SECRET_REF) return mapSecret(value, path, ctx);
  if (Array.isArray(value)) {
    if (!n.items) return value;
    const out = value.map((v, i) => mapBySchema(v, n.items!, [...path, i], ctx)).filter((v) => v !== undefined);
    return out.length ? out : undefined;
  }
  if (value && typeof value === 'object' && n.properties) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = n.properties[k];
      if (!child) {
        if (!IGNORED.has(k) && !isEmpty(v) && v !== false && v !== 0) ctx.warnings.push(`${formatPath([...path, k])}: not supported here, dropped`);
        continue;
      }
      // A key accepted only with SFTPGo's "off" value: another value is a feature this server lacks.
      if ('const' in child && v !== child.const) {
        if (!isEmpty(v) && v !== false && v !== 0) ctx.warnings.push(`${formatPath([...path, k])}: ${JSON.stringify(v)} is not supported here, dropped`);
        continue;
      }
      const mapped = mapBySchema(v, child, [...path, k], ctx);
      if (!isEmpty(mapped)) out[k] = mapped;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (value && typeof value === 'object' && typeof n.additionalProperties === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapBySchema(v, n.additionalProperties, [...path, k], ctx);
    return out;
  }
  return value;
}

function mapFilesystem(fs: unknown, path: PathSegment[], ctx: Ctx): Record<string, unknown> | undefined {
  if (!fs || typeof fs !== 'object') return undefined;
  const raw = fs as Record<string, unknown>;
  const p = raw.provider ?? 0;
  const provider = typeof p === 'number' ? PROVIDERS[p] : typeof p === 'string' && Object.values(PROVIDERS).includes(p) ? p : undefined;
  if (!provider) {
    ctx.errors.push({ path: formatPath([...path, 'provider']), message: p === 6 ? 'the HTTP filesystem (provider 6) is not supported' : `unknown provider ${JSON.stringify(p)}` });
    return undefined;
  }
  const out: Record<string, unknown> = { provider };
  const block = PROVIDER_BLOCK[provider];
  if (block && raw[block]) {
    const mapped = mapBySchema(raw[block], DEFS.Filesystem!.properties![block]!, [...path, block], ctx);
    if (mapped) out[block] = mapped;
  }
  // Configs of providers not selected are dropped, as SFTPGo ignores them too.
  return provider === 'local' ? undefined : out;
}

function mapFolder(raw: Record<string, unknown>, path: PathSegment[], ctx: Ctx): Folder {
  const { filesystem, ...rest } = raw;
  const out = (mapBySchema(rest, DEFS.Folder!, path, ctx) ?? {}) as Folder;
  const fs = mapFilesystem(filesystem, [...path, 'filesystem'], ctx);
  if (fs) out.filesystem = fs as Folder['filesystem'];
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function usageOf(r: Record<string, unknown>): NonNullable<RecordState['usage']> {
  return { size: num(r.used_quota_size), files: num(r.used_quota_files), upload: num(r.used_upload_data_transfer), download: num(r.used_download_data_transfer) };
}

/**
 * Maps one record with its own list of secret problems: when a secret does not open, the record is
 * left out (listed in `skipped` with the reason) and undefined returned.
 */
function mapRecord<T>(ctx: Ctx, skipped: FieldError[], label: string, fn: () => T): T | undefined {
  const outer = ctx.recordErrors;
  ctx.recordErrors = [];
  try {
    const out = fn();
    if (!ctx.recordErrors.length) return out;
    for (const e of ctx.recordErrors) skipped.push({ path: e.path, message: `${e.message}; ${label} not imported` });
    return undefined;
  } finally {
    ctx.recordErrors = outer;
  }
}

/** SFTPGo's rule for a mount's subpath: absolute, no empty, `.` or `..` segment, no backslash. */
function isCanonicalSubpath(s: string): boolean {
  return s.length > 1 && s.startsWith('/') && !s.includes('\\') && s.slice(1).split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** The folder re-rooted at `subpath`, as SFTPGo serves a mount with a subpath. */
function rerooted(folder: Folder, subpath: string): Folder {
  const fs = folder.filesystem as Record<string, Record<string, unknown> | string> | undefined;
  const provider = String(fs?.provider ?? 'local');
  if (provider === 'local' || provider === 'crypt') return { ...folder, mapped_path: posix.join(folder.mapped_path ?? '/', subpath) };
  const block = PROVIDER_BLOCK[provider]!;
  const conf = { ...(fs![block] as Record<string, unknown>) };
  if (provider === 'sftp') conf.prefix = posix.join(String(conf.prefix ?? '/'), subpath);
  else conf.key_prefix = `${String(conf.key_prefix ?? '')}${subpath.slice(1)}/`;
  return { ...folder, filesystem: { ...fs, [block]: conf } as Folder['filesystem'] };
}

/** A folder name for a re-rooted mount that no other folder has. */
function subpathFolderName(base: string, subpath: string, taken: (name: string) => boolean): string {
  const stem = `${base}_${subpath.slice(1).replace(/[^A-Za-z0-9._@ -]/g, '_')}`.slice(0, 250);
  let name = stem;
  for (let n = 2; taken(name); n++) name = `${stem}_${n}`;
  return name;
}

function warnNotYet(d: Record<string, unknown>, ctx: Ctx): void {
  const configs = d.configs;
  if (configs && typeof configs === 'object' && !isEmpty(configs)) {
    const keys = Object.entries(configs).filter(([, v]) => !isEmpty(v)).map(([k]) => k);
    ctx.warnings.push(`configs (${keys.join(', ')}): SFTPGo's stored configurations are not supported yet, not imported`);
  }
}

/** The semantic problem an import keeps: a role or group the backup names but does not hold. */
const DANGLING_REFERENCE = /^(role|group) ".*" is not declared in (roles|groups)$/;

/** Maps an SFTPGo backup; throws MigrationError listing every value our schema or semantic checks refuse. */
export function importSftpgoDump(dump: unknown, opts: ImportOptions = {}): ImportResult {
  if (!dump || typeof dump !== 'object' || Array.isArray(dump)) throw new MigrationError([{ path: '', message: 'not an SFTPGo backup: expected a JSON object' }]);
  const d = dump as Record<string, unknown>;
  const ctx: Ctx = { warnings: [], errors: [], recordErrors: [], masterKey: opts.masterKey };
  if (typeof d.version !== 'number') ctx.warnings.push('version: missing; assuming a current SFTPGo backup format');
  const folders = new Map<string, { folder: Folder; path: PathSegment[] }>();
  const notImported = new Set<string>();
  const skipped: FieldError[] = [];
  const state: ImportResult['state'] = {};

  (Array.isArray(d.folders) ? d.folders : []).forEach((f: Record<string, unknown>, i: number) => {
    const name = String(f.name ?? '');
    const folder = mapRecord(ctx, skipped, `folder "${name}"`, () => mapFolder(f, ['folders', i], ctx));
    if (!folder) notImported.add(name);
    else if (folder.name) {
      folders.set(folder.name, { folder, path: ['folders', i] });
      state[`folder:${folder.name}`] = { usage: usageOf(f) };
    }
  });

  const scope = { ctx, folders, notImported, skipped, state };
  const groups: { group: Group; path: PathSegment[] }[] = [];
  (Array.isArray(d.groups) ? d.groups : []).forEach((g: Record<string, unknown>, i: number) => {
    const path: PathSegment[] = ['groups', i];
    const group = mapRecord(ctx, skipped, `group "${String(g.name ?? '')}"`, () => mapGroup(g, path, scope));
    if (group) groups.push({ group, path });
  });

  const users: { user: User; path: PathSegment[] }[] = [];
  (Array.isArray(d.users) ? d.users : []).forEach((u: Record<string, unknown>, i: number) => {
    const path: PathSegment[] = ['users', i];
    const label = `user "${String(u.username ?? '')}"`;
    const user = mapRecord(ctx, skipped, label, () => mapUser(u, path, scope));
    if (!user) return;
    users.push({ user, path });
    const fields: Record<string, unknown> = {};
    if (num(u.last_password_change)) fields.last_password_change = num(u.last_password_change);
    // Checked against the schema below: a `groups` that is not a list is refused there.
    (Array.isArray(user.groups) ? user.groups : []).forEach((g, j) => {
      if (!groups.some((x) => x.group.name === g.name))
        ctx.warnings.push(`${formatPath([...path, 'groups', j])}: group "${g.name}" is not in the backup; the mapping takes effect once a group of that name exists`);
    });
    // SFTPGo shows a user without a role with an empty one.
    if (typeof u.role === 'string' && u.role) user.role = u.role;
    state[`user:${user.username}`] = {
      usage: usageOf(u),
      ...(num(u.first_upload) ? { first_upload: num(u.first_upload) } : {}),
      ...(num(u.first_download) ? { first_download: num(u.first_download) } : {}),
      ...(num(u.last_login) ? { last_login: num(u.last_login) } : {}),
      ...(Object.keys(fields).length ? { fields } : {}),
    };
  });

  const admins: { admin: Admin; path: PathSegment[] }[] = [];
  const knownAdminPerms = new Set((DEFS.Admin!.properties!.permissions!.items as { enum: string[] }).enum);
  const adminFilters = deref(DEFS.Admin!.properties!.filters!).properties ?? {};
  (Array.isArray(d.admins) ? d.admins : []).forEach((a: Record<string, unknown>, i: number) => {
    const path: PathSegment[] = ['admins', i];
    const { permissions, password, role, groups, ...rest } = a;
    const name = String(a.username ?? '');
    // Admin two-factor exists only if our Admin has totp_config; otherwise say what the admin loses.
    const filters = rest.filters as Record<string, unknown> | undefined;
    if (filters && !adminFilters.totp_config) {
      const { totp_config: totp, recovery_codes: _r, ...others } = filters;
      void _r;
      rest.filters = others;
      if ((totp as { enabled?: boolean } | undefined)?.enabled)
        ctx.warnings.push(`${formatPath([...path, 'filters', 'totp_config'])}: two-factor authentication for admins is not supported here, dropped: admin "${name}" logs in with the password alone`);
    }
    const admin = mapRecord(ctx, skipped, `admin "${name}"`, () => {
      const out = (mapBySchema(rest, DEFS.Admin!, path, ctx) ?? {}) as Admin;
      const hash = storedHash(password, path, ctx);
      if (hash) out.password = hash;
      return out;
    });
    if (!admin) return notImported.add(`admin:${name}`);
    const perms = Array.isArray(permissions) ? (permissions as string[]) : [];
    for (const p of perms) if (!knownAdminPerms.has(p)) ctx.warnings.push(`${formatPath([...path, 'permissions'])}: "${p}" is not supported here, dropped`);
    admin.permissions = perms.filter((p) => knownAdminPerms.has(p)) as Admin['permissions'];
    if (typeof role === 'string' && role) admin.role = role;
    if (Array.isArray(groups) && groups.length) ctx.warnings.push(`${formatPath([...path, 'groups'])}: admin group settings are not supported yet, dropped`);
    if (num(a.last_login)) state[`admin:${name}`] = { ...state[`admin:${name}`], last_login: num(a.last_login) };
    admins.push({ admin, path });
  });

  // SFTPGo keeps API keys apart, hashed, with the admin (scope 1) or user (scope 2) they belong to.
  (Array.isArray(d.api_keys) ? d.api_keys : []).forEach((k: Record<string, unknown>, i: number) => {
    const label = `api_keys[${i}] (${String(k.name ?? '')})`;
    if (k.scope === 1 && notImported.has(`admin:${String(k.admin)}`)) return ctx.warnings.push(`${label}: its admin "${String(k.admin)}" was not imported, dropped`);
    const admin = admins.find((a) => a.admin.username === k.admin)?.admin;
    if (k.scope !== 1 || !admin) return ctx.warnings.push(`${label}: only admin API keys are supported, dropped`);
    if (typeof k.key !== 'string' || !k.key) return;
    (admin.api_keys ??= []).push({ name: String(k.name ?? k.key_id ?? `key${i}`), key: k.key, ...(num(k.expires_at) ? { expires_at: num(k.expires_at) } : {}) });
    admin.filters = { ...admin.filters, allow_api_key_auth: true };
  });
  const ipLists = ipListsOf(d.ip_lists, ctx);
  const eventActions = eventActionsOf(d.event_actions, ctx, skipped, opts);
  const eventRules = eventRulesOf(d.event_rules, ctx, new Map(eventActions.map((a) => [a.name, a])));
  const shares = sharesOf(d.shares, ctx, (name) => users.some((u) => u.user.username === name));
  warnNotYet(d, ctx);

  const roles: { role: Role; path: PathSegment[] }[] = [];
  (Array.isArray(d.roles) ? d.roles : []).forEach((r: Record<string, unknown>, i: number) => {
    const role: Role = { name: String(r.name ?? '') };
    if (typeof r.description === 'string' && r.description) role.description = r.description;
    roles.push({ role, path: ['roles', i] });
  });

  // Our schema has the last word: what passes here is what the YAML would accept.
  const check = (def: 'User' | 'Folder' | 'Group' | 'Admin' | 'Role' | 'EventAction' | 'EventRule', list: { item: object; path: PathSegment[] }[]) =>
    list.forEach(({ item, path }) => {
      for (const e of validateBody(def, item)) ctx.errors.push({ path: formatPath(path) + (e.path ? `.${e.path}` : ''), message: e.message });
    });
  check('Folder', [...folders.values()].map((f) => ({ item: f.folder, path: f.path })));
  check('Group', groups.map((g) => ({ item: g.group, path: g.path })));
  check('User', users.map((u) => ({ item: u.user, path: u.path })));
  check('Admin', admins.map((a) => ({ item: a.admin, path: a.path })));
  check('Role', roles.map((r) => ({ item: r.role, path: r.path })));
  check('EventAction', eventActions.map((a, i) => ({ item: a, path: ['event_actions', i] })));
  check('EventRule', eventRules.map((r, i) => ({ item: r, path: ['event_rules', i] })));
  if (ctx.errors.length) throw new MigrationError(ctx.errors);
  // So do the loader's semantic checks (a user's root permissions, ...): an import never writes a
  // config that does not load. A role or group named without being in the backup is the one
  // exception, on purpose: loaddata finds it in the store, and the YAML carries a warning.
  const records: Record<string, PathSegment[][]> = {
    users: users.map((u) => u.path),
    admins: admins.map((a) => a.path),
    groups: groups.map((g) => g.path),
    folders: [...folders.values()].map((f) => f.path),
    roles: roles.map((r) => r.path),
  };
  const asConfig = { roles: roles.map((r) => r.role), folders: [...folders.values()].map((f) => f.folder), groups: groups.map((g) => g.group), users: users.map((u) => u.user), admins: admins.map((a) => a.admin), ip_lists: ipLists, event_actions: eventActions, event_rules: eventRules };
  for (const p of checkSemantics(asConfig)) {
    if (DANGLING_REFERENCE.test(p.message)) continue;
    const [kind, index, ...rest] = p.path;
    const record = typeof kind === 'string' && typeof index === 'number' ? records[kind]?.[index] : undefined;
    ctx.errors.push({ path: formatPath(record ? [...record, ...rest] : p.path), message: p.message });
  }
  if (ctx.errors.length) throw new MigrationError(ctx.errors);
  return {
    users: users.map((u) => u.user),
    folders: [...folders.values()].map((f) => f.folder),
    groups: groups.map((g) => g.group),
    admins: admins.map((a) => a.admin),
    roles: roles.map((r) => r.role),
    ip_lists: ipLists,
    event_actions: eventActions,
    event_rules: eventRules,
    shares,
    warnings: ctx.warnings,
    skipped,
    state,
  };
}

/**
 * SFTPGo's event actions as config entries: only the options block of the action's type, its
 * secret opened. A type this server does not run, or one it would refuse (a command not enabled),
 * is left out with a warning; a secret that does not open leaves it out with its reason.
 */
function eventActionsOf(list: unknown, ctx: Ctx, skipped: FieldError[], opts: ImportOptions): EventAction[] {
  const out: EventAction[] = [];
  (Array.isArray(list) ? list : []).forEach((a: Record<string, unknown>, i: number) => {
    const path: PathSegment[] = ['event_actions', i];
    const name = String(a?.name ?? '');
    const options = a?.options && typeof a.options === 'object' ? (a.options as Record<string, unknown>) : {};
    const fs = options.fs_config as Record<string, unknown> | undefined;
    // SFTPGo sends an empty compress block with every filesystem action.
    const fsConfig = fs && typeof fs === 'object' && isEmpty(fs.compress) ? (({ compress: _c, ...rest }) => rest)(fs) : fs;
    const pruned = pruneActionOptions({ name, type: Number(a?.type), ...(typeof a?.description === 'string' ? { description: a.description } : {}), options: { ...options, ...(fsConfig ? { fs_config: fsConfig } : {}) } } as EventAction);
    const mapped = mapRecord(ctx, skipped, `event action "${name}"`, () => mapBySchema(pruned, DEFS.EventAction!, path, ctx) as EventAction | undefined);
    if (!mapped) return;
    const cmd = mapped.options?.cmd_config?.cmd;
    const problems = eventActionProblems(mapped, { enabledCommands: opts.enabledCommands ?? (cmd ? [cmd] : []) });
    if (problems.length) return void ctx.warnings.push(`${formatPath(path)} (${name}): ${formatPath(problems[0]!.path)}: ${problems[0]!.message}, not imported`);
    out.push(mapped);
  });
  return out;
}

/**
 * SFTPGo's event rules as config entries: each action reference reduced to its name, order and
 * relation options. A reference to an action left out is dropped with a warning; a rule this server
 * would refuse then (a trigger it does not run, no action left) is left out with a warning.
 */
function eventRulesOf(list: unknown, ctx: Ctx, actions: ReadonlyMap<string, EventAction>): EventRule[] {
  const out: EventRule[] = [];
  (Array.isArray(list) ? list : []).forEach((r: Record<string, unknown>, i: number) => {
    const path: PathSegment[] = ['event_rules', i];
    const name = String(r?.name ?? '');
    const refs = (Array.isArray(r?.actions) ? r.actions : []).flatMap((x: Record<string, unknown>) => {
      const ref = { name: String(x?.name ?? ''), ...(typeof x?.order === 'number' ? { order: x.order } : {}), ...(x?.relation_options ? { relation_options: x.relation_options } : {}) };
      if (actions.has(ref.name)) return [ref];
      ctx.warnings.push(`${formatPath(path)} (${name}): event action "${ref.name}" was not imported, dropped from the rule`);
      return [];
    });
    const { actions: _a, ...rest } = r ?? {};
    const mapped = mapBySchema({ ...rest, actions: refs }, DEFS.EventRule!, path, ctx) as EventRule | undefined;
    if (!mapped) return;
    if (!mapped.actions?.length) return void ctx.warnings.push(`${formatPath(path)} (${name}): no action left, not imported`);
    const problems = eventRuleProblems(mapped, (n) => actions.get(n));
    if (problems.length) return void ctx.warnings.push(`${formatPath(path)} (${name}): ${formatPath(problems[0]!.path)}: ${problems[0]!.message}, not imported`);
    out.push(mapped);
  });
  return out;
}

/**
 * SFTPGo's shares, checked as SFTPGo checks a restored one (an expiration already past is kept);
 * one that does not pass, or whose user was left out of the import, is dropped with a warning.
 */
function sharesOf(list: unknown, ctx: Ctx, userImported: (name: string) => boolean): ShareRecord[] {
  const out: ShareRecord[] = [];
  (Array.isArray(list) ? list : []).forEach((raw: Record<string, unknown>, i: number) => {
    const id = typeof raw?.id === 'string' ? raw.id : '';
    const label = `shares[${i}] (${String(raw?.id ?? raw?.name ?? '')})`;
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return void ctx.warnings.push(`${label}: its id is not a share id, not imported`);
    const username = typeof raw.username === 'string' ? raw.username : '';
    if (!userImported(username)) return void ctx.warnings.push(`${label}: its user "${username}" is not imported, not imported`);
    try {
      const { password, ...spec } = checkShareSpec(raw, { now: Date.now(), restore: true, defaultName: id });
      const rec: ShareRecord = { ...spec, id, username, created_at: num(raw.created_at) || Date.now(), updated_at: num(raw.updated_at) || num(raw.created_at) || Date.now() };
      if (password) {
        // SFTPGo stores shares' passwords hashed; a clear one would be hashed on save there too.
        if (!isPasswordHash(password)) return void ctx.warnings.push(`${label}: its password is not a hash, not imported`);
        rec.password = password;
      }
      if (num(raw.last_use_at)) rec.last_use_at = num(raw.last_use_at);
      if (num(raw.used_tokens)) rec.used_tokens = num(raw.used_tokens);
      out.push(rec);
    } catch (err) {
      ctx.warnings.push(`${label}: ${(err as Error).message}, not imported`);
    }
  });
  return out;
}

/** SFTPGo's IP list entries as config entries; one it would refuse is dropped with a warning. */
function ipListsOf(list: unknown, ctx: Ctx): IPListEntry[] {
  const out: IPListEntry[] = [];
  (Array.isArray(list) ? list : []).forEach((e: Record<string, unknown>, i: number) => {
    const problem = ipListEntryProblem(e ?? {});
    if (problem) return void ctx.warnings.push(`ip_lists[${i}].${problem.field} (${String(e?.ipornet ?? '')}): ${problem.message}, not imported`);
    const spec = ipListSpec({ ipornet: String(e.ipornet), type: e.type as IPListEntry['type'], mode: Number(e.mode ?? 1), protocols: Number(e.protocols ?? 0), ...(typeof e.description === 'string' && e.description ? { description: e.description } : {}) });
    out.push({ ipornet: spec.ipornet, type: spec.type, mode: spec.mode, protocols: spec.protocols, ...(spec.description ? { description: spec.description } : {}) });
  });
  return out;
}

interface UserScope {
  ctx: Ctx;
  folders: Map<string, { folder: Folder; path: PathSegment[] }>;
  notImported: Set<string>;
  skipped: FieldError[];
  state: ImportResult['state'];
}

/**
 * A user's or admin's stored password. One that starts like a hash SFTPGo keeps but that this
 * server cannot verify would be refused by the config loader, so the record is left out, saying why.
 */
function storedHash(password: unknown, path: PathSegment[], ctx: Ctx): string | undefined {
  if (typeof password !== 'string' || !password) return undefined;
  if (hasKnownHashPrefix(password) && !isPasswordHash(password)) {
    ctx.recordErrors.push({ path: formatPath([...path, 'password']), message: 'a password hash in a format this server cannot verify' });
    return undefined;
  }
  return password;
}

function mapUser(u: Record<string, unknown>, path: PathSegment[], scope: UserScope): User {
  const { ctx } = scope;
  const { filesystem, virtual_folders, password, ...rest } = u;
  const user = (mapBySchema(rest, DEFS.User!, path, ctx) ?? {}) as User;
  const hash = storedHash(password, path, ctx);
  if (hash) user.password = hash;
  const fs = mapFilesystem(filesystem, [...path, 'filesystem'], ctx);
  if (fs) user.filesystem = fs as User['filesystem'];
  const mounts = mapMounts(virtual_folders, path, scope);
  if (mounts) user.virtual_folders = mounts;
  return user;
}

/**
 * A group: its user_settings mapped as a user's (filesystem by provider, filters this server's
 * group merge does not apply dropped with a warning), its mounts as a user's.
 */
function mapGroup(g: Record<string, unknown>, path: PathSegment[], scope: UserScope): Group {
  const { ctx } = scope;
  const { user_settings, virtual_folders, ...rest } = g;
  const group = (mapBySchema(rest, DEFS.Group!, path, ctx) ?? {}) as Group;
  if (user_settings && typeof user_settings === 'object') {
    const { filesystem, ...settings } = user_settings as Record<string, unknown>;
    const at = [...path, 'user_settings'];
    const mapped = (mapBySchema(settings, DEFS.GroupUserSettings!, at, ctx) ?? {}) as NonNullable<Group['user_settings']>;
    const fs = mapFilesystem(filesystem, [...at, 'filesystem'], ctx);
    if (fs) mapped.filesystem = fs as NonNullable<Group['user_settings']>['filesystem'];
    if (Object.keys(mapped).length) group.user_settings = mapped;
  }
  const mounts = mapMounts(virtual_folders, path, scope);
  if (mounts) group.virtual_folders = mounts;
  return group;
}

/** A user's or a group's virtual folders: each folder SFTPGo embeds is imported once; a subpath becomes a folder of its own. */
function mapMounts(virtual_folders: unknown, path: PathSegment[], scope: UserScope): User['virtual_folders'] {
  const { ctx, folders, notImported } = scope;
  if (!Array.isArray(virtual_folders) || !virtual_folders.length) return undefined;
  return virtual_folders.map((vf: Record<string, unknown>, j: number) => {
    const vpath = [...path, 'virtual_folders', j];
    let name = String(vf.name ?? '');
    // SFTPGo embeds the whole folder; the top-level folders list normally has it too.
    if (!folders.has(name) && !notImported.has(name)) {
      const { virtual_path: _v, quota_size: _q, quota_files: _f, subpath: _s, ...def } = vf;
      void _v, void _q, void _f, void _s;
      const folder = mapRecord(ctx, scope.skipped, `folder "${name}"`, () => mapFolder(def, vpath, ctx));
      if (folder) {
        folders.set(name, { folder, path: vpath });
        scope.state[`folder:${name}`] = { usage: usageOf(vf) };
      } else notImported.add(name);
    }
    const base = folders.get(name);
    if (!base) ctx.recordErrors.push({ path: formatPath([...vpath, 'name']), message: `folder "${name}" was not imported` });
    const subpath = typeof vf.subpath === 'string' && vf.subpath !== '/' ? vf.subpath : '';
    if (base && subpath) {
      if (!isCanonicalSubpath(subpath)) ctx.errors.push({ path: formatPath([...vpath, 'subpath']), message: `"${subpath}" is not a canonical absolute path` });
      else {
        const wanted = rerooted(base.folder, subpath);
        const same = [...folders.values()].find((f) => JSON.stringify({ ...f.folder, name: '' }) === JSON.stringify({ ...wanted, name: '' }));
        const derived = same?.folder.name ?? subpathFolderName(name, subpath, (n) => folders.has(n) || notImported.has(n));
        if (!same) folders.set(derived, { folder: { ...wanted, name: derived }, path: vpath });
        ctx.warnings.push(`${formatPath([...vpath, 'subpath'])}: folder "${name}" mounted at its subpath "${subpath}" is imported as folder "${derived}", rooted there (its quota usage is counted apart from "${name}")`);
        name = derived;
      }
    }
    const mount: NonNullable<User['virtual_folders']>[number] = { name, virtual_path: String(vf.virtual_path ?? '') };
    if (typeof vf.quota_size === 'number') mount.quota_size = vf.quota_size;
    if (typeof vf.quota_files === 'number') mount.quota_files = vf.quota_files;
    return mount;
  });
}

/** The import as config YAML (folders, users, admins), with the warnings as a header comment. */
export function toYaml(result: ImportResult): string {
  const body: Record<string, unknown> = {};
  if (result.roles.length) body.roles = result.roles;
  if (result.folders.length) body.folders = result.folders;
  if (result.groups.length) body.groups = result.groups;
  if (result.users.length) body.users = result.users;
  if (result.admins.length) body.admins = result.admins;
  if (result.ip_lists.length) body.ip_lists = result.ip_lists;
  if (result.event_actions.length) body.event_actions = result.event_actions;
  if (result.event_rules.length) body.event_rules = result.event_rules;
  const doc = new Document(body);
  const notes = [
    'Imported from an SFTPGo backup. Password and API-key values are hashes (kept as SFTPGo stored them).',
    'Secrets such as access_secret are in clear: move them to { env: NAME } or { file: PATH } before committing.',
    'Usage, first transfers, last_password_change and group mappings are state, not config: loaddata keeps them.',
    ...(result.shares.length ? [`${result.shares.length} share link(s) are state, not config: import the backup with loaddata --from-sftpgo to keep them.`] : []),
    ...result.warnings.map((w) => `warning: ${w}`),
    ...result.skipped.map((e) => `not imported: ${e.path}: ${e.message}`),
  ];
  doc.commentBefore = notes.map((n) => ` ${n}`).join('\n');
  return doc.toString({ lineWidth: 0 });
}
