// What a JSON Schema validation error means in config terms: one message per problem, with the
// field path, for the YAML loader (which adds line and column) and the API (which returns it as
// JSON) alike, so a field is described the same way wherever it was written.
import type { ErrorObject } from 'ajv';
import { notSupportedReason } from './unsupported.ts';
import { refusedAdminPermission } from './admin-permissions.ts';

export type PathSegment = string | number;

export interface SchemaProblem {
  path: PathSegment[];
  message: string;
  /** True when the problem is the key itself (an unknown field): point at the key, not its value. */
  atKey?: boolean;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

export interface ProblemOptions {
  /** Config path of the record the validated value stands for (`users[]` for an API user body). */
  within?: string;
}

/** ajv errors (compiled with allErrors and verbose) as config problems. */
export function schemaProblems(errors: ErrorObject[], opts: ProblemOptions = {}): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of collapseErrors(errors)) {
    const path = pointerToPath(e.instancePath);
    let p: SchemaProblem;
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const why = notSupportedReason(keyPath([...path, extra]), opts.within);
      const hint = closest(extra, Object.keys(propertiesAt(e.parentSchema)));
      const message = why ? `not supported: ${why}` : `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`;
      p = { path: [...path, extra], message, atKey: true };
    } else if (e.keyword === 'const' && notSupportedReason(keyPath(path), opts.within)) {
      // A refused SFTPGo key accepted only with its "off" value: say why the other value is refused.
      p = { path, message: `not supported: ${notSupportedReason(keyPath(path), opts.within)}` };
    } else if (e.keyword === 'required') {
      p = { path: [...path, String((e.params as { missingProperty: string }).missingProperty)], message: 'required' };
    } else p = { path, message: describe(e) };
    const key = `${formatPath(p.path)}\0${p.message}`;
    if (!seen.has(key)) (seen.add(key), out.push(p));
  }
  return out;
}

/** A path with its array indexes written `[]`, as keys are named in the schema's documentation. */
function keyPath(path: readonly PathSegment[]): string {
  return formatPath(path.map((s) => (typeof s === 'number' ? 0 : s))).replace(/\[0\]/g, '[]');
}

function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/**
 * oneOf failures drag in one error per branch; keep only the oneOf error itself. An if/then
 * adds a summary ("must match the then schema") beside the errors of its then branch, which
 * already say what is wrong: drop the summary.
 */
function collapseErrors(all: ErrorObject[]): ErrorObject[] {
  const errors = all.filter((e) => e.keyword !== 'if');
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf').map((e) => ({ at: e.instancePath, schema: e.schemaPath }));
  if (oneOfPaths.length === 0) return errors;
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
      if (e.schemaPath.endsWith('/properties/permissions/items/enum')) {
        const why = refusedAdminPermission(e.data);
        if (why) return why;
      }
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    case 'oneOf':
      if (e.schemaPath.includes('/Secret/'))
        return 'must be a string, { env: NAME }, { file: PATH }, { generate: true }, { status: Plain, payload: ... } or { sealed: ... }';
      if (e.schemaPath.includes('/Filesystem/')) return 'must be one of local, s3, gcs, azblob, crypt, sftp (or 0-5)';
      return `must be one of: ${describeBranches(e.parentSchema)}`;
    case 'pattern':
      if (e.schemaPath.includes('/HookCommand/')) return 'must be an absolute program path or an http(s) URL';
      if (e.schemaPath.includes('/Name/'))
        return 'must be 1-255 characters without / \\ : * ? " < > | or control characters, no leading or trailing space, no trailing dot, and not ".", ".." or a device name (CON, NUL, COM1, ...)';
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

/** A near-miss suggestion for a mistyped key (edit distance ≤ 2): the first of the nearest. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = editDistance(word, c, bestDist - 1);
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return best;
}

/**
 * The edit distance of `a` and `b` when it is at most `limit`, else some number above it. Bounded,
 * so that a long unknown key (a pasted value, a fuzzer's input) costs no more than a short one: a
 * length difference over the limit answers at once, and a row past it ends the count.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    let least = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
      if (row[j]! < least) least = row[j]!;
    }
    // Every later row holds at least this row's least value.
    if (least > limit) return limit + 1;
  }
  return row[b.length]!;
}
