// Loads the YAML config: parse with positions, validate against sftpgo.schema.json, run the semantic
// checks, and report every problem with file, line, column and field path. Nothing here touches the
// store, so a bad file can never change it.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isMap, isNode, isPair, isScalar, type Document, type Node } from 'yaml';
import schema from '../../sftpgo.schema.json' with { type: 'json' };
import type { SFTPGoTSConfiguration } from './schema-types.ts';
import { checkSemantics } from './semantic.ts';
import { checkSecretRefs } from './secrets.ts';

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

export type LoadResult = { ok: true; value: LoadedConfig } | { ok: false; issues: ConfigIssue[] };

export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

let validator: ReturnType<Ajv['compile']> | undefined;
function validate(value: unknown): ErrorObject[] {
  validator ??= new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, verbose: true }).compile(schema);
  return validator(value) ? [] : [...(validator.errors ?? [])];
}

export function loadConfigFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String((err as Error).message);
    return { ok: false, issues: [{ file, line: 0, col: 0, path: '', message: `cannot read config: ${reason}` }] };
  }
  return parseConfigText(text, file, dirname(resolve(file)));
}

/** Parses and checks config text; `file` is only used in messages. */
export function parseConfigText(text: string, file: string, baseDir: string): LoadResult {
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

  const value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const issues: ConfigIssue[] = [];
  const locate = (path: readonly PathSegment[], key?: boolean) => at(offsetOf(doc, path, key));

  for (const e of collapseErrors(validate(value))) {
    const path = pointerToPath(e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys(propertiesAt(e.parentSchema));
      const hint = closest(extra, known);
      issues.push({
        file,
        ...locate([...path, extra], true),
        path: formatPath([...path, extra]),
        message: `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`,
      });
    } else if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      issues.push({ file, ...locate(path), path: formatPath([...path, missing]), message: 'required' });
    } else {
      issues.push({ file, ...locate(path), path: formatPath(path), message: describe(e) });
    }
  }
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };

  const config = value as Config;
  for (const problem of [...checkSemantics(config), ...checkSecretRefs(config, baseDir)]) {
    issues.push({ file, ...locate(problem.path), path: formatPath(problem.path), message: problem.message });
  }
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };
  return { ok: true, value: { config, file, baseDir } };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.col - b.col);
}

function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Offset of the node at `path` (or of its key when `key`), falling back to the nearest ancestor. */
function offsetOf(doc: Document, path: readonly PathSegment[], key = false): number {
  let node: unknown = doc.contents;
  let best = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  for (let i = 0; i < path.length; i++) {
    if (!isNode(node)) break;
    const seg = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const last = i === path.length - 1;
      if (last && key && isNode(pair.key)) return (pair.key as Node).range?.[0] ?? best;
      node = pair.value;
      // A key with no value (`bucket:`) has a null node without a range: point at the key.
      if (!isNode(node) || !node.range) return isNode(pair.key) ? ((pair.key as Node).range?.[0] ?? best) : best;
    } else if ('items' in node && Array.isArray((node as { items: unknown[] }).items) && typeof seg === 'number') {
      node = (node as { items: unknown[] }).items[seg];
    } else break;
    if (isNode(node) && node.range) best = node.range[0];
  }
  return best;
}

/** oneOf failures drag in one error per branch; keep only the oneOf error itself. */
function collapseErrors(errors: ErrorObject[]): ErrorObject[] {
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf').map((e) => ({ at: e.instancePath, schema: e.schemaPath }));
  return errors.filter((e) => {
    if (e.keyword === 'oneOf') return true;
    return !oneOfPaths.some(
      (o) => (e.instancePath === o.at || e.instancePath.startsWith(o.at + '/')) && e.schemaPath.startsWith(o.schema + '/'),
    );
  });
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'type':
      return `must be ${(e.params as { type: string }).type}`;
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    case 'oneOf':
      if (e.schemaPath.includes('/Secret/'))
        return 'must be a string, { env: NAME }, { file: PATH }, { generate: true } or { status: Plain, payload: ... }';
      if (e.schemaPath.includes('/Filesystem/')) return 'must be one of local, s3, gcs, azblob, crypt, sftp (or 0-5)';
      return `must be one of: ${describeBranches(e.parentSchema)}`;
    case 'pattern':
      return `must match ${(e.params as { pattern: string }).pattern}`;
    case 'propertyNames':
      return 'keys must be absolute paths starting with /';
    default:
      return e.message ?? e.keyword;
  }
}

function describeBranches(parent: unknown): string {
  const branches = (parent as { oneOf?: { enum?: unknown[] }[] } | undefined)?.oneOf ?? [];
  return branches.flatMap((b) => b.enum ?? []).map((v) => JSON.stringify(v)).join(', ') || 'an allowed form';
}

function propertiesAt(parentSchema: unknown): Record<string, unknown> {
  return ((parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}) as Record<string, unknown>;
}

/** A near-miss suggestion for a mistyped key (edit distance ≤ 2). */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
