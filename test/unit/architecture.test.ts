// The layering of src/ and the absence of module-level mutable state, checked from the source
// itself so a change that breaks either fails `npm test` with the offending file and line.
//
// Layers (DESIGN.md): front-ends (protocols, api) -> core -> vfs, with the store below the core and
// small shared helpers in lib/. An edge listed in FORBIDDEN is an import (type-only imports
// included: a type dependency is a dependency) from the first layer into the second.
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dir, '../../src');

/** layer -> layers it must not import. A layer is a folder under src/ or a top-level file's name. */
const FORBIDDEN: Record<string, readonly string[]> = {
  lib: ['*'],
  config: ['vfs', 'store', 'reconcile', 'protocols', 'api', 'serve', 'cli', 'migrate'],
  vfs: ['core', 'protocols', 'store', 'auth', 'api', 'reconcile', 'serve', 'cli', 'migrate', 'log'],
  store: ['core', 'protocols', 'api', 'serve', 'cli', 'reconcile'],
  auth: ['protocols', 'api', 'reconcile', 'serve', 'cli', 'migrate'],
  core: ['protocols', 'api', 'reconcile', 'serve', 'cli', 'migrate'],
  protocols: ['store', 'api', 'reconcile', 'serve', 'cli', 'migrate'],
  reconcile: ['protocols', 'api', 'serve', 'cli'],
  api: ['protocols', 'serve', 'cli'],
  // The web pages are a front-end like the API: they write through its resource functions.
  web: ['protocols', 'store', 'serve', 'cli', 'migrate', 'vfs'],
  migrate: ['protocols', 'api', 'serve', 'cli'],
  serve: ['cli'],
};

/**
 * Module-level state that is allowed, as `relative/path.ts:name`, each with why. Constants and pure
 * memo caches (a value computed once from constant input) are the only kinds that belong here.
 */
const STATE_ALLOWED: Record<string, string> = {
  'api/openapi.ts:cached': 'pure memo: the OpenAPI document built from the constant route table',
  'vfs/gcs/crc32c.ts:hasher': 'pure memo: the CRC32C WebAssembly instance, created on first use',
  'protocols/webdav/request.ts:bodiesRead': 'keyed by request object: entries die with their request',
  'store/open.ts:tmpChecked': 'pure memo: whether this process already checked that $TMPDIR can hold the native addon',
  'runtime.ts:sendfileLoad': "pure memo: libc's sendfile bound through bun:ffi, loaded on first use",
  'config/sealed.ts:NO_SECRETS': 'a constant: the SecretBox without a key (its fields are readonly)',
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if ((name.endsWith('.ts') || name.endsWith('.tsx')) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function layerOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split('/')[0]!;
  return first.endsWith('.ts') ? first.slice(0, -3) : first;
}

/** Comments and string contents blanked out, keeping line breaks, so scans see only code. */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:\\])\/\/[^\n]*/g, (m, pre: string) => pre + ' '.repeat(m.length - pre.length));
}

interface ImportEdge {
  line: number;
  target: string;
  /** `import type` / `export type`: erased at run time. */
  typeOnly: boolean;
}

/** Relative imports and re-exports (static, type-only and dynamic) of one file. */
function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(file, 'utf8');
  const edges: ImportEdge[] = [];
  const re = /(?:^\s*(import|export)\s+(type\s+)?[^'";]*?\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.[^']+)'/gm;
  for (const m of text.matchAll(re)) {
    const line = text.slice(0, m.index).split('\n').length;
    edges.push({ line, target: resolve(dirname(file), m[3]!), typeOnly: m[2] !== undefined });
  }
  return edges;
}

const files = sourceFiles(SRC);

describe('layering', () => {
  test('no import crosses a forbidden edge', () => {
    const bad: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      const forbidden = FORBIDDEN[from];
      if (!forbidden) continue;
      for (const e of importsOf(file)) {
        if (!e.target.startsWith(SRC + '/')) continue;
        const to = layerOf(e.target);
        if (to === from) continue;
        if (forbidden.includes('*') || forbidden.includes(to))
          bad.push(`src/${relative(SRC, file)}:${e.line}: ${from} -> ${to} (${relative(SRC, e.target)})`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('a protocol front-end does not borrow from another one', () => {
    const bad: string[] = [];
    for (const file of files) {
      const own = /^protocols\/([^/]+)\//.exec(relative(SRC, file))?.[1];
      if (!own) continue;
      for (const e of importsOf(file)) {
        const other = /^protocols\/([^/]+)\//.exec(relative(SRC, e.target))?.[1];
        if (other && other !== own) bad.push(`src/${relative(SRC, file)}:${e.line}: protocols/${own} -> ${relative(SRC, e.target)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('the storage layer reaches config for its schema types only', () => {
    // Backends get secrets and logging from openFs's options, never from config's modules.
    const bad = files
      .filter((f) => layerOf(f) === 'vfs')
      .flatMap((f) => importsOf(f).filter((e) => layerOf(e.target) === 'config' && !e.typeOnly).map((e) => `src/${relative(SRC, f)}:${e.line}: ${relative(SRC, e.target)}`));
    expect(bad).toEqual([]);
  });

  test('the check sees the edges it is meant to refuse', () => {
    // Guards against a scan that silently finds nothing: the core does import the vfs.
    const edges = files.filter((f) => layerOf(f) === 'core').flatMap(importsOf);
    expect(edges.some((e) => layerOf(e.target) === 'vfs')).toBe(true);
    expect(edges.some((e) => e.typeOnly)).toBe(true);
    expect(edges.some((e) => !e.typeOnly)).toBe(true);
  });
});

/** Top-level declarations of mutable state: `let`/`var`, or a `const` holding a fresh mutable container or object. */
export function moduleState(text: string): { line: number; name: string; code: string }[] {
  const found: { line: number; name: string; code: string }[] = [];
  const lines = codeOnly(text).split('\n');
  for (const [i, line] of lines.entries()) {
    // Top-level statements start in column 0 in this tree's formatting.
    let m = /^(?:export\s+)?(?:let|var)\s+([A-Za-z_$][\w$]*)/.exec(line);
    if (!m) {
      m = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::\s*([^=]+?))?\s*=\s*new\s+([A-Za-z_$][\w$]*)/.exec(line);
      // A Readonly-typed container is a constant table; an error value is immutable.
      if (m && (/^Readonly/.test(m[2] ?? '') || /Error$/.test(m[3]!) || ['RegExp', 'TextEncoder', 'TextDecoder', 'URL'].includes(m[3]!))) m = null;
    }
    if (m) found.push({ line: i + 1, name: m[1]!, code: line.trim() });
  }
  return found;
}

describe('module-level state', () => {
  test('the scan finds let, var and fresh containers, and passes constant tables', () => {
    const sample = [
      'let a = 1;',
      'export let b: number;',
      'const c = new Map<string, number>();',
      'export const d = new Registry();',
      "const e: ReadonlySet<string> = new Set(['x']);",
      "const f = new AppError('io', 'x');",
      'const g = 3;',
      '  let inner = 0;',
      '// let commented = 1;',
    ].join('\n');
    expect(moduleState(sample).map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('src/ holds none outside the allow-list', () => {
    const bad: string[] = [];
    const used = new Set<string>();
    for (const file of files) {
      const rel = relative(SRC, file);
      for (const s of moduleState(readFileSync(file, 'utf8'))) {
        const key = `${rel}:${s.name}`;
        if (STATE_ALLOWED[key]) used.add(key);
        else bad.push(`src/${rel}:${s.line}: ${s.code}`);
      }
    }
    expect(bad).toEqual([]);
    // An allow-list entry whose state is gone must go too, so the list stays short and true.
    expect(Object.keys(STATE_ALLOWED).filter((k) => !used.has(k))).toEqual([]);
  });
});
