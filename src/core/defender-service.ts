// Runs the defender inside `serve`: settings from `common.defender` (again on every reload), the
// safelist/blocklist files, the IP lists (loaded here, first of all services, so every listener
// finds them ready; type 2 entries are the defender's own), and the bans kept in the store so they
// survive a restart. Ban extensions are written in one transaction per short interval rather than
// one per knock, so a banned host hammering the door costs few store writes; with a shared store
// (driver provider) new bans and lifted ones are written at once, and the other replicas' ban
// changes are followed into this one's ban table.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/load.ts';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { Service, ServiceFactory } from './service.ts';
import type { Store } from '../store/store.ts';
import { defenderDriver, defenderSettings, type BanChange, type Defender } from './defender.ts';
import type { IpLists } from './ip-lists.ts';
import type { LoginProtocol } from '../auth/login.ts';

const FLUSH_MS = 500;

/**
 * A safelist/blocklist file: SFTPGo's JSON (`{"addresses": [...], "networks": [...]}`), a JSON
 * array, or plain text with one address or CIDR per line (`#` starts a comment).
 */
export function parseListFile(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const value = JSON.parse(trimmed) as unknown;
    if (Array.isArray(value)) return value.map(String);
    const v = value as { addresses?: unknown; networks?: unknown };
    const strings = (x: unknown) => (Array.isArray(x) ? x.map(String) : []);
    return [...strings(v.addresses), ...strings(v.networks)];
  }
  return trimmed
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

function readList(file: string | undefined, field: string): string[] {
  if (!file) return [];
  try {
    return parseListFile(readFileSync(resolve(file), 'utf8'));
  } catch (err) {
    throw new AppError('config', `common.defender.${field}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** `lists`: the IP lists whose type 2 entries join the safe list (mode 1) and the block list (mode 2). */
export function configureDefender(d: Defender, config: Config, lists?: IpLists): void {
  const cfg = config.common?.defender;
  const listed = lists && ((ip: string, protocol: LoginProtocol | undefined) => (lists.size(2) ? lists.match(2, ip, protocol) : undefined));
  const settings = defenderSettings(cfg, { safelist: readList(cfg?.safelist_file, 'safelist_file'), blocklist: readList(cfg?.blocklist_file, 'blocklist_file') }, listed);
  d.configure({ ...settings, shared: defenderDriver(config) === 'provider' });
}

/** The static list keys SFTPGo replaced with IP lists of type 2; still honoured here. */
function deprecatedListKeys(config: Config): string[] {
  const cfg = config.common?.defender ?? {};
  return (['safelist', 'blocklist', 'safelist_file', 'blocklist_file'] as const).filter((k) => {
    const v = cfg[k];
    return Array.isArray(v) ? v.length > 0 : Boolean(v);
  });
}

interface PendingBan {
  until: number | undefined;
  change: BanChange;
}

/**
 * Keeps the store's `bans` collection in step with the defender's ban table, in batches. Written so
 * that replicas sharing the store cannot undo each other: an extension only lengthens a ban still
 * stored, a ban never shortens a longer one, and a ban that ran out here is removed only when the
 * stored one ran out too.
 */
export class BanJournal {
  readonly #pending = new Map<string, PendingBan>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #now: () => number;

  constructor(
    private readonly store: Store,
    private readonly log?: Log,
    opts: { now?: () => number } = {},
  ) {
    this.#now = opts.now ?? Date.now;
  }

  /** Loads the kept bans into `d`, dropping the expired ones from the store. */
  async restore(d: Defender, now = Date.now()): Promise<void> {
    const live: [string, number][] = [];
    const expired: string[] = [];
    for await (const [key, ban] of this.store.entries('bans')) (ban.until > now ? live.push([ban.ip, ban.until]) : expired.push(key));
    if (expired.length) await this.store.write(async (tx) => { for (const k of expired) await tx.remove('bans', k); });
    d.restore(live);
  }

  /**
   * A change to write. `now`: a new ban or a lift other replicas must see at once (shared store);
   * otherwise it waits for the next batch.
   */
  note(ip: string, until: number | undefined, change: BanChange = until === undefined ? 'lift' : 'ban', opts: { now?: boolean } = {}): Promise<void> | undefined {
    // An extension of a ban not written yet is still that ban.
    const before = this.#pending.get(ip);
    this.#pending.set(ip, { until, change: change === 'extend' && before?.change === 'ban' ? 'ban' : change });
    if (opts.now) return this.flush();
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
    (this.#timer as { unref?: () => void }).unref?.();
    return undefined;
  }

  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    try {
      const now = this.#now();
      await this.store.write(async (tx) => {
        for (const [ip, { until, change }] of batch) {
          const stored = await tx.get('bans', ip);
          if (until === undefined) {
            if (stored && (change !== 'expire' || stored.until <= now)) await tx.remove('bans', ip);
          } else if (change === 'ban' ? !stored || stored.until < until : stored && stored.until < until) {
            await tx.put('bans', ip, { ip, until });
          }
        }
      });
    } catch (err) {
      this.log?.('error', 'defender_store_failed', { error: (err as Error).message });
    }
  }
}

export const defenderService: ServiceFactory = (runtime): Service => {
  const defender = runtime.defender;
  const log = runtime.log;
  const journal = new BanJournal(runtime.store, log);
  let unfollow: (() => void) | undefined;
  return {
    name: 'defender',
    async start() {
      await runtime.ipLists.load();
      const deprecated = deprecatedListKeys(runtime.config);
      if (deprecated.length)
        log('warn', 'config_deprecated', { keys: deprecated.map((k) => `common.defender.${k}`), use: 'ip_lists entries of type 2 (mode 1 safe, mode 2 blocked)' });
      configureDefender(defender, runtime.config, runtime.ipLists);
      // Before the restore, so a ban another replica makes meanwhile is not missed.
      if (runtime.store.shared)
        unfollow = runtime.store.subscribe('bans', (change) => {
          if (change.remote && defender.shared) defender.follow(change.key, change.value?.until);
        });
      await journal.restore(defender);
      defender.onBanChange((ip, until, change) => journal.note(ip, until, change, { now: defender.shared && (change === 'ban' || change === 'lift') }));
    },
    async reload(config: Config) {
      try {
        configureDefender(defender, config, runtime.ipLists);
      } catch (err) {
        // The running lists stay; the rest of the reload already applied.
        log('error', 'defender_reload_failed', { error: (err as Error).message });
      }
    },
    async stop() {
      await defender.settled();
      unfollow?.();
      defender.onBanChange(undefined);
      runtime.ipLists.close();
      await journal.flush();
    },
  };
};
