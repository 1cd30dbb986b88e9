// The scheduler of trigger 3 rules: a tick at each whole hour (SFTPGo's schedules fire at minute 0
// of the hours their cron fields match, in UTC) runs every enabled scheduled rule due then. Each
// rule's tick is claimed in the store first, a compare-and-set of its last run in one write
// transaction, so servers sharing a store run it once between them; a rule whose previous run is
// still going skips the tick (logged) rather than piling runs up. Rules are read from the event
// manager's snapshot at each tick, so rules added, changed or removed at run time take effect at
// the next one. `tick()` is the tick source: the hourly timer calls it, and so can a caller that
// drives time itself (tests run a schedule "every second" by ticking successive hours).
import type { EventRuleRecord } from '../../model.ts';
import type { Log } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import { compileSchedule, scheduleMatchesHour } from './cron.ts';

const HOUR_MS = 3_600_000;

/** The store key of a rule's last claimed tick (epoch ms of the hour). */
export function scheduleClaimKey(rule: string): string {
  return `event_schedule_last_run:${rule}`;
}

export interface SchedulerOptions {
  store: Store;
  log: Log;
  /** The enabled trigger 3 rules in force. */
  rules: () => Promise<EventRuleRecord[]>;
  /** Queues the rule's run; `done` is called once it has ended. False when the queue refused it. */
  run: (rule: EventRuleRecord, done: () => void) => Promise<boolean>;
}

export interface TickResult {
  /** Rules queued for this tick. */
  started: string[];
  /** Rules due but not run, with the reason. */
  skipped: { rule: string; reason: 'running' | 'claimed' | 'queue_full' }[];
}

export class Scheduler {
  readonly #opts: SchedulerOptions;
  readonly #running = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = true;

  constructor(opts: SchedulerOptions) {
    this.#opts = opts;
  }

  /** Arms the hourly timer. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const next = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A late timer still ticks the hour it was set for: the hour's rules are due once.
      void this.tick(new Date(next))
        .catch((err: unknown) => this.#opts.log('error', 'event_schedule_failed', { error: String((err as Error)?.message ?? err) }))
        .finally(() => this.#arm());
    }, next - now);
    // The timer alone does not keep a stopping process alive.
    this.#timer.unref?.();
  }

  /** Runs the rules due in the UTC hour of `at`; each at most once per hour, whoever ticks. */
  async tick(at: Date): Promise<TickResult> {
    const hour = Math.floor(at.getTime() / HOUR_MS) * HOUR_MS;
    const result: TickResult = { started: [], skipped: [] };
    for (const rule of await this.#opts.rules()) {
      const due = (rule.conditions?.schedules ?? []).some((s) => {
        const c = compileSchedule(s);
        return !(c instanceof Error) && scheduleMatchesHour(c, at);
      });
      if (!due) continue;
      const skip = (reason: TickResult['skipped'][number]['reason']) => {
        result.skipped.push({ rule: rule.name, reason });
        this.#opts.log(reason === 'claimed' ? 'debug' : 'warn', 'event_schedule_skipped', { rule: rule.name, tick: new Date(hour).toISOString(), reason });
      };
      if (this.#running.has(rule.name)) {
        skip('running');
        continue;
      }
      if (!(await this.#claim(rule.name, hour))) {
        skip('claimed');
        continue;
      }
      this.#running.add(rule.name);
      let queued = false;
      try {
        queued = await this.#opts.run(rule, () => this.#running.delete(rule.name));
      } finally {
        if (!queued) this.#running.delete(rule.name);
      }
      if (!queued) {
        skip('queue_full');
        continue;
      }
      result.started.push(rule.name);
    }
    return result;
  }

  /** Compare-and-set of the rule's last run: true when this tick was not claimed before. */
  #claim(rule: string, hour: number): Promise<boolean> {
    return this.#opts.store.write(async (tx) => {
      const key = scheduleClaimKey(rule);
      const last = (await tx.get('meta', key)) as number | undefined;
      if (last !== undefined && last >= hour) return false;
      await tx.put('meta', key, hour);
      return true;
    });
  }

  /** Rules with a run queued or going. */
  get running(): readonly string[] {
    return [...this.#running];
  }
}
