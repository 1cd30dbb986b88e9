// Per-user file patterns (filters.file_patterns) as SFTPGo applies them: the filter configured for
// the most specific directory at or above an entry's parent governs the entry's base name, for
// files and directories alike. Denied patterns are checked first; then, when allowed patterns are
// set, the name must match one. Matching is case-insensitive shell-glob matching (Go's path.Match
// syntax: `*`, `?`, `[abc]`, `[^a-z]`, `\` escapes), so a config written for SFTPGo behaves the same.
import type { PatternsFilter } from '../config/schema-types.ts';
import { AppError } from '../errors.ts';
import { cleanVirtualPath, parentOf } from './paths.ts';

/** deny_policy 1: denied names are also hidden from listings and read as missing. */
export const DENY_POLICY_HIDE = 1;

export class PatternSyntaxError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`invalid pattern "${pattern}": ${reason}`);
    this.name = 'PatternSyntaxError';
  }
}

/** A regex fragment matching exactly the code point `c`. */
function literal(c: string): string {
  return /[A-Za-z0-9]/.test(c) ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`;
}

/**
 * Compiles one shell pattern (already lower-cased by the caller when matching is to ignore case)
 * into an anchored RegExp. Throws PatternSyntaxError for what Go's path.Match calls ErrBadPattern:
 * an unclosed or empty class, a range missing an end, a trailing backslash.
 */
export function compilePattern(pattern: string): RegExp {
  const chars = [...pattern];
  let out = '';
  let i = 0;
  const bad = (reason: string): never => {
    throw new PatternSyntaxError(pattern, reason);
  };
  // One class member: a character other than `-` or `]` (unless escaped).
  const classChar = (): string => {
    const c = chars[i];
    if (c === undefined) return bad('unclosed character class');
    if (c === '-' || c === ']') return bad(`unexpected "${c}" in character class`);
    if (c === '\\') {
      i++;
      const e = chars[i];
      if (e === undefined) return bad('trailing backslash');
      i++;
      return e;
    }
    i++;
    return c;
  };
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === '*') {
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '\\') {
      const e = chars[i + 1];
      if (e === undefined) bad('trailing backslash');
      out += literal(e!);
      i += 2;
    } else if (c === '[') {
      i++;
      let negate = false;
      if (chars[i] === '^') {
        negate = true;
        i++;
      }
      let ranges = '';
      let n = 0;
      for (;;) {
        if (chars[i] === ']' && n > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = classChar();
        }
        // A reversed range matches nothing in Go; a regex would refuse it, so keep it empty.
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!) ranges += lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`;
        n++;
      }
      out += ranges ? `[${negate ? '^' : ''}${ranges}]` : negate ? '[^]' : '[]';
    } else {
      out += literal(c);
      i++;
    }
  }
  return new RegExp(`^${out}$`, 'u');
}

/** Why `pattern` is not a valid shell pattern, or undefined when it is. */
export function patternError(pattern: string): string | undefined {
  try {
    compilePattern(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Which pattern decided a name: the first denied pattern it matches, or the allow-list it misses. */
export type PatternRule = { list: 'denied_patterns'; index: number; pattern: string } | { list: 'allowed_patterns' };

/** One file_patterns entry, compiled. */
export class NameFilter {
  readonly path: string;
  readonly hide: boolean;
  readonly #source: PatternsFilter;
  readonly #allowed: RegExp[];
  readonly #denied: RegExp[];

  constructor(f: PatternsFilter) {
    this.path = cleanVirtualPath(f.path);
    this.hide = f.deny_policy === DENY_POLICY_HIDE;
    this.#source = f;
    this.#allowed = (f.allowed_patterns ?? []).map((p) => compilePattern(p.toLowerCase()));
    this.#denied = (f.denied_patterns ?? []).map((p) => compilePattern(p.toLowerCase()));
  }

  /** SFTPGo's CheckAllowed: a denied match refuses; a non-empty allow-list must match. */
  allows(name: string): boolean {
    const n = name.toLowerCase();
    return this.#deniedBy(n) < 0 && this.#allowListed(n);
  }

  /** The rule refusing `name`, or undefined when the filter lets it through (what `explain` names). */
  refusal(name: string): PatternRule | undefined {
    const n = name.toLowerCase();
    const index = this.#deniedBy(n);
    if (index >= 0) return { list: 'denied_patterns', index, pattern: this.#source.denied_patterns![index]! };
    return this.#allowListed(n) ? undefined : { list: 'allowed_patterns' };
  }

  /** Index of the first denied pattern matching the lower-cased name, -1 for none. */
  #deniedBy(n: string): number {
    for (let i = 0; i < this.#denied.length; i++) if (this.#denied[i]!.test(n)) return i;
    return -1;
  }

  #allowListed(n: string): boolean {
    return this.#allowed.length === 0 || this.#allowed.some((r) => r.test(n));
  }
}

/** What the patterns say about one virtual path. */
export interface NameVerdict {
  allowed: boolean;
  /** The governing filter hides denied names (deny_policy 1). */
  hide: boolean;
}

const ALLOWED: NameVerdict = { allowed: true, hide: false };

/** All of a user's file_patterns, looked up by directory (most specific configured path wins). */
export class FilePatterns {
  readonly #byDir = new Map<string, NameFilter>();

  constructor(filters: readonly PatternsFilter[] | undefined) {
    for (const f of filters ?? []) {
      let nf: NameFilter;
      try {
        nf = new NameFilter(f);
      } catch (err) {
        // The config and API checks refuse these; a record that still has one cannot log in.
        if (err instanceof PatternSyntaxError) throw new AppError('config', `filters.file_patterns for ${f.path}: ${err.message}`);
        throw err;
      }
      this.#byDir.set(nf.path, nf);
    }
  }

  get empty(): boolean {
    return this.#byDir.size === 0;
  }

  /** The filter governing entries directly inside `dir` (cleaned), if any. */
  filterFor(dir: string): NameFilter | undefined {
    if (this.#byDir.size === 0) return undefined;
    for (let d = dir; ; d = parentOf(d)) {
      const f = this.#byDir.get(d);
      if (f) return f;
      if (d === '/') return undefined;
    }
  }

  /** The verdict for the entry at `vpath` (cleaned): its base name under its parent's filter. */
  check(vpath: string): NameVerdict {
    if (vpath === '/') return ALLOWED;
    const f = this.filterFor(parentOf(vpath));
    if (!f) return ALLOWED;
    const name = vpath.slice(vpath.lastIndexOf('/') + 1);
    return { allowed: f.allows(name), hide: f.hide };
  }
}
