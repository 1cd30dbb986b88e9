// The commands: `sftpgo <command> [flags]`. Each command prints its own --help. Loaded by the entry
// point (src/main.ts) once `serve` has re-executed itself with its allocator setting.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command, Flags, Options } from './command.ts';
import pkg from '../../package.json' with { type: 'json' };
import { portableCommand } from './portable.ts';
import { renderMan } from './man.ts';
import { renderCompletion, SHELLS } from './completion.ts';
import { buildInfo, versionFields, versionLine } from './build-info.ts';
import type { CommonFlags } from '../config/source.ts';
import { isAppError } from '../errors.ts';
import type { PlanFormat } from '../reconcile/plan-report.ts';
import { LATEST_SCHEMA_VERSION, migrateDown, migrateUp, migrationList, newerSchemaError } from '../store/migrations.ts';
import type { OpenStoreOptions } from '../store/open.ts';
import { configRevisionOf, schemaVersionOf } from '../store/store.ts';
import { NO_SECRETS } from '../config/sealed.ts';
import { listOverrides } from '../reconcile/overrides.ts';
import { dumpStore, loadDump } from '../store/dump.ts';
import type { LoadedConfig } from '../config/load.ts';
import { parseAddress } from '../lib/cidr.ts';
import { createLog, type Log } from '../log.ts';

// The config loader (its schema and YAML parser), the store's drivers, reconcile and the hashing are
// imported by the commands that run them, when they run: `version`, `--help`, `man` and
// `completion` start without them (the cold start), and each command loads only its own.
const configModules = async () => {
  const [context, source] = await Promise.all([import('./context.ts'), import('../config/source.ts')]);
  return { ...context, dataDirOf: source.dataDirOf };
};
const storeModules = () => import('../store/open.ts');

const COMMON: Options = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string', short: 'd' },
  help: { type: 'boolean', short: 'h' },
};

const CONFIG_HELP = `  -c, --config FILE    YAML config (default: $SFTPGO_CONFIG, else the embedded default)
  -d, --data-dir DIR   data dir for the store and host keys (default: data_provider.data_dir, else ./data)`;

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'reconcile the config into the store and serve',
    usage: `sftpgo serve [--config FILE] [--data-dir DIR]\n\nValidates the config, applies it to the store in one transaction, starts the\nconfigured services. SIGHUP reloads the config (an invalid file is rejected and\nthe running state stays); SIGTERM or SIGINT stops cleanly.\n\n${CONFIG_HELP}`,
    options: COMMON,
    async run(flags) {
      const { configCacheFor, loadOrReport, dataDirOf } = await configModules();
      const configCache = configCacheFor(flags, { write: true });
      const loaded = loadOrReport(flags, { cache: configCache });
      if (!loaded) return 1;
      const { serveCommand } = await import('../serve/serve.ts');
      return serveCommand({ loaded, dataDir: dataDirOf(flags, loaded), flags, configCache });
    },
  },
  validate: {
    summary: 'check the config (schema, semantics, secret references, access assertions); exit 1 listing every error',
    usage: `sftpgo validate [--config FILE] [--resolve-secrets]\n\nChecks the schema, the semantic rules and the form of every secret reference\n({ env: NAME }, { file: PATH }, { generate: true }, sealed values) without\nreading any: a config repository's CI can validate with no secrets at hand. The\nassertions: list is checked against the file alone (no store), with the same\nlogic as explain; a failing assertion is an error.\n\n${CONFIG_HELP}\n      --resolve-secrets  also read every { env } and { file } reference, as serve and\n                         plan do, and list each one that does not resolve`,
    options: { ...COMMON, 'resolve-secrets': { type: 'boolean' } },
    async run(flags) {
      const { loadOrReport, dataDirOf } = await configModules();
      const loaded = loadOrReport(flags, { resolveSecrets: flags['resolve-secrets'] === true });
      if (!loaded) return 1;
      const c = loaded.config;
      if (c.assertions?.length) {
        const { Explainer, formatFailure } = await import('../reconcile/explain.ts');
        const failures = await new Explainer({ loaded, dataDir: dataDirOf(flags, loaded), secrets: NO_SECRETS }).failedAssertions();
        for (const f of failures) process.stderr.write(formatFailure(f) + '\n');
        if (failures.length) {
          process.stderr.write(`${failures.length} of ${c.assertions.length} assertion${c.assertions.length === 1 ? '' : 's'} failed\n`);
          return 1;
        }
      }
      process.stdout.write(
        `${loaded.file}: valid (${c.users?.length ?? 0} users, ${c.folders?.length ?? 0} folders, ${c.groups?.length ?? 0} groups, ${c.admins?.length ?? 0} admins${c.assertions?.length ? `, ${c.assertions.length} assertions hold` : ''})\n`,
      );
      return 0;
    },
  },
  explain: {
    summary: 'say whether a user may do an operation on a path, the rule that decides and where it is written',
    usage: `sftpgo explain USER PATH OPERATION [--protocol SSH|FTP|DAV|HTTP] [--ip ADDR] [--json] [--config FILE] [--data-dir DIR]

Resolves USER as a login would (the config's records; with a store in the data dir, also the
runtime users and the overrides made through the API) and answers for OPERATION on PATH:
allowed or denied, the deciding rule with its file:line:column, and the facts that led there
(groups, virtual folder, start directory). A relative PATH starts at the start directory.

Operations: list, download, upload (a new file), overwrite, delete (a file), rename, mkdir,
rmdir, chmod, chown, chtimes, symlink, copy

Exit status: 0 for any answer (allowed or denied; --json has "decision"), 2 for a usage or
config error or an unknown user.

${CONFIG_HELP}
      --protocol P     SSH (default: SFTP, SCP and SSH commands), FTP, DAV or HTTP
      --ip ADDR        the client address (without it allowed_ip and denied_ip are not consulted)
      --json           print the answer as JSON`,
    options: { ...COMMON, protocol: { type: 'string' }, ip: { type: 'string' }, json: { type: 'boolean' } },
    positionals: true,
    async run(flags, args) {
      const bad = (message: string): number => {
        process.stderr.write(`explain: ${message}\n\n${COMMANDS.explain!.usage}\n`);
        return 2;
      };
      const [username, path, operation, ...extra] = args;
      if (!username || !path || !operation || extra.length) return bad('expected USER PATH OPERATION');
      // Loaded here: the other commands start without the login and session modules.
      const { isOperation } = await import('../core/access.ts');
      const { isLoginProtocol } = await import('../auth/login.ts');
      if (!isOperation(operation)) return bad(`unknown operation "${operation}"`);
      const protocol = typeof flags.protocol === 'string' ? flags.protocol.toUpperCase() : 'SSH';
      if (!isLoginProtocol(protocol)) return bad(`unknown protocol "${flags.protocol}" (SSH, FTP, DAV or HTTP)`);
      const ip = typeof flags.ip === 'string' ? flags.ip : undefined;
      if (ip !== undefined && !parseAddress(ip)) return bad(`"${ip}" is not an IP address`);
      // Access takes no secret: explain answers where they are not at hand, as validate does.
      const { loadOrReport, dataDirOf } = await configModules();
      const { openStore, storeExists } = await storeModules();
      const loaded = loadOrReport(flags, { resolveSecrets: false });
      if (!loaded) return 2;
      const dataDir = dataDirOf(flags, loaded);
      const store = (await storeExists(dataDir, loaded.config.data_provider)) ? await openStore(dataDir, { readOnly: true, ...storeOptionsOf(loaded) }) : undefined;
      try {
        const version = store ? await schemaVersionOf(store) : 0;
        if (version > LATEST_SCHEMA_VERSION) throw newerSchemaError(version);
        const { Explainer, formatExplanation } = await import('../reconcile/explain.ts');
        const explainer = new Explainer({ loaded, dataDir, secrets: store?.secrets ?? NO_SECRETS, ...(store ? { store } : {}) });
        const answer = await explainer.explain({ username, path, operation, protocol, ...(ip !== undefined ? { ip } : {}) });
        if (!answer) {
          process.stderr.write(`explain: no user "${username}" in ${loaded.file}${store ? ` or in the store at ${dataDir}` : ''}\n`);
          return 2;
        }
        process.stdout.write(flags.json ? JSON.stringify(answer, null, 2) + '\n' : formatExplanation(answer));
      } finally {
        await store?.close();
      }
      return 0;
    },
  },
  plan: {
    summary: 'print what serve would create, update or delete in the store, and the drift; change nothing',
    usage: `sftpgo plan [--config FILE] [--data-dir DIR] [--output text|json|markdown] [--detailed-exitcode]\n\n${CONFIG_HELP}\n      --output FORMAT     text (default), json, or markdown (a summary and a table per kind,\n                          for a pull-request comment); secrets are never shown\n      --json              the same as --output json\n      --detailed-exitcode\n                          exit 0 when there is no change, 2 when there are changes, 1 on an\n                          error; drift (runtime overrides) is shown but is not a change`,
    options: { ...COMMON, json: { type: 'boolean' }, output: { type: 'string' }, 'detailed-exitcode': { type: 'boolean' } },
    async run(flags) {
      const detailed = flags['detailed-exitcode'] === true;
      const { PLAN_FORMATS, renderPlan } = await import('../reconcile/plan-report.ts');
      const format = planFormat(flags, PLAN_FORMATS);
      if (typeof format !== 'string') {
        process.stderr.write(`plan: ${format.error}\n`);
        return detailed ? 1 : 2;
      }
      const { configCacheFor, loadOrReport, dataDirOf } = await configModules();
      const { openStore, storeExists } = await storeModules();
      const { olderThanStore, planFor } = await import('../reconcile/reconcile.ts');
      const loaded = loadOrReport(flags, { cache: configCacheFor(flags, { write: false }) });
      if (!loaded) return 1;
      if (loaded.config.reconcile?.git) {
        // The desired state is in the repository: a plan of this file would delete everything.
        process.stderr.write(`plan: ${loaded.file} only says where the config is (reconcile.git): run plan on a checkout of ${loaded.config.reconcile.git.path ?? 'sftpgo.yaml'}\n`);
        return 2;
      }
      const dataDir = dataDirOf(flags, loaded);
      const exists = await storeExists(dataDir, loaded.config.data_provider);
      const store = exists ? await openStore(dataDir, { readOnly: true, ...storeOptionsOf(loaded) }) : undefined;
      let changed = false;
      try {
        const version = store ? await schemaVersionOf(store) : 0;
        if (version > LATEST_SCHEMA_VERSION) throw newerSchemaError(version);
        // A store other servers share may hold a newer revision than this file: serve would apply nothing.
        const older = store ? await olderThanStore(loaded, dataDir, store) : undefined;
        const plan = older ? { changes: [] } : await planFor(loaded, dataDir, store, store?.secrets ?? NO_SECRETS);
        // Overrides made through the API stay on top of the file's values: drift the plan shows.
        const drift = store ? await listOverrides(store) : [];
        process.stdout.write(renderPlan({ plan, drift, ...(older ? { older } : {}) }, format));
        changed = plan.changes.length > 0;
      } finally {
        await store?.close();
      }
      // As Terraform's: drift that applying the file would not undo is reported, not counted.
      return detailed && changed ? 2 : 0;
    },
  },
  initprovider: {
    summary: 'create the store or upgrade its schema to this version',
    usage: `sftpgo initprovider [--config FILE] [--data-dir DIR]\n\n${CONFIG_HELP}`,
    options: COMMON,
    async run(flags) {
      const target = await storeTargetFor(flags);
      if (!target) return 1;
      const { dataDir } = target;
      const { openStore } = await storeModules();
      const store = await openStore(dataDir, target.opts);
      try {
        const applied = await migrateUp(store);
        process.stdout.write(
          applied.length
            ? `store at ${dataDir} migrated to schema version ${LATEST_SCHEMA_VERSION} (applied ${applied.join(', ')})\n`
            : `store at ${dataDir} is already at schema version ${LATEST_SCHEMA_VERSION}\n`,
        );
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  revertprovider: {
    summary: 'downgrade the store schema to an older version',
    usage: `sftpgo revertprovider --to-version N [--config FILE] [--data-dir DIR]\n\nVersions:\n${migrationList()
      .map((m) => `  ${m.version}  ${m.description}`)
      .join('\n')}\n\n${CONFIG_HELP}\n      --to-version N   the schema version to migrate the store down to`,
    options: { ...COMMON, 'to-version': { type: 'string' } },
    async run(flags) {
      const to = Number(flags['to-version']);
      if (flags['to-version'] === undefined || !Number.isInteger(to)) {
        process.stderr.write('revertprovider: --to-version N is required\n');
        return 2;
      }
      const target = await storeTargetFor(flags);
      if (!target) return 1;
      const { dataDir } = target;
      const { openStore, storeExists } = await storeModules();
      if (!(await storeExists(dataDir, target.opts.provider))) {
        process.stderr.write(`revertprovider: no store at ${dataDir}\n`);
        return 1;
      }
      const store = await openStore(dataDir, target.opts);
      try {
        const reverted = await migrateDown(store, to);
        process.stdout.write(`store at ${dataDir} is at schema version ${to}${reverted.length ? ` (reverted ${reverted.join(', ')})` : ''}\n`);
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  dumpdata: {
    summary: 'write the whole store as JSON',
    usage: `sftpgo dumpdata [--output FILE] [--config FILE] [--data-dir DIR]\n\n${CONFIG_HELP}\n  -o, --output FILE    write to FILE instead of stdout (mode 0600: it holds password hashes)`,
    options: { ...COMMON, output: { type: 'string', short: 'o' } },
    async run(flags) {
      const target = await storeTargetFor(flags);
      if (!target) return 1;
      const { dataDir } = target;
      const { openStore, storeExists } = await storeModules();
      if (!(await storeExists(dataDir, target.opts.provider))) {
        process.stderr.write(`dumpdata: no store at ${dataDir}\n`);
        return 1;
      }
      const store = await openStore(dataDir, { readOnly: true, ...target.opts });
      try {
        const text = JSON.stringify(await dumpStore(store), null, 2) + '\n';
        if (typeof flags.output === 'string') writeFileSync(flags.output, text, { mode: 0o600 });
        else process.stdout.write(text);
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  loaddata: {
    summary: 'load a JSON dump into the store (records with the same name are replaced), or import an SFTPGo backup',
    usage: `sftpgo loaddata --input FILE [--from-sftpgo [--mode N] [--scan-quota N] [--kms-master-key-file FILE] [--emit-yaml]] [--config FILE] [--data-dir DIR]\n\n${CONFIG_HELP}\n  -i, --input FILE     the dump written by dumpdata (or an SFTPGo backup with --from-sftpgo)\n      --from-sftpgo    FILE is an SFTPGo dumpdata backup: users, folders, groups and admins are imported\n                       as runtime-owned records, with their password hashes and opened secrets\n      --mode N         0 add new records and update existing ones (default), 1 add new ones only,\n                       2 as 0 (sessions are ended only by a running server's API)\n      --scan-quota N   0 keep the backup's usage (default), 1 rescan every imported user and\n                       folder, 2 rescan users with quota limits and every folder\n      --kms-master-key-file FILE\n                       SFTPGo's kms.secrets.master_key, to open Secretbox secrets of mode 1\n                       (default: $SFTPGO_KMS__SECRETS__MASTER_KEY_PATH, $SFTPGO_KMS__SECRETS__MASTER_KEY)\n      --emit-yaml      with --from-sftpgo: print the equivalent YAML (to move the state into Git)\n                       instead of loading it`,
    options: { ...COMMON, input: { type: 'string', short: 'i' }, 'from-sftpgo': { type: 'boolean' }, 'emit-yaml': { type: 'boolean' }, mode: { type: 'string' }, 'scan-quota': { type: 'string' }, 'kms-master-key-file': { type: 'string' } },
    async run(flags) {
      if (typeof flags.input !== 'string') {
        process.stderr.write('loaddata: --input FILE is required\n');
        return 2;
      }
      let dump: unknown;
      try {
        dump = JSON.parse(readFileSync(flags.input, 'utf8'));
      } catch (err) {
        process.stderr.write(`loaddata: cannot read ${flags.input}: ${(err as Error).message}\n`);
        return 1;
      }
      if (flags['from-sftpgo']) return importSftpgo(dump, flags);
      const sftpgoOnly = ['mode', 'scan-quota', 'kms-master-key-file'].filter((f) => flags[f] !== undefined);
      if (sftpgoOnly.length) {
        process.stderr.write(`loaddata: --${sftpgoOnly[0]} applies to an SFTPGo backup (--from-sftpgo); a dump of this server is always loaded whole\n`);
        return 2;
      }
      const target = await storeTargetFor(flags);
      if (!target) return 1;
      const { dataDir } = target;
      const { openStore } = await storeModules();
      const store = await openStore(dataDir, target.opts);
      try {
        await migrateUp(store);
        const n = await loadDump(store, dump);
        process.stdout.write(`loaded ${n.users} users, ${n.folders} folders, ${n.groups} groups, ${n.admins} admins into ${dataDir}\n`);
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  portable: portableCommand,
  man: {
    summary: 'print the manual page (roff, section 1)',
    usage: 'sftpgo man\n\nPrints this manual page, made from every command\'s --help: `sftpgo man | man -l -` reads it,\n`sftpgo man > /usr/share/man/man1/sftpgo.1` installs it.',
    options: { help: COMMON.help! },
    async run() {
      const info = buildInfo();
      process.stdout.write(renderMan({ commands: COMMANDS, version: info.version, ...(info.date.startsWith('unknown') ? {} : { date: info.date.slice(0, 10) }) }));
      return 0;
    },
  },
  completion: {
    summary: 'print the shell completion script for bash, zsh or fish',
    usage: `sftpgo completion bash|zsh|fish\n\nCompletes the commands, their flags, and file names after --config and the other flags\nthat take a file. Load it for the running shell:\n\n  source <(sftpgo completion bash)\n  source <(sftpgo completion zsh)\n  sftpgo completion fish | source\n\nor install it where the shell looks: /usr/share/bash-completion/completions/sftpgo,\n/usr/share/zsh/vendor-completions/_sftpgo, /usr/share/fish/vendor_completions.d/sftpgo.fish.`,
    options: { help: COMMON.help! },
    positional: { name: 'shell', values: [...SHELLS] },
    async run(_flags, positionals) {
      const shell = SHELLS.find((s) => s === positionals[0]);
      if (!shell || positionals.length !== 1) {
        process.stderr.write(`completion: name one shell: ${SHELLS.join(', ')}\n`);
        return 2;
      }
      process.stdout.write(renderCompletion(shell, COMMANDS));
      return 0;
    },
  },
  ping: {
    summary: 'check that the configured server answers (a container health check); exit 0 healthy, 1 not',
    usage: `sftpgo ping [--config FILE] [--timeout SECONDS]\n\nReads the config serve reads and asks the running server: GET /healthz on the telemetry\nlistener if one is configured, else on the first REST API binding, else reads the SSH\nidentification of the first SFTP binding, else the FTP greeting. Prints one line saying\nwhat was checked; exits 0 when it answered, 1 when not.\n\n${CONFIG_HELP.split('\n')[0]}\n  -t, --timeout SECONDS  how long to wait for the answer (default: 5)`,
    options: { config: COMMON.config!, help: COMMON.help!, timeout: { type: 'string', short: 't' } },
    async run(flags) {
      const timeout = flags.timeout === undefined ? 5 : Number(flags.timeout);
      if (!(timeout > 0)) {
        process.stderr.write(`ping: --timeout must be a positive number of seconds, not "${flags.timeout}"\n`);
        return 2;
      }
      const { loadOrReport } = await configModules();
      const { ping, probeFor } = await import('./ping.ts');
      const loaded = loadOrReport(flags);
      if (!loaded) return 1;
      const probe = probeFor(loaded.config);
      if (!probe) {
        process.stdout.write(`unhealthy: ${loaded.file} configures no telemetry, httpd, sftpd or ftpd listener to check\n`);
        return 1;
      }
      const result = await ping(probe, timeout * 1000);
      process.stdout.write(result.line + '\n');
      return result.ok ? 0 : 1;
    },
  },
  version: {
    summary: 'print the version, build commit and date, runtime and store schema version',
    usage: `sftpgo version [--verbose] [--server [--config FILE] [--data-dir DIR]]\n\nThe first line names the version, runtime, store schema and commit; --verbose adds\none \`field: value\` line each (version, commit, build date, runtime, store schema) and\nwhich native pieces loaded. A run from source prints \`commit: unknown (source)\`.\n\n  -v, --verbose        one line per field\n      --server         also show the config revision the store of this data dir records as\n                       applied last (Git commit or file, when, by which server); works while\n                       it runs\n${CONFIG_HELP}`,
    options: { ...COMMON, verbose: { type: 'boolean', short: 'v' }, server: { type: 'boolean' } },
    async run(flags) {
      const info = buildInfo();
      process.stdout.write(versionLine(info) + '\n');
      if (flags.verbose) {
        process.stdout.write(versionFields(info) + '\n');
        // Which native pieces loaded: a binary that lost an embedded addon still runs, only slower
        const { chachaImplementation } = await import('../lib/ssh2.ts');
        process.stdout.write(`ssh chacha20-poly1305: ${chachaImplementation ?? 'unavailable'}\n`);
      }
      return flags.server ? printServerRevision(flags) : 0;
    },
  },
};

/**
 * version --server: the config revision recorded in the store (Git commit or file). The store is read, not the API:
 * it needs no credentials, and LMDB lets a reader in beside the running server.
 */
async function printServerRevision(flags: CommonFlags): Promise<number> {
  const target = await storeTargetFor(flags);
  if (!target) return 1;
  const { dataDir } = target;
  const { openStore, storeExists } = await storeModules();
  if (!(await storeExists(dataDir, target.opts.provider))) {
    process.stderr.write(`version: no store at ${dataDir}\n`);
    return 1;
  }
  const store = await openStore(dataDir, { readOnly: true, ...target.opts });
  try {
    const r = await configRevisionOf(store);
    const by = r?.node ? ` by ${r.node}` : '';
    process.stdout.write(
      !r
        ? `config: no config revision recorded in ${dataDir}\n`
        : r.source === 'git'
          ? `config: git revision ${r.revision} applied ${new Date(r.applied_at).toISOString()}${by} (${r.url} branch ${r.branch}, ${r.path})\n`
          : `config: file ${r.file} (modified ${new Date(r.mtime).toISOString()}) applied ${new Date(r.applied_at).toISOString()}${by}${r.hash ? `, content ${r.hash.slice(0, 12)}` : ''}\n`,
    );
  } finally {
    await store.close();
  }
  return 0;
}

/** loaddata --from-sftpgo: import an SFTPGo backup into the store, or print it as YAML. */
async function importSftpgo(dump: unknown, flags: Flags): Promise<number> {
  const { importSftpgoDump, toYaml, MigrationError } = await import('../migrate/sftpgo.ts');
  const { importIntoStore, loadOptions, masterKeyFromEnv, offlineImportHooks, readMasterKey } = await import('../api/import.ts');
  const opts = loadOptions((name) => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined));
  if ('path' in opts) {
    process.stderr.write(`loaddata: --${opts.path} ${opts.message}\n`);
    return 2;
  }
  try {
    const keyFile = flags['kms-master-key-file'];
    const masterKey = typeof keyFile === 'string' ? await readMasterKey(keyFile) : await masterKeyFromEnv(process.env);
    if (flags['emit-yaml']) {
      process.stdout.write(toYaml(importSftpgoDump(dump, { masterKey })));
      return 0;
    }
    const target = await storeTargetFor(flags);
    if (!target) return 1;
    const { dataDir } = target;
    const { loadOrReport } = await configModules();
    const { openStore } = await storeModules();
    const { hashingOptions, Records } = await import('../store/records.ts');
    const loaded = loadOrReport(flags);
    const store = await openStore(dataDir, target.opts);
    try {
      await migrateUp(store);
      const config = loaded?.config ?? {};
      const records = new Records({ store, secrets: store.secrets, hashing: hashingOptions(config.data_provider?.password_hashing) });
      // Warnings go to stderr below; the log keeps its info line only.
      const log = createLog({ level: 'info' });
      const quiet: Log = (level, event, fields) => {
        if (level !== 'warn') log(level, event, fields);
      };
      const runtime = { config, dataDir, records, log: quiet };
      const n = await importIntoStore(runtime, dump, { ...opts, masterKey, by: 'cli', ...offlineImportHooks(store, log) });
      for (const w of n.warnings) process.stderr.write(`warning: ${w}\n`);
      for (const e of n.skipped) process.stderr.write(`not imported: ${e.path}: ${e.message}\n`);
      for (const r of n.not_updated) process.stderr.write(`not updated (mode 1): ${r}\n`);
      process.stdout.write(`imported ${n.users} users, ${n.folders} folders, ${n.groups} groups, ${n.admins} admins, ${n.ip_lists} IP list entries, ${n.event_actions} event actions, ${n.event_rules} event rules, ${n.shares} shares from the SFTPGo backup into ${dataDir}${n.skipped.length ? ` (${n.skipped.length} record problem(s), see above)` : ''}\n`);
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof MigrationError) {
      for (const d of err.details) process.stderr.write(`${d.path}: ${d.message}\n`);
      process.stderr.write(`${err.message}; nothing was imported\n`);
      return 1;
    }
    if (isAppError(err, 'invalid')) {
      process.stderr.write(`loaddata: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `--output`, with `--json` as its shorthand; an error for an unknown or contradicting format. */
function planFormat(flags: Flags, formats: readonly PlanFormat[]): PlanFormat | { error: string } {
  const output = flags.output;
  if (output !== undefined && !formats.includes(output as PlanFormat)) return { error: `--output must be one of ${formats.join(', ')}, not "${String(output)}"` };
  if (flags.json && output !== undefined && output !== 'json') return { error: `--json contradicts --output ${String(output)}` };
  return flags.json ? 'json' : ((output as PlanFormat | undefined) ?? 'text');
}

/** The data dir for store-only commands: the config is read (if any) only for data_provider. */
/** Where a command finds the store: the data dir, and the config's data_provider when it names one. */
interface StoreTarget {
  dataDir: string;
  opts: Pick<OpenStoreOptions, 'provider' | 'baseDir'>;
}

async function storeTargetFor(flags: CommonFlags): Promise<StoreTarget | undefined> {
  const { loadOrReport, dataDirOf } = await configModules();
  // --data-dir alone names an LMDB store; with a config, its data_provider decides.
  if (flags['data-dir'] && flags.config === undefined) return { dataDir: dataDirOf(flags), opts: {} };
  const loaded = loadOrReport(flags);
  return loaded ? { dataDir: dataDirOf(flags, loaded), opts: storeOptionsOf(loaded) } : undefined;
}

function storeOptionsOf(loaded: LoadedConfig): Pick<OpenStoreOptions, 'provider' | 'baseDir'> {
  return { provider: loaded.config.data_provider, baseDir: loaded.baseDir };
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return (
    `sftpgo ${pkg.version}: SFTP/SCP server with a declarative YAML config\n\nUsage: sftpgo <command> [flags]\n\nCommands:\n` +
    Object.entries(COMMANDS)
      .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
      .join('\n') +
    `\n\nRun 'sftpgo <command> --help' for a command's flags.\n`
  );
}

/** The message for the first SFTPGo flag in `args` that `cmd` refuses, if any. */
function refusedFlag(cmd: Command, args: string[]): string | undefined {
  if (!cmd.refused) return undefined;
  for (const arg of args) {
    if (arg === '--') break;
    const key = arg.startsWith('--') ? arg.slice(2).split('=')[0]! : /^-[A-Za-z]/.test(arg) ? arg.slice(0, 2) : undefined;
    const why = key === undefined ? undefined : cmd.refused[key];
    if (key !== undefined && why !== undefined) return `${key.startsWith('-') ? key : `--${key}`} is not supported: ${why}`;
  }
  return undefined;
}

/**
 * `--sftpd-port -1` as SFTPGo's flag parser takes it: parseArgs reads a value starting with a dash
 * as a missing one, so a negative number after a flag that takes a value is joined to it.
 */
function negativeValuesJoined(cmd: Command, args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const long = arg.startsWith('--') ? cmd.options[arg.slice(2)] : undefined;
    const short = /^-[A-Za-z]$/.test(arg) ? Object.entries(cmd.options).find(([, o]) => o.short === arg[1]) : undefined;
    const option = long ?? short?.[1];
    if (option?.type === 'string' && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`${long ? arg : `--${short![0]}`}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version') return COMMANDS.version!.run({}, []);
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const refused = refusedFlag(cmd, rest);
  if (refused) {
    process.stderr.write(`${name}: ${refused}\n`);
    return 2;
  }
  let flags: Flags;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: negativeValuesJoined(cmd, rest), options: cmd.options, strict: true, allowPositionals: cmd.positional !== undefined || cmd.positionals === true });
    flags = parsed.values;
    positionals = parsed.positionals;
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n\n${cmd.usage}\n`);
    // With --detailed-exitcode, 2 means "changes present": a usage error must not look like one.
    return rest.includes('--detailed-exitcode') ? 1 : 2;
  }
  if (flags.help) {
    process.stdout.write(cmd.usage + '\n');
    return 0;
  }
  try {
    return await cmd.run(flags, positionals);
  } catch (err) {
    process.stderr.write(`${name}: ${isAppError(err) ? err.message : ((err as Error).stack ?? String(err))}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// serve resolves only after a clean shutdown; the other commands are done here. Flush first: a
// large dump written to a pipe would otherwise be cut by exit().
process.exitCode = code;
