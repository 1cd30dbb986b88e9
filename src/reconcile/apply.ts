// Applies a plan in one store transaction through the records layer. Password hashing (slow by
// design) happens before the transaction, and only for passwords that changed; the transaction then
// re-checks that nothing it planned against moved, so apply is all-or-nothing.
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import { createLog, type Log } from '../log.ts';
import type { Records, RecordsTx, StoredPassword } from '../store/records.ts';
import { planSummary, type Change, type Plan } from './plan.ts';

export interface Generated {
  kind: Change['kind'];
  name: string;
  password: string;
}

export interface ApplyResult {
  summary: { create: number; update: number; delete: number };
  generated: Generated[];
}

/** Readable, unambiguous random password (no 0/O/1/l/I). */
export function randomPassword(length = 20): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length; i++) {
    const b = bytes[i % bytes.length]!;
    if (b < 256 - (256 % alphabet.length)) out += alphabet[b % alphabet.length];
    if (i >= bytes.length - 1) bytes.set(randomBytes(bytes.length));
  }
  return out;
}

export interface ApplyOptions {
  log?: Log;
  /**
   * Runs first in the transaction, under the store's write lock: throws to write nothing (the
   * config revision check: another server may have applied a revision since the plan was made).
   */
  check?: (tx: RecordsTx) => Promise<void>;
  /** Written in the same transaction as the changes (the config revision record). */
  record?: (tx: RecordsTx) => Promise<void>;
}

/** Applies `plan` in one transaction, one `reconcile_change` line per change on `log`. */
export async function applyPlan(records: Records, plan: Plan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const log = opts.log ?? createLog();
  const digestKey = await records.digestKey();

  const generated: Generated[] = [];
  // null: the config removes the password; absent: the stored one is kept.
  const passwords = new Map<Change, StoredPassword | null>();
  for (const c of plan.changes) {
    if (!c.passwordChanged || !c.password) continue;
    const intent = c.password;
    if (intent.kind === 'none') passwords.set(c, null);
    else if (intent.kind === 'hash') passwords.set(c, { password: intent.hash });
    else {
      const clear = intent.kind === 'clear' ? intent.clear : randomPassword();
      if (intent.kind === 'generate') generated.push({ kind: c.kind, name: c.name, password: clear });
      // The plan found this password changed, so there is no current hash worth comparing with.
      passwords.set(c, await records.storedPassword(clear, undefined, digestKey));
    }
  }

  const started = performance.now();
  if (plan.changes.length > 0) log('info', 'reconcile_applying', { changes: plan.changes.length });
  // Nothing to write: no write transaction (it would queue behind other writers and commit nothing).
  if (plan.changes.length > 0 || opts.record)
    await records.write(async (tx) => {
      await opts.check?.(tx);
      for (const c of plan.changes) {
        if (c.kind === 'iplist') {
          await applyIpListChange(tx, c);
          continue;
        }
        const current = await tx.get(c.kind, c.name);
        if (c.action !== 'create' ? current?.updated_at !== c.baseUpdatedAt : current !== undefined)
          throw new AppError('store', `${c.kind} ${c.name} changed while the plan was applied; nothing was written, retry`);
        if (c.action === 'delete') {
          await tx.delete(c.kind, c.name);
          continue;
        }
        const pw = passwords.get(c);
        await tx.put(c.kind, c.name, c.spec!, { source: 'config', current: current ?? null, ...(pw !== undefined ? { password: pw } : {}) });
      }
      await opts.record?.(tx);
    });
  for (const c of plan.changes)
    log('info', 'reconcile_change', { action: c.action, kind: c.kind, name: c.name, ...(c.fields.length ? { fields: c.fields } : {}) });
  const summary = planSummary(plan);
  log('info', 'reconcile_applied', { ...summary, duration_ms: Math.round(performance.now() - started) });
  return { summary, generated };
}

async function applyIpListChange(tx: RecordsTx, c: Change): Promise<void> {
  const current = await tx.ipListEntry(c.name);
  if (c.action !== 'create' ? current?.updated_at !== c.baseUpdatedAt : current !== undefined)
    throw new AppError('store', `IP list entry ${c.name} changed while the plan was applied; nothing was written, retry`);
  if (c.action === 'delete') await tx.deleteIpListEntry(c.name);
  else if (c.ipList) await tx.putIpListEntry(c.ipList, current);
}
