// `sftpgo serve`: open and migrate the store, reconcile the config into it, start the services,
// reload on SIGHUP (keeping the running state when the new file is invalid), stop on SIGTERM/SIGINT.
// With reconcile.git the config comes from a Git repository instead (git-sync.ts), and SIGHUP checks it.
import { join, resolve } from 'node:path';
import type { ConfigCache } from '../config/checked-cache.ts';
import { formatIssue, type Config, type LoadedConfig } from '../config/load.ts';
import { configSource, loadConfig, type CommonFlags } from '../config/source.ts';
import { watchConfigFile } from './watch.ts';
import { createLog, type LogSink } from '../log.ts';
import { reconcileRevision, type ReconcileResult } from '../reconcile/reconcile.ts';
import type { Generated } from '../reconcile/apply.ts';
import { ServerContext } from '../core/context.ts';
import { openTransferBytes, startGcPacer } from '../core/gc-pacer.ts';
import { startMemTrace } from '../core/mem-trace.ts';
import { releaseStartupPages } from '../runtime.ts';
import { openUsageBook } from '../core/quota.ts';
import { parseUploadMode } from '../core/transfers.ts';
import { prepareTempPath, UploadJournal } from '../core/upload-journal.ts';
import { repairUsage, UsageMarks } from '../core/usage-marks.ts';
import { discardRemoteUploads } from '../core/remote-uploads.ts';
import { migrateUp } from '../store/migrations.ts';
import { openStore } from '../store/open.ts';
import { nodeIdentity } from '../core/nodes.ts';
import type { Service } from '../core/service.ts';
import { buildService, SERVICES } from './services.ts';
import type { ApplyConfig, ApplyOutcome } from './git-sync.ts';

/** How long a start spends discarding object store uploads a crash left open before serving anyway. */
const REMOTE_DISCARD_MS = 15_000;
/** How long after serve_ready the startup pages are released (releaseStartupPages). */
const STARTUP_PAGES_DELAY_MS = 10_000;

export interface Server {
  readonly context: ServerContext;
  reload(): Promise<{ ok: boolean; errors?: string[] }>;
  stop(): Promise<void>;
}

export interface StartOptions {
  loaded: LoadedConfig;
  dataDir: string;
  /** Where the config came from, re-read on reload. */
  flags: CommonFlags;
  /** Where the last config that passed is remembered, for reloads as for the start (cli/context.ts). */
  configCache?: ConfigCache;
  /** Where this server's log lines go (stderr by default); the config's level and file apply. */
  logSink?: LogSink;
}

export async function startServer(opts: StartOptions): Promise<Server> {
  const { dataDir, flags } = opts;
  // With reconcile.git the local file only says where the config is: fetch it before anything
  // reads a setting (lines of this first fetch go to the default log).
  // The Git client is loaded only then, as the protocol front-ends are (services.ts).
  const gitSync = opts.loaded.config.reconcile?.git ? await import('./git-sync.ts') : undefined;
  const repo = gitSync?.configRepository(opts.loaded, dataDir);
  const first = gitSync && repo ? await gitSync.firstRevision(repo, opts.loaded, createLog(opts.logSink ? { sink: opts.logSink } : {})) : undefined;
  const loaded = first?.loaded ?? opts.loaded;
  const logOptions = { level: loaded.config.log?.level, file: loaded.config.log?.file };
  // Replicas sharing a store name themselves in every line, so their merged logs tell them apart.
  const node = nodeIdentity(loaded.config);
  const log = createLog({ ...logOptions, ...(opts.logSink ? { sink: opts.logSink } : {}), ...(node.shared ? { fields: { node: node.name } } : {}) });
  const store = await openStore(dataDir, { log, provider: loaded.config.data_provider, baseDir: loaded.baseDir, node: node.name });
  await migrateUp(store, { log });
  const usage = await openUsageBook(store);
  const { marks: usageMarks, stale } = UsageMarks.open({ file: join(dataDir, 'usage.marks'), log, flush: () => usage.flush() });
  const tempPath = loaded.config.common?.temp_path
    ? prepareTempPath({ tempPath: loaded.config.common.temp_path, dataDir, usersBaseDir: loaded.config.data_provider?.users_base_dir ?? resolve(dataDir, 'users'), log })
    : undefined;
  // Before any login: what a crash left in flight is removed, then new uploads are journaled.
  const { journal, recovery } = UploadJournal.open({ file: join(dataDir, 'uploads.journal'), log });
  if (recovery.removed.length > 0 || recovery.gone > 0)
    log('info', 'upload_journal_recovered', { removed: recovery.removed.length, already_gone: recovery.gone });
  if (tempPath && parseUploadMode(loaded.config.common?.upload_mode) === 0)
    log('warn', 'temp_path_unused', { temp_path: tempPath, reason: 'upload_mode is standard: uploads are written in place' });
  const staging = { journal, ...(tempPath ? { dir: tempPath } : {}) };
  const context = new ServerContext({ config: loaded.config, dataDir, configDir: loaded.baseDir, store, usage, usageMarks, remoteUploads: (owner) => journal.remote(owner), log, staging, node, reload: () => server.reload() });
  const { metrics, actions } = context;
  // Before the first reconcile: the records it adds are provider events too.
  const stopProviderEvents = context.events.listenForProviderEvents();
  const initialOrigin = gitSync && repo && first ? gitSync.revisionOrigin(repo, first.revision, { fetched: !first.error }) : undefined;
  const initial = await reconcileRevision({ loaded, dataDir, records: context.records, log, node: node.name, ...(initialOrigin ? { origin: initialOrigin } : {}) });
  noteRevision(context, initial);
  metrics.inc('sftpgo_reconcile_total', { result: initial.revision.verdict.kind === 'older' ? 'older' : 'ok', trigger: 'start' });
  printGenerated(initial.generated, loaded.config);
  // After the reconcile (the homes are the config's) and before any login: the counters a crash
  // left wrong are recomputed from storage, whose leftovers the journal has just removed.
  if (recovery.remote.length > 0)
    await discardRemoteUploads({ entries: recovery.remote, journal, store, backends: context.backends, log, timeoutMs: REMOTE_DISCARD_MS });
  if (stale.length > 0) await repairUsage({ stale, marks: usageMarks, store, usage, backends: context.backends, log });
  actions.configure(loaded.config.common, store);
  context.events.configure(loaded.config.common);
  const services: Service[] = [];
  try {
    // Registered before the API answers: a peer listing connections finds this replica at once.
    await context.nodes.start();
    for (const lazy of SERVICES) {
      const s = await buildService(lazy, context);
      if (!s) continue;
      await s.start();
      services.push(s);
    }
  } catch (err) {
    await Promise.allSettled(services.map((s) => s.stop()));
    await context.nodes.stop().catch(() => undefined);
    await journal.close();
    await usage.close();
    await usageMarks.close();
    await store.close();
    throw err;
  }
  const endedBytes = (): number => context.metrics.value('sftpgo_upload_size') + context.metrics.value('sftpgo_download_size');
  // Plain FTP transfers free every buffer they move, so their bytes do not pace collections.
  const stopGcPacer = startGcPacer({ registry: context.connections, endedBytes: () => endedBytes() - context.connections.unpacedBytes });
  // A diagnostic for benchmarks (bench/peak.ts --trace): memory samples, not a setting.
  const traceFile = process.env.SFTPGO_MEM_TRACE;
  const stopMemTrace = traceFile ? startMemTrace({ file: traceFile, movedBytes: () => endedBytes() + openTransferBytes(context.connections) }) : () => undefined;
  context.scheduler.start();

  let reloading: Promise<ApplyOutcome> | undefined;
  /** Reconciles `next` into the running server; one at a time, a second waits for the first. */
  const applyConfig: ApplyConfig = (next, { trigger, fields, origin }) => {
    reloading = (reloading ?? Promise.resolve<ApplyOutcome>({ ok: true, summary: {} })).then(async (): Promise<ApplyOutcome> => {
      try {
        const records = context.recordsFor(next.config);
        const result = await reconcileRevision({ loaded: next, dataDir, records, log, node: node.name, ...(origin ? { origin } : {}) });
        noteRevision(context, result);
        if (result.revision.warning) {
          // An older config changes nothing here: the store's newer state and the running settings stay.
          metrics.inc('sftpgo_reconcile_total', { result: 'older', trigger });
          return { ok: true, summary: result.summary, older: result.revision.warning };
        }
        printGenerated(result.generated, next.config);
        if ((next.config.common?.temp_path ?? '') !== (context.config.common?.temp_path ?? ''))
          log('warn', 'temp_path_needs_restart', { temp_path: next.config.common?.temp_path ?? '' });
        const nextNode = nodeIdentity(next.config);
        if (nextNode.name !== node.name || nextNode.url !== node.url)
          log('warn', 'node_needs_restart', { name: nextNode.name, url: nextNode.url });
        context.config = next.config;
        context.records = records;
        actions.configure(next.config.common);
        context.events.configure(next.config.common);
        for (const s of services) await s.reload?.(next.config);
        log('info', 'reload_applied', { ...fields, ...result.summary });
        metrics.inc('sftpgo_reconcile_total', { result: 'ok', trigger });
        return { ok: true, summary: result.summary };
      } catch (err) {
        log('error', 'reload_failed', { ...fields, error: (err as Error).message });
        metrics.inc('sftpgo_reconcile_total', { result: 'failed', trigger });
        return { ok: false, errors: [(err as Error).message] };
      }
    });
    return reloading;
  };
  const sync = gitSync && repo && first ? new gitSync.GitSync({ repo, local: opts.loaded, context, apply: applyConfig }) : undefined;
  if (sync && first) await sync.started(first.revision, first.error, initial.revision.warning);
  const revision = first ? { source: 'git', revision: first.revision.commit } : {};
  log('info', 'serve_ready', { data_dir: dataDir, services: services.map((s) => s.name), ...revision, ...initial.summary });
  // What starting touched of the binary and will not run again leaves the resident set (Linux,
  // Bun): once at serve_ready, so transfers that come at once start from the smaller set (peak of
  // four SFTP transfers each way at once: 109-110 -> 89-99 MiB), and again once the work that
  // follows a start has settled (released only at serve_ready, 20 MiB of code came straight back
  // on an idle server; released again 10 s later, 13 MiB did; a bare Bun process keeps 15 MiB of
  // the same code).
  const releasePages = (phase: 'ready' | 'settled'): void =>
    void releaseStartupPages()
      .then((r) => r && log('info', 'startup_pages_released', { phase, rss_file_before_kb: r.rssFileBeforeKb, rss_file_after_kb: r.rssFileAfterKb }))
      .catch((err: Error) => log('warn', 'startup_pages_kept', { phase, error: err.message }));
  releasePages('ready');
  const settle = setTimeout(() => releasePages('settled'), STARTUP_PAGES_DELAY_MS);
  settle.unref?.();

  const server: Server = {
    context,
    async reload() {
      // With Git sync a reload is a check of the branch: the local file only says where to look.
      if (sync) return errorsOnly(await sync.check('signal'));
      const next = loadConfig(flags, { cache: opts.configCache });
      if (!next.ok) {
        const errors = next.issues.map(formatIssue);
        log('error', 'reload_rejected', { errors });
        metrics.inc('sftpgo_reconcile_total', { result: 'rejected', trigger: 'reload' });
        return { ok: false, errors };
      }
      return errorsOnly(await applyConfig(next.value, { trigger: 'reload', fields: {} }));
    },
    async stop() {
      clearTimeout(settle);
      await sync?.stop();
      stopGcPacer();
      stopMemTrace();
      context.scheduler.stop();
      for (const s of [...services].reverse()) {
        try {
          await s.stop();
        } catch (err) {
          log('error', 'service_stop_failed', { service: s.name, error: (err as Error).message });
        }
      }
      // Once its connections are closed, the replica leaves the registry: peers stop calling it.
      await context.nodes.stop().catch((err: Error) => log('error', 'node_unregister_failed', { error: err.message }));
      // Services closed their connections, which reported their last transfers: send what is queued.
      await actions.drain();
      stopProviderEvents();
      await context.events.drain();
      await journal.close();
      await usage.close();
      await usageMarks.close();
      context.currentUsers.close();
      await store.close();
      log('info', 'serve_stopped');
    },
  };
  return server;
}

function errorsOnly(outcome: ApplyOutcome): { ok: boolean; errors?: string[] } {
  if (!outcome.ok) return { ok: false, errors: outcome.errors };
  // A reload asked for and not applied says why.
  return outcome.older ? { ok: false, errors: [outcome.older] } : { ok: true };
}

function noteRevision(context: ServerContext, result: ReconcileResult): void {
  context.configRevision = { verdict: result.revision.verdict.kind, warning: result.revision.warning ?? '' };
}

/** Prints each generated password once, with the command that logs in with it. */
function printGenerated(generated: Generated[], config: Config): void {
  for (const g of generated) {
    if (g.kind !== 'user') {
      process.stdout.write(`Created ${g.kind} "${g.name}" with password: ${g.password}\n`);
      continue;
    }
    const b = config.sftpd?.bindings?.[0];
    const host = !b?.address || b.address === '0.0.0.0' || b.address === '::' ? '127.0.0.1' : b.address;
    process.stdout.write(
      `Created user "${g.name}" with password: ${g.password}\n` +
        `It is shown only this once and stored hashed.\n` +
        (b ? `Connect with: sftp -P ${b.port} ${g.name}@${host.includes(':') ? `[${host}]` : host}\n` : ''),
    );
  }
}

export async function serveCommand(opts: Omit<StartOptions, 'logSink'>): Promise<number> {
  const { loaded, flags } = opts;
  let unwatch: (() => void) | undefined;
  const starting = startServer(opts).then((server) => {
    const file = configSource(flags);
    // The watch follows the setting the server started with; changing it needs a restart.
    if (file && loaded.config.reconcile?.watch) unwatch = watchConfigFile(file, () => void server.reload(), server.context.log);
    return server;
  });
  return serveUntilStopped(starting, { onHangup: 'reload', onStopping: () => unwatch?.() });
}

export interface UntilStoppedOptions {
  /** SIGHUP reloads the config (serve), or stops like SIGTERM (portable mode: no file to re-read). */
  onHangup: 'reload' | 'stop';
  /** Called once when a stop begins, before the services close. */
  onStopping?: () => void;
}

/**
 * Serves until SIGTERM or SIGINT (or SIGHUP, when it stops), then stops cleanly; resolves the exit
 * code. The signal handlers are installed before the server starts: a SIGTERM that arrives once
 * `serve_ready` is logged but before the start has returned would otherwise find no handler and
 * kill the process outright. A stop asked for during the start runs once the start is done.
 */
export function serveUntilStopped(starting: Server | Promise<Server>, opts: UntilStoppedOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let server: Server | undefined;
    let pending: string | undefined;
    let stopping = false;
    const stop = (signal: string) => {
      if (!server) {
        pending ??= signal;
        return;
      }
      if (stopping) return;
      stopping = true;
      const log = server.context.log;
      log('info', 'serve_stopping', { signal });
      opts.onStopping?.();
      server.stop().then(
        () => resolve(0),
        (err) => {
          log('error', 'serve_stop_failed', { error: (err as Error).message });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => (opts.onHangup === 'reload' ? void server?.reload() : stop('SIGHUP')));
    Promise.resolve(starting).then((started) => {
      server = started;
      // One connection's bug (an unhandled stream error deep in a library) must not take every other
      // session down with it: log it loudly and keep serving.
      process.on('uncaughtException', (err) => started.context.log('error', 'internal_error', { error: String(err?.stack ?? err) }));
      process.on('unhandledRejection', (err) => started.context.log('error', 'internal_error', { error: String((err as Error)?.stack ?? err) }));
      if (pending) stop(pending);
    }, reject);
  });
}
