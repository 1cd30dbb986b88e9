// The server context: everything one running server owns, built once by `serve` and handed to
// the services, protocols and API explicitly. Nothing of this lives in module variables, so two
// servers can share a process and core logic can be tested without spawning the binary.
import { CredentialsCache } from '../auth/credentials-cache.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DecoyPassword } from '../auth/decoy.ts';
import type { Config } from '../config/load.ts';
import { createLog, type Log } from '../log.ts';
import type { Store } from '../store/store.ts';
import { KeyAnswers } from '../auth/key-answers.ts';
import { TotpCodes } from '../auth/totp.ts';
import { RevokedTokens } from '../auth/revoked-tokens.ts';
import type { UserRecord } from '../model.ts';
import type { LocalStaging, RemoteUploadJournal } from '../vfs/options.ts';
import { Actions } from './actions.ts';
import { EventManager } from './event-rules/manager.ts';
import type { ChangeOrigin } from './event-rules/provider.ts';
import { Scheduler } from './event-rules/scheduler.ts';
import { BandwidthBuckets } from './bandwidth.ts';
import { ClientSockets } from './client-sockets.ts';
import { ConnectionRegistry } from './connection.ts';
import { Defender } from './defender.ts';
import { LoginGate } from './gate.ts';
import { Metrics } from './metrics.ts';
import type { UsageBook } from './quota.ts';
import { hashingOptions, Records } from '../store/records.ts';
import { backendServices, type BackendServices } from './login.ts';
import { QuotaScans } from './quota-scan.ts';
import { CurrentUsers } from './current-users.ts';
import { IpLists } from './ip-lists.ts';
import { RateLimiters } from './rate-limiters.ts';
import type { UsageMarks } from './usage-marks.ts';
import { NodeRegistry, nodeIdentity, type NodeIdentity } from './nodes.ts';

export interface ServerContextInit {
  config: Config;
  /** Absolute data dir: the store, generated host keys. */
  dataDir: string;
  store: Store;
  /** The store's usage book, opened (loaded) before the server: quota checks read it synchronously. */
  usage: UsageBook;
  /** Where this server's lines go; a stderr Log at the config's level by default. */
  log?: Log;
  /** Re-reads the config file and reconciles it; the running state stays on error. */
  reload: () => Promise<{ ok: boolean; errors?: string[] }>;
  /** Where local backends keep and journal temporary uploads (common.temp_path, the upload journal). */
  staging?: LocalStaging;
  /** The config file's directory: relative paths in it (smtp.templates_path) start there; default the working directory. */
  configDir?: string;
  /** Journals object store uploads in flight (the upload journal's remote entries). */
  remoteUploads?: (owner: string) => RemoteUploadJournal;
  /** Marks the usage counters live sessions can change, so a crash's damage is known (usage-marks.ts). */
  usageMarks?: UsageMarks;
  /** This server's name and API URL among the replicas sharing the store; default from the config's data_provider. */
  node?: NodeIdentity;
}

/** The config revision running when a Git repository supplies the config (reconcile.git). */
export interface ConfigSourceState {
  source: 'git';
  /** The commit applied last, or '' before the first apply. */
  revision: string;
  /** Epoch milliseconds of that apply (0: none). */
  applied_at: number;
  /** Why the last check did not apply a newer commit (fetch failure, invalid file); '' when it did. */
  last_error: string;
}

/** What the last reconcile decided about this server's config against the store's recorded revision. */
export interface ConfigRevisionState {
  /** first, newer, same: the config applied (or was already); older: the store's newer state serves. */
  verdict: 'first' | 'newer' | 'same' | 'older';
  /** For an older config: what this server has and what the store has. */
  warning: string;
}

export class ServerContext {
  /** The current config; replaced on reload. */
  config: Config;
  /** Set by Git sync: the revision serving and the last check's error; undefined for a local file. */
  configSource: ConfigSourceState | undefined;
  /** Set by each reconcile of serve (start, reload, Git sync). */
  configRevision: ConfigRevisionState | undefined;
  readonly dataDir: string;
  /** The config file's directory. */
  readonly configDir: string;
  readonly store: Store;
  readonly log: Log;
  readonly metrics = new Metrics();
  readonly defender: Defender;
  /** The IP lists (allow list, defender entries, rate limiters' safe list), loaded by the defender service. */
  readonly ipLists: IpLists;
  /** common.rate_limiters' buckets (the cluster's with a shared store). */
  readonly rateLimiters: RateLimiters;
  /** Custom actions (common.actions): the queue and its hook runs. */
  readonly actions: Actions;
  /** Event rules and actions (event_rules, event_actions): matching, runs and their queue. */
  readonly events: EventManager;
  /** Who makes the store changes of the current request (the API sets it): provider events name them. */
  readonly changeOrigin = new AsyncLocalStorage<ChangeOrigin>();
  /** Runs scheduled event rules (trigger 3); serve starts and stops it, `tick()` drives it by hand. */
  readonly scheduler: Scheduler;
  /** Accepted TOTP codes, so that each is good once (on every replica when the store is shared). */
  readonly totp: TotpCodes;
  /** The hash password attempts naming no account are checked against, so they take as long. */
  readonly decoy = new DecoyPassword();
  /**
   * Passwords that verified (data_provider.password_caching, LoginGate.passwords): 600 accounts,
   * as SFTPGo's 500 users and 100 admins; an entry unused for an hour is dropped.
   */
  readonly passwords = new CredentialsCache({ ttlMs: 60 * 60_000, maxSize: 600, sliding: true });
  /** API tokens logged out before their expiry (the user API's logout); in the store when it is shared. */
  readonly revokedTokens: RevokedTokens;
  /** Hook answers kept between an SSH key query and its signed attempt. */
  readonly keyAnswers = new KeyAnswers();
  /** Users the external auth hook has just verified (auth/login.ts). */
  readonly verifiedByHook = new WeakSet<UserRecord>();
  /** Bandwidth limits: one bucket per user and direction, shared by all the user's sessions. */
  readonly buckets = new BandwidthBuckets();
  /** This replica among those sharing the store, and the registry of them all (serve starts and stops it). */
  readonly nodes: NodeRegistry;
  /** Quota and transfer usage, written to the store in batches; every reader and writer uses this one. */
  readonly usage: UsageBook;
  /** The counters sessions hold marked while they can change them; absent in tests that need no crash repair. */
  readonly usageMarks: UsageMarks | undefined;
  /** The one writer of users, folders and admins, with the current config's hashing; replaced on reload. */
  records: Records;
  /** Quota scans running (REST API). */
  readonly quotaScans = new QuotaScans(this);
  /** Live sessions and connections. */
  readonly connections = new ConnectionRegistry();
  /** Effective user records transfers read their limits from, forgotten at each store change. */
  readonly currentUsers: CurrentUsers;
  /** Accepted client sockets: connection caps, PROXY headers, client addresses. */
  readonly sockets: ClientSockets;
  /** The one way in for every protocol and the API. */
  readonly gate: LoginGate;
  /** What every backend this server opens is given: its secrets resolver and this server's log. */
  readonly backends: BackendServices;
  readonly #reload: ServerContextInit['reload'];

  constructor(init: ServerContextInit) {
    this.config = init.config;
    this.dataDir = init.dataDir;
    this.configDir = init.configDir ?? process.cwd();
    this.store = init.store;
    this.log = init.log ?? createLog({ level: init.config.log?.level, file: init.config.log?.file });
    this.#reload = init.reload;
    this.usage = init.usage;
    this.usageMarks = init.usageMarks;
    this.nodes = new NodeRegistry({ store: init.store, identity: init.node ?? nodeIdentity(init.config), log: this.log });
    this.currentUsers = new CurrentUsers(init.store);
    this.revokedTokens = new RevokedTokens(init.store);
    this.totp = new TotpCodes(init.store);
    this.records = this.recordsFor(init.config);
    this.defender = new Defender({ log: this.log, metrics: this.metrics, onBan: (ip) => this.events.ipBlocked(ip), ...(init.store.counters ? { counters: init.store.counters } : {}) });
    this.ipLists = new IpLists(init.store);
    this.rateLimiters = new RateLimiters({ log: this.log, ...(init.store.counters ? { counters: init.store.counters } : {}) });
    this.events = new EventManager(this);
    this.scheduler = new Scheduler({
      store: init.store, log: this.log, rules: () => this.events.scheduledRules(),
      run: (rule, done) => this.events.runScheduled(rule, done),
    });
    this.actions = new Actions({ log: this.log, metrics: this.metrics, events: this.events });
    this.sockets = new ClientSockets(this);
    this.gate = new LoginGate(this);
    this.backends = backendServices(this.log, init.store.secrets, {
      ...(init.staging ? { staging: init.staging } : {}),
      ...(init.remoteUploads ? { remoteUploads: init.remoteUploads } : {}),
    });
  }

  #lastTransferId = 0;

  /** Transfer ids are per server, as the API lists them. */
  nextTransferId(): number {
    return ++this.#lastTransferId;
  }

  /** The records layer for `config` (its password hashing settings). */
  recordsFor(config: Config): Records {
    return new Records({ store: this.store, secrets: this.store.secrets, hashing: hashingOptions(config.data_provider?.password_hashing) });
  }

  reload(): Promise<{ ok: boolean; errors?: string[] }> {
    return this.#reload();
  }
}
