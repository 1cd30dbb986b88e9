// Reconcile: config → desired state → plan against the store → apply in one transaction.
import type { LoadedConfig } from '../config/load.ts';
import type { SecretBox } from '../config/sealed.ts';
import type { Log } from '../log.ts';
import type { Records } from '../store/records.ts';
import type { ReadTx } from '../store/store.ts';
import { applyPlan, type ApplyResult } from './apply.ts';
import { desiredState } from './desired.ts';
import { computePlan, type Plan } from './plan.ts';

export function planFor(loaded: LoadedConfig, dataDir: string, store: ReadTx | undefined, secrets: SecretBox): Promise<Plan> {
  return computePlan(desiredState(loaded, dataDir, secrets), store);
}

/** `records` hashes new passwords with the options of `loaded` (data_provider.password_hashing). */
export async function reconcile(loaded: LoadedConfig, dataDir: string, records: Records, log?: Log): Promise<ApplyResult & { plan: Plan }> {
  const plan = await planFor(loaded, dataDir, records.store, records.secrets);
  const result = await applyPlan(records, plan, log);
  return { ...result, plan };
}
