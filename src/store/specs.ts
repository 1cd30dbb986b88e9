// How a declared user, folder, group or admin (from the YAML, an API body, a login hook's answer or an
// import) becomes the spec the store keeps: defaults filled in, provider numbers as names, only the
// chosen backend's block, secrets in their stored form (file references absolute, literals
// sealed), keys sorted; and its password as an intent, hashed later only when it changed.
import { resolve } from 'node:path';
import type { Admin, EventAction, EventRule, Filesystem, Folder, Group, User } from '../config/schema-types.ts';
import type { SecretBox } from '../config/sealed.ts';
import { definition, resolveSecret, storedSecrets, type Secret } from '../config/secrets.ts';
import { isPasswordHash } from '../auth/passwords.ts';
import { META_FIELDS, providerName, pruneActionOptions, type AdminSpec, type EventActionSpec, type EventRuleSpec, type FolderSpec, type GroupSpec, type UserSpec } from '../model.ts';
import { sortKeys } from './canonical.ts';
import { oneShot } from '../lib/jit.ts';


/** What the config says about a password, before any hashing. */
export type PasswordIntent =
  | { kind: 'none' }
  | { kind: 'hash'; hash: string }
  | { kind: 'clear'; clear: string }
  | { kind: 'generate' };

export interface Desired<S> {
  spec: S;
  password: PasswordIntent;
}

/**
 * Where relative references are resolved (the config file's directory, or the data dir for API
 * bodies and hook answers) and the key literal secrets are sealed with.
 */
export interface SecretsContext {
  baseDir: string;
  secrets: SecretBox;
  /**
   * False: passwords are not read (explain and assertions decide access, which no password takes
   * part in, and must work where the secrets are not at hand). Default true.
   */
  resolvePasswords?: boolean;
}

export function passwordIntent(secret: Secret | undefined, ctx: SecretsContext): PasswordIntent {
  if (secret === undefined || ctx.resolvePasswords === false) return { kind: 'none' };
  const value = resolveSecret(secret, ctx.baseDir, ctx.secrets);
  if (value === undefined) return { kind: 'generate' };
  if (value === '') return { kind: 'none' };
  return isPasswordHash(value) ? { kind: 'hash', hash: value } : { kind: 'clear', clear: value };
}

export function desiredUser(u: User, usersBase: string, ctx: SecretsContext): Desired<UserSpec> {
  const { password, ...rest } = u;
  const spec = {
    ...rest,
    status: u.status ?? 1,
    home_dir: u.home_dir ?? resolve(usersBase, u.username),
    permissions: u.permissions && Object.keys(u.permissions).length > 0 ? u.permissions : { '/': ['*'] },
    // Secrets in their stored form: file references absolute, literals sealed (config/secrets.ts).
    filesystem: storedSecrets(normaliseFilesystem(u.filesystem), definition('Filesystem'), ctx),
    ...(u.filters ? { filters: storedSecrets(u.filters, definition('UserFilters'), ctx) } : {}),
  } as UserSpec;
  return { spec: sortKeys(spec) as UserSpec, password: passwordIntent(password, ctx) };
}

export function desiredAdmin(a: Admin, ctx: SecretsContext): Desired<AdminSpec> {
  const { password, ...rest } = a;
  // API keys and the TOTP secret in their stored form, like every other secret: a literal sealed (config/secrets.ts).
  const spec = {
    ...storedSecrets(rest, definition('Admin'), ctx),
    status: a.status ?? 1,
    permissions: a.permissions ?? [],
    ...(a.filters ? { filters: adminFilters(a.filters, ctx) } : {}),
  } as AdminSpec;
  return { spec: sortKeys(spec) as AdminSpec, password: passwordIntent(password, ctx) };
}

/**
 * An admin's filters as stored: the TOTP secret in stored form (a literal sealed, a file reference
 * absolute).
 */
export function adminFilters(filters: NonNullable<Admin['filters']>, ctx: SecretsContext): NonNullable<Admin['filters']> {
  const totp = filters.totp_config;
  if (totp?.secret === undefined) return filters;
  const node = definition('Admin').properties!.filters!;
  return storedSecrets({ ...filters, totp_config: totp }, node, ctx);
}

export function normaliseFolder(f: Folder, ctx: SecretsContext): FolderSpec {
  return sortKeys({ ...f, filesystem: storedSecrets(normaliseFilesystem(f.filesystem), definition('Filesystem'), ctx) }) as FolderSpec;
}

/**
 * A group as stored: its user_settings without the values that mean "unset" to the group merge
 * (0, "", false, empty lists and objects, a local filesystem: SFTPGo's GET sends them all), and
 * its filesystem normalised and sealed like a user's, so a GET sent back is not a change.
 */
export function normaliseGroup(g: Group, ctx: SecretsContext): GroupSpec {
  const { user_settings, ...rest } = g;
  const settings = pruneUnset(user_settings) as Group['user_settings'];
  if (settings?.filesystem) {
    const fs = normaliseFilesystem(settings.filesystem);
    if (fs.provider === 'local') delete settings.filesystem;
    else settings.filesystem = storedSecrets(fs, definition('Filesystem'), ctx);
  }
  return sortKeys({ ...rest, ...(settings ? { user_settings: settings } : {}) }) as GroupSpec;
}

/**
 * An event action as stored: only the options block its type reads, its HTTP password in stored
 * form (a file reference absolute, a literal sealed).
 */
export function normaliseEventAction(a: EventAction, ctx: SecretsContext): EventActionSpec {
  return sortKeys(storedSecrets(pruneActionOptions(a), definition('EventAction'), ctx)) as EventActionSpec;
}

/** An event rule as stored: status 1 unless disabled, conditions without empty lists. */
export function normaliseEventRule(r: EventRule): EventRuleSpec {
  const conditions = pruneUnset(r.conditions) as EventRule['conditions'];
  const actions = r.actions.map((a) => {
    const options = pruneUnset(a.relation_options) as EventRule['actions'][number]['relation_options'];
    return { name: a.name, ...(a.order !== undefined ? { order: a.order } : {}), ...(options ? { relation_options: options } : {}) };
  });
  return sortKeys({ ...r, status: r.status ?? 1, ...(conditions ? { conditions } : { conditions: undefined }), actions }) as EventRuleSpec;
}

/** A copy without values that mean "not set", or undefined when nothing is left. */
function pruneUnset(v: unknown): unknown {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return undefined;
  if (Array.isArray(v)) return v.length > 0 ? v : undefined;
  if (typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    // Permission lists and patterns are values, not settings to prune inside.
    const kept = k === 'permissions' || k === 'file_patterns' ? (x && typeof x === 'object' && Object.keys(x).length > 0 ? x : undefined) : pruneUnset(x);
    if (kept !== undefined) out[k] = kept;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Provider numbers become names; only the block for the chosen provider is kept. */
export function normaliseFilesystem(fs: Filesystem | undefined): Filesystem {
  const provider = providerName(fs?.provider);
  const out: Filesystem = { provider };
  const key = ({ s3: 's3config', gcs: 'gcsconfig', azblob: 'azblobconfig', crypt: 'cryptconfig', sftp: 'sftpconfig' } as const)[
    provider as Exclude<typeof provider, 'local'>
  ];
  if (key && fs?.[key]) (out as Record<string, unknown>)[key] = fs[key];
  // Encrypted storage on another backend keeps that backend's block too.
  const storage = provider === 'crypt' ? fs?.cryptconfig?.storage : undefined;
  const inner = storage && storage !== 'local' ? (({ s3: 's3config', gcs: 'gcsconfig', azblob: 'azblobconfig', sftp: 'sftpconfig' }) as const)[storage] : undefined;
  if (inner && fs?.[inner]) (out as Record<string, unknown>)[inner] = fs[inner];
  if (fs?.rename_dirs !== undefined) out.rename_dirs = fs.rename_dirs;
  if (fs?.rename_dir_max_objects !== undefined) out.rename_dir_max_objects = fs.rename_dir_max_objects;
  return out;
}

/** The stored record without bookkeeping and password fields: what the config controls. */
export function specOf(stored: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(stored)) {
    if ((META_FIELDS as readonly string[]).includes(k) || k === 'password') continue;
    out[k] = v;
  }
  return out;
}

// Run over every declared user at start (see lib/jit.ts).
oneShot(desiredUser, desiredAdmin, normaliseFolder, normaliseGroup, pruneUnset, normaliseFilesystem, passwordIntent);
