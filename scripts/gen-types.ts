// Regenerates src/config/schema-types.ts from sftpgo.schema.json, so the config types are never
// written twice. `--check` exits 1 when the committed file is stale (run by the test suite).
import { compile } from 'json-schema-to-typescript';
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

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {}
  if (current !== ts) {
    console.error('src/config/schema-types.ts is stale: run `npm run gen:types`');
    process.exit(1);
  }
} else {
  writeFileSync(out, ts);
}
