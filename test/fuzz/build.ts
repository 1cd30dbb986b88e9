// Bundles the fuzzer for Node: the CLI (engine) and each target apart, so the coverage the engine
// reads is the target's alone. Runs under Bun (its bundler takes the TypeScript sources as they
// are); Node 20 here has no TypeScript type stripping.
import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export const FUZZ_DIR = resolve(import.meta.dir);
export const TARGETS_DIR = join(FUZZ_DIR, 'targets');
export const CORPUS_DIR = join(FUZZ_DIR, 'corpus');

/** Every target, by file name under test/fuzz/targets/. */
export function targetNames(): string[] {
  return readdirSync(TARGETS_DIR)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => basename(f, '.ts'))
    .sort();
}

export interface FuzzBuild {
  cli: string;
  bundle: (target: string) => string;
}

export async function buildFuzz(outDir: string, targets: string[] = targetNames()): Promise<FuzzBuild> {
  const result = await Bun.build({
    entrypoints: [join(FUZZ_DIR, 'cli.ts'), ...targets.map((t) => join(TARGETS_DIR, `${t}.ts`))],
    outdir: outDir,
    target: 'node',
    format: 'esm',
    naming: '[name].mjs',
    // lmdb and other native addons load from node_modules at run time, as in the server.
    packages: 'external',
  });
  if (!result.success) throw new AggregateError(result.logs, 'fuzz build failed');
  return { cli: join(outDir, 'cli.mjs'), bundle: (t) => join(outDir, `${t}.mjs`) };
}
