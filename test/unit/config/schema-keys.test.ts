// No key without an effect: every property sftpgo.schema.json accepts (walked through $ref,
// definitions, oneOf/anyOf/allOf, items and map values) must be listed in schema-keys.ts with a test
// file that exists and names the key; a listed key the schema no longer has is a stale entry.
import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../support/server.ts';
import { KEY_TESTS } from './schema-keys.ts';

interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode | SchemaNode[];
  additionalProperties?: boolean | SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  definitions?: Record<string, SchemaNode>;
}

const schema = JSON.parse(readFileSync(join(ROOT, 'sftpgo.schema.json'), 'utf8')) as SchemaNode;

/** Every property path: `common.max_total_connections`, `sftpd.bindings[].port`, map values as `.*`. */
export function schemaKeys(root: SchemaNode): string[] {
  const defs = root.definitions ?? {};
  const out = new Set<string>();
  const walk = (node: SchemaNode, path: string, inside: ReadonlySet<string>): void => {
    if (node.$ref) {
      const name = node.$ref.replace('#/definitions/', '');
      // A definition that contains itself would recurse forever; its keys are listed once.
      if (!inside.has(name)) walk(defs[name]!, path, new Set([...inside, name]));
      return;
    }
    for (const branch of [...(node.oneOf ?? []), ...(node.anyOf ?? []), ...(node.allOf ?? [])]) walk(branch, path, inside);
    const items = Array.isArray(node.items) ? node.items : node.items ? [node.items] : [];
    for (const item of items) walk(item, `${path}[]`, inside);
    if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}.*`, inside);
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const p = path ? `${path}.${key}` : key;
      out.add(p);
      walk(child, p, inside);
    }
  };
  walk(root, '', new Set());
  return [...out];
}

const keys = schemaKeys(schema);

describe('schema keys and the tests that prove them', () => {
  test('the walk reaches nested, referenced, array and oneOf keys', () => {
    for (const k of ['common.idle_timeout', 'sftpd.bindings[].port', 'users[].filters.file_patterns[].path', 'users[].password.env', 'folders[].filesystem.s3config.bucket'])
      expect(keys).toContain(k);
    expect(keys.length).toBeGreaterThan(400);
  });

  test('every key the schema accepts is listed with a test', () => {
    expect(keys.filter((k) => !(k in KEY_TESTS))).toEqual([]);
  });

  test('every listed key is still in the schema', () => {
    const present = new Set(keys);
    expect(Object.keys(KEY_TESTS).filter((k) => !present.has(k))).toEqual([]);
  });

  test("each listed test file exists and names the key's last segment", () => {
    const texts = new Map<string, string | undefined>();
    const textOf = (file: string): string | undefined => {
      if (!texts.has(file)) texts.set(file, existsSync(join(ROOT, file)) ? readFileSync(join(ROOT, file), 'utf8') : undefined);
      return texts.get(file);
    };
    const problems: string[] = [];
    for (const [key, file] of Object.entries(KEY_TESTS)) {
      if (!file.endsWith('.test.ts')) {
        problems.push(`${key}: ${file} is not a test file`);
        continue;
      }
      const text = textOf(file);
      const name = key.split('.').at(-1)!.replace(/\[\]$/, '');
      if (text === undefined) problems.push(`${key}: ${file} does not exist`);
      else if (!new RegExp(`\\b${name}\\b`).test(text)) problems.push(`${key}: ${file} does not mention ${name}`);
    }
    expect(problems).toEqual([]);
  });
});
