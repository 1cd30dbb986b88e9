// What this program is: version, the commit and date it was built from, and the runtime running it.
// scripts/build.ts replaces the two SFTPGO_BUILD_* identifiers with string literals (Bun.build
// `define`); a run from source has neither and says so.
import pkg from '../../package.json' with { type: 'json' };
import { LATEST_SCHEMA_VERSION } from '../store/migrations.ts';

declare const SFTPGO_BUILD_COMMIT: string | undefined;
declare const SFTPGO_BUILD_DATE: string | undefined;
declare const SFTPGO_BUILD_SOURCES: string | undefined;

export interface BuildInfo {
  version: string;
  /** Short git commit, or `unknown (source)` when not built by scripts/build.ts. */
  commit: string;
  /** ISO 8601 commit date (or SOURCE_DATE_EPOCH), or `unknown (source)`. */
  date: string;
  /** e.g. `bun 1.2.3`, `deno 2.1.0`, `node 22.1.0`. */
  runtime: string;
  storeSchema: number;
}

export function buildInfo(): BuildInfo {
  return {
    version: pkg.version,
    commit: typeof SFTPGO_BUILD_COMMIT === 'string' ? SFTPGO_BUILD_COMMIT : 'unknown (source)',
    date: typeof SFTPGO_BUILD_DATE === 'string' ? SFTPGO_BUILD_DATE : 'unknown (source)',
    runtime: runtimeName(),
    storeSchema: LATEST_SCHEMA_VERSION,
  };
}

/** The digest of the sources this binary was built from; undefined when run from source. */
export function buildSources(): string | undefined {
  return typeof SFTPGO_BUILD_SOURCES === 'string' ? SFTPGO_BUILD_SOURCES : undefined;
}

function runtimeName(): string {
  // Deno exposes process.versions.node too: look for the runtimes by their own globals first.
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  if (deno) return `deno ${deno.version.deno}`;
  if (typeof Bun !== 'undefined') return `bun ${Bun.version}`;
  return `node ${process.versions.node}`;
}

/** One line: `sftpgo 0.1.0 (bun 1.2.3, store schema 9, commit abc1234)`. */
export function versionLine(info: BuildInfo): string {
  return `sftpgo ${info.version} (${info.runtime}, store schema ${info.storeSchema}, commit ${info.commit})`;
}

/** One `field: value` line per field, for `version --verbose` and bug reports. */
export function versionFields(info: BuildInfo): string {
  return [
    `version: ${info.version}`,
    `commit: ${info.commit}`,
    `build date: ${info.date}`,
    `runtime: ${info.runtime}`,
    `store schema: ${info.storeSchema}`,
  ].join('\n');
}
