// Writes docs/configuration-reference.md from sftpgo.schema.json and the list of refused SFTPGo
// keys (src/config/unsupported.ts), so the reference is never written by hand and never drifts from
// what `validate` accepts. Every key path is listed with its type, constraints, default, allowed
// values and description. A definition used in one place is expanded there; one used in several
// places (Secret, Filesystem, ...) gets one section of its own that the others link to. The output
// depends only on the schema, so it is deterministic. `--check` exits 1 when the committed file is
// stale (run by the test suite).
import { readFileSync, writeFileSync } from 'node:fs';
import { NOT_SUPPORTED } from '../src/config/unsupported.ts';

/** The part of JSON Schema the config schema uses. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  propertyNames?: Schema;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

interface RootSchema extends Schema {
  title?: string;
  properties: Record<string, Schema>;
  definitions: Record<string, Schema>;
}

const root = new URL('..', import.meta.url).pathname;
const OUT = 'docs/configuration-reference.md';

/** An inline code span that survives backticks inside the text. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Escapes Markdown outside the description's own code spans, so `*`, `<name>` or `|` stay text. */
function prose(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\*<>[\]|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, (c) => `\\${c}`)))
    .join('');
}

function literal(value: unknown): string {
  return code(typeof value === 'string' ? value : JSON.stringify(value));
}

/** GitHub's heading anchor for a plain heading text. */
function anchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');
}

class Reference {
  private readonly shared: Set<string>;

  constructor(private readonly schema: RootSchema) {
    const counts = new Map<string, number>();
    const count = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(count);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
          else count(v);
        }
      }
    };
    count(schema);
    this.shared = new Set([...counts].filter(([, n]) => n > 1).map(([ref]) => this.refName(ref)));
  }

  private refName(ref: string): string {
    const m = /^#\/definitions\/(\w+)$/.exec(ref);
    if (!m || !this.schema.definitions[m[1]!]) throw new Error(`gen-docs: unresolved $ref ${ref}`);
    return m[1]!;
  }

  private resolve(s: Schema): Schema {
    return s.$ref ? this.resolve(this.schema.definitions[this.refName(s.$ref)]!) : s;
  }

  private isShared(s: Schema): boolean {
    return s.$ref !== undefined && this.shared.has(this.refName(s.$ref));
  }

  /** The type in words; shared definitions are links to their section. */
  private typeOf(s: Schema): string {
    if (s.$ref) {
      const name = this.refName(s.$ref);
      return this.shared.has(name) ? `[${name}](#${anchor(name)})` : this.typeOf(this.schema.definitions[name]!);
    }
    if (s.oneOf) return [...new Set(s.oneOf.map((alt) => this.typeOf(alt)))].join(' or ');
    if (s.const !== undefined) return typeof s.const === 'string' ? 'string' : typeof s.const;
    const types = s.type === undefined ? this.enumTypes(s) : Array.isArray(s.type) ? s.type : [s.type];
    return types
      .map((t) => {
        if (t === 'array') return s.items ? `array of ${this.typeOf(s.items)}` : 'array';
        if (t === 'object' && !s.properties && typeof s.additionalProperties === 'object') {
          const keys = s.propertyNames?.pattern ? ` (keys matching ${code(s.propertyNames.pattern)})` : '';
          return `map${keys} of ${this.typeOf(s.additionalProperties)}`;
        }
        return t;
      })
      .join(' or ');
  }

  private enumTypes(s: Schema): string[] {
    if (!s.enum) return s.properties ? ['object'] : ['any'];
    return [...new Set(s.enum.map((v) => (Number.isInteger(v) ? 'integer' : v === null ? 'null' : typeof v)))];
  }

  private constraints(s: Schema): string[] {
    const out: string[] = [];
    if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
    if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
    if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
    if (s.exclusiveMaximum !== undefined) out.push(`< ${s.exclusiveMaximum}`);
    if (s.minLength !== undefined) out.push(s.minLength === 1 ? 'not empty' : `at least ${s.minLength} characters`);
    if (s.maxLength !== undefined) out.push(`at most ${s.maxLength} characters`);
    if (s.minItems !== undefined) out.push(`at least ${s.minItems} items`);
    if (s.maxItems !== undefined) out.push(`at most ${s.maxItems} items`);
    if (s.pattern !== undefined) out.push(`matching ${code(s.pattern)}`);
    return out;
  }

  /** Allowed values: an enum, a const, or those of each alternative. */
  private values(s: Schema): unknown[] {
    if (s.enum) return s.enum;
    if (s.const !== undefined) return [s.const];
    if (s.oneOf) return s.oneOf.flatMap((alt) => (alt.$ref ? [] : this.values(alt)));
    return [];
  }

  /** "one of ..." for a value, "each one of ..." for the items of a list or the values of a map. */
  private allowed(s: Schema): string[] {
    const own = this.values(s);
    if (own.length > 0) return [`one of ${own.map(literal).join(', ')}`];
    const each = this.leafValues(s);
    return each.length > 0 ? [`each one of ${each.map(literal).join(', ')}`] : [];
  }

  /** The allowed values of the innermost items of a list or a map (a map of lists for Permissions). */
  private leafValues(s: Schema): unknown[] {
    const inner = s.items ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (!inner || inner.$ref) return [];
    const own = this.values(inner);
    return own.length > 0 ? own : this.leafValues(inner);
  }

  /**
   * One list entry for `path`, then its children (object keys, array items, object alternatives).
   * `form` names the alternative of a oneOf the key belongs to (Secret's `{ env }`, ...).
   */
  private entries(path: string, s: Schema, required: boolean, out: string[], form?: string): void {
    const here = s.$ref && !this.isShared(s) ? this.resolve(s) : s;
    const facts = [this.typeOf(s)];
    if (form) facts.push(`in the ${code(form)} form`);
    else if (required) facts.push('required');
    facts.push(...this.constraints(here), ...this.allowed(here));
    if (here.default !== undefined) facts.push(`default ${literal(here.default)}`);
    const description = s.description ?? here.description;
    out.push(`- ${code(path)} (${facts.join('; ')})${description ? `: ${prose(description)}` : ''}`);
    if (!this.isShared(s)) this.children(path, here, out);
  }

  private children(path: string, s: Schema, out: string[], form?: string): void {
    const prefix = path === '' ? '' : `${path}.`;
    for (const [key, child] of Object.entries(s.properties ?? {})) this.entries(`${prefix}${key}`, child, s.required?.includes(key) ?? false, out, form);
    if (s.items && !this.isShared(s.items)) this.children(`${path}[]`, this.resolve(s.items), out);
    for (const alt of s.oneOf ?? []) {
      if (alt.$ref || !alt.properties) continue;
      const keys = Object.keys(alt.properties).filter((k) => alt.required?.includes(k));
      this.children(path, alt, out, `{ ${keys.join(', ')} }`);
    }
  }

  render(): string {
    const { schema } = this;
    const lines = [
      '# Configuration reference',
      '',
      '<!-- Generated from sftpgo.schema.json by `npm run gen:docs`; do not edit by hand. -->',
      '',
      'Every key of the YAML config, generated from [`sftpgo.schema.json`](../sftpgo.schema.json), the',
      'schema `sftpgo validate` checks the file against. Each entry gives the key path (`[]` stands for',
      'any item of a list), its type and constraints, the allowed values, the default where the schema',
      'states one, and what it does. What the keys do together is told in the [manual](README.md).',
      'A type in a link is described once under [Shared definitions](#shared-definitions).',
      '',
    ];
    if (schema.description) lines.push(prose(schema.description), '');
    lines.push('## Top-level keys', '');
    for (const [key, s] of Object.entries(schema.properties)) {
      const r = this.resolve(s);
      const description = s.description ?? r.description;
      lines.push(`- [${code(key)}](#${anchor(key)}) (${this.typeOf(s)})${description ? `: ${prose(description)}` : ''}`);
    }
    for (const [key, s] of Object.entries(schema.properties)) {
      lines.push('', `## ${key}`, '');
      this.entries(key, s, false, lines);
    }
    lines.push('', '## Shared definitions', '');
    for (const name of Object.keys(schema.definitions).filter((n) => this.shared.has(n))) {
      // Links name a definition by its heading's anchor: a top-level key with the same anchor would take it.
      if (anchor(name) in schema.properties) throw new Error(`gen-docs: definition ${name} and top-level key ${anchor(name)} share an anchor`);
      const s = schema.definitions[name]!;
      lines.push(`### ${name}`, '');
      const facts = [this.typeOf(s), ...this.constraints(s), ...this.allowed(s)];
      lines.push(`${facts.join('; ')}.${s.description ? ` ${prose(s.description)}` : ''}`, '');
      const before = lines.length;
      this.children('', s, lines);
      if (lines.length > before) lines.push('');
    }
    lines.push(
      '## Refused SFTPGo keys',
      '',
      'SFTPGo keys this server does not implement. The YAML and API bodies refuse them with the reason',
      'below, instead of ignoring them; a few are accepted at SFTPGo\'s "off" value, which is what this',
      'server does.',
      '',
    );
    for (const [key, why] of [...NOT_SUPPORTED].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`- ${code(key)}: ${prose(why)}`);
    return `${lines.join('\n')}\n`;
  }
}

const schema = JSON.parse(readFileSync(`${root}sftpgo.schema.json`, 'utf8')) as RootSchema;
const text = new Reference(schema).render();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(`${root}${OUT}`, 'utf8');
  } catch {}
  if (current !== text) {
    console.error(`${OUT} is stale: run \`npm run gen:docs\``);
    process.exit(1);
  }
} else {
  writeFileSync(`${root}${OUT}`, text);
}
