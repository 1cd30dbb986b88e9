// Reconcile: config → desired state → plan against the store → apply in one transaction, with the
// config revision judged and recorded under the same write lock (revision.ts): of servers sharing
// a store, exactly one applies a given revision, and none reverts a newer one.
import { hostname } from 'node:os';
import type { LoadedConfig } from '../config/load.ts';
import type { SecretBox } from '../config/sealed.ts';
import { AppError } from '../errors.ts';
import { createLog, type Log } from '../log.ts';
import type { Records } from '../store/records.ts';
import { configRevisionOf, META, type ConfigRevisionRecord, type ReadTx, type Store } from '../store/store.ts';
import { sameCanonical } from '../store/canonical.ts';
import { applyPlan, type ApplyResult } from './apply.ts';
import { desiredState } from './desired.ts';
import { computePlan, type Plan } from './plan.ts';
import { describeOrigin, describeRecord, desiredHash, fileOrigin, judgeRevision, revisionRecord, type RevisionOrigin, type Verdict } from './revision.ts';

/** How many times an apply starts over when another server recorded a revision under it. */
const REVISION_RETRIES = 5;

export function planFor(loaded: LoadedConfig, dataDir: string, store: ReadTx | undefined, secrets: SecretBox): Promise<Plan> {
  return computePlan(desiredState(loaded, dataDir, secrets), store);
}

/**
 * What `plan` shows beside the plan: on a store other servers share, why serve would apply nothing
 * of this file (the store has a newer revision); undefined when serve would apply it.
 */
export async function olderThanStore(loaded: LoadedConfig, dataDir: string, store: Store): Promise<string | undefined> {
  const key = (await store.get('meta', META.secretKey)) as string | undefined;
  const recorded = await configRevisionOf(store);
  if (!store.shared || !key || !recorded) return undefined;
  const origin = fileOrigin(loaded);
  const hash = desiredHash(desiredState(loaded, dataDir, store.secrets), Buffer.from(key, 'base64'));
  const verdict = await judgeRevision({ origin, hash }, recorded);
  return verdict.kind === 'older' ? olderMessage(origin, recorded, verdict.reason) : undefined;
}

function olderMessage(origin: RevisionOrigin, recorded: ConfigRevisionRecord, reason: string): string {
  return `this config (${describeOrigin(origin)}) is older than the revision the store has (${describeRecord(recorded)}): ${reason}`;
}

export interface ReconcileOptions {
  loaded: LoadedConfig;
  dataDir: string;
  /** Hashes new passwords with the options of `loaded` (data_provider.password_hashing). */
  records: Records;
  log?: Log;
  /** Where the config comes from; the local file by default. */
  origin?: RevisionOrigin;
  /** This server's name in the revision record; host name and process id by default. */
  node?: string;
}

/** What the config revision check decided, and the record the store holds after it. */
export interface RevisionOutcome {
  verdict: Verdict;
  recorded: ConfigRevisionRecord | undefined;
  /** For an older config: the warning line's message (what this server has, what the store has). */
  warning?: string;
}

export type ReconcileResult = ApplyResult & { plan: Plan; revision: RevisionOutcome };

/** Thrown inside the apply's transaction when the recorded revision moved since it was judged. */
class RevisionMoved extends Error {}

export async function reconcile(loaded: LoadedConfig, dataDir: string, records: Records, log?: Log): Promise<ReconcileResult> {
  return reconcileRevision({ loaded, dataDir, records, ...(log ? { log } : {}) });
}

/**
 * Judges the config against the recorded revision (on a shared store), then plans and applies it
 * with the record, all or nothing. When another server records a revision between the judgement
 * and the commit, it starts over: a second server started with the same file then finds nothing
 * to change.
 */
export async function reconcileRevision(opts: ReconcileOptions): Promise<ReconcileResult> {
  const { loaded, dataDir, records } = opts;
  const log = opts.log ?? createLog();
  const origin = opts.origin ?? fileOrigin(loaded);
  const node = opts.node ?? `${hostname()}:${process.pid}`;
  const store = records.store;
  const desired = desiredState(loaded, dataDir, records.secrets);
  const hash = desiredHash(desired, await records.digestKey());
  for (let attempt = 1; ; attempt++) {
    const recorded = await configRevisionOf(store);
    // Alone on its store, a server applies its config as it is: only replicas can disagree.
    let verdict = await judgeRevision({ origin, hash }, recorded);
    if (!store.shared && verdict.kind === 'older') verdict = { kind: 'newer' };
    if (verdict.kind === 'older') {
      const warning = `${olderMessage(origin, recorded!, verdict.reason)}; serving the store's state, not reconciling`;
      log('warn', 'config_revision_older', { ours: describeOrigin(origin), store: describeRecord(recorded!), store_node: recorded!.node ?? '', reason: verdict.reason });
      return { summary: { create: 0, update: 0, delete: 0 }, generated: [], plan: { changes: [] }, revision: { verdict, recorded, warning } };
    }
    const plan = await computePlan(desired, store);
    // A new revision is recorded with its changes; the same one is left as recorded (by whoever applied it).
    const next = verdict.kind === 'same' ? undefined : revisionRecord(origin, hash, node, records.now());
    try {
      const result = await applyPlan(records, plan, {
        log,
        check: async (tx) => {
          if (!sameCanonical(await tx.configRevision(), recorded)) throw new RevisionMoved();
        },
        ...(next ? { record: (tx) => tx.recordConfigRevision(next) } : {}),
      });
      return { ...result, plan, revision: { verdict, recorded: next ?? recorded } };
    } catch (err) {
      if (!(err instanceof RevisionMoved)) throw err;
      if (attempt >= REVISION_RETRIES) throw new AppError('store', 'other servers kept recording config revisions while this one applied its config; nothing was written, retry');
      log('info', 'config_revision_moved', { attempt });
    }
  }
}
