// The event manager of one server (SFTPGo's): the enabled rules and their actions, read from the
// store and re-read after any commit that changes them; which rules a filesystem event matches;
// and their runs. A rule with synchronous actions runs those before the operation is answered (a
// failure refuses a pre-* operation and fails an upload); everything else, failure actions
// included, is queued and run by a few workers, so a slow receiver never holds up a transfer. Each
// run is one `event_rule_run` log line and counted in the metrics. Email goes through the manager's
// Mailer (the smtp section); account checks act on the users it picks and write through the records
// layer.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Common } from '../../config/schema-types.ts';
import { resolveSecret } from '../../config/secrets.ts';
import { AppError } from '../../errors.ts';
import type { EventActionRecord, EventRuleRecord, UserRecord } from '../../model.ts';
import { userWithGroups } from '../../store/groups.ts';
import { effectiveEventAction, effectiveEventRule, layer } from '../../store/records.ts';
import type { Override } from '../../store/store.ts';
import { BoundedQueue } from '../action-queue.ts';
import type { Connection } from '../connection.ts';
import type { ServerContext } from '../context.ts';
import { coreSettingsFor, openSession } from '../login.ts';
import { fsEventMatches, userConditionsHold } from './match.ts';
import { Mailer } from '../mailer.ts';
import { META } from '../../store/store.ts';
import { runEmailAction } from './email.ts';
import {
  ACTION_COMMAND, ACTION_EMAIL, ACTION_FILESYSTEM, ACTION_HTTP, ACTION_PASSWORD_EXPIRATION, ACTION_USER_EXPIRATION, ACTION_USER_INACTIVITY, orderedActions, TRIGGER_FS, TRIGGER_ON_DEMAND,
  type RuleAction,
} from './model.ts';
import { emptyParams, type EventParams } from './params.ts';
import { runCommandAction, runFsAction, runHttpAction } from './runners.ts';
import { runInactivityCheck, runPasswordExpirationCheck, runUserExpirationCheck, UsersFailed } from './user-checks.ts';

const QUEUE_CAPACITY = 1000;
/** Concurrent asynchronous rule runs: enough to overlap slow receivers, few enough to stay cheap. */
const WORKERS = 4;

/** The rules and actions in force, as one consistent read. */
interface Snapshot {
  fsRules: EventRuleRecord[];
  actions: Map<string, EventActionRecord>;
}

/** What the core knows of a filesystem event; the manager adds the user, connection and time. */
export type EventDetails = Omit<EventParams, 'event' | 'name' | 'protocol' | 'ip' | 'role' | 'email' | 'groups' | 'uid' | 'timestamp'>;

/** What a filesystem event's synchronous actions did: `sync` false when none ran. */
export interface FsOutcome {
  sync: boolean;
  /** The last synchronous action's failure. */
  error?: Error;
}

interface ActionReport {
  name: string;
  result: 'ok' | 'failed' | 'skipped';
  duration_ms: number;
  error?: string;
}

type Phase = 'sync' | 'async';

export class EventManager {
  readonly #ctx: ServerContext;
  #snapshot: Promise<Snapshot> | undefined;
  #unsubscribe: (() => void)[] = [];
  #enabledCommands: readonly string[] = [];
  readonly #queue: BoundedQueue;
  /** Cancels runs still going when shutdown's drain time is up. */
  #cancel = new AbortController();
  /** Email actions and password expiration checks send through it (the smtp section). */
  readonly mailer: Mailer;

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
    this.mailer = new Mailer({
      settings: () => ctx.config.smtp,
      resolveSecret: (s) => resolveSecret(s, ctx.configDir, ctx.store.secrets),
      log: ctx.log,
      metrics: ctx.metrics,
    });
    this.#queue = new BoundedQueue({
      capacity: QUEUE_CAPACITY, workers: WORKERS, droppedMetric: 'sftpgo_event_rule_runs_dropped_total', name: 'event_rules', log: ctx.log, metrics: ctx.metrics,
    });
  }

  /** common.event_manager, at start and on reload. */
  configure(common: Common | undefined): void {
    this.#enabledCommands = common?.event_manager?.enabled_commands ?? [];
  }

  #load(): Promise<Snapshot> {
    if (this.#unsubscribe.length === 0) {
      const forget = () => (this.#snapshot = undefined);
      const store = this.#ctx.store;
      this.#unsubscribe = [
        store.subscribe('event_rules', forget),
        store.subscribe('event_actions', forget),
        store.subscribe('overrides', (c) => {
          const kind = (c.value as Override | undefined)?.kind ?? c.key.slice(0, c.key.indexOf(':'));
          if (kind === 'event_rule' || kind === 'event_action') forget();
        }),
      ];
    }
    this.#snapshot ??= this.#read().catch((err: unknown) => {
      this.#snapshot = undefined;
      throw err;
    });
    return this.#snapshot;
  }

  async #read(): Promise<Snapshot> {
    return this.#ctx.store.read(async (tx) => {
      const overrides = new Map<string, Override>();
      for await (const [key, o] of tx.entries('overrides')) if (o.kind === 'event_rule' || o.kind === 'event_action') overrides.set(key, o);
      const actions = new Map<string, EventActionRecord>();
      for await (const [name, a] of tx.entries('event_actions')) actions.set(name, layer(a, overrides.get(`event_action:${name}`)));
      const fsRules: EventRuleRecord[] = [];
      for await (const [name, r] of tx.entries('event_rules')) {
        const rule = layer(r, overrides.get(`event_rule:${name}`));
        if (rule.trigger === TRIGGER_FS && rule.status !== 0) fsRules.push(rule);
      }
      return { fsRules, actions };
    });
  }

  /** Whether an enabled rule fires on `event` (first-upload / first-download marks are only kept when asked). */
  async wants(event: string): Promise<boolean> {
    const s = await this.#load();
    return s.fsRules.some((r) => (r.conditions?.fs_events as readonly string[] | undefined)?.includes(event));
  }

  /**
   * Runs the rules `event` matches: their synchronous actions now (the answer says whether any ran
   * and the last failure), the rest queued. Operations done by filesystem actions trigger no rules.
   */
  async fsEvent(conn: Connection, event: string, describe: () => EventDetails): Promise<FsOutcome> {
    if (conn.protocol === 'EventAction') return { sync: false };
    const s = await this.#load();
    // Most servers have no rule for most events: the event's details are only worked out for a candidate.
    if (!s.fsRules.some((r) => (r.conditions?.fs_events as readonly string[] | undefined)?.includes(event))) return { sync: false };
    const user = conn.user;
    const p: EventParams = {
      ...describe(),
      event,
      name: user.username,
      protocol: conn.protocol,
      ip: conn.remoteAddress,
      role: user.role ?? '',
      email: user.email ?? '',
      groups: (user.groups ?? []).map((g) => g.name),
      uid: randomBytes(10).toString('hex'),
      timestamp: Date.now(),
    };
    const matched = s.fsRules.filter((r) => fsEventMatches(r, p));
    if (matched.length === 0) return { sync: false };
    let sync = false;
    let error: Error | undefined;
    for (const rule of matched) {
      const run = { rule, params: { ...p, errors: [...p.errors] }, user, snapshot: s };
      if (!rule.actions.some((a) => a.relation_options?.execute_sync)) {
        this.#enqueue(run, []);
        continue;
      }
      sync = true;
      const { failed, lastError } = await this.#runPhase(run, 'sync', []);
      if (lastError) error = lastError;
      this.#enqueue(run, failed);
    }
    return { sync, ...(error ? { error } : {}) };
  }

  /**
   * POST /api/v2/eventrules/run/{name}: queues an enabled on-demand rule's actions; filesystem
   * actions run for every user the rule's name, group and role conditions match.
   */
  async runOnDemand(name: string): Promise<void> {
    const rule = await effectiveEventRule(this.#ctx.store, name);
    if (!rule) throw new AppError('not_found', `event rule "${name}" not found`);
    if (rule.trigger !== TRIGGER_ON_DEMAND) throw new AppError('invalid', `rule "${name}" is not defined as on-demand`);
    if (rule.status === 0) throw new AppError('invalid', `rule "${name}" is inactive`);
    const s = await this.#load();
    for (const a of rule.actions) {
      const action = s.actions.get(a.name) ?? (await effectiveEventAction(this.#ctx.store, a.name));
      if (!action) throw new AppError('invalid', `rule "${name}": event action "${a.name}" does not exist`);
      s.actions.set(a.name, action);
    }
    const queued = this.#enqueue({ rule, params: emptyParams({ uid: randomBytes(10).toString('hex') }), snapshot: s }, []);
    if (!queued) throw new AppError('io', 'the event rules queue is full; retry later');
  }

  #enqueue(run: RuleRun, failed: string[]): boolean {
    return this.#queue.push(async () => {
      await this.#runPhase(run, 'async', failed);
    }, { rule: run.rule.name });
  }

  /**
   * One phase of a rule: its synchronous actions, or its asynchronous ones followed (when anything
   * failed, in either phase) by its failure actions. One `event_rule_run` line.
   */
  async #runPhase(run: RuleRun, phase: Phase, failedBefore: string[]): Promise<{ failed: string[]; lastError?: Error }> {
    const started = performance.now();
    const failed = [...failedBefore];
    const reports: ActionReport[] = [];
    let lastError: Error | undefined;
    const step = async (a: RuleAction): Promise<boolean> => {
      const t0 = performance.now();
      const err = await this.#runAction(run, a);
      const ms = Math.round(performance.now() - t0);
      const skipped = err === 'skipped';
      reports.push({ name: a.name, result: skipped ? 'skipped' : err ? 'failed' : 'ok', duration_ms: ms, ...(err && !skipped ? { error: err.message } : {}) });
      if (!skipped) this.#ctx.metrics.inc('sftpgo_event_actions_total', { action: a.name, result: err ? 'failed' : 'ok' });
      if (!err || skipped) return true;
      failed.push(a.name);
      lastError = err;
      run.params.errors.push(err.message);
      return !a.relation_options?.stop_on_failure;
    };
    const ordered = orderedActions(run.rule);
    for (const a of ordered) {
      const o = a.relation_options;
      if (o?.is_failure_action || Boolean(o?.execute_sync) !== (phase === 'sync')) continue;
      if (!(await step(a))) break;
    }
    if (phase === 'async' && failed.length > 0)
      for (const a of ordered) if (a.relation_options?.is_failure_action && !(await step(a))) break;
    if (reports.length === 0) return { failed };
    const ok = reports.every((r) => r.result !== 'failed');
    const durationMs = Math.round(performance.now() - started);
    this.#ctx.log(ok ? 'info' : 'warn', 'event_rule_run', {
      rule: run.rule.name,
      trigger: run.rule.trigger,
      ...(run.params.event ? { fs_event: run.params.event, username: run.params.name, virtual_path: run.params.virtualPath } : {}),
      phase,
      actions: reports,
      duration_ms: durationMs,
      result: ok ? 'ok' : 'failed',
    });
    this.#ctx.metrics.inc('sftpgo_event_rule_runs_total', { rule: run.rule.name, phase, result: ok ? 'ok' : 'failed' });
    return { failed, ...(lastError ? { lastError } : {}) };
  }

  /** Runs one action of a rule; undefined on success, 'skipped' when the event's status is not wanted. */
  async #runAction(run: RuleRun, ref: RuleAction): Promise<Error | 'skipped' | undefined> {
    const statuses = run.rule.conditions?.options?.event_statuses;
    if (statuses?.length && !statuses.includes(run.params.status)) return 'skipped';
    const action = run.snapshot.actions.get(ref.name);
    try {
      if (!action) throw new Error(`event action "${ref.name}" does not exist`);
      const o = action.options ?? {};
      const signal = this.#cancel.signal;
      const user = run.user;
      const asEventUser = user ? { asEventUser: (fn: (conn: Connection) => Promise<void>) => this.#asUser(user, fn) } : {};
      const now = Date.now();
      switch (action.type) {
        case ACTION_HTTP:
          await runHttpAction(o.http_config!, run.params, { signal, resolveSecret: (s) => resolveSecret(s, this.#ctx.dataDir, this.#ctx.store.secrets), ...asEventUser });
          break;
        case ACTION_EMAIL:
          await runEmailAction(o.email_config!, run.params, { mailer: this.mailer, ...asEventUser });
          break;
        case ACTION_PASSWORD_EXPIRATION: {
          const template = await this.#passwordExpirationTemplate();
          await runPasswordExpirationCheck(o.pwd_expiration_config!, await this.#users(run), { mailer: this.mailer, now, ...(template !== undefined ? { template } : {}) });
          break;
        }
        case ACTION_USER_EXPIRATION:
          runUserExpirationCheck(await this.#users(run), now);
          break;
        case ACTION_USER_INACTIVITY:
          await runInactivityCheck(o.user_inactivity_config!, await this.#users(run), {
            now,
            lastLogin: async (name) => ((await this.#ctx.store.get('meta', META.userLastLogin(name))) as number | undefined) ?? 0,
            disable: async (name) => void (await this.#ctx.records.write((tx) => tx.edit('user', name, { fields: { status: 0 }, cleared: [], by: 'event_rule' }))),
            remove: (name) =>
              this.#ctx.records.write(async (tx) => {
                const rec = await tx.get('user', name);
                if (rec?.source === 'config') throw new Error('it is declared in the config file: remove it there');
                await tx.delete('user', name);
              }),
          });
          break;
        case ACTION_COMMAND:
          await runCommandAction(o.cmd_config!, run.params, { signal, enabledCommands: this.#enabledCommands });
          break;
        case ACTION_FILESYSTEM:
          await this.#runFs(run, o.fs_config!);
          break;
        default:
          throw new Error(`unsupported action type: ${action.type}`);
      }
      return undefined;
    } catch (err) {
      if (err instanceof UsersFailed) run.params.errors.push(...err.userErrors);
      return new Error(`action "${ref.name}" failed: ${(err as Error).message ?? err}`);
    }
  }

  /**
   * The users an account check acts on: the event's user, or (on demand) every user the rule's
   * name, group and role conditions match, each with its groups applied.
   */
  async #users(run: RuleRun): Promise<UserRecord[]> {
    if (run.user) return [run.user];
    const names: string[] = [];
    for await (const [name] of this.#ctx.store.entries('users')) names.push(name);
    const out: UserRecord[] = [];
    for (const name of names) {
      const user = await userWithGroups(this.#ctx.store, name);
      if (user && userConditionsHold(run.rule, { name, role: user.role ?? '', groups: (user.groups ?? []).map((g) => g.name) })) out.push(user);
    }
    return out;
  }

  /** smtp.templates_path's email/password-expiration.html (relative to the config file), when it exists. */
  async #passwordExpirationTemplate(): Promise<string | undefined> {
    const dir = resolve(this.#ctx.configDir, this.#ctx.config.smtp?.templates_path ?? 'templates');
    return readFile(resolve(dir, 'email', 'password-expiration.html'), 'utf8').catch(() => undefined);
  }

  /** For an event, as its user; on demand, as every user the rule's user conditions match. */
  async #runFs(run: RuleRun, config: NonNullable<NonNullable<EventActionRecord['options']>['fs_config']>): Promise<void> {
    if (run.user) return this.#asUser(run.user, (conn) => runFsAction(config, run.params, conn));
    const users = await this.#users(run);
    const failures: string[] = [];
    for (const user of users) {
      try {
        await this.#asUser(user, (conn) => runFsAction(config, run.params, conn));
      } catch (err) {
        failures.push(user.username);
        run.params.errors.push(`${user.username}: ${(err as Error).message}`);
      }
    }
    if (failures.length) throw new Error(`filesystem action failed for users: ${failures.join(', ')}`);
    if (users.length === 0) throw new Error('no user matched the rule: nothing was done');
  }

  /** Opens the user's tree for one action (a session of its own, protocol EventAction) and closes it after. */
  async #asUser(user: UserRecord, fn: (conn: Connection) => Promise<void>): Promise<void> {
    const ctx = this.#ctx;
    const session = await openSession(user, coreSettingsFor(ctx), {
      protocol: 'EventAction', remoteAddress: '127.0.0.1', method: 'event_action', context: ctx, single: true, onEnded: () => undefined,
    });
    try {
      await fn(session.connect({ protocol: 'EventAction', disconnect: () => undefined }));
    } finally {
      await session.close();
    }
  }

  /** Shutdown: waits up to `ms` for queued runs, then drops the rest and cancels what still runs. */
  async drain(ms = 5000): Promise<void> {
    const dropped = await this.#queue.drain(ms);
    const running = this.#queue.running;
    if (dropped > 0 || running > 0) this.#ctx.log('warn', 'event_rules_dropped_on_shutdown', { dropped, cancelled: running });
    this.#cancel.abort();
    this.#cancel = new AbortController();
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    this.#snapshot = undefined;
  }

  /** Runs queued and running, for tests and status. */
  get pending(): number {
    return this.#queue.pending + this.#queue.running;
  }
}

interface RuleRun {
  rule: EventRuleRecord;
  params: EventParams;
  /** The user of a filesystem event; absent for an on-demand run. */
  user?: UserRecord;
  snapshot: Snapshot;
}
