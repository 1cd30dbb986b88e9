// Loads the YAML config: parse with positions, validate against sftpgo.schema.json, run the semantic
// checks, and report every problem with file, line, column and field path. Nothing here touches the
// store, so a bad file can never change it.
//
// A valid file is read on a fast path: the plain-YAML reader (yaml-plain.ts), one schema validation
// that stops at the first error, the semantic checks. Only when that path declines the YAML or finds
// any problem is every error collected: placed with the plain reader's positions when it read the
// file (a second read, some ten times faster than `yaml`'s), else with the `yaml` package's
// positioned document; messages, lines and columns are the same whichever path found the file bad.
// With a cache (checked-cache.ts), a file byte-identical to the last one that passed is not read
// at all: only its secret references are resolved again.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { validateConfig } from './schema-validator.ts';
import { formatPath, schemaProblems, type PathSegment } from './schema-errors.ts';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { SFTPGoTSConfiguration } from './schema-types.ts';
import { checkSemantics } from './semantic.ts';
import { checkSecretRefs, resolveSecret, type Secret, type SecretRefOptions } from './secrets.ts';
import { NO_SECRETS } from './sealed.ts';
import { offsetOf, plainOffsetOf } from './positions.ts';
import { parsePlainYaml } from './yaml-plain.ts';
import { validate as checkSchema } from './schema-check.ts';
import { configDigest, recallCheckedConfig, rememberCheckedConfig, type CheckedConfig, type ConfigCache } from './checked-cache.ts';

export type Config = SFTPGoTSConfiguration;

export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Field path in the config, e.g. `users[2].filesystem.s3config.bucket`; empty for the root. */
  path: string;
  message: string;
}

export interface LoadedConfig {
  config: Config;
  /** File name used in messages (`<embedded default>` for the built-in config). */
  file: string;
  /** Directory that relative secret file references are resolved against. */
  baseDir: string;
}

export interface LoadOptions {
  /**
   * Read every `{ env }` and `{ file }` secret reference and report those that do not resolve
   * (default). `validate` turns it off: it checks only their form.
   */
  resolveSecrets?: boolean;
  /** Where the last config that passed is remembered (serve, plan); none by default. */
  cache?: ConfigCache;
}

export type LoadResult = { ok: true; value: LoadedConfig } | { ok: false; issues: ConfigIssue[] };

export { formatPath, type PathSegment };

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

// Compiled ahead of time (scripts/gen-types.ts): no code generation at start.
function validate(value: unknown): ErrorObject[] {
  return validateConfig(value) ? [] : [...(validateConfig.errors ?? [])];
}

/**
 * The same schema as a yes/no answer, from the validator generated into schema-check.ts. It stops at
 * the first error and carries no error details, which makes it less than half the size of the full
 * validator and faster on a first run (10,000 users: ~100 against ~155 ms); its options change no
 * verdict, and the error list always comes from `validate`.
 */
function isValid(value: unknown): boolean {
  return checkSchema(value) === true;
}

export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String((err as Error).message);
    return { ok: false, issues: [{ file, line: 0, col: 0, path: '', message: `cannot read config: ${reason}` }] };
  }
  return parseConfigText(text, file, dirname(resolve(file)), opts);
}

/** Parses and checks config text; `file` is only used in messages. */
export function parseConfigText(text: string, file: string, baseDir: string, opts: LoadOptions = {}): LoadResult {
  const refs = { resolve: opts.resolveSecrets ?? true };
  const cache = opts.cache;
  const digest = cache ? configDigest(text) : '';
  if (cache) {
    const checked = recallCheckedConfig(cache, digest);
    // A reference that no longer resolves is reported from the file, with its position.
    if (checked && (!refs.resolve || referencesResolve(checked, baseDir))) return { ok: true, value: { config: checked.config, file, baseDir } };
  }
  const result = parseChecked(text, file, baseDir, refs);
  // Remembered as checked, before any caller can touch it.
  if (cache && result.ok) rememberCheckedConfig(cache, digest, result.value.config);
  return result;
}

/** What checkSecretRefs would find of a checked config: only a reference can stop resolving. */
function referencesResolve({ config, references }: CheckedConfig, baseDir: string): boolean {
  for (const path of references) {
    let secret: unknown = config;
    for (const seg of path) secret = (secret as Record<PathSegment, unknown> | undefined)?.[seg];
    try {
      resolveSecret(secret as Secret, baseDir, NO_SECRETS);
    } catch {
      return false;
    }
  }
  return true;
}

function parseChecked(text: string, file: string, baseDir: string, refs: SecretRefOptions): LoadResult {
  const plain = parsePlainYaml(text);
  if (plain) {
    const value = plain.value ?? {};
    if (isValid(value)) {
      const config = value as Config;
      if (checkSemantics(config).length === 0 && checkSecretRefs(config, baseDir, refs).length === 0)
        return { ok: true, value: { config, file, baseDir } };
    }
    // Read again, fresh (the checks above may have touched the value), with where nodes start.
    const located = parsePlainYaml(text, { positions: true })!;
    const lines = new LineCounter();
    lines.addNewLine(0);
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) lines.addNewLine(nl + 1);
    return checkPlaced(located.value ?? {}, { file, baseDir, refs, at: (path, key) => lines.linePos(plainOffsetOf(located, path, key)) });
  }
  return parsePositioned(text, file, baseDir, refs);
}

interface Placing {
  file: string;
  baseDir: string;
  refs: SecretRefOptions;
  /** Line and column of the node at a path (or of its key). */
  at(path: readonly PathSegment[], key?: boolean): { line: number; col: number };
}

/** Every schema problem, else every semantic and secret reference problem, each placed. */
function checkPlaced(value: unknown, { file, baseDir, refs, at }: Placing): LoadResult {
  const issues: ConfigIssue[] = [];
  const locate = (path: readonly PathSegment[], key?: boolean) => {
    const pos = at(path, key);
    return { line: pos.line, col: pos.col };
  };
  for (const p of schemaProblems(validate(value))) {
    // A missing field is placed at its parent object; an unknown one at its key.
    const where = p.message === 'required' ? p.path.slice(0, -1) : p.path;
    issues.push({ file, ...locate(where, p.atKey), path: formatPath(p.path), message: p.message });
  }
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };

  const config = value as Config;
  for (const problem of [...checkSemantics(config), ...checkSecretRefs(config, baseDir, refs)]) {
    issues.push({ file, ...locate(problem.path), path: formatPath(problem.path), message: problem.message });
  }
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };
  return { ok: true, value: { config, file, baseDir } };
}

/** Where the first alias that names no earlier anchor is (the document's start if none is). */
function aliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** The `yaml` package's positioned document: every problem, each with its line and column. */
function parsePositioned(text: string, file: string, baseDir: string, refs: SecretRefOptions): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '', message: `YAML syntax: ${firstLine(e.message)}` })),
    };
  }

  // An alias with no anchor before it, or too many aliases (a "billion laughs" file), is not a
  // syntax error to the parser: toJS throws it, and it is reported like one.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    return { ok: false, issues: [{ file, ...at(aliasOffset(doc)), path: '', message: `YAML: ${firstLine((err as Error).message)}` }] };
  }
  return checkPlaced(value, { file, baseDir, refs, at: (path, key) => at(offsetOf(doc, path, key)) });
}

export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

/**
 * Where each config path is written in `text`: the key of a map entry, the item of a list (the
 * nearest written ancestor when the path is not in the file). The text is parsed again with
 * positions on the first question only: `explain` and the assertions ask, a load never does.
 */
export function configLocator(text: string, file: string): (path: readonly PathSegment[]) => SourcePosition {
  let parsed: { doc: Document; lines: LineCounter } | undefined;
  return (path) => {
    if (!parsed) {
      const lines = new LineCounter();
      parsed = { doc: parseDocument(text, { lineCounter: lines, prettyErrors: false }), lines };
    }
    const pos = parsed.lines.linePos(offsetOf(parsed.doc, path, typeof path[path.length - 1] === 'string'));
    return { file, line: pos.line, col: pos.col };
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.col - b.col);
}
