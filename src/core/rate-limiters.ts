// SFTPGo's rate limiters (common.rate_limiters): token buckets, one for everybody (type 1) or one
// per client address (type 2), asked by the door of each protocol: SSH and FTP once per new
// connection, WebDAV and the REST API once per request. A request that would have to wait longer
// than the limiter's grace delay is refused (SFTPGo's rule: half an event's interval, at most 10 s);
// a shorter wait is served by delaying it. Addresses on the rate limiters' safe list (IP list type
// 3) are never limited.
//
// With a shared store the buckets are the cluster's (the store's counters, one atomic update per
// take), so a limit of N per period holds across every replica; when the store cannot be asked the
// replica falls back to its own bucket rather than refusing or letting everything through.
import { createHash } from 'node:crypto';
import type { LoginProtocol } from '../auth/login.ts';
import type { RateLimiter as RateLimiterConfig } from '../config/schema-types.ts';
import type { Log } from '../log.ts';
import type { SharedCounters } from '../store/store.ts';

const ALL_PROTOCOLS: readonly LoginProtocol[] = ['SSH', 'FTP', 'DAV', 'HTTP'];
const MAX_DELAY_MS = 10_000;

/** SFTPGo's defaults for an entry's missing fields. */
export const RATE_LIMITER_DEFAULTS = { period: 1000, burst: 1, type: 2, entries_soft_limit: 100, entries_hard_limit: 150 } as const;

/** Config checks the schema cannot express (SFTPGo refuses the same). */
export function rateLimiterProblems(list: readonly RateLimiterConfig[] | undefined): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  (list ?? []).forEach((r, i) => {
    const c = { ...RATE_LIMITER_DEFAULTS, ...r };
    if (c.type === 2 && c.entries_hard_limit <= c.entries_soft_limit)
      out.push({ path: [i, 'entries_hard_limit'], message: `must be greater than entries_soft_limit (${c.entries_soft_limit})` });
  });
  return out;
}

function enabled(c: RateLimiterConfig): boolean {
  return (c.average ?? 0) > 0 && (c.protocols ?? ALL_PROTOCOLS).length > 0;
}

/** SFTPGo's status of the limiters: active when one is enabled, with the protocols they limit. */
export function rateLimitersStatus(list: readonly RateLimiterConfig[] | undefined): { is_active: boolean; protocols: LoginProtocol[] } {
  const on = (list ?? []).filter(enabled);
  const protocols = new Set(on.flatMap((c) => (c.protocols ?? ALL_PROTOCOLS) as LoginProtocol[]));
  return { is_active: on.length > 0, protocols: ALL_PROTOCOLS.filter((p) => protocols.has(p)) };
}

/** A token bucket with golang.org/x/time/rate's arithmetic: fractional tokens refilled continuously. */
class Bucket {
  #tokens: number;
  #at: number;
  lastUse: number;

  constructor(
    private readonly perMs: number,
    private readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
    this.lastUse = now;
  }

  /** Takes a token when the wait it implies is at most `maxDelayMs`; returns that wait, or the refused one. */
  reserve(now: number, maxDelayMs: number): { ok: boolean; delayMs: number } {
    this.lastUse = now;
    const tokens = Math.min(this.burst, this.#tokens + (now - this.#at) * this.perMs) - 1;
    const delayMs = tokens < 0 ? -tokens / this.perMs : 0;
    if (delayMs > maxDelayMs) return { ok: false, delayMs };
    this.#tokens = tokens;
    this.#at = now;
    return { ok: true, delayMs };
  }
}

export interface RateVerdict {
  /** Milliseconds to wait before serving (0: at once). */
  delayMs: number;
  /** Set when refused: how long the client should wait before trying again. */
  retryAfterMs?: number;
  /** Whether the refusal should score in the defender (generate_defender_events on a per-source limiter). */
  defenderEvent?: boolean;
}

class Limiter {
  readonly protocols: ReadonlySet<LoginProtocol>;
  /** The limiter's name among the cluster's buckets: its place in the list and a digest of its settings. */
  readonly #key: string;
  readonly #type: number;
  readonly #perMs: number;
  readonly #burst: number;
  readonly #maxDelayMs: number;
  readonly #global: Bucket | undefined;
  readonly #sources = new Map<string, Bucket>();
  readonly #soft: number;
  readonly #hard: number;
  readonly #events: boolean;

  constructor(cfg: RateLimiterConfig, index: number, now: number) {
    const c = { ...RATE_LIMITER_DEFAULTS, ...cfg };
    // Replicas run the same config, so they name the same limiter alike; a changed limiter gets
    // fresh buckets, as the in-memory ones are rebuilt.
    this.#key = `${index}.${createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 12)}`;
    this.#type = c.type;
    this.protocols = new Set((cfg.protocols ?? ALL_PROTOCOLS) as LoginProtocol[]);
    this.#perMs = (c.average ?? 0) / c.period;
    this.#burst = c.burst;
    const perSecond = this.#perMs * 1000;
    this.#maxDelayMs = Math.min(MAX_DELAY_MS, perSecond < 1 ? c.period / 2 : 1000 / (Math.floor(perSecond) * 2));
    this.#global = c.type === 1 ? new Bucket(this.#perMs, this.#burst, now) : undefined;
    this.#soft = c.entries_soft_limit;
    this.#hard = c.entries_hard_limit;
    this.#events = c.type === 2 && cfg.generate_defender_events === true;
  }

  take(ip: string, now: number): RateVerdict {
    let bucket = this.#global ?? this.#sources.get(ip);
    if (!bucket) {
      this.#trim();
      bucket = new Bucket(this.#perMs, this.#burst, now);
      this.#sources.set(ip, bucket);
    }
    const r = bucket.reserve(now, this.#maxDelayMs);
    return r.ok ? { delayMs: r.delayMs } : { delayMs: 0, retryAfterMs: r.delayMs, defenderEvent: this.#events };
  }

  /** take() on the cluster's bucket in the store's counters. */
  async takeShared(counters: SharedCounters, ip: string, now: number): Promise<RateVerdict> {
    const key = `${this.#key}:${this.#type === 1 ? '*' : ip}`;
    const r = await counters.takeToken({ key, perMs: this.#perMs, burst: this.#burst, maxDebt: this.#maxDelayMs * this.#perMs, now });
    if (r.ok) return { delayMs: r.tokens < 0 ? -r.tokens / this.#perMs : 0 };
    return { delayMs: 0, retryAfterMs: (1 - r.tokens) / this.#perMs, defenderEvent: this.#events };
  }

  /** At the hard limit, the least recently used buckets go down to the soft limit. */
  #trim(): void {
    if (this.#sources.size < this.#hard) return;
    const drop = [...this.#sources].sort((a, b) => a[1].lastUse - b[1].lastUse).slice(0, this.#sources.size - this.#soft);
    for (const [ip] of drop) this.#sources.delete(ip);
  }

  get sources(): number {
    return this.#sources.size;
  }
}

export interface RateLimitersOptions {
  /** The clock (tests move it). */
  now?: () => number;
  /** A shared store's counters: the buckets are then the cluster's. */
  counters?: SharedCounters;
  /** Where a failure to reach the shared buckets is told (once a minute at most). */
  log?: Log;
}

const FAILURE_LOG_MS = 60_000;

/** The limiters of one server, rebuilt (buckets refilled) when the config's list changes. */
export class RateLimiters {
  #from: unknown;
  #limiters: Limiter[] = [];
  readonly #now: () => number;
  readonly #counters: SharedCounters | undefined;
  readonly #log: Log;
  #failureLoggedAt = -Infinity;

  constructor(opts: RateLimitersOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#counters = opts.counters;
    this.#log = opts.log ?? (() => undefined);
  }

  /** Follows `common.rate_limiters`; the same list (by identity) keeps its buckets. */
  configure(list: readonly RateLimiterConfig[] | undefined): void {
    if (list === this.#from) return;
    this.#from = list;
    const now = this.#now();
    this.#limiters = (list ?? []).flatMap((c, i) => (enabled(c) ? [new Limiter(c, i, now)] : []));
  }

  /** Whether any limiter applies to `protocol` (so the caller can skip the safe list lookup). */
  limits(protocol: LoginProtocol): boolean {
    return this.#limiters.some((l) => l.protocols.has(protocol));
  }

  /**
   * One event of `protocol` from `ip` through every limiter for that protocol: the longest wait
   * when all allow it, or the first refusal.
   */
  take(ip: string, protocol: LoginProtocol): RateVerdict {
    const now = this.#now();
    let delayMs = 0;
    for (const l of this.#limiters) {
      if (!l.protocols.has(protocol)) continue;
      const v = l.take(ip, now);
      if (v.retryAfterMs !== undefined) return v;
      delayMs = Math.max(delayMs, v.delayMs);
    }
    return { delayMs };
  }

  /**
   * take(), on the cluster's buckets when the store is shared: one round trip to the store per
   * limiter asked. A limiter the store cannot answer for takes from this server's own bucket.
   */
  async reserve(ip: string, protocol: LoginProtocol): Promise<RateVerdict> {
    const counters = this.#counters;
    if (!counters) return this.take(ip, protocol);
    const now = this.#now();
    let delayMs = 0;
    for (const l of this.#limiters) {
      if (!l.protocols.has(protocol)) continue;
      let v: RateVerdict;
      try {
        v = await l.takeShared(counters, ip, now);
      } catch (err) {
        if (now - this.#failureLoggedAt >= FAILURE_LOG_MS) {
          this.#failureLoggedAt = now;
          this.#log('warn', 'rate_limiter_store_failed', { error: (err as Error).message, fallback: 'this server\'s own buckets' });
        }
        v = l.take(ip, now);
      }
      if (v.retryAfterMs !== undefined) return v;
      delayMs = Math.max(delayMs, v.delayMs);
    }
    return { delayMs };
  }

  /** Per-source buckets held, for tests. */
  sources(): number {
    return this.#limiters.reduce((n, l) => n + l.sources, 0);
  }
}

/** SFTPGo's Retry-After for a refused wait: the wait plus just under half a second, rounded to whole seconds. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.round((ms + 499.999999) / 1000)));
}

/**
 * The headers of a 429 as SFTPGo sends them: Retry-After in whole seconds, and X-Retry-In with the
 * same padded wait as a Go duration ("1.499999999s"), which SFTPGo's clients may read.
 */
export function retryHeaders(ms: number): { 'Retry-After': string; 'X-Retry-In': string } {
  return { 'Retry-After': retryAfterSeconds(ms), 'X-Retry-In': goDuration(Math.round(ms * 1e6) + 499_999_999) };
}

/** A whole number of nanoseconds as Go's time.Duration.String() writes it. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const trim = (n: number, digits: number): string => {
    const whole = Math.floor(n / 10 ** digits);
    const frac = String(n % 10 ** digits).padStart(digits, '0').replace(/0+$/, '');
    return frac ? `${whole}.${frac}` : String(whole);
  };
  if (ns < 1_000) return `${ns}ns`;
  if (ns < 1_000_000) return `${trim(ns, 3)}µs`;
  if (ns < 1_000_000_000) return `${trim(ns, 6)}ms`;
  const h = Math.floor(ns / 3_600_000_000_000);
  const m = Math.floor((ns % 3_600_000_000_000) / 60_000_000_000);
  const sec = `${trim(ns % 60_000_000_000, 9)}s`;
  return h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
}
