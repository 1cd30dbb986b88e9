// The user form of the web admin: the common fields (username, password, home dir, permissions for
// "/", status, quota, public keys) read from a posted form into the JSON body the REST API takes,
// so that the same acceptance, validation and write path (api/app.ts, api/resources.ts) applies.
// Editing starts from the user as the API renders it and replaces only the form's fields, as an
// API client does with GET then PUT.

/** The permissions the form offers for "/" (SFTPGo's names; "*" grants all). */
export const USER_PERMISSIONS = [
  '*', 'list', 'download', 'upload', 'overwrite', 'delete', 'delete_files', 'delete_dirs', 'rename', 'rename_files', 'rename_dirs',
  'create_dirs', 'create_symlinks', 'chmod', 'chown', 'chtimes', 'copy',
] as const;

/** The form's values, as a page shows them again after a refusal. */
export interface UserFormValues {
  username: string;
  home_dir: string;
  permissions: string[];
  enabled: boolean;
  quota_size: string;
  quota_files: string;
  public_keys: string;
}

type Posted = Record<string, string | File | (string | File)[]>;

function text(form: Posted, name: string): string {
  const v = form[name];
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one.trim() : '';
}

function all(form: Posted, name: string): string[] {
  const v = form[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
}

export function formValues(form: Posted): UserFormValues {
  return {
    username: text(form, 'username'),
    home_dir: text(form, 'home_dir'),
    permissions: all(form, 'permissions'),
    enabled: text(form, 'status') === '1',
    quota_size: text(form, 'quota_size'),
    quota_files: text(form, 'quota_files'),
    public_keys: text(form, 'public_keys'),
  };
}

/** The values a user record fills the edit form with. */
export function valuesOf(user: Record<string, unknown>): UserFormValues {
  const perms = (user.permissions as Record<string, string[]> | undefined)?.['/'] ?? [];
  return {
    username: String(user.username ?? ''),
    home_dir: String(user.home_dir ?? ''),
    permissions: [...perms],
    enabled: user.status === 1,
    quota_size: String(user.quota_size ?? 0),
    quota_files: String(user.quota_files ?? 0),
    public_keys: ((user.public_keys as string[] | undefined) ?? []).join('\n'),
  };
}

/** A number field: empty is 0; anything else must be a whole number (the schema checks the range). */
function whole(value: string, field: string, errors: string[]): number {
  if (value === '') return 0;
  if (!/^-?\d+$/.test(value)) {
    errors.push(`${field}: must be a whole number`);
    return 0;
  }
  return Number(value);
}

/**
 * The API body for the form: on top of `current` (the user as rendered, when editing) the form's
 * fields replace their counterparts; an empty password keeps the stored one.
 */
export function userBody(form: Posted, current?: Record<string, unknown>): { body: Record<string, unknown>; errors: string[] } {
  const v = formValues(form);
  const errors: string[] = [];
  const body: Record<string, unknown> = current ? structuredClone(current) : {};
  if (!current) body.username = v.username;
  const password = typeof form.password === 'string' ? form.password : '';
  if (password !== '') body.password = password;
  if (v.home_dir !== '') body.home_dir = v.home_dir;
  else delete body.home_dir;
  const permissions = { ...((body.permissions as Record<string, string[]> | undefined) ?? {}) };
  permissions['/'] = v.permissions;
  body.permissions = permissions;
  body.status = v.enabled ? 1 : 0;
  body.quota_size = whole(v.quota_size, 'quota_size', errors);
  body.quota_files = whole(v.quota_files, 'quota_files', errors);
  body.public_keys = v.public_keys.split(/\r?\n/).map((k) => k.trim()).filter((k) => k !== '');
  return { body, errors };
}
