// The event manager of one server (SFTPGo's): the enabled rules and their actions, read from the
// store and re-read after any commit that changes them; which rules a filesystem event matches;
// and their runs. A rule with synchronous actions runs those before the operation is answered (a
// failure refuses a pre-* operation and fails an upload); everything else, failure actions
// included, is queued and run by a few workers, so a slow receiver never holds up a transfer. Each
// run is one `event_rule_run` log line and counted in the metrics. Provider events (trigger 2) come
// from the store's commit notifications (provider.ts), IP blocked events (trigger 4) from the
// defender, scheduled runs (trigger 3) from the scheduler (scheduler.ts); all of them are queued.
// Email goes through the manager's Mailer (the smtp section); account checks act on the users it
// picks and write through the records layer.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Common } from '../../config/schema-types.ts';
import { resolveSecret } from '../../config/secrets.ts';
import { AppError } from '../../errors.ts';
import type { EventActionRecord, EventRuleRecord, FolderRecord, UserRecord } from '../../model.ts';
import { userWithGroups } from '../../store/groups.ts';
import { effectiveEventAction, effectiveEventRule, effectiveFolder, effectiveOf, layer } from '../../store/records.ts';
import type { Override, StoreChange } from '../../store/store.ts';
import { BoundedQueue } from '../action-queue.ts';
import type { Connection } from '../connection.ts';
import type { ServerContext } from '../context.ts';
import { coreSettingsFor, openSession } from '../login.ts';
import { backupsDir, runBackup } from './backup.ts';
import { fsEventMatches, patternsHold, userConditionsHold } from './match.ts';
import { Mailer } from '../mailer.ts';
import { META } from '../../store/store.ts';
import { runEmailAction } from './email.ts';
import {
  ACTION_BACKUP, ACTION_COMMAND, ACTION_DATA_RETENTION, ACTION_EMAIL, ACTION_FILESYSTEM, ACTION_FOLDER_QUOTA_RESET, ACTION_HTTP, ACTION_PASSWORD_EXPIRATION,
  ACTION_TRANSFER_QUOTA_RESET, ACTION_USER_EXPIRATION, ACTION_USER_INACTIVITY, ACTION_USER_QUOTA_RESET, orderedActions, TRIGGER_FS, TRIGGER_IP_BLOCKED,
  TRIGGER_ON_DEMAND, TRIGGER_PROVIDER, TRIGGER_SCHEDULE, type RuleAction,
} from './model.ts';
import { emptyParams, type EventParams } from './params.ts';
import {
  actionsNeedOtherObject, objectData, PROVIDER_COLLECTIONS, providerChangeOf, providerRuleMatches, SYSTEM_ACTOR, type ChangeOrigin, type ProviderChange,
} from './provider.ts';
import { resetFolderQuota, resetTransferQuota, resetUserQuota } from './quota-reset.ts';
import { runRetentionCheck, type RetentionResult } from './retention.ts';
import { runCommandAction, runFsAction, runHttpAction } from './runners.ts';
import { runInactivityCheck, runPasswordExpirationCheck, runUserExpirationCheck, UsersFailed } from './user-checks.ts';

const QUEUE_CAPACITY = 1000;
/** Committed changes waiting to be matched against provider rules; past this a burst's extra changes are dropped and counted. */
const PROVIDER_BACKLOG = 100_000;
/** Concurrent asynchronous rule runs: enough to overlap slow receivers, few enough to stay cheap. */
const WORKERS = 4;

/** The rules and actions in force, as one consistent read. */
interface Snapshot {
  fsRules: EventRuleRecord[];
  providerRules: EventRuleRecord[];
  scheduleRules: EventRuleRecord[];
  ipBlockedRules: EventRuleRecord[];
  actions: Map<string, EventActionRecord>;
}

/** SFTPGo's event names for the triggers that have no event of their own. */
const SCHEDULE_EVENT = 'Schedule';
const IP_BLOCKED_EVENT = 'IP Blocked';

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
  /** Data retention: what was removed, per user and folder. */
  retention?: { username: string; folders: RetentionResult[] }[];
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
  /** Committed changes not yet matched against the provider rules. */
  #providerPending: { change: ProviderChange; origin: ChangeOrigin }[] = [];
  #providerDraining = false;
  #providerDropped = 0;
  /** Users whose data retention check is running: one at a time each, as SFTPGo. */
  readonly #retentionRunning = new Set<string>();
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
      const s: Snapshot = { fsRules: [], providerRules: [], scheduleRules: [], ipBlockedRules: [], actions };
      const byTrigger: Record<number, EventRuleRecord[]> = {
        [TRIGGER_FS]: s.fsRules, [TRIGGER_PROVIDER]: s.providerRules, [TRIGGER_SCHEDULE]: s.scheduleRules, [TRIGGER_IP_BLOCKED]: s.ipBlockedRules,
      };
      for await (const [name, r] of tx.entries('event_rules')) {
        const rule = layer(r, overrides.get(`event_rule:${name}`));
        if (rule.status !== 0) byTrigger[rule.trigger]?.push(rule);
      }
      return s;
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

  #enqueue(run: RuleRun, failed: string[], done?: () => void): boolean {
    return this.#queue.push(async () => {
      try {
        await this.#runPhase(run, 'async', failed);
      } finally {
        done?.();
      }
    }, { rule: run.rule.name });
  }

  /** The enabled scheduled rules (the scheduler reads them at each tick). */
  async scheduledRules(): Promise<EventRuleRecord[]> {
    return (await this.#load()).scheduleRules;
  }

  /** Queues a scheduled rule's run; `done` once it has ended. False when the queue is full. */
  async runScheduled(rule: EventRuleRecord, done: () => void): Promise<boolean> {
    const s = await this.#load();
    const params = emptyParams({ event: SCHEDULE_EVENT, name: rule.name, uid: randomBytes(10).toString('hex') });
    return this.#enqueue({ rule, params, snapshot: s }, [], done);
  }

  /** The defender banned `ip`: queues the IP blocked rules. */
  ipBlocked(ip: string): void {
    void this.#load().then(
      (s) => {
        for (const rule of s.ipBlockedRules) this.#enqueue({ rule, params: emptyParams({ event: IP_BLOCKED_EVENT, ip, uid: randomBytes(10).toString('hex') }), snapshot: s }, []);
      },
      (err: unknown) => this.#ctx.log('error', 'event_rules_load_failed', { error: String((err as Error)?.message ?? err) }),
    );
  }

  /**
   * Listens to the store for provider events. The listener only notes each change: matching and
   * queueing happen after the commit, so a reconcile of thousands of records never waits on rules.
   */
  listenForProviderEvents(): () => void {
    const store = this.#ctx.store;
    const offs = PROVIDER_COLLECTIONS.map((c) => store.subscribe(c, (change: StoreChange) => this.#noteChange(change)));
    return () => offs.forEach((off) => off());
  }

  #noteChange(change: StoreChange): void {
    // The server that made a change runs its provider events, once for the cluster.
    if (change.remote) return;
    const p = providerChangeOf(change);
    if (!p) return;
    if (this.#providerPending.length >= PROVIDER_BACKLOG) {
      this.#providerDropped++;
      this.#ctx.metrics.inc('sftpgo_event_rule_runs_dropped_total', { rule: 'provider_events' });
      return;
    }
    const origin = this.#ctx.changeOrigin.getStore() ?? { name: SYSTEM_ACTOR, ip: '', role: '' };
    this.#providerPending.push({ change: p, origin: { ...origin } });
    this.#scheduleProviderDrain();
  }

  #scheduleProviderDrain(): void {
    if (this.#providerDraining) return;
    this.#providerDraining = true;
    setImmediate(() =>
      void this.#drainProvider().finally(() => {
        this.#providerDraining = false;
        // A change noted after the last batch was taken, before this point, still gets its turn.
        if (this.#providerPending.length > 0) this.#scheduleProviderDrain();
      }),
    );
  }

  async #drainProvider(): Promise<void> {
    while (this.#providerPending.length > 0) {
      const batch = this.#providerPending.splice(0);
      let s: Snapshot;
      try {
        s = await this.#load();
      } catch (err) {
        this.#ctx.log('error', 'event_rules_load_failed', { error: String((err as Error)?.message ?? err) });
        return;
      }
      if (s.providerRules.length === 0) continue;
      for (const { change, origin } of batch) await this.#providerEvent(s, change, origin);
    }
    if (this.#providerDropped > 0) {
      this.#ctx.log('warn', 'provider_events_dropped', { dropped: this.#providerDropped, backlog: PROVIDER_BACKLOG });
      this.#providerDropped = 0;
    }
  }

  async #providerEvent(s: Snapshot, c: ProviderChange, origin: ChangeOrigin): Promise<void> {
    const matched = s.providerRules.filter((r) => providerRuleMatches(r, c, origin));
    if (matched.length === 0) return;
    const object = c.overrideOf ? ((await effectiveOf(this.#ctx.store, c.overrideOf, c.objectName)) as Record<string, unknown> | undefined) : c.object;
    if (c.overrideOf && !object) return;
    const params = emptyParams({
      event: c.event, name: origin.name, ip: origin.ip, role: origin.role, timestamp: Date.now(),
      objectName: c.objectName, objectType: c.objectType, objectData: objectData(c.objectType, object),
    });
    for (const rule of matched) {
      const wrong = actionsNeedOtherObject(rule.actions.map((a) => s.actions.get(a.name)?.type ?? 0), c.objectType);
      if (wrong) {
        this.#ctx.log('warn', 'event_rule_skipped', { rule: rule.name, reason: `its actions run for a ${wrong} only`, event: c.event, object_type: c.objectType, object_name: c.objectName });
        continue;
      }
      const target = c.objectType === 'user' || c.objectType === 'folder' ? { kind: c.objectType as 'user' | 'folder', name: c.objectName } : undefined;
      this.#enqueue({ rule, params: { ...params, errors: [], uid: randomBytes(10).toString('hex') }, snapshot: s, ...(target ? { target } : {}) }, []);
    }
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
      const retention: NonNullable<ActionReport['retention']> = [];
      const err = await this.#runAction(run, a, retention);
      const ms = Math.round(performance.now() - t0);
      const skipped = err === 'skipped';
      reports.push({
        name: a.name, result: skipped ? 'skipped' : err ? 'failed' : 'ok', duration_ms: ms, ...(err && !skipped ? { error: err.message } : {}), ...(retention.length ? { retention } : {}),
      });
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
      ...(run.rule.trigger === TRIGGER_FS ? { fs_event: run.params.event, username: run.params.name, virtual_path: run.params.virtualPath } : {}),
      ...(run.params.objectType ? { provider_event: run.params.event, object_type: run.params.objectType, object_name: run.params.objectName, by: run.params.name } : {}),
      ...(run.rule.trigger === TRIGGER_IP_BLOCKED ? { ip: run.params.ip } : {}),
      phase,
      actions: reports,
      duration_ms: durationMs,
      result: ok ? 'ok' : 'failed',
    });
    this.#ctx.metrics.inc('sftpgo_event_rule_runs_total', { rule: run.rule.name, phase, result: ok ? 'ok' : 'failed' });
    return { failed, ...(lastError ? { lastError } : {}) };
  }

  /** Runs one action of a rule; undefined on success, 'skipped' when the event's status is not wanted. */
  async #runAction(run: RuleRun, ref: RuleAction, retention: NonNullable<ActionReport['retention']>): Promise<Error | 'skipped' | undefined> {
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
        case ACTION_BACKUP: {
          const { path, size } = await runBackup({ store: this.#ctx.store, dir: backupsDir(this.#ctx.config.data_provider?.backups_path, this.#ctx.dataDir), now: new Date() });
          // As SFTPGo: the actions after it can name the file ({{.FsPath}}, {{.ObjectName}}, {{.FileSize}}).
          if (!run.params.objectType) Object.assign(run.params, { fsPath: path, virtualPath: `/${path.slice(path.lastIndexOf('/') + 1)}`, fileSize: size, timestamp: Date.now() });
          break;
        }
        case ACTION_USER_QUOTA_RESET:
          await this.#forUsers(run, 'quota reset', (user) => resetUserQuota(this.#ctx, user));
          break;
        case ACTION_FOLDER_QUOTA_RESET:
          await this.#forFolders(run, (folder) => resetFolderQuota(this.#ctx, folder));
          break;
        case ACTION_TRANSFER_QUOTA_RESET:
          await this.#forUsers(run, 'transfer quota reset', (user) => resetTransferQuota(this.#ctx, user));
          break;
        case ACTION_DATA_RETENTION:
          await this.#forUsers(run, 'retention check', (user) => this.#retention(user, o.retention_config!, retention));
          break;
        case ACTION_FILESYSTEM: {
          const config = o.fs_config!;
          await this.#forUsers(run, 'filesystem action', (user) => this.#asUser(user, (conn) => runFsAction(config, run.params, conn)));
          break;
        }
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
   * The users an action acts on: the event's user (filesystem events), the changed user (provider
   * events), or every user the rule's name, group and role conditions match (schedules and on
   * demand), each with its groups applied.
   */
  async #users(run: RuleRun): Promise<UserRecord[]> {
    if (run.user) return [run.user];
    if (run.target) {
      const user = run.target.kind === 'user' ? await userWithGroups(this.#ctx.store, run.target.name) : undefined;
      if (!user) throw new Error(`user "${run.target.name}" not found`);
      return [user];
    }
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

  /** Runs `fn` for each of the users an action acts on (`#users`); one user's failure does not stop the others. */
  async #forUsers(run: RuleRun, what: string, fn: (user: UserRecord) => Promise<void>): Promise<void> {
    const users = await this.#users(run);
    const failures: string[] = [];
    for (const user of users) {
      try {
        await fn(user);
      } catch (err) {
        failures.push(user.username);
        run.params.errors.push(`${user.username}: ${(err as Error).message}`);
      }
    }
    if (failures.length) throw new Error(`${what} failed for users: ${failures.join(', ')}`);
    if (users.length === 0) throw new Error('no user matched the rule: nothing was done');
  }

  /** The changed folder (provider events), or every folder whose name the rule's names match. */
  async #forFolders(run: RuleRun, fn: (folder: FolderRecord) => Promise<void>): Promise<void> {
    const names: string[] = [];
    if (run.target) names.push(run.target.name);
    else for await (const [name] of this.#ctx.store.entries('folders')) if (patternsHold(name, run.rule.conditions?.options?.names)) names.push(name);
    const failures: string[] = [];
    for (const name of names) {
      try {
        const folder = await effectiveFolder(this.#ctx.store, name);
        if (!folder) throw new Error(`folder "${name}" not found`);
        await fn(folder);
      } catch (err) {
        failures.push(name);
        run.params.errors.push(`${name}: ${(err as Error).message}`);
      }
    }
    if (failures.length) throw new Error(`quota reset failed for folders: ${failures.join(', ')}`);
    if (names.length === 0) throw new Error('no folder matched the rule: nothing was done');
  }

  /** One user's data retention check, as SFTPGo: every permission, no file patterns, one check per user at a time. */
  async #retention(user: UserRecord, config: NonNullable<NonNullable<EventActionRecord['options']>['retention_config']>, out: NonNullable<ActionReport['retention']>): Promise<void> {
    if (this.#retentionRunning.has(user.username)) throw new Error(`another retention check is in progress for user "${user.username}"`);
    this.#retentionRunning.add(user.username);
    const report: RetentionResult[] = [];
    out.push({ username: user.username, folders: report });
    const permissions = Object.fromEntries(Object.keys({ '/': [], ...user.permissions }).map((p) => [p, ['*' as const]]));
    const { file_patterns: _p, ...filters } = user.filters ?? {};
    try {
      await this.#asUser({ ...user, permissions, filters }, (conn) => runRetentionCheck({ config, conn, now: Date.now(), report }));
    } finally {
      this.#retentionRunning.delete(user.username);
    }
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
  /** The user of a filesystem event; absent for the other triggers. */
  user?: UserRecord;
  /** A provider event's changed user or folder: the one object its user or folder actions act on. */
  target?: { kind: 'user' | 'folder'; name: string };
  snapshot: Snapshot;
}
