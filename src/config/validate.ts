// Records that arrive outside the YAML (API bodies, login hooks' answers, SFTPGo imports) are
// checked against the same JSON Schema definitions as the YAML (sftpgo.schema.json `definitions.User`
// / `Folder` / `Admin`), compiled ahead of time with ajv. Errors carry the field path in the config's
// notation (`filesystem.s3config.bucket`, `virtual_folders[0].name`).
import { isAbsolute } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { validateAdmin, validateEventAction, validateEventRule, validateFolder, validateGroup, validateRole, validateUser } from './schema-validator.ts';
import { formatPath, schemaProblems } from './schema-errors.ts';
import { filePatternProblems, filesystemProblems, folderPathProblems, groupProblems } from './semantic.ts';
import type { Filesystem, Folder, Group, PatternsFilter } from './schema-types.ts';

export type Definition = 'User' | 'Folder' | 'Group' | 'Admin' | 'Role' | 'EventAction' | 'EventRule';

export interface FieldError {
  path: string;
  message: string;
}

// Compiled ahead of time with the config's own validator (scripts/gen-types.ts).
const VALIDATORS: Record<Definition, ValidateFunction> = { User: validateUser, Folder: validateFolder, Group: validateGroup, Admin: validateAdmin, Role: validateRole, EventAction: validateEventAction, EventRule: validateEventRule };

// Where each kind of record sits in the config, so a refused key gets the same message either way.
const WITHIN: Record<Definition, string> = { User: 'users[]', Folder: 'folders[]', Group: 'groups[]', Admin: 'admins[]', Role: 'roles[]', EventAction: 'event_actions[]', EventRule: 'event_rules[]' };

function validatorFor(def: Definition): ValidateFunction {
  return VALIDATORS[def];
}

/** Field errors of `value` against `definitions[def]`, described as the YAML loader does; empty when valid. */
export function validateBody(def: Definition, value: unknown): FieldError[] {
  const v = validatorFor(def);
  if (v(value)) {
    // Event actions and rules are checked against the server's settings and store by their routes.
    if (def === 'Admin' || def === 'Role' || def === 'EventAction' || def === 'EventRule') return [];
    // A group's mounts are checked against the stored folders by the records write (resources.ts).
    if (def === 'Group') return groupProblems(value as Group, undefined).map((p) => ({ path: formatPath(p.path), message: p.message }));
    // Checks the schema cannot express, the same as for the YAML: a bad pattern or a filesystem
    // without its provider's block must not reach a login.
    const body = value as { filesystem?: Filesystem; filters?: { file_patterns?: PatternsFilter[] } };
    const fs = filesystemProblems(body.filesystem).map((p) => ({ path: formatPath(['filesystem', ...p.path]), message: p.message }));
    if (def === 'Folder') return [...fs, ...folderPathProblems(value as Folder).map((p) => ({ path: p.path.length ? formatPath(p.path) : 'mapped_path', message: p.message }))];
    const home = (value as { home_dir?: string }).home_dir;
    const homeProblems = home !== undefined && !isAbsolute(home) ? [{ path: 'home_dir', message: 'must be an absolute path' }] : [];
    return [...fs, ...homeProblems, ...filePatternProblems(body.filters?.file_patterns).map((p) => ({ path: formatPath(['filters', 'file_patterns', ...p.path]), message: p.message }))];
  }
  return schemaProblems(v.errors ?? [], { within: WITHIN[def] }).map((p) => ({ path: formatPath(p.path), message: p.message }));
}
