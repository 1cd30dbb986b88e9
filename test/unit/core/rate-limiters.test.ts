// common.rate_limiters' token buckets with a moved clock: SFTPGo's arithmetic (average per period,
// burst, the grace delay of half an event's interval), global (type 1) and per source (type 2)
// buckets, the entries_soft_limit / entries_hard_limit cleanup, and the config checks.
import { describe, expect, test } from 'bun:test';
import { RateLimiters, rateLimiterProblems, rateLimitersStatus, retryAfterSeconds, retryHeaders, goDuration } from '../../../src/core/rate-limiters.ts';
import type { RateLimiter } from '../../../src/config/schema-types.ts';

function limiters(list: RateLimiter[]): { rl: RateLimiters; tick: (ms: number) => void } {
  let now = 1_000_000;
  const rl = new RateLimiters({ now: () => now });
  rl.configure(list);
  return { rl, tick: (ms) => void (now += ms) };
}

describe('RateLimiters', () => {
  test('per source: the burst passes, the next event is refused with the wait, another source has its own bucket', () => {
    const { rl, tick } = limiters([{ average: 10, period: 1000, burst: 10, type: 2, protocols: ['SSH'] }]);
    for (let i = 0; i < 10; i++) expect(rl.take('10.0.0.1', 'SSH')).toEqual({ delayMs: 0 });
    const refused = rl.take('10.0.0.1', 'SSH');
    expect(refused.retryAfterMs).toBeCloseTo(100);
    expect(refused.defenderEvent).toBe(false);
    expect(rl.take('10.0.0.2', 'SSH')).toEqual({ delayMs: 0 });
    // Other protocols are not limited by it.
    expect(rl.limits('FTP')).toBe(false);
    expect(rl.take('10.0.0.1', 'FTP')).toEqual({ delayMs: 0 });
    // Within the grace delay (half of 100 ms) the event waits instead of being refused.
    tick(60);
    expect(rl.take('10.0.0.1', 'SSH').delayMs).toBeCloseTo(40);
    tick(1000);
    expect(rl.take('10.0.0.1', 'SSH')).toEqual({ delayMs: 0 });
  });

  test('period: 2 per minute refuses the third at once, and its grace is half the interval (capped at 10 s)', () => {
    const { rl, tick } = limiters([{ average: 2, period: 60_000, burst: 2, protocols: ['HTTP'] }]);
    rl.take('a', 'HTTP');
    rl.take('a', 'HTTP');
    expect(rl.take('a', 'HTTP').retryAfterMs).toBeCloseTo(30_000);
    tick(20_001);
    expect(rl.take('a', 'HTTP').delayMs).toBeCloseTo(9_999, 0);
    expect(retryAfterSeconds(30_000)).toBe('30');
    expect(retryAfterSeconds(30_001)).toBe('31');
    expect(retryAfterSeconds(100)).toBe('1');
  });

  test('type 1 is one bucket for every client', () => {
    const { rl } = limiters([{ average: 1, period: 1000, burst: 2, type: 1, protocols: ['FTP'], generate_defender_events: true }]);
    expect(rl.take('a', 'FTP').retryAfterMs).toBeUndefined();
    expect(rl.take('b', 'FTP').retryAfterMs).toBeUndefined();
    const refused = rl.take('c', 'FTP');
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    // SFTPGo scores only per-source limiters.
    expect(refused.defenderEvent).toBe(false);
    expect(rl.sources()).toBe(0);
  });

  test('generate_defender_events marks refusals of a per-source limiter; absent protocols mean all four; an empty list or average 0 is off', () => {
    const { rl } = limiters([
      { average: 1, burst: 1, generate_defender_events: true },
      { average: 0, protocols: ['SSH'] },
      { average: 5, protocols: [] },
    ]);
    for (const p of ['SSH', 'FTP', 'DAV', 'HTTP'] as const) expect(rl.limits(p)).toBe(true);
    rl.take('a', 'DAV');
    expect(rl.take('a', 'DAV')).toMatchObject({ defenderEvent: true });
  });

  test('at entries_hard_limit sources the least recently used go, down to entries_soft_limit', () => {
    const { rl, tick } = limiters([{ average: 1, burst: 1, protocols: ['SSH'], entries_soft_limit: 2, entries_hard_limit: 4 }]);
    for (const ip of ['a', 'b', 'c', 'd']) {
      rl.take(ip, 'SSH');
      tick(1);
    }
    expect(rl.sources()).toBe(4);
    rl.take('e', 'SSH');
    expect(rl.sources()).toBe(3);
    // 'a' was dropped: it starts again with a full bucket.
    expect(rl.take('a', 'SSH').retryAfterMs).toBeUndefined();
    // 'd' was kept: its bucket is still empty.
    expect(rl.take('d', 'SSH').retryAfterMs).toBeGreaterThan(0);
  });

  test('the same list keeps its buckets; a new one starts afresh', () => {
    const list: RateLimiter[] = [{ average: 1, burst: 1, protocols: ['SSH'] }];
    const { rl } = limiters(list);
    rl.take('a', 'SSH');
    rl.configure(list);
    expect(rl.take('a', 'SSH').retryAfterMs).toBeGreaterThan(0);
    rl.configure([{ average: 1, burst: 1, protocols: ['SSH'] }]);
    expect(rl.take('a', 'SSH').retryAfterMs).toBeUndefined();
  });

  test("SFTPGo's status: active with the protocols of the enabled limiters", () => {
    expect(rateLimitersStatus(undefined)).toEqual({ is_active: false, protocols: [] });
    expect(rateLimitersStatus([{ average: 0 }, { average: 5, protocols: [] }])).toEqual({ is_active: false, protocols: [] });
    expect(rateLimitersStatus([{ average: 5, protocols: ['HTTP', 'SSH'] }, { average: 1, protocols: ['SSH'] }])).toEqual({ is_active: true, protocols: ['SSH', 'HTTP'] });
  });

  test('config: a per-source entries_hard_limit must exceed entries_soft_limit', () => {
    expect(rateLimiterProblems([{ average: 1, entries_soft_limit: 10, entries_hard_limit: 10 }])).toEqual([
      { path: [0, 'entries_hard_limit'], message: 'must be greater than entries_soft_limit (10)' },
    ]);
    expect(rateLimiterProblems([{ average: 1, type: 1, entries_soft_limit: 10, entries_hard_limit: 10 }])).toEqual([]);
    expect(rateLimiterProblems([{ average: 1, entries_hard_limit: 100 }])).toEqual([{ path: [0, 'entries_hard_limit'], message: 'must be greater than entries_soft_limit (100)' }]);
  });
});

describe("SFTPGo's 429 headers", () => {
  test('X-Retry-In writes the padded wait as a Go duration; Retry-After rounds it to whole seconds', () => {
    expect(goDuration(0)).toBe('0s');
    expect(goDuration(1500)).toBe('1.5µs');
    expect(goDuration(499_999_999)).toBe('499.999999ms');
    expect(goDuration(1_499_999_999)).toBe('1.499999999s');
    expect(goDuration(2_000_000_000)).toBe('2s');
    expect(goDuration(61_500_000_000)).toBe('1m1.5s');
    expect(goDuration(3_600_000_000_000)).toBe('1h0m0s');
    expect(retryHeaders(1000)).toEqual({ 'Retry-After': '1', 'X-Retry-In': '1.499999999s' });
    expect(retryHeaders(0)).toEqual({ 'Retry-After': '1', 'X-Retry-In': '499.999999ms' });
    expect(retryHeaders(2600)['Retry-After']).toBe('3');
  });
});
