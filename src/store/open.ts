// Opens the configured store. The LMDB module is imported on first use, after checking the temp
// dir: the compiled binary extracts its native addons into $TMPDIR when the addon loads, and a
// missing or noexec temp dir would otherwise fail with a bare dlopen error.
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import { createHmac } from 'node:crypto';
import { hostname } from 'node:os';
import type { Store } from './store.ts';
import { loadSecretsKey, NO_SECRETS, SecretBox, SECRETS_KEY_FILE } from '../config/sealed.ts';
import { isCompiledBinary } from '../runtime.ts';
import type { DataProvider } from '../config/schema-types.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { PgSettings } from './postgres.ts';

let tmpChecked = false;

/** In a compiled binary, fail early and clearly when $TMPDIR can't hold executable files. */
function checkTempDir(): void {
  if (tmpChecked || !isCompiledBinary()) return;
  tmpChecked = true;
  const dir = tmpdir();
  const hint = `set TMPDIR to a writable directory on a filesystem mounted without noexec (e.g. TMPDIR=/var/lib/sftpgo/tmp)`;
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new AppError('config', `the temp dir ${dir} is missing or not writable; this binary unpacks its native LMDB addon there: ${hint}`);
  }
  let probeDir: string | undefined;
  try {
    probeDir = mkdtempSync(join(dir, '.sftpgo-exec-'));
    const probe = join(probeDir, 'probe.sh');
    writeFileSync(probe, '#!/bin/sh\nexit 0\n');
    chmodSync(probe, 0o700);
    const r = spawnSync(probe, { timeout: 5000 });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'EACCES')
      throw new AppError('config', `the temp dir ${dir} is mounted noexec; this binary loads its native LMDB addon from there: ${hint}`);
  } catch (err) {
    if (err instanceof AppError) throw err;
  } finally {
    if (probeDir) rmSync(probeDir, { recursive: true, force: true });
  }
}

export interface OpenStoreOptions {
  readOnly?: boolean;
  log?: Log;
  /** The config's data_provider: its driver picks the store (LMDB by default). */
  provider?: DataProvider | undefined;
  /** Where relative paths of the provider (a password file, certificates) start: the config's directory. */
  baseDir?: string;
  /** This server's name among those sharing the store; default host name and process id. */
  node?: string;
}

export async function openStore(dataDir: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (opts.provider?.driver === 'postgresql') return openSharedStore(dataDir, opts.provider, opts);
  checkTempDir();
  let mod: typeof import('./lmdb.ts');
  try {
    mod = await import('./lmdb.ts');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_DLOPEN_FAILED' || /dlopen|native build/i.test(String(e.message)))
      throw new AppError('store', `cannot load the LMDB native addon (${e.message}); if TMPDIR (${tmpdir()}) is noexec or missing, set TMPDIR to a writable, exec-allowed directory`);
    throw err;
  }
  // The key literal secrets are sealed with lives beside the store (config/sealed.ts); a read-only
  // open (plan) never creates it.
  const secrets = new SecretBox(loadSecretsKey(dataDir, !opts.readOnly));
  return mod.openLmdbStore(dataDir, { ...opts, secrets });
}

/** The meta key holding a check value of the secrets key the shared store's records are sealed with. */
const SECRETS_CHECK = 'secrets_key_check';

function secretsCheck(key: Buffer): string {
  return createHmac('sha256', key).update('sftpgo secrets key check').digest('base64');
}

export function pgSettings(provider: DataProvider, baseDir: string): PgSettings {
  const path = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(baseDir, p));
  const rootCert = path(provider.root_cert);
  const clientCert = path(provider.client_cert);
  const clientKey = path(provider.client_key);
  return {
    host: provider.host ?? '',
    port: provider.port || 5432,
    name: provider.name ?? '',
    username: provider.username ?? '',
    password: provider.password === undefined ? '' : (resolveSecret(provider.password, baseDir, NO_SECRETS) ?? ''),
    sslmode: provider.sslmode ?? 0,
    ...(rootCert ? { rootCert } : {}),
    ...(clientCert ? { clientCert } : {}),
    ...(clientKey ? { clientKey } : {}),
    poolSize: provider.pool_size ?? 0,
  };
}

/**
 * The PostgreSQL store. Records are sealed with the data dir's secrets.key, which never goes into
 * the database; every server sharing the database must hold the same key, so the store keeps a
 * check value of it and a server with another key (or about to make a new one) is refused.
 */
async function openSharedStore(dataDir: string, provider: DataProvider, opts: OpenStoreOptions): Promise<Store> {
  const { openPgStore } = await import('./postgres.ts');
  const settings = pgSettings(provider, opts.baseDir ?? process.cwd());
  const node = opts.node ?? `${hostname()}:${process.pid}`;
  const existing = loadSecretsKey(dataDir, false);
  const store = await openPgStore({ settings, node, readOnly: opts.readOnly ?? false, ...(opts.log ? { log: opts.log } : {}), secrets: new SecretBox(existing) });
  try {
    const check = (await store.get('meta', SECRETS_CHECK)) as string | undefined;
    const keyFile = join(dataDir, SECRETS_KEY_FILE);
    if (existing && check !== undefined && secretsCheck(existing) !== check)
      throw new AppError('config', `${keyFile} is not the secrets key the shared store ${store.location} was sealed with: copy secrets.key from a server already using that store`);
    if (!existing && check !== undefined && !opts.readOnly)
      throw new AppError('config', `the shared store ${store.location} is sealed with a secrets key this server does not have: copy secrets.key from a server already using that store into ${dataDir}`);
    if (existing || opts.readOnly) {
      if (existing && check === undefined && !opts.readOnly) await store.write((tx) => tx.put('meta', SECRETS_CHECK, secretsCheck(existing)));
      return store;
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  // A first server: make the key, record its check, and reopen sealed with it.
  await store.close();
  const key = loadSecretsKey(dataDir, true)!;
  const sealed = await openPgStore({ settings, node, ...(opts.log ? { log: opts.log } : {}), secrets: new SecretBox(key) });
  await sealed.write(async (tx) => {
    if ((await tx.get('meta', SECRETS_CHECK)) === undefined) await tx.put('meta', SECRETS_CHECK, secretsCheck(key));
  });
  if (((await sealed.get('meta', SECRETS_CHECK)) as string) !== secretsCheck(key)) {
    await sealed.close();
    throw new AppError('config', `another server sealed the shared store ${sealed.location} with its own secrets key at the same moment: copy its secrets.key into ${dataDir} and start again`);
  }
  return sealed;
}

export async function storeExists(dataDir: string, provider?: DataProvider): Promise<boolean> {
  // A shared store lives in its database, which creates its tables on first use.
  if (provider?.driver === 'postgresql') return true;
  const { existsSync } = await import('node:fs');
  return existsSync(join(dataDir, 'sftpgo.lmdb'));
}
