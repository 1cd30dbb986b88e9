// Where each field of a user comes from, as the user's page shows it: the YAML file, an override
// written through the API or the web admin on top of it (who and when), the runtime record of a
// user created at run time, or the server's own bookkeeping (usage, last login).

export type Origin =
  | { kind: 'yaml' }
  | { kind: 'override'; by: string; at: number }
  | { kind: 'runtime' }
  | { kind: 'state' };

/** Fields the server keeps itself, whoever declared the record. */
const STATE_FIELDS: ReadonlySet<string> = new Set([
  'id', 'created_at', 'updated_at', 'last_login', 'source', 'used_quota_size', 'used_quota_files', 'last_quota_update',
  'used_upload_data_transfer', 'used_download_data_transfer', 'first_upload', 'first_download', 'last_password_change',
]);

export interface RenderedOverride {
  fields: Record<string, unknown>;
  updated_at: number;
  updated_by: string;
}

/** How a list labels a record (user, folder, admin): declared in the YAML, with an override, or created at run time. */
export function recordSource(user: Record<string, unknown>): 'yaml' | 'override' | 'api' {
  if (user.source !== 'config') return 'api';
  return user.overrides ? 'override' : 'yaml';
}

/** The origin of top-level `field` of a user rendered by the API (with its `overrides`). */
export function fieldOrigin(user: Record<string, unknown>, field: string): Origin {
  if (STATE_FIELDS.has(field)) return { kind: 'state' };
  if (user.source !== 'config') return { kind: 'runtime' };
  const o = user.overrides as RenderedOverride | undefined;
  const overridden = field === 'has_password' ? 'password' : field;
  if (o && overridden in o.fields) return { kind: 'override', by: o.updated_by, at: o.updated_at };
  return { kind: 'yaml' };
}

/** The fields a user's page lists, in a stable order: the definition first, then the server's state. */
export function shownFields(user: Record<string, unknown>): string[] {
  // A field the override cleared is absent from the record but still listed, as overridden.
  const cleared = Object.keys((user.overrides as RenderedOverride | undefined)?.fields ?? {}).filter((k) => k !== 'password' && !(k in user));
  const keys = [...Object.keys(user), ...cleared].filter((k) => k !== 'overrides' && k !== 'username');
  const own = keys.filter((k) => !STATE_FIELDS.has(k)).sort();
  const state = keys.filter((k) => STATE_FIELDS.has(k)).sort();
  return [...own, ...state];
}
