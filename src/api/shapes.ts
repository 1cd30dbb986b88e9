// SFTPGo's JSON shapes for users, folders and groups on the API, both ways. Out: providers as SFTPGo's
// numbers, every stored secret as `{status: "Redacted"}`, no password. In: what a GET returned is
// accepted back (read-only fields and a virtual folder's embedded folder fields dropped; SFTPGo
// fields this server does not implement accepted only at their empty value; unused backend blocks
// and their empty secret stubs dropped), and SFTPGo's secret objects become ours: `Plain` sets a
// secret, while `Redacted`, an empty stub or an encrypted secret from another server keep the stored
// one (they are dropped here and keepSecrets() restores the stored value). The YAML's forms
// (`{env}`, `{file}`) stay for the YAML; `{sealed}` (our at-rest form, as dumps carry it) is accepted.
import type { FieldError } from '../config/validate.ts';
import { definition, forEachSecret, mapSecrets, type Secret } from '../config/secrets.ts';
import { parseProvider, providerNumber, type Kind } from '../model.ts';

/** What every stored secret looks like in a GET: SFTPGo's redacted secret, with nothing to open. */
export const REDACTED_SECRET = Object.freeze({ status: 'Redacted' });

/** SFTPGo's secret statuses (openapi `Secret.status`). */
export const SECRET_STATUSES = ['Plain', 'AES-256-GCM', 'Secretbox', 'GCP', 'AWS', 'VaultTransit', 'AzureKeyVault', 'Redacted'] as const;

export type ShapedKind = Extract<Kind, 'user' | 'folder' | 'group'>;

/** The schema definition each kind's body is validated against. */
const DEFINITION_OF = { user: 'User', folder: 'Folder', group: 'Group' } as const satisfies Record<ShapedKind, string>;

/** Fields a GET returns that are state, not definition: ignored on input, as SFTPGo ignores them. */
const READ_ONLY: Record<ShapedKind, readonly string[]> = {
  user: [
    'id', 'has_password', 'created_at', 'updated_at', 'last_login', 'used_quota_size', 'used_quota_files', 'last_quota_update',
    'used_upload_data_transfer', 'used_download_data_transfer', 'first_upload', 'first_download', 'last_password_change',
    'source', 'overrides',
  ],
  folder: ['id', 'created_at', 'updated_at', 'used_quota_size', 'used_quota_files', 'last_quota_update', 'users', 'groups', 'source', 'overrides'],
  group: ['id', 'created_at', 'updated_at', 'users', 'admins', 'source', 'overrides'],
};

/** What a mount carries; the rest of an embedded virtual folder is the folder's own (read-only here). */
const MOUNT_FIELDS = ['name', 'virtual_path', 'quota_size', 'quota_files'];

/**
 * Fields SFTPGo's GET returns that this server does not implement: accepted at their empty value
 * (what SFTPGo sends when they are unset), refused otherwise, so that a setting is never silently
 * dropped.
 */
const UNSUPPORTED: Record<string, readonly string[]> = {
  user: ['oidc_custom_fields'],
  filters: ['access_time', 'additional_emails', 'bandwidth_limits', 'default_shares_expiration', 'external_auth_cache_time', 'max_shares_expiration', 'password_strength', 'tls_certs'],
  // SFTPGo's BaseUserFilters a group carries that the group merge here does not apply.
  groupFilters: [
    'access_time', 'allow_api_key_auth', 'bandwidth_limits', 'default_shares_expiration', 'external_auth_cache_time', 'is_anonymous',
    'max_shares_expiration', 'password_strength', 'tls_certs', 'tls_username', 'two_factor_protocols', 'user_type', 'web_client',
  ],
  mount: ['subpath'],
  osconfig: ['read_buffer_size', 'write_buffer_size'],
  cryptconfig: ['read_buffer_size', 'write_buffer_size'],
};

const BLOCK_OF = { s3: 's3config', gcs: 'gcsconfig', azblob: 'azblobconfig', crypt: 'cryptconfig', sftp: 'sftpconfig' } as const;
const BLOCKS = ['osconfig', 's3config', 'gcsconfig', 'azblobconfig', 'cryptconfig', 'sftpconfig', 'httpconfig'] as const;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** 0, "", false, [], null, or an object of only such values: what SFTPGo sends for an unset field. */
function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.values(v).every(isEmptyValue);
  return false;
}

// ---- out --------------------------------------------------------------------------------------

function filesystemOut(fs: unknown): unknown {
  if (!isObject(fs)) return fs;
  const redacted = mapSecrets(fs, definition('Filesystem'), () => ({ ...REDACTED_SECRET }));
  // SFTPGo's session_token is a plain string, which a secret must never be shown as: it is left out
  // (and, left out of a PUT, kept).
  if (isObject(redacted.s3config) && redacted.s3config.session_token !== undefined) {
    const { session_token: _hidden, ...s3 } = redacted.s3config;
    void _hidden;
    redacted.s3config = s3;
  }
  return { ...redacted, provider: providerNumber(parseProvider(fs.provider)) };
}

/** A stored user or folder (effective, usage added) as SFTPGo's API shows it. */
export function apiView(kind: ShapedKind, rec: Json): Json {
  const out = mapSecrets(rec, definition(DEFINITION_OF[kind]), () => ({ ...REDACTED_SECRET })) as Json;
  // SFTPGo's folders carry no times.
  if (kind === 'folder') {
    delete out.created_at;
    delete out.updated_at;
  }
  if (out.filesystem !== undefined) out.filesystem = filesystemOut(out.filesystem);
  if (isObject(out.user_settings) && out.user_settings.filesystem !== undefined) out.user_settings = { ...out.user_settings, filesystem: filesystemOut(out.user_settings.filesystem) };
  if (Array.isArray(out.virtual_folders))
    out.virtual_folders = out.virtual_folders.map((vf: unknown) => (isObject(vf) && vf.filesystem !== undefined ? { ...vf, filesystem: filesystemOut(vf.filesystem) } : vf));
  return out;
}

/**
 * An override's fields as a GET shows them: the same redaction and provider numbers; a password the
 * override sets is already shown as a placeholder by the caller.
 */
export function overrideView(kind: ShapedKind, fields: Json): Json {
  const { password, ...rest } = fields;
  const out = apiView(kind, rest);
  return password === undefined ? out : { ...out, password };
}

// ---- in ---------------------------------------------------------------------------------------

export interface AcceptOptions {
  /** POST: there is no stored value for a secret to keep. */
  creating: boolean;
}

/**
 * A request body in SFTPGo's shape turned into the config schema's shape (validated afterwards).
 * Problems that are about the shape, not the schema (an unsupported SFTPGo setting, an encrypted
 * secret nobody can open), are returned as field errors.
 */
export function acceptBody(kind: ShapedKind, input: Json, opts: AcceptOptions): { body: Json; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const body: Json = structuredClone(input);
  for (const f of READ_ONLY[kind]) delete body[f];
  // SFTPGo's default naming rules trim the name before saving it.
  const nameField = kind === 'user' ? 'username' : 'name';
  if (kind === 'group') acceptGroup(body, errors);
  if (typeof body[nameField] === 'string') body[nameField] = body[nameField].trim();
  if (kind === 'user') {
    dropUnsupported(body, UNSUPPORTED.user!, '', errors);
    if (isObject(body.filters)) {
      // Made by SFTPGo's web client with two-factor authentication; its API ignores them on input.
      delete body.filters.recovery_codes;
      dropUnsupported(body.filters, UNSUPPORTED.filters!, 'filters.', errors);
    }
    if (Array.isArray(body.virtual_folders)) body.virtual_folders = body.virtual_folders.map((vf, i) => acceptMount(vf, i, errors));
  }
  if (body.filesystem !== undefined) acceptFilesystem(body.filesystem, 'filesystem.', errors);
  acceptSecrets(body, kind, opts, errors);
  return { body, errors };
}

/** A group body: its user_settings as a user's (filters SFTPGo has and the merge does not apply refused when set), its mounts as a user's. */
function acceptGroup(body: Json, errors: FieldError[]): void {
  const settings = body.user_settings;
  if (isObject(settings)) {
    // SFTPGo sends "" for a path the group leaves unset.
    if (settings.home_dir === '') delete settings.home_dir;
    if (isObject(settings.filters) && settings.filters.start_directory === '') delete settings.filters.start_directory;
    if (isObject(settings.filters)) dropUnsupported(settings.filters, UNSUPPORTED.groupFilters!, 'user_settings.filters.', errors);
    if (settings.filesystem !== undefined) acceptFilesystem(settings.filesystem, 'user_settings.filesystem.', errors);
  }
  if (Array.isArray(body.virtual_folders)) body.virtual_folders = body.virtual_folders.map((vf, i) => acceptMount(vf, i, errors));
}

function dropUnsupported(obj: Json, fields: readonly string[], at: string, errors: FieldError[]): void {
  for (const f of fields) {
    if (!(f in obj)) continue;
    if (!isEmptyValue(obj[f])) errors.push({ path: `${at}${f}`, message: 'not supported by this server' });
    delete obj[f];
  }
}

function acceptMount(vf: unknown, i: number, errors: FieldError[]): unknown {
  if (!isObject(vf)) return vf;
  const out: Json = {};
  dropUnsupported(vf, UNSUPPORTED.mount!, `virtual_folders[${i}].`, errors);
  for (const f of MOUNT_FIELDS) if (vf[f] !== undefined) out[f] = vf[f];
  return out;
}

/**
 * SFTPGo sends a block for every backend, empty for those not in use; only the provider's block
 * (and, for encrypted storage elsewhere, that backend's) means anything.
 */
function acceptFilesystem(fs: unknown, at: string, errors: FieldError[]): void {
  if (!isObject(fs)) return;
  if (fs.provider === 6) {
    errors.push({ path: `${at}provider`, message: 'the HTTP filesystem (6) is not supported by this server' });
    return;
  }
  if (fs.provider === undefined) fs.provider = 0;
  const name = parseProvider(fs.provider);
  if (!name) return; // the schema says what is wrong
  const used = new Set<string>();
  if (name !== 'local') used.add(BLOCK_OF[name]);
  const storage = name === 'crypt' && isObject(fs.cryptconfig) ? fs.cryptconfig.storage : undefined;
  if (typeof storage === 'string' && storage !== 'local' && storage in BLOCK_OF) used.add(BLOCK_OF[storage as keyof typeof BLOCK_OF]);
  for (const b of BLOCKS) {
    if (fs[b] === undefined || used.has(b)) continue;
    // A local user's osconfig holds settings for the local backend: refused when set, as any
    // setting this server does not implement.
    if (b === 'osconfig' && (name === 'local' || name === 'crypt') && isObject(fs.osconfig)) dropUnsupported(fs.osconfig, UNSUPPORTED.osconfig!, `${at}osconfig.`, errors);
    delete fs[b];
  }
  if (isObject(fs.cryptconfig)) dropUnsupported(fs.cryptconfig, UNSUPPORTED.cryptconfig!, `${at}cryptconfig.`, errors);
}

/** SFTPGo's secret object (any status, or the empty stub), as opposed to our YAML forms. */
function isSecretObject(s: unknown): s is { status?: string; payload?: string } {
  if (!isObject(s)) return false;
  if ('env' in s || 'file' in s || 'generate' in s || 'sealed' in s) return false;
  return true;
}

function acceptSecrets(body: Json, kind: ShapedKind, opts: AcceptOptions, errors: FieldError[]): void {
  const edits: { path: (string | number)[]; value: Secret | undefined }[] = [];
  forEachSecret(body, (secret, path) => {
    if (!isSecretObject(secret)) return;
    const status = secret.status ?? '';
    const payload = secret.payload ?? '';
    const at = formatPath(path);
    if (status === 'Plain') {
      // A Plain secret with no payload clears the stored value ('' is dropped after keepSecrets).
      edits.push({ path, value: payload === '' ? '' : { status: 'Plain', payload } });
    } else if (status === '' && payload === '') {
      edits.push({ path, value: undefined });
    } else if (status === 'Redacted') {
      edits.push({ path, value: undefined });
    } else if ((SECRET_STATUSES as readonly string[]).includes(status)) {
      // SFTPGo keeps the stored secret when an encrypted one comes back; there is none on a POST,
      // and this server cannot open another server's ciphertext.
      if (opts.creating) errors.push({ path: at, message: `a secret encrypted by another server (status ${status}) cannot be read here: send it with status "Plain"` });
      edits.push({ path, value: undefined });
    } else {
      errors.push({ path: `${at}.status`, message: `must be one of ${SECRET_STATUSES.join(', ')}` });
    }
  }, definition(DEFINITION_OF[kind]));
  for (const e of edits) setAt(body, e.path, e.value);
}

function setAt(root: Json, path: (string | number)[], value: unknown): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  const last = path[path.length - 1]!;
  if (value === undefined) delete (node as Record<string | number, unknown>)[last];
  else (node as Record<string | number, unknown>)[last] = value;
}

function getAt(root: unknown, path: (string | number)[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === undefined || node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * PUT replaces the record, but a secret the body leaves out (or sent redacted, as an empty stub or
 * as another server's ciphertext) keeps its stored value, as long as the block holding it is still
 * there; a user's TOTP configuration is kept when the body's filters leave it out, as SFTPGo keeps
 * it. `current` is the stored (effective) record, undefined on a POST; the body is validated.
 */
export function keepSecrets(kind: ShapedKind, input: Json, current: Json | undefined): Json {
  const node = definition(DEFINITION_OF[kind]);
  // The login password has rules of its own (absent keeps it, "" removes it): see resources.ts.
  const { password, ...body } = structuredClone(input);
  if (current) {
    if (kind === 'user' && isObject(current.filters) && current.filters.totp_config !== undefined) {
      const filters = isObject(body.filters) ? body.filters : {};
      if (filters.totp_config === undefined) body.filters = { ...filters, totp_config: current.filters.totp_config };
    }
    forEachSecret(current, (stored, path) => {
      if (path.length === 1 && path[0] === 'password') return;
      const parent = getAt(body, path.slice(0, -1));
      if (!isObject(parent)) return;
      const key = path[path.length - 1] as string;
      if (parent[key] === undefined) parent[key] = stored;
    }, node);
  }
  // A Plain secret with an empty payload asked for no secret at all.
  const out = mapSecrets(body, node, (s) => (s === '' ? undefined : s));
  return password === undefined ? out : { ...out, password };
}
