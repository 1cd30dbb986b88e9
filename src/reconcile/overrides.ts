// Overrides as `plan` shows them: changes made through the API to a resource the YAML declares,
// kept beside the config's record and layered on top of it by the records layer
// (store/records.ts), which also writes them.
import type { Kind } from '../model.ts';
import type { Override, ReadTx } from '../store/store.ts';

export type { Override };

export interface OverrideSummary {
  kind: Kind;
  name: string;
  /** Top-level field names (values are not listed: they may hold password hashes). */
  fields: string[];
  updated_at: number;
  updated_by: string;
}

/** Every override in the store, in key order: what `sftpgo plan` prints beside the plan. */
export async function listOverrides(store: ReadTx): Promise<OverrideSummary[]> {
  const out: OverrideSummary[] = [];
  for await (const [, o] of store.entries('overrides'))
    out.push({ kind: o.kind, name: o.name, fields: Object.keys(o.fields).sort(), updated_at: o.updated_at, updated_by: o.updated_by });
  return out;
}

/** Human-readable drift lines for `plan`: `~ override user alice (quota_size, status) by admin at <iso>`. */
export function formatOverrides(list: OverrideSummary[]): string {
  if (list.length === 0) return '';
  const lines = list.map((o) => `  override ${o.kind} ${o.name} (${o.fields.join(', ')}) by ${o.updated_by} at ${new Date(o.updated_at).toISOString()}`);
  return `drift: runtime overrides kept on top of the config, not undone by applying it (drop with DELETE /api/v2/overrides/...):\n${lines.join('\n')}\n`;
}
