// Applies a plan in one store transaction. Password hashing (slow by design) happens before the
// transaction, and only for passwords that changed; the transaction then re-checks that nothing it
// planned against moved, so apply is all-or-nothing.
import { randomBytes } from 'node:crypto';
import { hashPassword, passwordDigest, type HashPasswordOptions as HashOptions } from '../auth/passwords.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import { META, nextId, type Store } from '../store/store.ts';
import { COLLECTION_OF, planSummary, type Change, type Plan } from './plan.ts';

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

export async function applyPlan(store: Store, plan: Plan, hashing: HashOptions = {}): Promise<ApplyResult> {
  const key = store.get('meta', META.secretKey) as string | undefined;
  if (!key) throw new AppError('store', 'the store is not initialised (no secret key): run sftpgo initprovider');
  const digestKey = Buffer.from(key, 'base64');

  const generated: Generated[] = [];
  const passwords = new Map<Change, { password?: string; password_digest?: string }>();
  for (const c of plan.changes) {
    if (!c.passwordChanged || !c.password) continue;
    const intent = c.password;
    if (intent.kind === 'none') passwords.set(c, {});
    else if (intent.kind === 'hash') passwords.set(c, { password: intent.hash });
    else {
      const clear = intent.kind === 'clear' ? intent.clear : randomPassword();
      if (intent.kind === 'generate') generated.push({ kind: c.kind, name: c.name, password: clear });
      passwords.set(c, { password: await hashPassword(clear, hashing), password_digest: passwordDigest(clear, digestKey) });
    }
  }

  const now = Date.now();
  const started = performance.now();
  if (plan.changes.length > 0) log('info', 'reconcile_applying', { changes: plan.changes.length });
  store.write((tx) => {
    for (const c of plan.changes) {
      const collection = COLLECTION_OF[c.kind];
      const current = tx.get(collection, c.name) as (Record<string, unknown> & { updated_at?: number }) | undefined;
      if (c.action !== 'create' ? current?.updated_at !== c.baseUpdatedAt : current !== undefined)
        throw new AppError('store', `${c.kind} ${c.name} changed while the plan was applied; nothing was written, retry`);
      if (c.action === 'delete') {
        tx.remove(collection, c.name);
        if (c.kind !== 'admin') tx.remove('usage', `${c.kind}:${c.name}`);
        tx.remove('overrides', `${c.kind}:${c.name}`);
        continue;
      }
      const pw = passwords.get(c);
      const kept = pw ?? { password: current?.password as string | undefined, password_digest: current?.password_digest as string | undefined };
      const record = {
        ...c.spec,
        ...(kept.password !== undefined ? { password: kept.password } : {}),
        ...(kept.password_digest !== undefined ? { password_digest: kept.password_digest } : {}),
        id: (current?.id as number | undefined) ?? nextId(tx, c.kind),
        created_at: (current?.created_at as number | undefined) ?? now,
        updated_at: now,
        source: 'config',
      };
      tx.put(collection, c.name, record as never);
      if (c.action === 'create' && c.kind !== 'admin' && !tx.get('usage', `${c.kind}:${c.name}`))
        tx.put('usage', `${c.kind}:${c.name}`, {
          used_quota_size: 0,
          used_quota_files: 0,
          last_quota_update: 0,
          used_upload_data_transfer: 0,
          used_download_data_transfer: 0,
        });
    }
  });
  for (const c of plan.changes)
    log('info', 'reconcile_change', { action: c.action, kind: c.kind, name: c.name, ...(c.fields.length ? { fields: c.fields } : {}) });
  const summary = planSummary(plan);
  log('info', 'reconcile_applied', { ...summary, duration_ms: Math.round(performance.now() - started) });
  return { summary, generated };
}
