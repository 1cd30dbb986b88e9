// Request bodies are checked against the same JSON Schema definitions as the YAML (sftpgo.schema.json
// `definitions.User` / `Folder` / `Admin`), compiled once with ajv. Errors carry the field path in the
// config's notation (`filesystem.s3config.bucket`, `virtual_folders[0].name`).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../../sftpgo.schema.json' with { type: 'json' };
import { formatPath, type PathSegment } from '../config/load.ts';

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
    ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    ajv.addSchema(schema);
  }
  v = ajv.getSchema(`${schema.$id}#/definitions/${def}`);
  if (!v) throw new Error(`sftpgo.schema.json has no definition ${def}`);
  compiled.set(def, v);
  return v;
}

/** Field errors of `value` against `definitions[def]`; empty when valid. */
export function validateBody(def: Definition, value: unknown): FieldError[] {
  const v = validatorFor(def);
  if (v(value)) return [];
  return collapse(v.errors ?? []);
}

function toPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/**
 * One message per problem: a `oneOf` failure (secrets, provider) is reported once at its path rather
 * than once per alternative it did not match.
 */
function collapse(errors: ErrorObject[]): FieldError[] {
  const oneOfAt = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'oneOf' && [...oneOfAt].some((p) => e.instancePath.startsWith(p) && e.schemaPath.includes('/oneOf/'))) continue;
    const path = toPath(e.instancePath);
    let message = e.message ?? 'invalid';
    if (e.keyword === 'additionalProperties') {
      path.push(String((e.params as { additionalProperty: string }).additionalProperty));
      message = 'unknown field';
    } else if (e.keyword === 'required') {
      path.push(String((e.params as { missingProperty: string }).missingProperty));
      message = 'required';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
    } else if (e.keyword === 'oneOf') {
      message = 'does not match any allowed form';
    }
    const item = { path: formatPath(path), message };
    const key = `${item.path}\0${item.message}`;
    if (!seen.has(key)) (seen.add(key), out.push(item));
  }
  return out;
}
