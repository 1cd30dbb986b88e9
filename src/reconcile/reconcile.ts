// Reconcile: config → desired state → plan against the store → apply in one transaction.
import type { LoadedConfig } from '../config/load.ts';
import type { HashPasswordOptions as HashOptions } from '../auth/passwords.ts';
import type { ReadTx, Store } from '../store/store.ts';
import { applyPlan, type ApplyResult } from './apply.ts';
import { desiredState } from './desired.ts';
import { computePlan, type Plan } from './plan.ts';

export function planFor(loaded: LoadedConfig, dataDir: string, store: ReadTx | undefined): Plan {
  return computePlan(desiredState(loaded, dataDir), store);
}

export function hashingOptions(loaded: LoadedConfig): HashOptions {
  const h = loaded.config.data_provider?.password_hashing;
  const a = h?.argon2_options;
  return {
    algo: h?.algo ?? 'bcrypt',
    ...(h?.bcrypt_options?.cost ? { bcryptCost: h.bcrypt_options.cost } : {}),
    ...(a ? { argon2: { memoryKiB: a.memory ?? 65536, iterations: a.iterations ?? 1, parallelism: a.parallelism ?? 2 } } : {}),
  };
}

export async function reconcile(loaded: LoadedConfig, dataDir: string, store: Store): Promise<ApplyResult & { plan: Plan }> {
  const plan = planFor(loaded, dataDir, store);
  const result = await applyPlan(store, plan, hashingOptions(loaded));
  return { ...result, plan };
}
