// Opens the configured store. The LMDB module is imported on first use, after checking the temp
// dir: the compiled binary extracts its native addons into $TMPDIR when the addon loads, and a
// missing or noexec temp dir would otherwise fail with a bare dlopen error.
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { Store } from './store.ts';
import { loadSecretsKey, SecretBox } from '../config/sealed.ts';
import { isCompiledBinary } from '../runtime.ts';

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

export async function openStore(dataDir: string, opts: { readOnly?: boolean; log?: Log } = {}): Promise<Store> {
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

export async function storeExists(dataDir: string): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  return existsSync(join(dataDir, 'sftpgo.lmdb'));
}
