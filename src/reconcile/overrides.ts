// Overrides: changes made through the API to a resource the YAML declares. They live in the
// `overrides` collection beside the config's record (key `<kind>:<name>`), hold only the top-level
// fields that differ from it, and are layered on top of it by effective.ts. Reconcile rewrites the
// base record and leaves the override alone; a reconcile that deletes the record drops it.
import type { Kind } from '../model.ts';
import type { Override, ReadTx, WriteTx } from '../store/store.ts';
import { canonical } from './canonical.ts';

export type { Override };

/** Fields an override may never carry: bookkeeping owned by the store. */
const NOT_OVERRIDABLE = new Set(['id', 'created_at', 'updated_at', 'source', 'username', 'name']);

export function overrideKey(kind: Kind, name: string): string {
  return `${kind}:${name}`;
}

export function getOverride(tx: ReadTx, kind: Kind, name: string): Override | undefined {
  return tx.get('overrides', overrideKey(kind, name));
}

/**
 * The record with the override's fields on top. A field set to `null` in the override removes the
 * base's value (the API was asked to clear it).
 */
export function layer<T extends object>(base: T, override: Override | undefined): T {
  if (!override) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(override.fields)) {
    if (NOT_OVERRIDABLE.has(k)) continue;
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out as T;
}

/**
 * The override that turns `base` into `wanted`: every top-level field of `wanted` whose value differs
 * from the base's, plus `null` for fields the base has and `wanted` clears. Returns undefined when
 * nothing differs (the override can be dropped).
 */
export function diffOverride(base: Record<string, unknown>, wanted: Record<string, unknown>, cleared: string[] = []): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(wanted)) {
    if (NOT_OVERRIDABLE.has(k) || v === undefined) continue;
    if (canonical(base[k]) !== canonical(v)) fields[k] = v;
  }
  for (const k of cleared) if (!NOT_OVERRIDABLE.has(k) && base[k] !== undefined && wanted[k] === undefined) fields[k] = null;
  return Object.keys(fields).length > 0 ? fields : undefined;
}

/** Writes (or, when `fields` is undefined, drops) the override of one resource. */
export function putOverride(tx: WriteTx, kind: Kind, name: string, fields: Record<string, unknown> | undefined, by: string, now = Date.now()): void {
  const key = overrideKey(kind, name);
  if (!fields) tx.remove('overrides', key);
  else tx.put('overrides', key, { kind, name, fields, updated_at: now, updated_by: by });
}

/** Drops an override; false when there was none. */
export function dropOverride(tx: WriteTx, kind: Kind, name: string): boolean {
  const key = overrideKey(kind, name);
  if (!tx.get('overrides', key)) return false;
  tx.remove('overrides', key);
  return true;
}

export interface OverrideSummary {
  kind: Kind;
  name: string;
  /** Top-level field names (values are not listed: they may hold password hashes). */
  fields: string[];
  updated_at: number;
  updated_by: string;
}

/** Every override in the store, in key order: what `sftpgo plan` prints beside the plan. */
export function listOverrides(store: ReadTx): OverrideSummary[] {
  const out: OverrideSummary[] = [];
  for (const [, o] of store.entries('overrides'))
    out.push({ kind: o.kind, name: o.name, fields: Object.keys(o.fields).sort(), updated_at: o.updated_at, updated_by: o.updated_by });
  return out;
}

/** Human-readable lines for `plan`: `~ override user alice (quota_size, status) by admin at <iso>`. */
export function formatOverrides(list: OverrideSummary[]): string {
  if (list.length === 0) return '';
  const lines = list.map((o) => `  override ${o.kind} ${o.name} (${o.fields.join(', ')}) by ${o.updated_by} at ${new Date(o.updated_at).toISOString()}`);
  return `runtime overrides kept on top of the config (drop with DELETE /api/v2/overrides/...):\n${lines.join('\n')}\n`;
}
