// Records that arrive outside the YAML (API bodies, login hooks' answers, SFTPGo imports) are
// checked against the same JSON Schema definitions as the YAML (sftpgo.schema.json `definitions.User`
// / `Folder` / `Admin`), compiled once with ajv. Errors carry the field path in the config's
// notation (`filesystem.s3config.bucket`, `virtual_folders[0].name`).
import { Ajv, type ValidateFunction } from 'ajv';
import schema from '../../sftpgo.schema.json' with { type: 'json' };
import { formatPath, schemaProblems } from './schema-errors.ts';
import { filePatternProblems, filesystemProblems } from './semantic.ts';
import type { Filesystem, PatternsFilter } from './schema-types.ts';

export type Definition = 'User' | 'Folder' | 'Admin';

export interface FieldError {
  path: string;
  message: string;
}

let ajv: Ajv | undefined;
const compiled = new Map<Definition, ValidateFunction>();

function validatorFor(def: Definition): ValidateFunction {
  let v = compiled.get(def);
  if (v) return v;
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, verbose: true });
    ajv.addSchema(schema);
  }
  v = ajv.getSchema(`${schema.$id}#/definitions/${def}`);
  if (!v) throw new Error(`sftpgo.schema.json has no definition ${def}`);
  compiled.set(def, v);
  return v;
}

/** Field errors of `value` against `definitions[def]`, described as the YAML loader does; empty when valid. */
export function validateBody(def: Definition, value: unknown): FieldError[] {
  const v = validatorFor(def);
  if (v(value)) {
    if (def === 'Admin') return [];
    // Checks the schema cannot express, the same as for the YAML: a bad pattern or a filesystem
    // without its provider's block must not reach a login.
    const body = value as { filesystem?: Filesystem; filters?: { file_patterns?: PatternsFilter[] } };
    const fs = filesystemProblems(body.filesystem).map((p) => ({ path: formatPath(['filesystem', ...p.path]), message: p.message }));
    if (def !== 'User') return fs;
    return [...fs, ...filePatternProblems(body.filters?.file_patterns).map((p) => ({ path: formatPath(['filters', 'file_patterns', ...p.path]), message: p.message }))];
  }
  return schemaProblems(v.errors ?? []).map((p) => ({ path: formatPath(p.path), message: p.message }));
}
