// The storage layer's boundary, read from the source: nothing under src/vfs imports the session
// core, a protocol, the secrets module (it reads the module-level key) or the logger (module
// state). Backends get secrets and logging through openFs's options instead; type-only imports of
// config schema types are fine.
import { expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dir, '../../../src');
const VFS = join(SRC, 'vfs');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Project-relative targets of every import and dynamic import in `file`, with whether it is type-only. */
function importsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const out: { target: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)) {
    const spec = m[3] ?? m[4]!;
    if (!spec.startsWith('.')) continue;
    out.push({ target: relative(SRC, resolve(dirname(file), spec)), typeOnly: m[2] !== undefined });
  }
  return out;
}

const FORBIDDEN = [/^core\//, /^protocols\//, /^config\/secrets\.ts$/, /^log\.ts$/, /^store\//, /^api\//, /^serve\//];

test('src/vfs imports neither core, protocols, store, secrets nor the logger', () => {
  const edges = sources(VFS).flatMap((f) => importsOf(f).map((i) => ({ from: relative(SRC, f), ...i })));
  expect(edges.length).toBeGreaterThan(50); // the scan sees the imports at all
  const bad = edges.filter((e) => FORBIDDEN.some((re) => re.test(e.target)));
  expect(bad).toEqual([]);
  // Config is reachable only for its schema types.
  const config = edges.filter((e) => e.target.startsWith('config/') && !e.typeOnly);
  expect(config).toEqual([]);
});
