// Regenerates src/config/schema-validator.ts: the config validator for sftpgo.schema.json compiled
// ahead of time (ajv standalone code), so `serve` does not run ajv's code generator at start.
// Compiling the schema at start cost ~26 MB of resident memory that a server kept for its lifetime
// (measured on the compiled binary: allocator pages touched by code generation and by compiling the
// generated source), plus the ajv compiler's own code. `--check` exits 1 when the committed file
// is stale (run by the test suite).
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import ucs2length from 'ajv/dist/runtime/ucs2length.js';
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const schema = JSON.parse(readFileSync(`${root}sftpgo.schema.json`, 'utf8'));
const out = `${root}src/config/schema-validator.ts`;

// The options the loader always used: every error, unions as types, and the failing schema
// (`parentSchema`) on each error for the "did you mean" hints. `esm` so the bundler follows the
// runtime helpers the generated code imports.
const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, verbose: true, code: { source: true, esm: true } });
ajv.addSchema(schema);
const defs = ['User', 'Folder', 'Admin'];
const exports: Record<string, string> = { validateConfig: schema.$id };
for (const d of defs) exports[`validate${d}`] = `${schema.$id}#/definitions/${d}`;
// Typed exports for the importers (the generated body itself is not type-checked). ajv's runtime
// helper is inlined rather than left as a `require()`, which an ES module cannot call under Node.
let code = standaloneCode(ajv, exports).replace(/export const (\w+) = (validate\d+);/g, 'export const $1: ValidateFunction = $2;');
code = code.replaceAll((ucs2length as unknown as { code: string }).code, 'ucs2length') + `\n${ucs2length.toString()}`;
if (code.includes('require(')) throw new Error('gen-validator: the generated code needs another ajv runtime helper; inline it too');

const ts = `// Generated from sftpgo.schema.json by \`bun scripts/gen-validator.ts\`; do not edit by hand.
// @ts-nocheck
/* eslint-disable */
import type { ValidateFunction } from 'ajv';
${code}
`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {}
  if (current !== ts) {
    console.error('src/config/schema-validator.ts is stale: run `bun scripts/gen-validator.ts`');
    process.exit(1);
  }
} else {
  writeFileSync(out, ts);
}
