// A fast reader for the plain YAML that configs are written in: block mappings and sequences,
// one-line flow collections, plain and one-line quoted scalars, comments. Anything else (anchors,
// aliases, tags, block scalars, multi-line scalars or flow collections, complex or non-string keys,
// directives, several documents, tabs, CR) is declined, and so is anything it is unsure of: the
// caller then reads the file with the `yaml` package, which gives positions and every error message.
//
// Why not the `yaml` package alone: its CST parser and composer take ~2 s on a 10,000-user file,
// which is most of a no-change start. Why not Bun.YAML.parse: it keeps the last of duplicate keys
// (the loader must refuse them), merges `<<` keys, reads several documents as an array and resolves
// `+0x10`, `!!binary` and `!!int "1"` differently, so it cannot stand in for `yaml` on its own, and
// it does not exist under Node or Deno.
//
// What it accepts it must read exactly as `yaml` 2 `parseDocument(text, { uniqueKeys: true })
// .toJS()` does (YAML 1.2 core schema): scalars are resolved with the same tests and conversions
// as yaml/dist/schema/core, and keys are added the way yaml's addPairToJSMap adds them. The unit
// test test/unit/config/yaml-plain.test.ts holds it to that on the examples and on generated input.
//
// Asked for positions, it also notes where each key, value and item starts, at the offsets the
// `yaml` package's nodes start (a null value where the text after its colon or dash ends), so that
// a plain file with a wrong setting is placed without a second, slower read by `yaml`.

import { oneShot } from '../lib/jit.ts';

/** Characters that make the whole file "not plain": controls, tabs, CR, BOM, Unicode line breaks. */
const UNUSUAL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;

/** Thrown inside the reader to decline; never escapes parsePlainYaml. */
class NotPlainError extends Error {}
const DECLINE = new NotPlainError('not plain YAML');

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const COMMA = 0x2c;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** YAML 1.2 core schema resolution of a plain scalar, as the `yaml` package does it. */
function resolvePlain(s: string): unknown {
  // Most scalars are names and paths: no core-schema tag matches what starts otherwise.
  const c = s.charCodeAt(0);
  const digit = c >= 0x30 && c <= 0x39;
  if (s.length > 0 && !digit && c !== DASH && c !== 0x2b && c !== 0x2e && c !== 0x7e && c !== 0x6e && c !== 0x4e && c !== 0x74 && c !== 0x54 && c !== 0x66 && c !== 0x46)
    return s;
  if (/^(?:~|[Nn]ull|NULL)?$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === 't' || s[0] === 'T';
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s))
    return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

/** A key is added as yaml's addPairToJSMap adds a string key (an inherited name becomes an own property). */
function addKey(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key in map) {
    if (Object.hasOwn(map, key)) throw DECLINE; // duplicate: `yaml` reports it with its position
    Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  } else map[key] = value;
}

/** A plain key must resolve to a string; `<<` is a merge key in YAML 1.1 and stays with `yaml`. */
function plainKey(s: string): string {
  if (s === '<<' || typeof resolvePlain(s) !== 'string') throw DECLINE;
  return s;
}

/** What a plain block key may not hold here: a comment start or a flow indicator. */
const KEY_UNUSUAL = / #|[,[\]{}]/;

/** A flow indicator (`,[]{}`). */
function isFlowIndicator(c: number): boolean {
  return c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;
}

/** Where the keys, values and items of a plain document start (offsets in its text). */
export class PlainPositions {
  /** The top node (0 in an empty document). */
  root = 0;
  readonly #maps = new WeakMap<object, Map<string, { key: number; value: number }>>();
  readonly #seqs = new WeakMap<object, number[]>();

  entry(map: object, key: string): { key: number; value: number } | undefined {
    return this.#maps.get(map)?.get(key);
  }

  item(seq: object, index: number): number | undefined {
    return this.#seqs.get(seq)?.[index];
  }

  addEntry(map: object, key: string, keyAt: number, valueAt: number): void {
    let entries = this.#maps.get(map);
    if (!entries) this.#maps.set(map, (entries = new Map()));
    entries.set(key, { key: keyAt, value: valueAt });
  }

  addItem(seq: object, at: number): void {
    let items = this.#seqs.get(seq);
    if (!items) this.#seqs.set(seq, (items = []));
    items.push(at);
  }
}

/**
 * Reads the whole text with one cursor. `p` is the position in `s`; `end` is the end of the line
 * being read (its newline, or the end of the text); content lines are listed in `starts`/`indents`.
 */
class Reader {
  p = 0;
  end = 0;
  /** Index of the next unread content line. */
  line = 0;

  constructor(
    readonly s: string,
    readonly starts: number[],
    readonly ends: number[],
    readonly indents: number[],
    /** Where nodes start, when asked for. */
    readonly pos?: PlainPositions,
  ) {}

  /** Makes content line `i` current, with the cursor at column `col`. */
  enter(i: number, col: number): void {
    this.p = this.starts[i]! + col;
    this.end = this.ends[i]!;
  }

  code(i: number): number {
    return i < this.end ? this.s.charCodeAt(i) : -1;
  }

  skipSpaces(): void {
    while (this.p < this.end && this.s.charCodeAt(this.p) === SPACE) this.p++;
  }

  /** True when nothing but spaces and a comment (after a space, or at the line start) is left on the line. */
  restIsEmpty(): boolean {
    const from = this.p;
    this.skipSpaces();
    if (this.p >= this.end) return true;
    return this.s.charCodeAt(this.p) === HASH && (this.p > from || this.s.charCodeAt(this.p - 1) === SPACE);
  }

  /** Whether the character at `i` may not start a plain scalar (an indicator; `-?:` only before a space or flow indicator). */
  badStart(i: number): boolean {
    const c = this.code(i);
    switch (c) {
      case DASH:
      case 0x3f: // ?
      case COLON: {
        const n = this.code(i + 1);
        return n === -1 || n === SPACE || isFlowIndicator(n);
      }
      case COMMA:
      case LBRACKET:
      case RBRACKET:
      case LBRACE:
      case RBRACE:
      case HASH:
      case 0x26: // &
      case 0x2a: // *
      case 0x21: // !
      case 0x7c: // |
      case 0x3e: // >
      case SQUOTE:
      case DQUOTE:
      case 0x25: // %
      case 0x40: // @
      case 0x60: // `
      case -1:
        return true;
      default:
        return false;
    }
  }

  /** A one-line quoted scalar at the cursor; leaves the cursor after the closing quote. */
  quoted(): string {
    const s = this.s;
    const q = s.charCodeAt(this.p);
    let j = this.p + 1;
    let out = '';
    if (q === SQUOTE) {
      for (;;) {
        const k = s.indexOf("'", j);
        if (k < 0 || k >= this.end) throw DECLINE; // continues on the next line
        out += s.slice(j, k);
        if (this.code(k + 1) === SQUOTE) {
          out += "'";
          j = k + 2;
        } else {
          this.p = k + 1;
          return out;
        }
      }
    }
    for (;;) {
      let k = j;
      let c = 0;
      while (k < this.end && (c = s.charCodeAt(k)) !== DQUOTE && c !== BACKSLASH) k++;
      if (k >= this.end) throw DECLINE;
      out += s.slice(j, k);
      if (c === DQUOTE) {
        this.p = k + 1;
        return out;
      }
      const e = s[k + 1];
      j = k + 2;
      switch (e) {
        case '\\':
        case '"':
        case '/':
          out += e;
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        case 'x':
        case 'u': {
          const len = e === 'x' ? 2 : 4;
          const hex = s.slice(j, Math.min(j + len, this.end));
          if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw DECLINE;
          out += String.fromCodePoint(parseInt(hex, 16));
          j += len;
          break;
        }
        default:
          throw DECLINE;
      }
    }
  }

  /** A one-line flow collection at the cursor (`[` or `{`); leaves the cursor after it. */
  flow(): unknown {
    const isMap = this.s.charCodeAt(this.p) === LBRACE;
    this.p++;
    this.skipSpaces();
    return isMap ? this.flowMap() : this.flowSeq();
  }

  /** The entries of a flow mapping, after its `{`. */
  flowMap(): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    while (!this.flowEnd(RBRACE)) {
      const keyAt = this.p;
      const key = this.flowScalar(true) as string;
      this.skipSpaces();
      if (this.code(this.p) !== COLON) throw DECLINE; // `{a, b}`: a key without a value
      this.p++;
      this.skipSpaces();
      const n = this.code(this.p);
      this.pos?.addEntry(map, key, keyAt, this.p);
      addKey(map, key, n === COMMA || n === RBRACE ? null : this.flowNode());
      this.flowSeparator(RBRACE);
    }
    return map;
  }

  /** The items of a flow sequence, after its `[`. */
  flowSeq(): unknown[] {
    const seq: unknown[] = [];
    while (!this.flowEnd(RBRACKET)) {
      this.pos?.addItem(seq, this.p);
      seq.push(this.flowNode());
      this.skipSpaces();
      // `[a: b]` is a one-pair mapping inside the sequence: left to `yaml`.
      if (this.code(this.p) === COLON) throw DECLINE;
      this.flowSeparator(RBRACKET);
    }
    return seq;
  }

  /** True (and past it) at the closing bracket; declines at the line end (a multi-line collection). */
  flowEnd(close: number): boolean {
    const c = this.code(this.p);
    if (c === -1) throw DECLINE;
    if (c !== close) return false;
    this.p++;
    return true;
  }

  /** After an entry: a comma (and spaces), or the closing bracket next. */
  flowSeparator(close: number): void {
    this.skipSpaces();
    const n = this.code(this.p);
    if (n === COMMA) {
      this.p++;
      this.skipSpaces();
    } else if (n !== close) throw DECLINE;
  }

  flowNode(): unknown {
    const c = this.code(this.p);
    if (c === LBRACKET || c === LBRACE) return this.flow();
    return this.flowScalar(false);
  }

  /** A scalar inside a flow collection: quoted, or plain up to `,`, `]`, `}` or `: `. */
  flowScalar(key: boolean): unknown {
    const c = this.code(this.p);
    if (c === DQUOTE || c === SQUOTE) return this.quoted();
    if (this.badStart(this.p)) throw DECLINE;
    const s = this.s;
    const j = this.p;
    let k = j;
    for (; k < this.end; k++) {
      const ch = s.charCodeAt(k);
      if (isFlowIndicator(ch)) break;
      if (ch === COLON) {
        const n = this.code(k + 1);
        if (n === SPACE || n === COMMA || n === RBRACKET || n === RBRACE || n === -1) break;
        throw DECLINE; // `a:b` in a flow collection: unusual, left to `yaml`
      }
      if (ch === HASH && s.charCodeAt(k - 1) === SPACE) throw DECLINE;
    }
    const ch = this.code(k);
    if (ch === LBRACKET || ch === LBRACE) throw DECLINE;
    let e = k;
    while (e > j && s.charCodeAt(e - 1) === SPACE) e--;
    this.p = k;
    const text = s.slice(j, e);
    if (key) {
      if (e - j > 1000) throw DECLINE; // `yaml` refuses an implicit key longer than 1024 characters
      return plainKey(text);
    }
    return resolvePlain(text);
  }

  /** A scalar or flow collection that is the rest of the current line (after `key: ` or `- `). */
  inlineValue(): unknown {
    const c = this.code(this.p);
    let value: unknown;
    if (c === LBRACKET || c === LBRACE) value = this.flow();
    else if (c === DQUOTE || c === SQUOTE) value = this.quoted();
    else {
      if (this.badStart(this.p)) throw DECLINE;
      const s = this.s;
      const j = this.p;
      let k = j;
      for (; k < this.end; k++) {
        const ch = s.charCodeAt(k);
        if (ch === HASH && s.charCodeAt(k - 1) === SPACE) break;
        // `a: b: c` is an error in `yaml`; brackets in a block plain scalar are unusual: left to `yaml`.
        if (ch === COLON && (k + 1 === this.end || s.charCodeAt(k + 1) === SPACE)) throw DECLINE;
        if (ch === LBRACKET || ch === RBRACKET || ch === LBRACE || ch === RBRACE) throw DECLINE;
      }
      let e = k;
      while (e > j && s.charCodeAt(e - 1) === SPACE) e--;
      return resolvePlain(s.slice(j, e));
    }
    if (!this.restIsEmpty()) throw DECLINE;
    return value;
  }

  /** Whether content line `i` is a sequence entry (`-` then a space or the end) at column `col`. */
  isDash(i: number, col: number): boolean {
    const at = this.starts[i]! + col;
    return this.s.charCodeAt(at) === DASH && (at + 1 >= this.ends[i]! || this.s.charCodeAt(at + 1) === SPACE);
  }

  /** The node whose first line is the next line, at indent `indent`. */
  block(indent: number): unknown {
    if (this.isDash(this.line, indent)) return this.seq(indent);
    return this.map(indent, indent);
  }

  /** Where the value nested() reads starts: its block's first line, or (null) the cursor. */
  nestedAt(parentIndent: number, seqAtSameIndent: boolean): number {
    if (this.line < this.starts.length) {
      const indent = this.indents[this.line]!;
      if (indent > parentIndent || (seqAtSameIndent && indent === parentIndent && this.isDash(this.line, indent))) return this.starts[this.line]! + indent;
    }
    return this.p;
  }

  /** The value after `key:` or `-` with nothing on its line: a nested block, or null. */
  nested(parentIndent: number, seqAtSameIndent: boolean): unknown {
    if (this.line >= this.starts.length) return null;
    const indent = this.indents[this.line]!;
    if (indent > parentIndent) return this.block(indent);
    if (seqAtSameIndent && indent === parentIndent && this.isDash(this.line, indent)) return this.seq(indent);
    return null;
  }

  /** A block mapping at `indent`; its first key may start mid-line (`- key: value`) at column `col`. */
  map(indent: number, col: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let first = true; this.line < this.starts.length; first = false) {
      if (!first) {
        const i = this.indents[this.line]!;
        if (i < indent) break;
        if (i > indent) throw DECLINE;
      }
      this.enter(this.line++, first ? col : indent);
      const keyAt = this.p;
      const key = this.blockKey();
      const empty = this.restIsEmpty();
      this.pos?.addEntry(out, key, keyAt, empty ? this.nestedAt(indent, true) : this.p);
      const value = empty ? this.nested(indent, true) : this.inlineValue();
      addKey(out, key, value);
    }
    return out;
  }

  /** A block sequence at `indent`. */
  seq(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.line < this.starts.length) {
      const i = this.indents[this.line]!;
      if (i < indent) break;
      if (i > indent) throw DECLINE;
      if (!this.isDash(this.line, indent)) break; // the parent mapping's next key (`key:\n- a\nnext:`)
      this.enter(this.line, indent + 1);
      if (this.restIsEmpty()) {
        this.line++;
        this.pos?.addItem(out, this.nestedAt(indent, false));
        out.push(this.nested(indent, false));
        continue;
      }
      this.pos?.addItem(out, this.p);
      const col = this.p - this.starts[this.line]!;
      if (this.isDash(this.line, col)) throw DECLINE; // `- - a`
      if (this.hasBlockKey()) {
        // `- key: value`: a mapping whose lines are indented to the column of its first key.
        out.push(this.map(col, col));
        continue;
      }
      this.enter(this.line++, col);
      out.push(this.inlineValue());
    }
    return out;
  }

  /** The key of `key: ...` at the cursor, leaving the cursor after its colon; declines a line without one. */
  blockKey(): string {
    const c = this.code(this.p);
    if (c === DQUOTE || c === SQUOTE) {
      const start = this.p;
      const k = this.quoted();
      const n = this.code(this.p + 1);
      if (this.code(this.p) !== COLON || (n !== -1 && n !== SPACE)) throw DECLINE;
      // `yaml` refuses an implicit key, quoted ones too, longer than 1024 characters.
      if (this.p - start > 1000) throw DECLINE;
      this.p++;
      return k;
    }
    if (this.badStart(this.p)) throw DECLINE;
    const s = this.s;
    const i = this.p;
    // The first `:` followed by a space or the line end ends the key.
    let k = s.indexOf(':', i);
    while (k >= 0 && k < this.end && k + 1 < this.end && s.charCodeAt(k + 1) !== SPACE) k = s.indexOf(':', k + 1);
    if (k >= 0 && k < this.end) {
      const key = s.slice(i, k);
      // A comment or flow indicator before it, or a space before the colon: left to `yaml`, as is
      // an implicit key longer than the 1024 characters `yaml` allows.
      if (KEY_UNUSUAL.test(key) || s.charCodeAt(k - 1) === SPACE || k - i > 1000) throw DECLINE;
      this.p = k + 1;
      return plainKey(key);
    }
    throw DECLINE; // a scalar on its own line (multi-line scalar or error)
  }

  /** Whether the rest of the current line (from the cursor) starts with `key:`; the cursor is kept. */
  hasBlockKey(): boolean {
    const at = this.p;
    try {
      this.blockKey();
      return true;
    } catch (e) {
      if (e === DECLINE) return false;
      throw e;
    } finally {
      this.p = at;
    }
  }
}

/**
 * The value `yaml` would read from `text` (null for an empty document), or undefined when `text`
 * is not plain YAML as described above (or has duplicate keys): read it with `yaml` then. With
 * `positions`, where its nodes start too.
 */
export function parsePlainYaml(text: string): { value: unknown } | undefined;
export function parsePlainYaml(text: string, opts: { positions: true }): { value: unknown; positions: PlainPositions } | undefined;
export function parsePlainYaml(text: string, opts: { positions?: boolean } = {}): { value: unknown; positions?: PlainPositions } | undefined {
  if (UNUSUAL.test(text)) return undefined;
  const starts: number[] = [];
  const ends: number[] = [];
  const indents: number[] = [];
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let i = start;
    while (i < end && text.charCodeAt(i) === SPACE) i++;
    // Blank and comment lines hold no content.
    if (i < end && text.charCodeAt(i) !== HASH) {
      // Directives and document markers (`%YAML`, `---`, `...`) stay with `yaml`.
      if (i === start && (text.charCodeAt(i) === 0x25 || text.startsWith('---', i) || text.startsWith('...', i))) return undefined;
      starts.push(start);
      ends.push(end);
      indents.push(i - start);
    }
    start = end + 1;
  }
  const positions = opts.positions ? new PlainPositions() : undefined;
  if (starts.length === 0) return positions ? { value: null, positions } : { value: null };
  const r = new Reader(text, starts, ends, indents, positions);
  try {
    const value = r.block(indents[0]!);
    if (r.line !== starts.length) return undefined; // a line less indented than the first one
    if (!positions) return { value };
    positions.root = starts[0]! + indents[0]!;
    return { value, positions };
  } catch (e) {
    if (e === DECLINE) return undefined;
    throw e;
  }
}

// Run once per start over the whole file (see lib/jit.ts).
oneShot(
  resolvePlain,
  addKey,
  plainKey,
  parsePlainYaml,
  ...Object.getOwnPropertyNames(Reader.prototype).flatMap((name) => {
    const f = (Reader.prototype as unknown as Record<string, unknown>)[name];
    return name !== 'constructor' && typeof f === 'function' ? [f as () => unknown] : [];
  }),
);
