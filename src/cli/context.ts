// Shared CLI plumbing: loading the config with every issue printed.
import { resolve } from 'node:path';
import type { ConfigCache } from '../config/checked-cache.ts';
import { formatIssue, type LoadedConfig, type LoadOptions } from '../config/load.ts';
import { loadConfig, type CommonFlags } from '../config/source.ts';
import { buildSources } from './build-info.ts';

/** Loads the config or prints every issue and returns undefined. */
export function loadOrReport(flags: CommonFlags, opts: LoadOptions = {}): LoadedConfig | undefined {
  const result = loadConfig(flags, opts);
  if (result.ok) return result.value;
  for (const issue of result.issues) process.stderr.write(formatIssue(issue) + '\n');
  process.stderr.write(`${result.issues.length} error${result.issues.length === 1 ? '' : 's'} in config; nothing was changed\n`);
  return undefined;
}

/**
 * Where `serve` and `plan` remember the last config that passed (config/checked-cache.ts): the data
 * dir, when it is known before the file is read (--data-dir or $SFTPGO_DATA_DIR; one named by the
 * file itself is not), in a compiled binary (a run from source has no build digest).
 */
export function configCacheFor(flags: CommonFlags, opts: { write: boolean }): ConfigCache | undefined {
  const build = buildSources();
  const dir = flags['data-dir'] ?? (process.env.SFTPGO_DATA_DIR || undefined);
  return build && dir ? { dir: resolve(dir), build, write: opts.write } : undefined;
}
