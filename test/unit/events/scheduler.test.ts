// The scheduler over a real store: each hour's run is claimed once whoever ticks (two schedulers
// sharing one store stand for two replicas), a run still going makes the next hour skip rather than
// pile up, and a full queue or a failed queueing frees the rule again.
import { afterEach, describe, expect, test } from 'bun:test';
import { Scheduler, type SchedulerOptions } from '../../../src/core/event-rules/scheduler.ts';
import type { EventRuleRecord } from '../../../src/model.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import type { Store } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  removeTempDirs();
});

function rule(name: string, hour: string): EventRuleRecord {
  return { name, trigger: 3, status: 1, conditions: { schedules: [{ hour, day_of_week: '*', day_of_month: '*', month: '*' }] }, actions: [{ name: 'a' }], id: 1, created_at: 0, updated_at: 0, source: 'config' };
}

function scheduler(store: Store, rules: EventRuleRecord[], run: SchedulerOptions['run'], lines: unknown[] = []): Scheduler {
  return new Scheduler({ store, log: (_l, event, fields) => void lines.push({ event, ...fields }), rules: async () => rules, run });
}

describe('Scheduler', () => {
  test('two schedulers on one store run each due hour once between them', async () => {
    const store = openLmdbStore(tempDir('sched-'));
    stores.push(store);
    const ran: string[] = [];
    const run = (who: string) => async (r: EventRuleRecord, done: () => void) => (ran.push(`${who}:${r.name}`), done(), true);
    const rules = [rule('every-hour', '*'), rule('at-three', '3')];
    const a = scheduler(store, rules, run('a'));
    const b = scheduler(store, rules, run('b'));
    const three = new Date('2030-01-07T03:00:00Z');
    const results = await Promise.all([a.tick(three), b.tick(three)]);
    expect(ran.sort()).toEqual(['a:at-three', 'a:every-hour']);
    expect(results[1]).toEqual({ started: [], skipped: [{ rule: 'every-hour', reason: 'claimed' }, { rule: 'at-three', reason: 'claimed' }] });
    // A later minute of the same hour is the same tick.
    expect((await b.tick(new Date('2030-01-07T03:59:00Z'))).started).toEqual([]);
    expect((await b.tick(new Date('2030-01-07T04:00:00Z'))).started).toEqual(['every-hour']);
  });

  test('a run still going skips the next hours until it ends; a refused or failed queueing frees the rule', async () => {
    const store = openLmdbStore(tempDir('sched-'));
    stores.push(store);
    let finish: () => void = () => undefined;
    let answer: boolean | Error = true;
    const lines: Record<string, unknown>[] = [];
    const s = scheduler(store, [rule('slow', '*')], async (_r, done) => {
      if (answer instanceof Error) throw answer;
      finish = done;
      return answer;
    }, lines);
    const hour = (h: number) => new Date(Date.UTC(2030, 0, 7, h));
    expect((await s.tick(hour(1))).started).toEqual(['slow']);
    expect(await s.tick(hour(2))).toEqual({ started: [], skipped: [{ rule: 'slow', reason: 'running' }] });
    expect(lines).toContainEqual(expect.objectContaining({ event: 'event_schedule_skipped', rule: 'slow', reason: 'running', tick: '2030-01-07T02:00:00.000Z' }));
    expect(s.running).toEqual(['slow']);
    finish();
    expect(s.running).toEqual([]);
    answer = false;
    expect(await s.tick(hour(3))).toEqual({ started: [], skipped: [{ rule: 'slow', reason: 'queue_full' }] });
    answer = new Error('store down');
    await expect(s.tick(hour(4))).rejects.toThrow('store down');
    expect(s.running).toEqual([]);
    answer = true;
    expect((await s.tick(hour(5))).started).toEqual(['slow']);
  });

});
