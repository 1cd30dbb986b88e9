// Git sync (reconcile.git): the config comes from a file in a Git repository. At start the branch's
// head is fetched (or, when the server cannot be reached or the head is invalid, the last applied
// revision kept in the data dir); then the branch is checked every `interval` seconds and on SIGHUP.
// A new commit is validated and reconciled exactly as a reload of a local file; an invalid one is
// refused with its errors and the last good revision keeps serving. Each apply is recorded in the
// store, in the server context (status, metrics) and in the apply's log line.
import { join } from 'node:path';
import { formatIssue, parseConfigText, type Config, type ConfigIssue, type LoadedConfig, type LoadResult } from '../config/load.ts';
import type { GitSyncSettings } from '../config/schema-types.ts';
import { NO_SECRETS } from '../config/sealed.ts';
import { GIT_LOCAL_ONLY } from '../config/semantic.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { ConfigSourceState, ServerContext } from '../core/context.ts';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import { ConfigRepository, gitErrorMessage, gitSource, type Revision } from '../reconcile/git-repo.ts';
import type { RevisionOrigin } from '../reconcile/revision.ts';

/** `older`: the config was not applied, the store has a newer revision (the warning's message). */
export type ApplyOutcome = { ok: true; summary: Record<string, number>; older?: string } | { ok: false; errors: string[] };

/** Reconciles `next` into the running server as a reload does; `fields` join its log line. */
export type ApplyConfig = (next: LoadedConfig, opts: { trigger: string; fields: Record<string, unknown>; origin?: RevisionOrigin }) => Promise<ApplyOutcome>;

/**
 * A revision as the origin of a config, for the revision check against the store's record. Only a
 * revision `fetched` from the server now can be compared with the recorded commit (the kept one
 * of a start without the server cannot, and yields to a recorded other commit).
 */
export function revisionOrigin(repo: ConfigRepository, revision: Revision, opts: { fetched: boolean; signal?: AbortSignal }): RevisionOrigin {
  const { url, branch, path } = repo.source;
  const signal = opts.signal ?? AbortSignal.timeout(60_000);
  return {
    source: 'git', url, branch, path, commit: revision.commit,
    ...(opts.fetched ? { ancestry: (recorded: string) => repo.ancestry(revision.commit, recorded, signal) } : {}),
  };
}

/** The repository of the local file's `reconcile.git`, kept under `<dataDir>/git-sync`. */
export function configRepository(local: LoadedConfig, dataDir: string): ConfigRepository {
  const settings = gitSettingsOf(local);
  // The local file is never stored: its token is a reference or a literal, never a sealed value.
  const token = settings.token === undefined ? undefined : resolveSecret(settings.token, local.baseDir, NO_SECRETS);
  return new ConfigRepository({ source: gitSource(settings, token), dir: join(dataDir, 'git-sync') });
}

/** Keys a repository's file may not set: each is read from the local file, before any fetch. */
const LOCAL_ONLY: { path: string; present: (c: Config) => boolean; message: string }[] = [
  { path: 'reconcile.git', present: (c) => c.reconcile?.git !== undefined, message: 'reconcile.git belongs in the local config file, not in the repository' },
  { path: 'reconcile.watch', present: (c) => c.reconcile?.watch !== undefined, message: 'there is no local file to watch: with reconcile.git the branch is checked every interval and on SIGHUP' },
  { path: 'data_provider.data_dir', present: (c) => c.data_provider?.data_dir !== undefined, message: 'the data dir is opened before the repository is read: set it in the local config file' },
];

/**
 * A revision's file as the config to run: validated like a local file (secret file references
 * resolve beside the local file), with the local file's `reconcile.git` so that status and the
 * next checks keep following the same repository.
 */
export function revisionConfig(repo: ConfigRepository, revision: Revision, local: LoadedConfig): LoadResult {
  const { url, branch, path } = repo.source;
  const file = `${url}#${branch}:${path}@${revision.commit.slice(0, 12)}`;
  const parsed = parseConfigText(revision.text, file, local.baseDir);
  const issue = (k: (typeof LOCAL_ONLY)[number]): ConfigIssue => ({ file, line: 0, col: 0, path: k.path, message: k.message });
  if (!parsed.ok) {
    // A repository file with reconcile.git reads as a local one: say what is really wrong.
    if (!parsed.issues.some((i) => i.message === GIT_LOCAL_ONLY)) return parsed;
    return { ok: false, issues: [issue(LOCAL_ONLY[0]!), ...parsed.issues.filter((i) => i.message !== GIT_LOCAL_ONLY)] };
  }
  const { config } = parsed.value;
  const misplaced = LOCAL_ONLY.filter((k) => k.present(config)).map(issue);
  if (misplaced.length > 0) return { ok: false, issues: misplaced };
  return { ok: true, value: { config: { ...config, reconcile: { ...config.reconcile, git: gitSettingsOf(local) } }, file, baseDir: local.baseDir } };
}

function gitSettingsOf(local: LoadedConfig): GitSyncSettings {
  const git = local.config.reconcile?.git;
  if (!git) throw new AppError('config', `${local.file}: reconcile.git is not set`);
  return git;
}

/** The config to start with: the branch's head if it is valid, else the last applied revision. */
export async function firstRevision(repo: ConfigRepository, local: LoadedConfig, log: Log): Promise<{ revision: Revision; loaded: LoadedConfig; error: string }> {
  let error: string;
  try {
    const head = await repo.fetch(AbortSignal.timeout(60_000));
    const parsed = revisionConfig(repo, head, local);
    if (parsed.ok) return { revision: head, loaded: parsed.value, error: '' };
    error = `revision ${head.commit} refused: ${parsed.issues.map(formatIssue).join('; ')}`;
    log('error', 'git_sync_rejected', { revision: head.commit, errors: parsed.issues.map(formatIssue) });
  } catch (err) {
    error = gitErrorMessage(err, repo.source);
    log('error', 'git_sync_failed', { url: repo.source.url, error });
  }
  const kept = repo.applied();
  const parsed = kept ? revisionConfig(repo, kept, local) : undefined;
  if (!kept || !parsed?.ok) throw new AppError('config', `reconcile.git: no config to start with: ${error}${kept ? ' (and the last applied revision no longer validates)' : ''}`);
  log('warn', 'git_sync_fallback', { revision: kept.commit, reason: error });
  return { revision: kept, loaded: parsed.value, error };
}

export interface GitSyncInit {
  repo: ConfigRepository;
  local: LoadedConfig;
  context: ServerContext;
  apply: ApplyConfig;
}

export class GitSync {
  readonly #repo: ConfigRepository;
  readonly #local: LoadedConfig;
  readonly #context: ServerContext;
  readonly #apply: ApplyConfig;
  readonly #abort = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<ApplyOutcome> | undefined;
  /** What status and metrics show; the context holds the same object. */
  readonly #state: ConfigSourceState = { source: 'git', revision: '', applied_at: 0, last_error: '' };
  /** The head seen last, applied or refused (with why): an unchanged head is not fetched again. */
  #seen = { commit: '', error: '' };

  constructor(init: GitSyncInit) {
    this.#repo = init.repo;
    this.#local = init.local;
    this.#context = init.context;
    this.#apply = init.apply;
    init.context.configSource = this.#state;
  }

  /**
   * Notes the revision the server started with (its state is already reconciled, and recorded in
   * the store); `older` when the store had a newer revision, which serves instead.
   */
  async started(revision: Revision, error: string, older?: string): Promise<void> {
    if (older) this.#state.last_error = older;
    else {
      this.#record(revision);
      this.#state.last_error = error;
    }
    // A fallback start tries the head again at the first check; a good start skips it (an older
    // head stays older until the branch moves).
    if (!error) this.#seen = { commit: revision.commit, error: older ?? '' };
    this.#schedule();
  }

  /** Checks the branch now (SIGHUP); a check already running is waited for instead. */
  check(trigger: 'interval' | 'signal'): Promise<ApplyOutcome> {
    this.#running ??= this.#check(trigger).finally(() => {
      this.#running = undefined;
      this.#schedule();
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#running?.catch(() => undefined);
  }

  #schedule(): void {
    if (this.#abort.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.check('interval'), this.#repo.source.interval * 1000);
  }

  #fail(stage: 'fetch' | 'invalid' | 'apply', error: string): ApplyOutcome {
    this.#state.last_error = error;
    // A refused file stays refused until a new commit; an apply that failed (the store) is retried.
    if (stage === 'invalid') this.#seen.error = error;
    if (stage === 'apply') this.#seen = { commit: '', error: '' };
    this.#context.metrics.inc('sftpgo_config_apply_failures_total', { stage });
    return { ok: false, errors: [error] };
  }

  async #check(trigger: string): Promise<ApplyOutcome> {
    const { log, metrics } = this.#context;
    const signal = this.#abort.signal;
    let revision: Revision;
    try {
      if ((await this.#repo.head(signal)) === this.#seen.commit) {
        // The server answers again; a refused head stays refused until a new commit.
        this.#state.last_error = this.#seen.error;
        return this.#seen.error ? { ok: false, errors: [this.#seen.error] } : { ok: true, summary: { create: 0, update: 0, delete: 0 } };
      }
      revision = await this.#repo.fetch(signal);
    } catch (err) {
      if (signal.aborted) return { ok: false, errors: ['stopped'] };
      const error = gitErrorMessage(err, this.#repo.source);
      log('error', 'git_sync_failed', { url: this.#repo.source.url, trigger, error });
      return this.#fail('fetch', error);
    }
    this.#seen = { commit: revision.commit, error: '' };
    const parsed = revisionConfig(this.#repo, revision, this.#local);
    if (!parsed.ok) {
      const errors = parsed.issues.map(formatIssue);
      log('error', 'git_sync_rejected', { revision: revision.commit, serving: this.#state.revision, errors });
      metrics.inc('sftpgo_reconcile_total', { result: 'rejected', trigger: 'git' });
      return this.#fail('invalid', `revision ${revision.commit} refused: ${errors.join('; ')}`);
    }
    const origin = revisionOrigin(this.#repo, revision, { fetched: true, signal });
    const outcome = await this.#apply(parsed.value, { trigger: 'git', fields: { source: 'git', revision: revision.commit }, origin });
    if (!outcome.ok) return this.#fail('apply', `revision ${revision.commit} not applied: ${outcome.errors.join('; ')}`);
    if (outcome.older) {
      // Not applied: the store serves a newer commit. This one is not checked again until the branch moves.
      this.#state.last_error = outcome.older;
      this.#seen.error = outcome.older;
      return outcome;
    }
    this.#record(revision);
    return outcome;
  }

  /** After an apply (recorded in the store with its changes): the kept text, the context's state. */
  #record(revision: Revision): void {
    this.#repo.keepApplied(revision);
    Object.assign(this.#state, { revision: revision.commit, applied_at: Date.now(), last_error: '' });
  }
}
