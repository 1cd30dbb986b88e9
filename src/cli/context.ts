// Shared CLI plumbing: where the config comes from, where the data dir is, and printing issues.
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_NAME, DEFAULT_CONFIG_YAML } from '../config/default.ts';
import { formatIssue, loadConfigFile, parseConfigText, type LoadResult, type LoadedConfig } from '../config/load.ts';

export interface CommonFlags {
  config?: string;
  'data-dir'?: string;
}

export function configSource(flags: CommonFlags): string | undefined {
  return flags.config ?? (process.env.SFTPGO_CONFIG || undefined);
}

export function loadConfig(flags: CommonFlags): LoadResult {
  const file = configSource(flags);
  if (file) return loadConfigFile(file);
  return parseConfigText(DEFAULT_CONFIG_YAML, DEFAULT_CONFIG_NAME, process.cwd());
}

/** `--data-dir`, else `data_provider.data_dir` (relative to the working directory), else ./data. */
export function dataDirOf(flags: CommonFlags, loaded?: LoadedConfig): string {
  return resolve(flags['data-dir'] ?? process.env.SFTPGO_DATA_DIR ?? loaded?.config.data_provider?.data_dir ?? './data');
}

/** Loads the config or prints every issue and returns undefined. */
export function loadOrReport(flags: CommonFlags): LoadedConfig | undefined {
  const result = loadConfig(flags);
  if (result.ok) return result.value;
  for (const issue of result.issues) process.stderr.write(formatIssue(issue) + '\n');
  process.stderr.write(`${result.issues.length} error${result.issues.length === 1 ? '' : 's'} in config; nothing was changed\n`);
  return undefined;
}
