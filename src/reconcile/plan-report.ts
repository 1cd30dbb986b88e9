// What `sftpgo plan` prints: the plan and the drift (runtime overrides kept on top of the config)
// as text for a terminal, JSON for scripts, or Markdown for a pull-request comment. Every form
// shows old and new values of the changed fields but never a secret: secret fields are read from
// the schema (as in config/secrets.ts) and replaced before anything is compared or printed.
import { definition, mapSecrets } from '../config/secrets.ts';
import { sortKeys } from '../store/canonical.ts';
import type { Action, Change, Plan } from './plan.ts';
import { formatOverrides, type OverrideSummary } from './overrides.ts';

export const PLAN_FORMATS = ['text', 'json', 'markdown'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

export interface PlanReport {
  plan: Plan;
  /** Overrides made through the API: applying the file keeps them, so they are drift, not changes. */
  drift: OverrideSummary[];
  /** Why serve would apply nothing of the file (a store other servers share has a newer revision). */
  older?: string;
}

type ChangeKind = Change['kind'];

/** One changed leaf of a resource: a value shown old → new, or a secret shown only as changed. */
export type FieldChange =
  | { path: string; secret: false; old: unknown; new: unknown }
  | { path: string; secret: true; change: 'set' | 'removed' | 'changed' };

// The order of the Markdown tables, and each kind's name as the config spells its section.
const KINDS: readonly { kind: ChangeKind; section: string; definition?: string }[] = [
  { kind: 'user', section: 'users', definition: 'User' },
  { kind: 'folder', section: 'folders', definition: 'Folder' },
  { kind: 'group', section: 'groups', definition: 'Group' },
  { kind: 'admin', section: 'admins', definition: 'Admin' },
  { kind: 'role', section: 'roles', definition: 'Role' },
  { kind: 'iplist', section: 'ip_lists' },
  { kind: 'event_action', section: 'event_actions', definition: 'EventAction' },
  { kind: 'event_rule', section: 'event_rules', definition: 'EventRule' },
];

const VERB: Record<Action, string> = { create: 'add', update: 'change', delete: 'destroy' };
const SIGN: Record<Action, string> = { create: '+', update: '~', delete: '-' };
// Longer values are cut: a pull-request comment is read, not diffed.
const SHORT = 40;
// Tables longer than this fold into a <details> block.
const FOLD_ROWS = 20;

/** A secret in a compared value: equal when the stored forms are, printed as "(secret)" at most. */
class Redacted {
  readonly #form: string;
  constructor(form: string) {
    this.#form = form;
  }
  sameAs(other: unknown): boolean {
    return other instanceof Redacted && other.#form === this.#form;
  }
  /** Only an equality key: never printed. */
  get key(): string {
    return `\u0000secret:${this.#form}`;
  }
  toJSON(): string {
    return '(secret)';
  }
}

function redacted(kind: ChangeKind, value: Record<string, unknown>): Record<string, unknown> {
  const def = KINDS.find((k) => k.kind === kind)?.definition;
  return def ? mapSecrets(value, definition(def), (s) => new Redacted(JSON.stringify(sortKeys(s)))) : value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Redacted);
}

/** Canonical JSON in which a secret is its stored form: for equality only, never printed. */
function fingerprint(v: unknown): string {
  return JSON.stringify(v, function (this: unknown, _k, value: unknown) {
    const raw = (this as Record<string, unknown> | undefined)?.[_k];
    if (raw instanceof Redacted) return raw.key;
    // Shallow: the replacer meets the children next, Redacted ones still whole.
    return isPlainObject(value) ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : value;
  });
}

function leafChanges(path: string, a: unknown, b: unknown, out: FieldChange[]): void {
  if (a instanceof Redacted || b instanceof Redacted) {
    if (a instanceof Redacted && a.sameAs(b)) return;
    out.push({ path, secret: true, change: a === undefined ? 'set' : b === undefined ? 'removed' : 'changed' });
    return;
  }
  // A block added or removed is walked like a changed one, so a secret inside it stays hidden.
  if ((isPlainObject(a) || a === undefined) && (isPlainObject(b) || b === undefined) && (a !== undefined || b !== undefined)) {
    const ao = a ?? {};
    const bo = b ?? {};
    for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) leafChanges(`${path}.${k}`, ao[k], bo[k], out);
    return;
  }
  if (fingerprint(a) === fingerprint(b)) return;
  // An array that differs only in its secrets would print the same on both sides.
  if (JSON.stringify(a) === JSON.stringify(b)) out.push({ path, secret: true, change: 'changed' });
  else out.push({ path, secret: false, old: a, new: b });
}

/** The changed leaves of an update, old and new values side by side, secrets redacted. */
export function fieldChanges(change: Change): FieldChange[] {
  if (change.action !== 'update') return [];
  const before = redacted(change.kind, change.before ?? {});
  const after = redacted(change.kind, (change.kind === 'iplist' ? { ...change.ipList } : change.spec) ?? {});
  const out: FieldChange[] = [];
  for (const field of change.fields) {
    if (field === 'password') out.push({ path: 'password', secret: true, change: 'changed' });
    else if (field === 'source') out.push({ path: 'source', secret: false, old: before.source, new: 'config' });
    else {
      const n = out.length;
      leafChanges(field, before[field], after[field], out);
      // Equal leaves but a different field (a value that means "unset" either way): say so.
      if (out.length === n) out.push({ path: field, secret: false, old: before[field], new: after[field] });
    }
  }
  return out;
}

/** A value as one short line: strings bare, the rest as JSON, cut at SHORT characters. */
export function shortValue(v: unknown): string {
  if (v === undefined) return '(none)';
  const s = typeof v === 'string' && !/[\u0000-\u001f\u007f]/.test(v) ? v : JSON.stringify(v);
  return s.length > SHORT ? `${s.slice(0, SHORT - 1)}…` : s;
}

function describe(c: FieldChange): string {
  return c.secret ? `(secret ${c.change})` : `${shortValue(c.old)} → ${shortValue(c.new)}`;
}

function count(changes: readonly Change[], action: Action): number {
  return changes.filter((c) => c.action === action).length;
}

function membersText(n: number): string {
  return `${n} ${n === 1 ? 'user' : 'users'} affected`;
}

export function renderPlan(report: PlanReport, format: PlanFormat): string {
  switch (format) {
    case 'text':
      return formatPlan(report);
    case 'json':
      return planJson(report);
    case 'markdown':
      return planMarkdown(report);
  }
}

/** Terraform style, one line per change, the changed values indented below an update. */
export function formatPlan(report: PlanReport): string {
  const { plan, drift } = report;
  const lines: string[] = [];
  if (report.older) lines.push(`not applied: ${report.older}`);
  else if (plan.changes.length === 0) lines.push('no changes: the store matches the config');
  else {
    for (const c of plan.changes) {
      lines.push(`${SIGN[c.action]} ${c.kind} ${c.name}${c.action === 'update' ? ` (${c.fields.join(', ')})` : ''}${c.members ? `: ${membersText(c.members.length)}` : ''}`);
      for (const f of fieldChanges(c)) lines.push(`    ${f.path}: ${describe(f)}`);
    }
    lines.push('', `plan: ${count(plan.changes, 'create')} to create, ${count(plan.changes, 'update')} to update, ${count(plan.changes, 'delete')} to delete`);
  }
  if (drift.length) lines.push('', formatOverrides(drift).trimEnd());
  return lines.join('\n') + '\n';
}

/**
 * The plan for scripts. `changes` keeps its shape (field names only); `drift` lists the overrides
 * (`overrides` is the same list under the name earlier versions used).
 */
export function planJson(report: PlanReport): string {
  const { plan, drift } = report;
  const changes = plan.changes.map(({ action, kind, name, fields, members }) => ({ action, kind, name, fields, ...(members ? { members } : {}) }));
  const summary = { create: count(plan.changes, 'create'), update: count(plan.changes, 'update'), delete: count(plan.changes, 'delete'), drift: drift.length };
  return JSON.stringify({ summary, changes, drift, overrides: drift, ...(report.older ? { older: report.older } : {}) }, null, 2) + '\n';
}

/** A Markdown code span that survives a table cell: pipes escaped, backticks fenced longer. */
function code(s: string): string {
  const text = s.replaceAll('|', '\\|');
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function table(header: readonly string[], rows: readonly string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function folded(title: string, body: string[]): string[] {
  return body.length - 2 > FOLD_ROWS ? [`<details><summary>${title}</summary>`, '', ...body, '', '</details>'] : body;
}

function countsText(changes: readonly Change[]): string {
  return `${count(changes, 'create')} to add, ${count(changes, 'update')} to change, ${count(changes, 'delete')} to destroy`;
}

/** For a pull-request comment: a summary line, a table per kind, then the drift. */
export function planMarkdown(report: PlanReport): string {
  const { plan, drift } = report;
  const out: string[] = ['### sftpgo plan', ''];
  if (report.older) out.push(`**Not applied.** ${report.older}`);
  else if (plan.changes.length === 0) out.push('**No changes.** The store matches the config.');
  else {
    const perKind = KINDS.map((k) => ({ ...k, changes: plan.changes.filter((c) => c.kind === k.kind) })).filter((k) => k.changes.length > 0);
    const kindCounts = perKind.map((k) => `${k.section}: ${(['create', 'update', 'delete'] as const).filter((a) => count(k.changes, a) > 0).map((a) => `${count(k.changes, a)} to ${VERB[a]}`).join(', ')}`);
    out.push(`**Plan:** ${countsText(plan.changes)} (${kindCounts.join('; ')}).`);
    for (const k of perKind) {
      const rows = k.changes.map((c) => {
        const details = fieldChanges(c).map((f) => `${code(f.path)}: ${f.secret ? `(secret ${f.change})` : `${code(shortValue(f.old))} → ${code(shortValue(f.new))}`}`);
        if (c.members) details.push(membersText(c.members.length));
        return [`${SIGN[c.action]} ${VERB[c.action]}`, code(c.name), details.join('<br>')];
      });
      out.push('', `#### ${k.section}`, '', ...folded(`${k.section}: ${k.changes.length} changes`, table(['action', 'name', 'changes'], rows)));
    }
  }
  if (drift.length) {
    out.push(
      '',
      '#### Drift',
      '',
      'Changed through the REST API and kept on top of the config: applying this file does not undo them (`DELETE /api/v2/overrides/...` does).',
      '',
      ...folded(
        `drift: ${drift.length} overrides`,
        table(
          ['kind', 'name', 'overridden fields', 'by', 'at'],
          drift.map((o) => [o.kind, code(o.name), o.fields.map(code).join(', '), code(o.updated_by), new Date(o.updated_at).toISOString()]),
        ),
      ),
    );
  }
  return out.join('\n') + '\n';
}
