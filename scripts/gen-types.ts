// Regenerates, from sftpgo.schema.json, so none of them is written twice:
// - src/config/schema-types.ts: the config types;
// - src/config/schema-check.ts: the config's yes/no schema check (the loader's fast path);
// - src/config/schema-validator.ts: the validators that list every error (config, User, Folder,
//   Admin), for the loader's messages and for API bodies, hook answers and imports.
// Both validators are ajv's standalone code: compiling the schema at start cost 100-300 ms and
// ~26 MB of resident memory a server kept for its lifetime. `--check` exits 1 when a committed
// file is stale (run by the test suite).
import { compile } from 'json-schema-to-typescript';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import ucs2length from 'ajv/dist/runtime/ucs2length.js';
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const schema = JSON.parse(readFileSync(`${root}sftpgo.schema.json`, 'utf8'));
const out = `${root}src/config/schema-types.ts`;

const ts = await compile(schema, 'Config', {
  bannerComment:
    '// Generated from sftpgo.schema.json by `npm run gen:types`; do not edit by hand.\n/* eslint-disable */',
  additionalProperties: false,
  unreachableDefinitions: true,
  style: { singleQuote: true },
});

// Compiling the schema with ajv takes 100-300 ms at every start; as generated code it loads in a
// few. Same options as the loader's yes/no check (src/config/load.ts): no allErrors (the first
// error is enough to know the file must be read again for all of them), one function per
// definition. ajv's one runtime helper is copied in (from ajv itself) so the module imports nothing.
const ajv = new Ajv({ strict: false, allowUnionTypes: true, inlineRefs: false, code: { source: true, esm: true } });
const RUNTIME = 'require("ajv/dist/runtime/ucs2length").default';
const code = standaloneCode(ajv, ajv.compile(schema));
if (code.split(RUNTIME).length !== 2 || !/export default \w+;/.test(code) || /require\(/.test(code.replace(RUNTIME, '')))
  throw new Error('gen-types: the generated validator needs ajv runtime helpers other than ucs2length; copy them in');
const check = `// Generated from sftpgo.schema.json by \`npm run gen:types\`; do not edit by hand.
// @ts-nocheck
/* eslint-disable */
// ajv/dist/runtime/ucs2length: string length in code points, as JSON Schema counts it.
${ucs2length.toString()}
${code.replace('"use strict";', '').replace(/export default \w+;/, '').replace(RUNTIME, 'ucs2length')}
`;

// The full validators: every error, unions as types, and the failing schema (`parentSchema`) on
// each error for the "did you mean" hints. ajv's runtime helper is inlined rather than left as a
// `require()`, which an ES module cannot call under Node.
const full = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, verbose: true, code: { source: true, esm: true } });
full.addSchema(schema);
const entries: Record<string, string> = { validateConfig: schema.$id };
for (const d of ['User', 'Folder', 'Group', 'Admin', 'Role', 'EventAction', 'EventRule']) entries[`validate${d}`] = `${schema.$id}#/definitions/${d}`;
let fullCode = standaloneCode(full, entries).replace(/export const (\w+) = (validate\d+);/g, 'export const $1: ValidateFunction = $2;');
fullCode = fullCode.replaceAll((ucs2length as unknown as { code: string }).code, 'ucs2length') + `\n${ucs2length.toString()}`;
if (fullCode.includes('require(')) throw new Error('gen-types: the full validator needs another ajv runtime helper; inline it too');
const validator = `// Generated from sftpgo.schema.json by \`npm run gen:types\`; do not edit by hand.
// @ts-nocheck
/* eslint-disable */
import type { ValidateFunction } from 'ajv';
${fullCode}
`;

const outputs: [string, string][] = [
  [out, ts],
  [`${root}src/config/schema-check.ts`, check],
  [`${root}src/config/schema-validator.ts`, validator],
];
if (process.argv.includes('--check')) {
  for (const [file, text] of outputs) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`${file.slice(root.length)} is stale: run \`npm run gen:types\``);
      process.exit(1);
    }
  }
} else {
  for (const [file, text] of outputs) writeFileSync(file, text);
}
