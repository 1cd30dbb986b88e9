// The defender (SFTPGo's `common.defender`): a score per client IP inside an observation window,
// fed by the security events every protocol reports (events.ts), and a ban once the score reaches
// the threshold. Banned and blocklisted addresses are refused right after accept (the login gate's
// admit) and by the admin API. Safelisted addresses are never scored nor banned; the blocklist wins
// over the safelist, as in SFTPGo. The safe and block lists are the IP lists' type 2 entries (per
// protocol) plus the deprecated static lists of common.defender.
//
// Both tables are bounded: above entries_hard_limit the oldest scored hosts (by last event) and the
// bans closest to expiry are dropped down to entries_soft_limit, so a flood of distinct addresses
// costs at most hard_limit entries each.
//
// Shared (common.defender.driver provider, the default on a shared store): the scores live in the
// store's counters, so failed logins on every replica add up, and a ban is kept in the store's
// `bans` collection, which every replica follows into its own ban table; admission then still asks
// only memory. The hard limit then bounds the hosts listed, as in SFTPGo, not the ban table.
//
// This module is state and rules with an injectable clock; defender-service.ts wires it to the
// config, the list files, the IP lists and the store.
import { Buffer } from 'node:buffer';
import type { LoginProtocol } from '../auth/login.ts';
import type { Config } from '../config/load.ts';
import { cidrMatcher, isAddressOrCidr } from '../lib/cidr.ts';
import type { Log } from '../log.ts';
import type { SharedCounters } from '../store/store.ts';
import { plainIp } from './ip.ts';
import type { Metrics } from './metrics.ts';

export type HostEvent = 'valid' | 'invalid' | 'no_auth' | 'limit_exceeded';

type DefenderConfig = NonNullable<NonNullable<Config['common']>['defender']>;

export interface DefenderSettings {
  enabled: boolean;
  banTimeMs: number;
  /** Percent of the ban time added each time a banned host tries to connect again. */
  banTimeIncrement: number;
  threshold: number;
  scores: Record<HostEvent, number>;
  observationMs: number;
  softLimit: number;
  hardLimit: number;
  /** `protocol` undefined: listed for any protocol. */
  safe: (ip: string, protocol?: LoginProtocol) => boolean;
  blocked: (ip: string, protocol?: LoginProtocol) => boolean;
  /** Scores in the store's shared counters and bans followed from the store (driver provider). */
  shared: boolean;
}

/** SFTPGo's defaults. */
export const DEFENDER_DEFAULTS = {
  enabled: false,
  ban_time: 30,
  ban_time_increment: 50,
  threshold: 15,
  score_invalid: 2,
  score_valid: 1,
  score_limit_exceeded: 3,
  score_no_auth: 0,
  observation_time: 30,
  entries_soft_limit: 100,
  entries_hard_limit: 150,
} as const;

const MINUTE = 60_000;

/** Where else an address may be safe or blocked: the IP lists' type 2 entries (mode 1 or 2). */
export type ListedMode = (ip: string, protocol: LoginProtocol | undefined) => 1 | 2 | undefined;

/**
 * Settings from `common.defender` plus the contents of the safelist/blocklist files and, through
 * `listed`, the IP lists' defender entries.
 */
export function defenderSettings(cfg: DefenderConfig | undefined, files: { safelist?: string[]; blocklist?: string[] } = {}, listed?: ListedMode): DefenderSettings {
  const c = { ...DEFENDER_DEFAULTS, ...cfg };
  const hard = Math.max(1, c.entries_hard_limit);
  return {
    enabled: c.enabled === true,
    banTimeMs: c.ban_time * MINUTE,
    banTimeIncrement: c.ban_time_increment,
    threshold: Math.max(1, c.threshold),
    scores: { valid: c.score_valid, invalid: c.score_invalid, no_auth: c.score_no_auth, limit_exceeded: c.score_limit_exceeded },
    observationMs: c.observation_time * MINUTE,
    hardLimit: hard,
    softLimit: Math.min(Math.max(1, c.entries_soft_limit), hard),
    safe: either(cidrMatcher([...(c.safelist ?? []), ...(files.safelist ?? [])]), listed, 1),
    blocked: either(cidrMatcher([...(c.blocklist ?? []), ...(files.blocklist ?? [])]), listed, 2),
    shared: false,
  };
}

/**
 * SFTPGo's drivers: `memory` keeps scores in each server, `provider` in the data provider, shared
 * by every server using it. Absent, a shared store (PostgreSQL) means provider.
 */
export function defenderDriver(config: Pick<Config, 'common' | 'data_provider'>): 'memory' | 'provider' {
  return config.common?.defender?.driver ?? (config.data_provider?.driver === 'postgresql' ? 'provider' : 'memory');
}

function either(fixed: (ip: string) => boolean, listed: ListedMode | undefined, mode: 1 | 2): (ip: string, protocol?: LoginProtocol) => boolean {
  if (!listed) return fixed;
  return (ip, protocol) => fixed(ip) || listed(ip, protocol) === mode;
}

/** Config checks the schema cannot express (SFTPGo refuses the same). */
export function defenderProblems(cfg: DefenderConfig | undefined, provider?: string): { path: (string | number)[]; message: string }[] {
  if (!cfg) return [];
  const out: { path: (string | number)[]; message: string }[] = [];
  const soft = cfg.entries_soft_limit ?? DEFENDER_DEFAULTS.entries_soft_limit;
  const hard = cfg.entries_hard_limit ?? DEFENDER_DEFAULTS.entries_hard_limit;
  if (soft >= hard) out.push({ path: ['entries_soft_limit'], message: `must be lower than entries_hard_limit (${hard})` });
  if (cfg.driver === 'provider' && provider !== 'postgresql')
    out.push({ path: ['driver'], message: 'provider keeps scores and bans in a shared data provider: it needs data_provider.driver postgresql (with lmdb, one server, use memory)' });
  for (const field of ['safelist', 'blocklist'] as const)
    (cfg[field] ?? []).forEach((entry, i) => {
      if (!isAddressOrCidr(entry)) out.push({ path: [field, i], message: `"${entry}" is not an IP address or CIDR network` });
    });
  return out;
}

// Refusals that are the server's own doing, or a summary of failures already scored one by one.
// tls_required: an FTP client that has not sent AUTH TLS yet is not guessing credentials, and SFTPGo
// refuses it before its login code runs, so it never reaches the defender.
const NOT_SCORED: ReadonlySet<string> = new Set(['max_auth_tries', 'error', 'internal_error', 'admission_error', 'store', 'unsupported_filesystem', 'tls_required']);

/**
 * What a `login_failed` reason counts as. SFTPGo's split: an unknown user is `invalid`, any other
 * refusal of a named user is `valid` (wrong password or key, disabled, expired, filtered), a client
 * that never tried to authenticate is `no_auth`, and limits are `limit_exceeded`.
 */
export function eventForLoginFailure(reason: string): HostEvent | undefined {
  if (NOT_SCORED.has(reason)) return undefined;
  if (reason === 'user_not_found') return 'invalid';
  if (reason === 'login_grace_time_exceeded' || reason === 'no_auth') return 'no_auth';
  if (/limit|too_many|max_sessions|max_connections|rate/.test(reason)) return 'limit_exceeded';
  return 'valid';
}

// Refusals that say nothing about the client itself: the server is full, or a proxy setup is wrong.
// Not on the allow list: an operator's choice, not the client's doing (SFTPGo does not score it).
// Rate limit refusals are scored by the limiter itself when its generate_defender_events says so.
const UNSCORED_REFUSALS: ReadonlySet<string> = new Set(['max_total_connections', 'proxy_source_not_allowed', 'proxy_header_missing', 'not_allowed', 'rate_limit_exceeded']);

/**
 * What a `connection_refused` reason counts as. A ban or the blocklist is not scored again (the ban
 * grows through the ban time increment instead). Every other refusal before login (connection
 * limits, the post-connect hook saying no) is `limit_exceeded`: a client the server keeps turning
 * away at the door is treated like one hammering its limits.
 */
export function eventForRefusal(reason: string): HostEvent | undefined {
  if (reason === 'banned' || reason === 'blocklisted' || NOT_SCORED.has(reason) || UNSCORED_REFUSALS.has(reason)) return undefined;
  return 'limit_exceeded';
}

export interface DefenderHost {
  /** Hex of the address text, as SFTPGo's API uses. */
  id: string;
  ip: string;
  /** When the ban ends (RFC 3339, seconds, UTC); absent while the host is only scored. */
  ban_time?: string;
  /** Absent for a banned host, as in SFTPGo. */
  score?: number;
}

/** SFTPGo's ban_time: RFC 3339 in whole seconds. */
function banTime(until: number): string {
  return new Date(until).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function hostId(ip: string): string {
  return Buffer.from(ip, 'utf8').toString('hex');
}

/** The address an id names, or undefined when it is not hex of a plausible address. */
export function ipFromHostId(id: string): string | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(id)) return undefined;
  const ip = Buffer.from(id, 'hex').toString('utf8');
  return /^[0-9a-f.:%A-F]+$/.test(ip) ? ip : undefined;
}

interface Scored {
  events: { at: number; score: number }[];
  total: number;
  last: number;
}

/**
 * Why the ban table changed: a new ban, a ban extended by a banned host knocking again, lifted
 * (API, web admin), run out, or dropped above the hard limit.
 */
export type BanChange = 'ban' | 'extend' | 'lift' | 'expire' | 'trim';

/**
 * Told about every change to the ban table, so it can be persisted. `until` undefined: unbanned.
 * A promise it returns (the write under way) is waited for by settled().
 */
export type BanListener = (ip: string, until: number | undefined, change: BanChange) => unknown;

export interface DefenderOptions {
  /** The clock (tests move it). */
  now?: () => number;
  /** Where bans are logged and counted; silent without. */
  log?: Log;
  metrics?: Metrics;
  /** Told of each new ban (not of extensions): IP blocked event rules. */
  onBan?: (ip: string) => void;
  /** The shared store's counters, used while the settings say `shared`. */
  counters?: SharedCounters;
}

export class Defender {
  #settings: DefenderSettings = defenderSettings(undefined);
  readonly #hosts = new Map<string, Scored>();
  readonly #banned = new Map<string, number>();
  readonly #now: () => number;
  #listener: BanListener | undefined;
  readonly #log: Log;
  readonly #metrics: Metrics | undefined;
  readonly #onBan: ((ip: string) => void) | undefined;
  readonly #counters: SharedCounters | undefined;
  /** Shared score updates and ban writes in flight. */
  readonly #pending = new Set<Promise<void>>();

  constructor(opts: DefenderOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#log = opts.log ?? (() => undefined);
    this.#metrics = opts.metrics;
    this.#onBan = opts.onBan;
    this.#counters = opts.counters;
  }

  configure(settings: DefenderSettings): void {
    this.#settings = settings;
    if (this.#shared) this.#hosts.clear();
    this.#trimHosts();
    this.#trimBans();
  }

  get enabled(): boolean {
    return this.#settings.enabled;
  }

  /** Whether scores and bans are the cluster's (driver provider on a shared store). */
  get shared(): boolean {
    return this.#shared !== undefined;
  }

  get #shared(): SharedCounters | undefined {
    return this.#settings.shared ? this.#counters : undefined;
  }

  onBanChange(listener: BanListener | undefined): void {
    this.#listener = listener;
  }

  /**
   * Whether a new connection from `ip` may proceed: 'blocklisted', 'banned', or undefined. A banned
   * host knocking again has its ban extended by ban_time_increment percent (SFTPGo's rule).
   */
  admit(rawIp: string, protocol?: LoginProtocol): 'banned' | 'blocklisted' | undefined {
    const s = this.#settings;
    if (!s.enabled) return undefined;
    const ip = plainIp(rawIp);
    if (s.blocked(ip, protocol)) return 'blocklisted';
    const until = this.#activeBan(ip);
    if (until === undefined) return undefined;
    const extended = until + (s.banTimeMs * s.banTimeIncrement) / 100;
    if (extended !== until) {
      this.#banned.set(ip, extended);
      this.#tell(ip, extended, 'extend');
    }
    return 'banned';
  }

  /** Whether `ip` is banned or blocklisted right now, without touching the ban. */
  isBanned(rawIp: string, protocol?: LoginProtocol): boolean {
    const s = this.#settings;
    if (!s.enabled) return false;
    const ip = plainIp(rawIp);
    return s.blocked(ip, protocol) || this.#activeBan(ip) !== undefined;
  }

  /** Whether `ip` is on the safelist of an enabled defender (SFTPGo lets it past the per-host cap). */
  isSafe(rawIp: string, protocol?: LoginProtocol): boolean {
    const s = this.#settings;
    return s.enabled && s.safe(plainIp(rawIp), protocol);
  }

  /**
   * Adds an event's score; bans the host when its total within the observation time reaches the
   * threshold. Shared, the score goes to the store's counters in the background (settled() waits).
   */
  record(rawIp: string, event: HostEvent, protocol?: LoginProtocol): void {
    const s = this.#settings;
    if (!s.enabled) return;
    const ip = plainIp(rawIp);
    const score = s.scores[event];
    if (!ip || score <= 0 || s.safe(ip, protocol) || s.blocked(ip, protocol) || this.#activeBan(ip) !== undefined) return;
    const now = this.#now();
    const shared = this.#shared;
    if (shared) {
      this.#track(this.#recordShared(shared, ip, score, now));
      return;
    }
    const from = now - s.observationMs;
    let h = this.#hosts.get(ip);
    if (!h) {
      h = { events: [], total: 0, last: now };
      this.#hosts.set(ip, h);
    }
    h.events = h.events.filter((e) => e.at > from);
    h.events.push({ at: now, score });
    h.total = h.events.reduce((sum, e) => sum + e.score, 0);
    h.last = now;
    if (h.total >= s.threshold) {
      this.#hosts.delete(ip);
      this.#ban(ip, h.total, now);
    } else {
      this.#trimHosts();
    }
  }

  async #recordShared(counters: SharedCounters, ip: string, score: number, now: number): Promise<void> {
    const s = this.#settings;
    try {
      const r = await counters.addScore({ ip, score, now, from: now - s.observationMs, threshold: s.threshold, keepUntil: now + s.observationMs });
      // Another replica's ban may have arrived meanwhile: it stands.
      if (r.reached && this.#activeBan(ip) === undefined) this.#ban(ip, r.total, now);
    } catch (err) {
      this.#log('error', 'defender_store_failed', { ip, error: (err as Error).message });
    }
  }

  #ban(ip: string, score: number, now: number): void {
    const until = now + this.#settings.banTimeMs;
    this.#banned.set(ip, until);
    this.#log('warn', 'defender_ban', { ip, score, until: new Date(until).toISOString() });
    this.#metrics?.inc('sftpgo_defender_bans_total');
    this.#tell(ip, until, 'ban');
    this.#trimBans();
    this.#onBan?.(ip);
  }

  #tell(ip: string, until: number | undefined, change: BanChange): void {
    const written = this.#listener?.(ip, until, change);
    if (written instanceof Promise) this.#track(written);
  }

  #track(work: Promise<void>): void {
    const p = work.catch(() => undefined).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Resolves once the shared score updates and ban writes started so far are done. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Banned hosts first, then scored ones, expired entries left out (this server's tables). */
  hosts(): DefenderHost[] {
    const now = this.#now();
    const out: DefenderHost[] = [];
    for (const [ip, until] of this.#banned) if (until > now) out.push({ id: hostId(ip), ip, ban_time: banTime(until) });
    for (const ip of this.#hosts.keys()) {
      const score = this.#score(ip, now);
      if (score > 0) out.push({ id: hostId(ip), ip, score });
    }
    return out;
  }

  /** One host in this server's tables. */
  host(rawIp: string): DefenderHost | undefined {
    const ip = plainIp(rawIp);
    const now = this.#now();
    const until = this.#activeBan(ip);
    if (until !== undefined) return { id: hostId(ip), ip, ban_time: banTime(until) };
    const score = this.#score(ip, now);
    return score > 0 ? { id: hostId(ip), ip, score } : undefined;
  }

  /**
   * What the API lists: hosts(), or shared, the cluster's bans (followed from the store) and the
   * scores in the store's counters, at most entries_hard_limit of them (SFTPGo's provider driver).
   */
  async listHosts(): Promise<DefenderHost[]> {
    const shared = this.#shared;
    if (!shared) return this.hosts();
    const now = this.#now();
    const out: DefenderHost[] = [];
    for (const [ip, until] of this.#banned) if (until > now) out.push({ id: hostId(ip), ip, ban_time: banTime(until) });
    const limit = this.#settings.hardLimit;
    if (out.length >= limit) return out.slice(0, limit);
    for (const { ip, score } of await shared.scores({ from: now - this.#settings.observationMs, limit })) {
      if (out.length >= limit) break;
      if (this.#activeBan(ip) === undefined) out.push({ id: hostId(ip), ip, score });
    }
    return out;
  }

  /** One host as the API shows it: host(), or shared, the cluster's. */
  async findHost(rawIp: string): Promise<DefenderHost | undefined> {
    const shared = this.#shared;
    if (!shared) return this.host(rawIp);
    const ip = plainIp(rawIp);
    const until = this.#activeBan(ip);
    if (until !== undefined) return { id: hostId(ip), ip, ban_time: banTime(until) };
    const [scored] = await shared.scores({ from: this.#now() - this.#settings.observationMs, limit: 1, ip });
    return scored ? { id: hostId(ip), ip, score: scored.score } : undefined;
  }

  /** Unbans and forgets the host's score; false when there was nothing to remove. */
  remove(rawIp: string): boolean {
    const ip = plainIp(rawIp);
    const known = this.host(ip) !== undefined;
    this.#hosts.delete(ip);
    if (this.#banned.delete(ip)) this.#tell(ip, undefined, 'lift');
    return known;
  }

  /** remove(), or shared, for the cluster: the ban goes from the store, the score from its counters. */
  async unban(rawIp: string): Promise<boolean> {
    const shared = this.#shared;
    if (!shared) return this.remove(rawIp);
    const ip = plainIp(rawIp);
    const known = (await this.findHost(ip)) !== undefined;
    this.remove(ip);
    await shared.forgetScore(ip);
    // Answered once the lift is in the store, where the other replicas read it.
    await this.settled();
    return known;
  }

  /**
   * Another replica's ban change, read from the store: set (`until`) or lifted (undefined) here
   * without telling the listener, whose store already has it.
   */
  follow(rawIp: string, until: number | undefined): void {
    const ip = plainIp(rawIp);
    if (until !== undefined && until > this.#now()) this.#banned.set(ip, until);
    else this.#banned.delete(ip);
  }

  /** Loads bans kept from an earlier run; expired ones are skipped. */
  restore(bans: Iterable<[string, number]>): void {
    const now = this.#now();
    for (const [ip, until] of bans) if (until > now) this.#banned.set(ip, until);
    this.#trimBans();
  }

  /** Table sizes, for tests and metrics. */
  sizes(): { hosts: number; banned: number } {
    return { hosts: this.#hosts.size, banned: this.#banned.size };
  }

  #activeBan(ip: string): number | undefined {
    const until = this.#banned.get(ip);
    if (until === undefined) return undefined;
    if (until > this.#now()) return until;
    this.#banned.delete(ip);
    this.#tell(ip, undefined, 'expire');
    return undefined;
  }

  #score(ip: string, now: number): number {
    const h = this.#hosts.get(ip);
    if (!h) return 0;
    const from = now - this.#settings.observationMs;
    return h.events.reduce((sum, e) => (e.at > from ? sum + e.score : sum), 0);
  }

  /** Above the hard limit: keep the soft limit's worth of most recently seen hosts. */
  #trimHosts(): void {
    const { hardLimit, softLimit } = this.#settings;
    if (this.#hosts.size <= hardLimit) return;
    const now = this.#now();
    const from = now - this.#settings.observationMs;
    const live = [...this.#hosts].filter(([, h]) => h.last > from).sort((a, b) => b[1].last - a[1].last);
    this.#hosts.clear();
    for (const [ip, h] of live.slice(0, softLimit)) this.#hosts.set(ip, h);
  }

  /**
   * Above the hard limit: expired bans go first, then those closest to their end. Not when shared:
   * the table mirrors the cluster's bans, which one replica's limit must not lift.
   */
  #trimBans(): void {
    const { hardLimit, softLimit } = this.#settings;
    if (this.#banned.size <= hardLimit || this.#shared) return;
    const now = this.#now();
    const ordered = [...this.#banned].sort((a, b) => b[1] - a[1]);
    const keep = ordered.filter(([, until]) => until > now).slice(0, softLimit);
    const kept = new Set(keep.map(([ip]) => ip));
    for (const [ip, until] of ordered) {
      if (kept.has(ip)) continue;
      this.#banned.delete(ip);
      this.#tell(ip, undefined, until > now ? 'trim' : 'expire');
    }
  }
}
