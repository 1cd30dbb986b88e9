// Regenerates src/config/schema-types.ts (the config types) and src/config/schema-check.ts (the
// config's schema validator as code) from sftpgo.schema.json, so neither is written twice.
// `--check` exits 1 when a committed file is stale (run by the test suite).
import { compile } from 'json-schema-to-typescript';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
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
// definition. ajv's one runtime helper is copied in so the module imports nothing.
const ajv = new Ajv({ strict: false, allowUnionTypes: true, inlineRefs: false, code: { source: true, esm: true } });
const RUNTIME = 'require("ajv/dist/runtime/ucs2length").default';
const code = standaloneCode(ajv, ajv.compile(schema));
if (code.split(RUNTIME).length !== 2 || !/export default \w+;/.test(code) || /require\(/.test(code.replace(RUNTIME, '')))
  throw new Error('gen-types: the generated validator needs ajv runtime helpers other than ucs2length; copy them in');
const check = `// Generated from sftpgo.schema.json by \`npm run gen:types\`; do not edit by hand.
// @ts-nocheck
/* eslint-disable */
// ajv/dist/runtime/ucs2length: string length in code points, as JSON Schema counts it.
function ucs2length(str) {
  const len = str.length;
  let length = 0;
  let pos = 0;
  let value;
  while (pos < len) {
    length++;
    value = str.charCodeAt(pos++);
    if (value >= 0xd800 && value <= 0xdbff && pos < len) {
      value = str.charCodeAt(pos);
      if ((value & 0xfc00) === 0xdc00) pos++;
    }
  }
  return length;
}
${code.replace('"use strict";', '').replace(/export default \w+;/, '').replace(RUNTIME, 'ucs2length')}
`;

const outputs: [string, string][] = [
  [out, ts],
  [`${root}src/config/schema-check.ts`, check],
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
