// Where the config and the data dir come from: `--config`, else $SFTPGO_CONFIG, else the embedded
// default; `--data-dir`, else $SFTPGO_DATA_DIR, else data_provider.data_dir, else ./data. `serve`
// reads the config again from the same place on every reload.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_NAME, DEFAULT_CONFIG_YAML } from './default.ts';
import { configLocator, loadConfigFile, parseConfigText, type LoadOptions, type LoadResult, type LoadedConfig, type PathSegment, type SourcePosition } from './load.ts';

export interface CommonFlags {
  config?: string;
  'data-dir'?: string;
}

export function configSource(flags: CommonFlags): string | undefined {
  return flags.config ?? (process.env.SFTPGO_CONFIG || undefined);
}

export function loadConfig(flags: CommonFlags, opts: LoadOptions = {}): LoadResult {
  const file = configSource(flags);
  if (file) return loadConfigFile(file, opts);
  return parseConfigText(DEFAULT_CONFIG_YAML, DEFAULT_CONFIG_NAME, process.cwd(), opts);
}

/** `--data-dir`, else `data_provider.data_dir` (relative to the working directory), else ./data. */
export function dataDirOf(flags: CommonFlags, loaded?: LoadedConfig): string {
  return resolve(flags['data-dir'] ?? process.env.SFTPGO_DATA_DIR ?? loaded?.config.data_provider?.data_dir ?? './data');
}

/** Positions of config paths in the file a loaded config came from (or in the embedded default). */
export function locatorFor(loaded: LoadedConfig): (path: readonly PathSegment[]) => SourcePosition {
  const text = loaded.file === DEFAULT_CONFIG_NAME ? DEFAULT_CONFIG_YAML : readFileSync(loaded.file, 'utf8');
  return configLocator(text, loaded.file);
}
