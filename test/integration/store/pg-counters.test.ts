// The shared store's counters against a real PostgreSQL: defender scores and token buckets updated
// at once from two stores (two servers) on one database add up exactly, a threshold is reached by
// exactly one update, old events leave the window, and a take costs one quick round trip; rate
// limiters on them answer as the in-memory ones, and fall back to their own buckets without them.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { RateLimiters } from '../../../src/core/rate-limiters.ts';
import type { RateLimiter } from '../../../src/config/schema-types.ts';
import { openPgStore } from '../../../src/store/postgres.ts';
import type { SharedCounters, Store } from '../../../src/store/store.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { removeTempDirs } from '../../support/tmp.ts';

let pg: Postgres;
let a: Store;
let b: Store;
const settingsOf = () => ({ host: pg.host, port: pg.port, name: pg.database, username: pg.username, password: pg.password, sslmode: 0, poolSize: 8 });

beforeAll(async () => {
  pg = await startPostgres();
  const settings = settingsOf();
  a = await openPgStore({ settings, node: 'a' });
  b = await openPgStore({ settings, node: 'b' });
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await pg?.stop();
  removeTempDirs();
});

const counters = (s: Store): SharedCounters => s.counters!;
const T0 = 1_800_000_000_000;

test('only a shared store has counters', () => {
  expect(a.shared).toBe(true);
  expect(a.counters).toBeDefined();
});

test('scores added at once from two servers add up, and exactly one update reaches the threshold each time', async () => {
  const add = (s: Store, i: number) => counters(s).addScore({ ip: '192.0.2.1', score: 1, now: T0 + i, from: T0 - 60_000, threshold: 10, keepUntil: T0 + 60_000 });
  const results = await Promise.all(Array.from({ length: 25 }, (_, i) => add(i % 2 ? a : b, i)));
  expect(results.filter((r) => r.reached).length).toBe(2);
  // Every total from 1 to 10 twice, then 1 to 5: no update saw another's row half done.
  const totals = results.map((r) => r.total).sort((x, y) => x - y);
  expect(totals).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10]);
  expect(await counters(b).scores({ from: T0 - 60_000, limit: 10, ip: '192.0.2.1' })).toEqual([{ ip: '192.0.2.1', score: 5 }]);
});

test('events at or before the window start no longer count', async () => {
  const c = counters(a);
  await c.addScore({ ip: '192.0.2.2', score: 3, now: T0, from: T0 - 1000, threshold: 100, keepUntil: T0 + 1000 });
  await c.addScore({ ip: '192.0.2.2', score: 4, now: T0 + 500, from: T0 - 500, threshold: 100, keepUntil: T0 + 1500 });
  expect((await c.addScore({ ip: '192.0.2.2', score: 1, now: T0 + 1000, from: T0, threshold: 100, keepUntil: T0 + 2000 })).total).toBe(5);
  expect(await c.scores({ from: T0 + 500, limit: 10, ip: '192.0.2.2' })).toEqual([{ ip: '192.0.2.2', score: 1 }]);
  expect(await c.scores({ from: T0 + 1000, limit: 10, ip: '192.0.2.2' })).toEqual([]);
});

test('the list is by address, limited, and a forgotten host is gone for every server', async () => {
  const c = counters(a);
  for (const ip of ['198.51.100.3', '198.51.100.1', '198.51.100.2'])
    await c.addScore({ ip, score: 2, now: T0, from: T0 - 1000, threshold: 100, keepUntil: T0 + 1000 });
  const listed = await counters(b).scores({ from: T0 - 1000, limit: 100 });
  expect(listed.filter((h) => h.ip.startsWith('198.51.100.')).map((h) => h.ip)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
  expect((await counters(b).scores({ from: T0 - 1000, limit: 2 })).length).toBe(2);
  expect(await c.forgetScore('198.51.100.2')).toBe(true);
  expect(await c.forgetScore('198.51.100.2')).toBe(false);
  expect(await counters(b).scores({ from: T0 - 1000, limit: 10, ip: '198.51.100.2' })).toEqual([]);
});

test('a bucket of 5 taken 20 times at once from two servers gives exactly 5 tokens', async () => {
  const take = (s: Store) => counters(s).takeToken({ key: 'burst', perMs: 1 / 60_000, burst: 5, maxDebt: 0, now: T0 });
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => take(i % 2 ? a : b)));
  expect(results.filter((r) => r.ok).length).toBe(5);
  // A minute later one token has come back, whichever server asks.
  const later = await counters(b).takeToken({ key: 'burst', perMs: 1 / 60_000, burst: 5, maxDebt: 0, now: T0 + 60_000 });
  expect(later.ok).toBe(true);
  expect(later.tokens).toBeCloseTo(0, 6);
});

test('a debt within maxDebt is granted with the wait it implies; a clock behind the last taker refills nothing', async () => {
  const c = counters(a);
  const perMs = 10 / 1000;
  const first = await c.takeToken({ key: 'debt', perMs, burst: 1, maxDebt: 0.5, now: T0 });
  expect(first).toEqual({ ok: true, tokens: 0 });
  // 20 ms later 0.2 tokens came back: taking one leaves a debt of 0.8, over 0.5.
  const refused = await c.takeToken({ key: 'debt', perMs, burst: 1, maxDebt: 0.5, now: T0 + 20 });
  expect(refused.ok).toBe(false);
  expect(refused.tokens).toBeCloseTo(0.2, 6);
  // At 60 ms: 0.6 tokens, a debt of 0.4 is allowed (a 40 ms wait).
  const delayed = await c.takeToken({ key: 'debt', perMs, burst: 1, maxDebt: 0.5, now: T0 + 60 });
  expect(delayed.ok).toBe(true);
  expect(delayed.tokens).toBeCloseTo(-0.4, 6);
  const behind = await counters(b).takeToken({ key: 'debt', perMs, burst: 1, maxDebt: 0.5, now: T0 });
  expect(behind.ok).toBe(false);
  expect(behind.tokens).toBeCloseTo(-0.4, 6);
});

test('rows that mean nothing any more are pruned', async () => {
  await counters(a).addScore({ ip: '203.0.113.9', score: 1, now: T0, from: T0 - 1, threshold: 100, keepUntil: T0 + 10 });
  const prune = (s: Store) => (s.counters as SharedCounters & { prune(now: number): Promise<void> }).prune(T0 + 20);
  await prune(a);
  expect(pg.sql(`SELECT count(*) FROM sftpgo_defender_scores WHERE ip = '203.0.113.9'`, pg.database).trim()).toBe('0');
});

test('a take costs one quick round trip', async () => {
  const c = counters(a);
  const times: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await c.takeToken({ key: `lat-${i % 50}`, perMs: 1, burst: 100, maxDebt: 0, now: Date.now() });
    times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  const median = times[150]!;
  const p99 = times[297]!;
  console.log(`shared token take: median ${median.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
  // A few ms on a loaded two-core machine; the bound leaves room for a busier one.
  expect(median).toBeLessThan(20);
});

test("two servers' rate limiters on one store share each bucket: the answers are the in-memory limiter's", async () => {
  const limiter: RateLimiter[] = [{ average: 10, period: 1000, burst: 3, type: 2, protocols: ['SSH'] }];
  const [x, y, local] = [new RateLimiters({ counters: counters(a), now: () => T0 }), new RateLimiters({ counters: counters(b), now: () => T0 }), new RateLimiters({ now: () => T0 })];
  for (const l of [x, y, local]) l.configure(limiter);
  const shared = [await x.reserve('192.0.2.50', 'SSH'), await y.reserve('192.0.2.50', 'SSH'), await x.reserve('192.0.2.50', 'SSH'), await y.reserve('192.0.2.50', 'SSH')];
  const alone = [0, 1, 2, 3].map(() => local.take('192.0.2.50', 'SSH'));
  expect(shared.map((v) => v.retryAfterMs === undefined)).toEqual([true, true, true, false]);
  expect(shared[3]!.retryAfterMs).toBeCloseTo(alone[3]!.retryAfterMs!, 6);
  // Another address, its own bucket; a type 1 limiter, one bucket for everybody.
  expect((await y.reserve('192.0.2.51', 'SSH')).retryAfterMs).toBeUndefined();
  const global: RateLimiter[] = [{ average: 10, period: 1000, burst: 1, type: 1 }];
  x.configure(global);
  y.configure(global);
  expect((await x.reserve('192.0.2.60', 'FTP')).retryAfterMs).toBeUndefined();
  expect((await y.reserve('192.0.2.61', 'FTP')).retryAfterMs).toBeGreaterThan(0);
});

test('a store that cannot answer leaves each server limiting with its own buckets, and says so once', async () => {
  const gone = await openPgStore({ settings: settingsOf(), node: 'gone' });
  await gone.close();
  const lines: { event: string }[] = [];
  const l = new RateLimiters({ counters: gone.counters!, now: () => T0, log: (_level, event) => void lines.push({ event }) });
  l.configure([{ average: 1, period: 60_000, burst: 2, type: 2 }]);
  const verdicts = [await l.reserve('192.0.2.70', 'HTTP'), await l.reserve('192.0.2.70', 'HTTP'), await l.reserve('192.0.2.70', 'HTTP')];
  expect(verdicts.map((v) => v.retryAfterMs === undefined)).toEqual([true, true, false]);
  expect(lines.map((x) => x.event)).toEqual(['rate_limiter_store_failed']);
});
