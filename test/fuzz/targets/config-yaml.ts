// Fuzz target: the YAML config loader (src/config/load.ts): YAML, schema validation and the
// semantic checks, secrets checked for form only. Besides the result's shape (a config object, or
// issues with a position and a message), the fast plain-YAML reader must read whatever it accepts
// exactly as the `yaml` package does, and place every key, value and item where `yaml` does, since the
// loader trusts it in place of `yaml` for values and issue positions alike.
import { isDeepStrictEqual } from 'node:util';
import { isMap, isSeq, parseDocument, type Node, type Scalar } from 'yaml';
import { parseConfigText } from '../../../src/config/load.ts';
import { offsetOf, plainOffsetOf } from '../../../src/config/positions.ts';
import { parsePlainYaml, type PlainPositions } from '../../../src/config/yaml-plain.ts';
import { check, type FuzzTarget } from '../target.ts';

/**
 * Each key, value and item the plain reader placed starts where the `yaml` node does: one walk
 * over both (offsetOf per path would be quadratic in the entries of a map).
 */
function samePlaces(node: unknown, value: unknown, positions: PlainPositions, at: string): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = String((pair.key as Scalar).value);
      const entry = positions.entry(value as object, key);
      check(entry?.key === (pair.key as Node).range?.[0], `plain reader places the key ${at}.${key.slice(0, 100)} elsewhere than yaml`);
      check(entry?.value === (pair.value as Node | null)?.range?.[0], `plain reader places the value of ${at}.${key.slice(0, 100)} elsewhere than yaml`);
      samePlaces(pair.value, (value as Record<string, unknown>)[key], positions, `${at}.${key.slice(0, 100)}`);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      check(positions.item(value as object, i) === (item as Node | null)?.range?.[0], `plain reader places ${at}[${i}] elsewhere than yaml`);
      samePlaces(item, (value as unknown[])[i], positions, `${at}[${i}]`);
    });
  }
}

export const target: FuzzTarget = {
  name: 'config-yaml',
  maxLen: 8 * 1024,
  dictionary: [
    'sftpd:\n', 'ftpd:\n', 'webdavd:\n', 'httpd:\n', 'users:\n', 'groups:\n', 'folders:\n', 'admins:\n', '  bindings:\n', '    - port: ', '  - username: ',
    '    password: ', '    home_dir: ', '    permissions:\n', '      "/": ["*"]\n', '    filesystem:\n', '      provider: ', 's3', 'local', 'crypt', '    virtual_folders:\n',
    '{ env: X }', '{ file: x }', ': ', '- ', '  ', '# c\n', '"', "'", '\\u00e9', '[a, b]', '{a: 1}', '&a ', '*a', '!!str ', '|\n', '>-\n', '---\n', '...\n',
    'true', 'false', 'null', '~', '0x1F', '0o17', '-0', '.inf', '-.nan', '1e3', '+12', '007', '2026-12-03', '<<: ',
  ],
  run(data) {
    const text = data.toString('utf8');
    const plain = parsePlainYaml(text);
    if (plain) {
      const doc = parseDocument(text, { uniqueKeys: true });
      check(doc.errors.length === 0, `plain reader accepted what yaml refuses: ${doc.errors[0]?.message}`);
      const expected = doc.toJS({ maxAliasCount: 100 }) ?? null;
      check(isDeepStrictEqual(plain.value, expected), `plain reader disagrees with yaml: ${JSON.stringify(plain.value)?.slice(0, 200)} vs ${JSON.stringify(expected)?.slice(0, 200)}`);
      const located = parsePlainYaml(text, { positions: true });
      check(located !== undefined, 'the plain reader declines when asked for positions');
      check(plainOffsetOf(located!, []) === offsetOf(doc, []), 'plain reader places the document elsewhere than yaml');
      samePlaces(doc.contents, located!.value, located!.positions, '');
    }
    const r = parseConfigText(text, 'fuzz.yaml', '/nonexistent-fuzz-dir', { resolveSecrets: false });
    if (r.ok) {
      const c = r.value.config as unknown;
      check(typeof c === 'object' && c !== null && !Array.isArray(c), 'a loaded config is an object');
    } else {
      check(r.issues.length > 0, 'a refused config has issues');
      for (const i of r.issues) {
        check(Number.isInteger(i.line) && i.line >= 0 && Number.isInteger(i.col) && i.col >= 0, `issue position ${i.line}:${i.col}`);
        check(typeof i.message === 'string' && i.message.length > 0, 'issue message');
        check(typeof i.path === 'string', 'issue path');
      }
    }
  },
};
