// The shared store's counters (store.ts SharedCounters) in PostgreSQL: the defender's scores and
// the rate limiters' token buckets of every server sharing the database.
//
// Each update is one INSERT ... ON CONFLICT DO UPDATE on the row of its address or bucket: the
// row lock it takes makes concurrent updates from several servers apply one after the other, each
// on the row as the previous one left it, without the store's cluster-wide write lock and without
// a transaction of its own. The rows are not in the change log: no server caches them, each asks.
// Rows past their keep_until (a score whose events all left the observation time, a bucket that
// has refilled) mean nothing any more and are pruned.
import type { Pool } from 'pg';
import type { SharedCounters, SharedScore } from './store.ts';

export const COUNTERS_SCHEMA = `
CREATE TABLE IF NOT EXISTS sftpgo_defender_scores (
  ip text COLLATE "C" PRIMARY KEY,
  ats bigint[] NOT NULL,
  scores integer[] NOT NULL,
  total bigint NOT NULL,
  keep_until bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS sftpgo_rate_buckets (
  key text COLLATE "C" PRIMARY KEY,
  tokens double precision NOT NULL,
  at bigint NOT NULL,
  ok boolean NOT NULL,
  keep_until bigint NOT NULL
);`;

// The events after $4 plus the new one; when their total reaches the threshold they are cleared in
// the same statement, so only this update sees it reached. `total` keeps the sum for RETURNING.
const ADD_SCORE = `
INSERT INTO sftpgo_defender_scores AS d (ip, ats, scores, total, keep_until)
VALUES ($1,
        CASE WHEN $2::int >= $5::int THEN '{}'::bigint[] ELSE ARRAY[$3::bigint] END,
        CASE WHEN $2::int >= $5::int THEN '{}'::int[] ELSE ARRAY[$2::int] END,
        $2::int, $6::bigint)
ON CONFLICT (ip) DO UPDATE SET (ats, scores, total, keep_until) = (
  SELECT CASE WHEN t.total >= $5::int THEN '{}'::bigint[] ELSE t.ats END,
         CASE WHEN t.total >= $5::int THEN '{}'::int[] ELSE t.scores END,
         t.total,
         greatest(d.keep_until, $6::bigint)
    FROM (SELECT coalesce(array_agg(e.a ORDER BY e.a), '{}'::bigint[]) || $3::bigint AS ats,
                 coalesce(array_agg(e.s ORDER BY e.a), '{}'::int[]) || $2::int AS scores,
                 coalesce(sum(e.s), 0) + $2::int AS total
            FROM unnest(d.ats, d.scores) AS e(a, s)
           WHERE e.a > $4::bigint) t)
RETURNING total`;

const SCORES = `
SELECT ip, score FROM (
  SELECT ip, (SELECT coalesce(sum(e.s), 0) FROM unnest(ats, scores) AS e(a, s) WHERE e.a > $1::bigint) AS score
    FROM sftpgo_defender_scores
   WHERE $3::text IS NULL OR ip = $3::text) x
 WHERE score > 0
 ORDER BY ip
 LIMIT $2`;

// The bucket refilled up to now (a clock behind the last taker's never refills backwards), then
// one token taken when the debt it leaves stays within $4. A refused take stores the refill only,
// which is the same bucket (refilling is linear and capped at the burst).
const TAKE_TOKEN = `
INSERT INTO sftpgo_rate_buckets AS b (key, tokens, at, ok, keep_until)
VALUES ($1, $3::float8 - 1, $5::bigint, true, $6::bigint)
ON CONFLICT (key) DO UPDATE SET (tokens, at, ok, keep_until) = (
  SELECT CASE WHEN t.avail - 1 >= -$4::float8 THEN t.avail - 1 ELSE t.avail END,
         t.at,
         t.avail - 1 >= -$4::float8,
         greatest(b.keep_until, $6::bigint)
    FROM (SELECT least($3::float8, b.tokens + greatest(0, $5::bigint - b.at) * $2::float8) AS avail,
                 greatest(b.at, $5::bigint) AS at) t)
RETURNING tokens, ok`;

export interface PgCounters extends SharedCounters {
  /** Drops the rows that no longer mean anything at `now`. */
  prune(now: number): Promise<void>;
}

export function pgCounters(pool: Pick<Pool, 'query'>): PgCounters {
  return {
    async addScore({ ip, score, now, from, threshold, keepUntil }) {
      const r = await pool.query<{ total: string }>(ADD_SCORE, [ip, score, now, from, threshold, keepUntil]);
      const total = Number(r.rows[0]?.total ?? 0);
      return { total, reached: total >= threshold };
    },
    async scores({ from, limit, ip }) {
      const r = await pool.query<{ ip: string; score: string }>(SCORES, [from, limit, ip ?? null]);
      return r.rows.map((row): SharedScore => ({ ip: row.ip, score: Number(row.score) }));
    },
    async forgetScore(ip) {
      const r = await pool.query('DELETE FROM sftpgo_defender_scores WHERE ip = $1', [ip]);
      return (r.rowCount ?? 0) > 0;
    },
    async takeToken({ key, perMs, burst, maxDebt, now }) {
      // Past this a bucket has refilled whatever it owed: it is the same as a new one.
      const keepUntil = now + Math.ceil((burst + maxDebt) / perMs);
      const r = await pool.query<{ tokens: number; ok: boolean }>(TAKE_TOKEN, [key, perMs, burst, maxDebt, now, keepUntil]);
      const row = r.rows[0]!;
      return { ok: row.ok, tokens: Number(row.tokens) };
    },
    async prune(now) {
      await pool.query('DELETE FROM sftpgo_defender_scores WHERE keep_until < $1', [now]);
      await pool.query('DELETE FROM sftpgo_rate_buckets WHERE keep_until < $1', [now]);
    },
  };
}
