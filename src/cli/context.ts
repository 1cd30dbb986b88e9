// Shared CLI plumbing: loading the config with every issue printed.
import { formatIssue, type LoadedConfig, type LoadOptions } from '../config/load.ts';
import { loadConfig, type CommonFlags } from '../config/source.ts';

/** Loads the config or prints every issue and returns undefined. */
export function loadOrReport(flags: CommonFlags, opts: LoadOptions = {}): LoadedConfig | undefined {
  const result = loadConfig(flags, opts);
  if (result.ok) return result.value;
  for (const issue of result.issues) process.stderr.write(formatIssue(issue) + '\n');
  process.stderr.write(`${result.issues.length} error${result.issues.length === 1 ? '' : 's'} in config; nothing was changed\n`);
  return undefined;
}
