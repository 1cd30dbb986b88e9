// Fuzz target: the YAML config loader (src/config/load.ts): YAML, schema validation and the
// semantic checks, secrets checked for form only. Besides the result's shape (a config object, or
// issues with a position and a message), the fast plain-YAML reader must read whatever it accepts
// exactly as the `yaml` package does, and place every path where `yaml`'s document does, since the
// loader trusts it in place of `yaml` for values and issue positions alike.
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { parseConfigText } from '../../../src/config/load.ts';
import { offsetOf, plainOffsetOf } from '../../../src/config/positions.ts';
import type { PathSegment } from '../../../src/config/schema-errors.ts';
import { parsePlainYaml } from '../../../src/config/yaml-plain.ts';
import { check, type FuzzTarget } from '../target.ts';

/** Every path into `value`, and one that is not there beside each container. */
function pathsOf(value: unknown, path: PathSegment[], out: PathSegment[][]): PathSegment[][] {
  out.push(path);
  if (Array.isArray(value)) {
    value.forEach((v, i) => pathsOf(v, [...path, i], out));
    out.push([...path, value.length]);
  } else if (typeof value === 'object' && value !== null) {
    for (const k of Object.keys(value)) pathsOf((value as Record<string, unknown>)[k], [...path, k], out);
    out.push([...path, 'no_such_key']);
  }
  return out;
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
      for (const path of pathsOf(located!.value, [], []))
        for (const key of [false, true])
          check(plainOffsetOf(located!, path, key) === offsetOf(doc, path, key), `plain reader places ${JSON.stringify(path).slice(0, 200)}${key ? ' (key)' : ''} elsewhere than yaml`);
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
