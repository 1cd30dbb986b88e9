// Secret values in the config: a literal, `{ env: NAME }`, `{ file: PATH }`, `{ generate: true }` or
// an SFTPGo `{ status: Plain, payload }` object. Where secrets sit is read from the schema (every
// `$ref: #/definitions/Secret`), not from a hand-kept list.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import schema from '../../sftpgo.schema.json' with { type: 'json' };
import type { Secret } from './schema-types.ts';
import type { Config, PathSegment } from './load.ts';
import { AppError } from '../errors.ts';
import { isSealed, NO_SECRETS, type SecretBox } from './sealed.ts';
import { oneShot } from '../lib/jit.ts';

export type { Secret };

type SchemaNode = {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
};

const SECRET_REF = '#/definitions/Secret';

function deref(node: SchemaNode): SchemaNode {
  let n = node;
  while (n.$ref && n.$ref !== SECRET_REF) {
    const name = n.$ref.replace('#/definitions/', '');
    n = (schema.definitions as Record<string, SchemaNode>)[name]!;
  }
  return n;
}

/** Where a schema node leads (properties, items, additionalProperties), after its $ref. */
function childrenOf(node: SchemaNode): SchemaNode[] {
  const n = deref(node);
  if (n.$ref === SECRET_REF) return [];
  return [...Object.values(n.properties ?? {}), ...(n.items ? [n.items] : []), ...(typeof n.additionalProperties === 'object' ? [n.additionalProperties] : [])];
}

/**
 * The schema nodes under which a secret can sit. The walks below skip every other subtree: most
 * of a user (permissions, filters, quotas) can hold none, and a config has 10,000 users.
 */
function secretCapable(): ReadonlySet<SchemaNode> {
  const memo = new Map<SchemaNode, boolean>();
  const capable = (node: SchemaNode): boolean => {
    const known = memo.get(node);
    if (known !== undefined) return known;
    // Assumed capable while its children are looked at: a cycle can only make a walk go deeper.
    memo.set(node, true);
    const n = deref(node);
    const result = node.$ref === SECRET_REF || n.$ref === SECRET_REF || childrenOf(node).map(capable).some(Boolean);
    memo.set(node, result);
    return result;
  };
  capable(schema as SchemaNode);
  for (const d of Object.values(schema.definitions as Record<string, SchemaNode>)) capable(d);
  return new Set([...memo].filter(([, c]) => c).map(([n]) => n));
}
const SECRET_CAPABLE = secretCapable();

/** Calls `visit` for every secret value present in `value`, with its path. */
export function forEachSecret(
  value: unknown,
  visit: (secret: Secret, path: PathSegment[]) => void,
  node: SchemaNode = schema as SchemaNode,
  path: PathSegment[] = [],
): void {
  walkSecrets(value, visit, node, [...path]);
}

/** forEachSecret with one path array, extended and shrunk in place; `visit` gets a copy. */
function walkSecrets(value: unknown, visit: (secret: Secret, path: PathSegment[]) => void, node: SchemaNode, path: PathSegment[]): void {
  if (value === undefined || value === null) return;
  if (node.$ref === SECRET_REF) {
    visit(value as Secret, [...path]);
    return;
  }
  const n = deref(node);
  if (n.$ref === SECRET_REF) return walkSecrets(value, visit, n, path);
  if (!SECRET_CAPABLE.has(node)) return;
  if (Array.isArray(value) && n.items) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walkSecrets(value[i], visit, n.items, path);
      path.pop();
    }
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      const child = n.properties?.[k] ?? (typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined);
      if (!child) continue;
      path.push(k);
      walkSecrets(v, visit, child, path);
      path.pop();
    }
  }
}

/**
 * A copy of `value` (a config section, validated) in which every `{ file: relative }` secret is
 * made absolute against `baseDir`, so the reference still works where it is used later (a login,
 * far from the config file). Parts where the schema allows no secret are shared, not copied.
 */
export function absoluteSecretFiles<T>(value: T, baseDir: string, node: SchemaNode = schema as SchemaNode): T {
  if (value === undefined || value === null) return value;
  if (node.$ref === SECRET_REF) {
    const s = value as Secret;
    return (typeof s === 'object' && 'file' in s && !isAbsolute(s.file) ? { file: resolve(baseDir, s.file) } : s) as T;
  }
  const n = deref(node);
  if (n.$ref === SECRET_REF) return absoluteSecretFiles(value, baseDir, n);
  if (!SECRET_CAPABLE.has(node)) return value;
  if (Array.isArray(value)) return (n.items ? value.map((v) => absoluteSecretFiles(v, baseDir, n.items!)) : value) as T;
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = n.properties?.[k] ?? (typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined);
      out[k] = child ? absoluteSecretFiles(v, baseDir, child) : v;
    }
    return out as T;
  }
  return value;
}

/**
 * A copy of `value` with every secret in the form the store keeps: `{ file }` references made
 * absolute against `baseDir` (they are read far from the config file), literals and SFTPGo's
 * `{ status: Plain }` objects sealed with the data directory's key (see sealed.ts); `{ env }`,
 * `{ generate }` and already sealed values are kept.
 */
export function storedSecrets<T>(value: T, node: SchemaNode, ctx: { baseDir: string; secrets: SecretBox }): T {
  return mapSecrets(absoluteSecretFiles(value, ctx.baseDir, node), node, (s) => {
    if (typeof s === 'string') return s === '' ? s : ctx.secrets.seal(s);
    if ('status' in s && s.status === 'Plain') return ctx.secrets.seal(s.payload);
    return s;
  });
}

/** A copy of `value` with every secret under `node` replaced by `f(secret)` (undefined drops it). */
export function mapSecrets<T>(value: T, node: SchemaNode, f: (s: Secret) => unknown): T {
  if (value === undefined || value === null) return value;
  if (node.$ref === SECRET_REF) return f(value as Secret) as T;
  const n = deref(node);
  if (n.$ref === SECRET_REF) return mapSecrets(value, n, f);
  if (!SECRET_CAPABLE.has(node)) return value;
  if (Array.isArray(value)) return (n.items ? value.map((v) => mapSecrets(v, n.items!, f)) : value) as T;
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = n.properties?.[k] ?? (typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined);
      const mapped = child ? mapSecrets(v, child, f) : v;
      if (mapped !== undefined) out[k] = mapped;
    }
    return out as T;
  }
  return value;
}

/** The schema node of a definition, for absoluteSecretFiles on part of a config. */
export function definition(name: string): SchemaNode {
  return (schema.definitions as Record<string, SchemaNode>)[name]!;
}

/**
 * The clear value of a secret, or undefined for `{ generate: true }` (decided at apply time). A
 * sealed value opens with `secrets`, the data directory's key.
 */
export function resolveSecret(secret: Secret, baseDir: string, secrets: SecretBox): string | undefined {
  if (typeof secret === 'string') return secret;
  if ('env' in secret) {
    const v = process.env[secret.env];
    if (v === undefined) throw new AppError('config', `environment variable ${secret.env} is not set`);
    return v;
  }
  if ('file' in secret) {
    const p = isAbsolute(secret.file) ? secret.file : resolve(baseDir, secret.file);
    try {
      return readFileSync(p, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new AppError('config', `cannot read secret file ${p}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  if ('generate' in secret) return undefined;
  if (isSealed(secret)) return secrets.unseal(secret.sealed);
  return secret.payload;
}

// An environment variable name as a shell can set it: `env -i NAME=...` and `export NAME=...`.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What is wrong with a secret's form, without resolving it: an `{ env }` that names no possible
 * variable, a `{ file }` path that is blank or holds a NUL byte. The schema already checks the
 * rest of the shape (`generate: true`, a sealed value's prefix, SFTPGo's Plain object).
 */
export function secretFormProblem(secret: Secret): string | undefined {
  if (typeof secret !== 'object') return undefined;
  if ('env' in secret && !ENV_NAME.test(secret.env)) return `"${secret.env}" is not an environment variable name (letters, digits and _, not starting with a digit)`;
  if ('file' in secret) {
    if (secret.file.trim() === '') return 'a secret file path must not be blank';
    if (secret.file.includes('\0')) return 'a secret file path must not hold a NUL byte';
  }
  return undefined;
}

export interface SecretRefOptions {
  /**
   * Also read every `{ env }` and `{ file }` reference (what `serve` and `plan` need); when false
   * only their form is checked, so a file can be validated where the secrets do not exist (CI).
   */
  resolve: boolean;
}

export function checkSecretRefs(config: Config, baseDir: string, opts: SecretRefOptions = { resolve: true }): { path: PathSegment[]; message: string }[] {
  const problems: { path: PathSegment[]; message: string }[] = [];
  forEachSecret(config, (secret, path) => {
    const form = secretFormProblem(secret);
    if (form) {
      problems.push({ path, message: form });
      return;
    }
    // A sealed value opens only with the data directory's key, when the store is open: reconcile
    // checks it there. The config is read before the store is opened (and on reload, beside it).
    if (!opts.resolve || isSealed(secret)) return;
    try {
      resolveSecret(secret, baseDir, NO_SECRETS);
    } catch (err) {
      problems.push({ path, message: (err as Error).message });
    }
  });
  return problems;
}

// Run over every user of the config at start (see lib/jit.ts).
oneShot(deref, walkSecrets, absoluteSecretFiles, mapSecrets, storedSecrets, resolveSecret);
