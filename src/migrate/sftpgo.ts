// Import from SFTPGo: its `dumpdata` backup (`{users, folders, admins, api_keys, version, ...}`)
// mapped onto our model (the config schema's User / Folder / Admin), driven by the schema itself:
// every field our schema knows is copied, secrets (SFTPGo `{status, payload, key, additional_data}`)
// are unwrapped when Plain, and anything else is reported. `toYaml` prints the result as config so a
// team can move its state into Git.
import { Document } from 'yaml';
import schema from '../../sftpgo.schema.json' with { type: 'json' };
import { validateBody, type FieldError } from '../config/validate.ts';
import type { Admin, Folder, User } from '../config/schema-types.ts';
import { formatPath, type PathSegment } from '../config/load.ts';
import { AppError } from '../errors.ts';

export interface ImportResult {
  users: User[];
  folders: Folder[];
  admins: Admin[];
  /** Fields dropped or adjusted, one line each: review them before relying on the import. */
  warnings: string[];
  /** Quota usage carried over, keyed `user:<name>` / `folder:<name>`. */
  usage: Record<string, { size: number; files: number }>;
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

/** Bookkeeping SFTPGo writes that our model does not store: dropped without a warning. */
const IGNORED: ReadonlySet<string> = new Set([
  'id', 'created_at', 'updated_at', 'last_login', 'used_quota_size', 'used_quota_files', 'last_quota_update',
  'used_upload_data_transfer', 'used_download_data_transfer', 'first_download', 'first_upload', 'last_password_change',
  'users', 'groups', 'oidc_custom_fields', 'role', 'has_password', 'mode',
]);

interface Ctx {
  warnings: string[];
  errors: FieldError[];
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

/** An SFTPGo secret: Plain → its payload; empty → undefined; encrypted → an error (no key here). */
function mapSecret(v: unknown, path: PathSegment[], ctx: Ctx): string | undefined {
  if (typeof v === 'string') return v || undefined;
  if (!v || typeof v !== 'object') return undefined;
  const s = v as { status?: string; payload?: string };
  if (!s.payload) return undefined;
  if (s.status === 'Plain' || !s.status) return s.payload;
  ctx.errors.push({
    path: formatPath(path),
    message: `secret is encrypted (status ${s.status}) with the source server's key and cannot be decrypted here: export it from SFTPGo as Plain or set it again after the import`,
  });
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

/** Maps an SFTPGo backup; throws MigrationError listing every field that cannot be imported. */
export function importSftpgoDump(dump: unknown): ImportResult {
  if (!dump || typeof dump !== 'object' || Array.isArray(dump)) throw new MigrationError([{ path: '', message: 'not an SFTPGo backup: expected a JSON object' }]);
  const d = dump as Record<string, unknown>;
  const ctx: Ctx = { warnings: [], errors: [] };
  if (typeof d.version !== 'number') ctx.warnings.push('version: missing; assuming a current SFTPGo backup format');
  const folders = new Map<string, Folder>();
  const usage: ImportResult['usage'] = {};

  (Array.isArray(d.folders) ? d.folders : []).forEach((f: Record<string, unknown>, i: number) => {
    const folder = mapFolder(f, ['folders', i], ctx);
    if (folder.name) {
      folders.set(folder.name, folder);
      usage[`folder:${folder.name}`] = { size: num(f.used_quota_size), files: num(f.used_quota_files) };
    }
  });

  const users: User[] = [];
  (Array.isArray(d.users) ? d.users : []).forEach((u: Record<string, unknown>, i: number) => {
    const path: PathSegment[] = ['users', i];
    const { filesystem, virtual_folders, password, ...rest } = u;
    const user = (mapBySchema(rest, DEFS.User!, path, ctx) ?? {}) as User;
    if (typeof password === 'string' && password) user.password = password;
    const fs = mapFilesystem(filesystem, [...path, 'filesystem'], ctx);
    if (fs) user.filesystem = fs as User['filesystem'];
    if (Array.isArray(virtual_folders) && virtual_folders.length) {
      user.virtual_folders = virtual_folders.map((vf: Record<string, unknown>, j: number) => {
        const vpath = [...path, 'virtual_folders', j];
        const name = String(vf.name ?? '');
        // SFTPGo embeds the whole folder; the top-level folders list normally has it too.
        if (!folders.has(name)) {
          const { virtual_path: _v, quota_size: _q, quota_files: _f, ...def } = vf;
          void _v, void _q, void _f;
          folders.set(name, mapFolder(def, vpath, ctx));
          usage[`folder:${name}`] = { size: num(vf.used_quota_size), files: num(vf.used_quota_files) };
        }
        const mount: NonNullable<User['virtual_folders']>[number] = { name, virtual_path: String(vf.virtual_path ?? '') };
        if (typeof vf.quota_size === 'number') mount.quota_size = vf.quota_size;
        if (typeof vf.quota_files === 'number') mount.quota_files = vf.quota_files;
        return mount;
      });
    }
    users.push(user);
    if (user.username) usage[`user:${user.username}`] = { size: num(u.used_quota_size), files: num(u.used_quota_files) };
  });

  const admins: Admin[] = [];
  const knownAdminPerms = new Set((DEFS.Admin!.properties!.permissions!.items as { enum: string[] }).enum);
  (Array.isArray(d.admins) ? d.admins : []).forEach((a: Record<string, unknown>, i: number) => {
    const path: PathSegment[] = ['admins', i];
    const { permissions, password, ...rest } = a;
    const admin = (mapBySchema(rest, DEFS.Admin!, path, ctx) ?? {}) as Admin;
    if (typeof password === 'string' && password) admin.password = password;
    const perms = Array.isArray(permissions) ? (permissions as string[]) : [];
    for (const p of perms) if (!knownAdminPerms.has(p)) ctx.warnings.push(`${formatPath([...path, 'permissions'])}: "${p}" is not supported here, dropped`);
    admin.permissions = perms.filter((p) => knownAdminPerms.has(p)) as Admin['permissions'];
    admins.push(admin);
  });

  // SFTPGo keeps API keys apart, hashed, with the admin (scope 1) or user (scope 2) they belong to.
  (Array.isArray(d.api_keys) ? d.api_keys : []).forEach((k: Record<string, unknown>, i: number) => {
    const admin = admins.find((a) => a.username === k.admin);
    if (k.scope !== 1 || !admin) {
      ctx.warnings.push(`api_keys[${i}] (${String(k.name ?? '')}): only admin API keys are supported, dropped`);
      return;
    }
    if (typeof k.key !== 'string' || !k.key) return;
    (admin.api_keys ??= []).push({ name: String(k.name ?? k.key_id ?? `key${i}`), key: k.key, ...(num(k.expires_at) ? { expires_at: num(k.expires_at) } : {}) });
    admin.filters = { ...admin.filters, allow_api_key_auth: true };
  });
  for (const k of ['groups', 'roles', 'shares', 'event_actions', 'event_rules', 'ip_lists', 'configs'])
    if (Array.isArray(d[k]) && (d[k] as unknown[]).length) ctx.warnings.push(`${k}: ${(d[k] as unknown[]).length} entries not supported here, dropped`);

  const result: ImportResult = { users, folders: [...folders.values()], admins, warnings: ctx.warnings, usage };
  // Our schema has the last word: what passes here is what the YAML would accept.
  const check = (def: 'User' | 'Folder' | 'Admin', list: object[], key: string) =>
    list.forEach((item, i) => {
      for (const e of validateBody(def, item)) ctx.errors.push({ path: formatPath([key, i]) + (e.path ? `.${e.path}` : ''), message: e.message });
    });
  check('Folder', result.folders, 'folders');
  check('User', users, 'users');
  check('Admin', admins, 'admins');
  if (ctx.errors.length) throw new MigrationError(ctx.errors);
  return result;
}

/** The import as config YAML (folders, users, admins), with the warnings as a header comment. */
export function toYaml(result: ImportResult): string {
  const body: Record<string, unknown> = {};
  if (result.folders.length) body.folders = result.folders;
  if (result.users.length) body.users = result.users;
  if (result.admins.length) body.admins = result.admins;
  const doc = new Document(body);
  const notes = [
    'Imported from an SFTPGo backup. Password and API-key values are hashes (kept as SFTPGo stored them).',
    'Secrets such as access_secret are in clear: move them to { env: NAME } or { file: PATH } before committing.',
    ...result.warnings.map((w) => `warning: ${w}`),
  ];
  doc.commentBefore = notes.map((n) => ` ${n}`).join('\n');
  return doc.toString({ lineWidth: 0 });
}
