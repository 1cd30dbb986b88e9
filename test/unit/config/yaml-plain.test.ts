// The fast plain-YAML reader (src/config/yaml-plain.ts) against the `yaml` package, which the
// loader used alone before: on every input the reader either declines or gives exactly what
// `parseDocument(text, { uniqueKeys: true }).toJS()` gives, and it declines whatever `yaml` refuses;
// asked for positions, it places every path (key and value, present or not) at the offset the
// `yaml` document does, so an issue has the same line and column whichever read the file.
// Then the loader: a file read on the fast path but refused by the schema or the semantic checks
// still names file, line, column and field.
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { offsetOf, plainOffsetOf } from '../../../src/config/positions.ts';
import type { PathSegment } from '../../../src/config/schema-errors.ts';
import { parsePlainYaml } from '../../../src/config/yaml-plain.ts';
import { parseConfigText, formatIssue } from '../../../src/config/load.ts';
import { DEFAULT_CONFIG_YAML } from '../../../src/config/default.ts';
import { ROOT } from '../../support/server.ts';

/** What the loader read before the fast path: the value, or undefined when `yaml` reports an error. */
function byYaml(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return undefined;
  return { value: doc.toJS({ maxAliasCount: 100 }) };
}

/** Same value, same key order, same number (-0 and NaN included), same prototypes. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => same(v, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Every path into `value`, and beside each container one path that is not there. */
function pathsOf(value: unknown, path: PathSegment[] = []): PathSegment[][] {
  const out: PathSegment[][] = [path];
  if (Array.isArray(value)) {
    value.forEach((v, i) => out.push(...pathsOf(v, [...path, i])));
    out.push([...path, value.length], [...path, '0']);
  } else if (typeof value === 'object' && value !== null) {
    for (const k of Object.keys(value)) out.push(...pathsOf((value as Record<string, unknown>)[k], [...path, k]));
    out.push([...path, 'no_such_key'], [...path, 0]);
  } else out.push([...path, 'below_a_scalar']);
  return out;
}

/** The property every input must have; returns whether the reader took it. */
function agrees(text: string): boolean {
  const plain = parsePlainYaml(text);
  if (!plain) return false;
  const reference = byYaml(text);
  if (!reference) throw new Error(`the reader accepted what yaml refuses:\n${text}`);
  if (!same(plain.value, reference.value))
    throw new Error(`the reader and yaml disagree on:\n${text}\nreader: ${JSON.stringify(plain.value)}\nyaml:   ${JSON.stringify(reference.value)}`);
  const located = parsePlainYaml(text, { positions: true })!;
  const doc = parseDocument(text, { uniqueKeys: true });
  for (const path of pathsOf(located.value))
    for (const key of [false, true]) {
      const [mine, theirs] = [plainOffsetOf(located, path, key), offsetOf(doc, path, key)];
      if (mine !== theirs) throw new Error(`the reader places ${JSON.stringify(path)}${key ? ' (key)' : ''} at ${mine}, yaml at ${theirs}, in:\n${text}`);
    }
  return true;
}

describe('plain YAML reader', () => {
  test('reads the examples and the default config, as yaml does', () => {
    for (const f of ['quickstart.yaml', 'full.yaml', 'hooks.yaml']) expect(agrees(readFileSync(join(ROOT, 'examples', f), 'utf8'))).toBe(true);
    expect(agrees(DEFAULT_CONFIG_YAML)).toBe(true);
  });

  test('reads a 10,000-user style file, as yaml does', () => {
    const users = Array.from(
      { length: 50 },
      (_, i) =>
        `  - username: user${i}\n    password: "$2a$10$TvoX0nYSXgv/GuOWYBdvSen7E/hZNkUOVRDca.SDERQJrCjjIqxwi"\n    home_dir: /srv/sftp/user${i}\n    quota_size: ${1_000_000 + i}\n    permissions: { "/": ["*"], "/in": [list, upload] }\n    filters: { denied_protocols: [FTP] }`,
    );
    expect(agrees(`sftpd:\n  bindings: [{ address: 127.0.0.1, port: 0 }]\nusers:\n${users.join('\n')}\n`)).toBe(true);
  });

  // Scalars the core schema resolves, and spellings where YAML 1.1 (or Bun.YAML) reads otherwise.
  const scalars = [
    '0755', '0o755', '0o8', '0x1F', '0XFF', '+0x10', '-0x10', '-0o10', '0xFFFFFFFFFFFFFFFFF', '0b101', '00', '08', '-0', '+12', '1_000',
    '9007199254740993', '100000000000000000000', '1e3', '1E3', '1.5e+3', '1e', '1e400', '.5', '+.5', '0.', '1.', '12.30', '-0.0', '0.1e-2',
    '.inf', '-.Inf', '+.inf', '.INF', '.nan', '.NaN', '.NAN', '.Nan', 'Inf', 'yes', 'no', 'on', 'off', 'y', 'n', 'True', 'TRUE', 'tRue', 'false',
    'FALSE', '~', 'null', 'Null', 'NULL', 'nULL', '2024-01-02', '2024-01-02T10:00:00Z', '12:30:00', '1:20', '=', '<<', 'a b', 'a  b', 'x#c',
    'x #c', 'a:b', 'a: b', 'http://x/y?z=1', "it's", 'a"b', '-x', '-1', '?x', ':x', '- x', '? x', ': x', '-', '?', ':', '@x', '`x', '%x', '!x',
    '&x', '*x', '|', '>', '"q"', "'q'", "'it''s'", '"a\\"b"', '"\\u00e9\\x41\\/\\\\"', '"\\ttab"', '"\\e"', '"\\N"', '"unterminated', "'unterminated",
    '"x" y', '[]', '{}', '[ ]', '[a, b]', '[a, b, ]', '[a,b]', '[a, [b, c], {d: e}]', '{a: 1, b: [2]}', '{a: 1, a: 2}', '{"a": 1, a: 2}', '{a}',
    '{a: }', '{a:1}', '{"a":1}', '{? a}', '[a: b]', '[a, b', '[a, b]]', '[a, b] x', '[a, b] # c', '{a: 1} #c', '[a #c]', '[*]', '[-]', '[- a]',
    '[a,,b]', '[,]', '{,}', '[a b]', '["a" b]', '[1.5, .nan, ~, true]', '[x: 1]', 'x[y]', 'x{y}', 'x]', 'a,b', 'a, b',
  ];

  test('scalars and one-line flow collections, as yaml reads them', () => {
    let taken = 0;
    for (const s of scalars) {
      for (const text of [`a: ${s}\n`, `- ${s}\n`, `a:\n  - ${s}\n  - x\n`, `a: [${s}]\n`, `a: {k: ${s}}\n`]) if (agrees(text)) taken++;
    }
    // Most of these are ordinary: the reader must take them, not decline its way to agreement.
    expect(taken).toBeGreaterThan(scalars.length * 2);
  });

  test('keys: duplicates, quoted, inherited names, non-string and merge keys', () => {
    const cases = [
      'a: 1\na: 2\n', 'a: 1\n"a": 2\n', "a: 1\n'a': 2\n", 'a:\n  b: 1\n  b: 2\n', '- a: 1\n  a: 2\n', 'a: 1\nb:\n  a: 2\n',
      '__proto__: 1\n', 'toString: 1\nconstructor: 2\n', '"__proto__": {a: 1}\n', '{__proto__: 1}\n', '1: x\n', '"1": x\n', 'true: x\n',
      'null: x\n', '~: x\n', ': x\n', '"": x\n', "'': x\n", '<<: {a: 1}\n', 'b: &x {a: 1}\nc:\n  <<: *x\n', '? a\n: b\n', '? [a, b]\n: c\n',
      'key with spaces: 1\n', 'a  : 1\n', 'a : 1\n', '"a" : 1\n', '"a":1\n', 'a:1\n', 'http://x: 1\n', '-a: 1\n', '?a: 1\n', 'a#b: 1\n',
      'a #b: 1\n', 'a,b: 1\n', '[a]: 1\n', `${'k'.repeat(1100)}: 1\n`, '"a\\"b": 1\n',
      // Found by the config-yaml fuzz target: `yaml` refuses quoted implicit keys past 1024 characters too.
      `"${'k'.repeat(1100)}": 1\n`, `a:\n  '${'k'.repeat(1030)}': [x]\n`,
    ];
    for (const c of cases) agrees(c);
    expect(parsePlainYaml('a: 1\na: 2\n')).toBeUndefined();
    expect(parsePlainYaml('a: {b: 1, b: 2}\n')).toBeUndefined();
    expect(agrees('toString: 1\n__proto__: 2\n')).toBe(true);
  });

  test('block structure: indentation, nesting, sequences, comments, documents', () => {
    const cases = [
      '', '\n\n', '# only a comment\n', 'a: 1', 'a:\n', 'a:\nb: 2\n', 'a:\n  b: 1\n c: 2\n', 'a:\n  b: 1\n    c: 2\n', 'a: 1\n  b: 2\n',
      'a: x\n  continued\n', 'a:\n  plain scalar\n', 'a:\n- 1\n- 2\nb: 3\n', 'a:\n  - 1\n  - 2\n', 'a:\n  - 1\n   - 2\n', 'a:\n  - 1\n - 2\n',
      '- a\n- b\n', '-\n- b\n', '- \n  a: 1\n', '-\n  - x\n', '- - a\n', '- a: 1\n  b: 2\n- c: 3\n', '-   a: 1\n    b: 2\n', '- a: 1\n   b: 2\n',
      '- a: 1\n b: 2\n', '- a:\n  - x\n  b: 1\n', '- a:\n    b: 1\n', '- a:\n  b: 1\n', '  a: 1\n  b: 2\n', '  a: 1\nb: 2\n', 'a: 1\n# c\n  # d\nb: 2\n',
      'a: 1 # c\nb: 2 #d\n', 'a: 1 #\n', 'a: #c\n  b: 1\n', 'a: #c\n', '- #c\n  a: 1\n', '- # c\n', '---\na: 1\n', 'a: 1\n---\nb: 2\n', 'a: 1\n...\n',
      '%YAML 1.2\n---\na: 1\n', 'a: 1\r\nb: 2\r\n', '\ufeffa: 1\n', 'a:\t1\n', '\ta: 1\n', 'a: "x\n  y"\n', 'a: [1,\n  2]\n', 'a: |\n  x\n',
      'a: >\n  x\n', 'a: &anchor 1\nb: *anchor\n', 'a: !!str 1\n', 'a: !tag x\n', 'scalar\n', '"quoted"\n', '[1, 2]\n', '{a: 1}\n', 'a: b: c\n',
      'a: [b]: c\n', 'a:\n  b:\n    c:\n      d: 1\n  e: 2\n', 'a:\n    b: 1\n    c: 2\nd: 3\n', 'a: {}\nb: []\n', 'a: ""\nb: \'\'\n',
      'a: 1\n\n\nb: 2\n', 'a: 1   \n', 'a:    1\n', 'a: -\n', 'a: - x\n', 'a:\n  -\n  - 2\n', 'a: \u00e9\u20ac\ud83d\ude00\n', 'a: \u0085\n',
      'a: \u2028\n', 'a: x\u00a0y\n', 'a: x\u3000\n',
    ];
    for (const c of cases) agrees(c);
    expect(parsePlainYaml('')).toEqual({ value: null });
  });

  test('generated documents: the reader takes most and always agrees', () => {
    // A small seeded generator of YAML-ish documents around the subset, so the same inputs run
    // every time; the structure pieces include mistakes (bad indentation, duplicate keys).
    let seed = 0x9e3779b9;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T,>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    const keys = ['a', 'b', 'c', 'name', 'home_dir', '"q"', "'s'", 'x y', '"a"', 'b'];
    const leaf = () => (rand(3) === 0 ? pick(['[a, b]', '{k: v}', '[]', '{ "/": ["*"], "/in": [list, upload] }', '[{ a: 1 }, [2]]']) : pick(scalars));
    const node = (indent: number, depth: number): string[] => {
      const pad = ' '.repeat(indent);
      const lines: string[] = [];
      const n = 1 + rand(4);
      const seq = rand(3) === 0;
      for (let i = 0; i < n; i++) {
        const head = seq ? `${pad}- ` : `${pad}${pick(keys)}:`;
        const r = rand(10);
        if (depth < 3 && r < 3) {
          lines.push(seq ? `${pad}-` : head);
          lines.push(...node(indent + pick([1, 2, 2, 4]), depth + 1));
        } else if (depth < 3 && r === 3 && seq) {
          const inner = node(indent + 2, depth + 1);
          lines.push(`${pad}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
        } else if (r === 4) lines.push(`${head} ${leaf()} # note`);
        else if (r === 5) lines.push(`${pad}# comment`, `${head}${seq ? '' : ' '}${leaf()}`);
        else lines.push(`${head}${seq ? '' : ' '}${leaf()}`);
      }
      return lines;
    };
    let taken = 0;
    const total = 3000;
    for (let i = 0; i < total; i++) if (agrees(node(0, 0).join('\n') + '\n')) taken++;
    expect(taken).toBeGreaterThan(total * 0.2);
  });
});

describe('loader on the fast path', () => {
  function issues(yaml: string): string[] {
    const r = parseConfigText(yaml, 'test.yaml', '/tmp');
    return r.ok ? [] : r.issues.map(formatIssue);
  }
  const user = (name: string, extra = '') => `  - username: ${name}\n    home_dir: /srv/sftp/${name}\n    permissions: { "/": ["*"] }${extra}\n`;

  test('a plain file the schema refuses still names line, column and field', () => {
    const text = `users:\n${user('alice')}${user('bob', '\n    quota_sise: 10')}`;
    expect(parsePlainYaml(text)).toBeDefined();
    expect(issues(text)).toEqual(['test.yaml:8:5: users[1].quota_sise: unknown field (did you mean "quota_size"?)']);
  });

  test('a plain file with a bad type in a flow collection names its line and column', () => {
    const text = `sftpd:\n  bindings: [{ address: 127.0.0.1, port: twenty }]\n`;
    expect(parsePlainYaml(text)).toBeDefined();
    expect(issues(text)).toEqual(['test.yaml:2:42: sftpd.bindings[0].port: must be integer']);
  });

  test('a plain file the semantic checks refuse names the second of two users', () => {
    const text = `users:\n${user('alice')}${user('alice')}`;
    expect(parsePlainYaml(text)).toBeDefined();
    expect(issues(text)).toEqual(['test.yaml:5:15: users[1].username: duplicate username "alice"']);
  });

  test('duplicate keys are refused with their position, in block and flow mappings', () => {
    expect(issues(`users:\n  - username: a\n    username: b\n    home_dir: /x\n`)).toEqual(['test.yaml:3:5: YAML syntax: Map keys must be unique']);
    expect(issues(`sftpd:\n  bindings: [{ address: 127.0.0.1, port: 1, port: 2 }]\n`)).toEqual(['test.yaml:2:45: YAML syntax: Map keys must be unique']);
  });

  test('a merge key is not merged: the schema refuses it, as before', () => {
    const text = `users:\n  - &base\n    username: a\n    home_dir: /x\n  - <<: *base\n    username: b\n`;
    expect(parsePlainYaml(text)).toBeUndefined();
    expect(issues(text).join('\n')).toContain('users[1].<<: unknown field');
  });

  // Found by the config-yaml fuzz target: toJS threw these out of the loader.
  test('an alias with no anchor, or too many aliases, is an issue with its position, not a throw', () => {
    expect(issues('sftpd:\n  bindings: *nope\n')).toEqual(['test.yaml:2:13: YAML: Unresolved alias (the anchor must be set before the alias): nope']);
    const bomb = 'a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    expect(issues(bomb)).toEqual(['test.yaml:1:1: YAML: Excessive alias count indicates a resource exhaustion attack']);
  });
});
