// The WebDAV `If:` header (RFC 4918 §10.4): a strict parser (anything malformed is an IfHeaderError,
// answered 400 — webdav-server crashed on `(Not <DAV:no-lock>)`) and the evaluation rules. The
// header is true when any of its lists is true; a list is true when all its conditions are. Every
// state token it names (not under Not) is "submitted" for the lock checks.

export class IfHeaderError extends Error {}

export interface IfCondition {
  not: boolean;
  /** A state token (lock token, or e.g. DAV:no-lock). */
  token?: string;
  /** An entity tag, without W/ and quotes kept as sent ("..."). */
  etag?: string;
}

export interface IfList {
  /** The tagged resource (a URL or absolute path as sent), undefined for a no-tag list. */
  tag?: string;
  conditions: IfCondition[];
}

const MAX_LEN = 16 * 1024;

export function parseIfHeader(value: string): IfList[] {
  if (value.length > MAX_LEN) throw new IfHeaderError('If header too long');
  let i = 0;
  const fail = (msg: string): never => {
    throw new IfHeaderError(`malformed If header: ${msg} at ${i}`);
  };
  const ws = (): void => {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const coded = (): string => {
    // "<" ... ">" with no whitespace or angle brackets inside.
    i++;
    const end = value.indexOf('>', i);
    if (end < 0) fail('unterminated <...>');
    const s = value.slice(i, end);
    if (!s || /[\s<]/.test(s)) fail('bad URI in <...>');
    i = end + 1;
    return s;
  };
  const lists: IfList[] = [];
  let tagged: boolean | undefined;
  let tag: string | undefined;
  ws();
  if (i >= value.length) fail('empty');
  while (i < value.length) {
    if (value[i] === '<') {
      if (tagged === false) fail('resource tag in a no-tag header');
      tagged = true;
      tag = coded();
      ws();
      if (value[i] !== '(') fail('a resource tag must be followed by a list');
      continue;
    }
    if (value[i] !== '(') fail('expected "("');
    if (tagged === undefined) tagged = false;
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      ws();
      if (value[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (value.startsWith('Not', i) || value.startsWith('not', i) || value.startsWith('NOT', i)) {
        not = true;
        i += 3;
        ws();
      }
      if (value[i] === '<') conditions.push({ not, token: coded() });
      else if (value[i] === '[') {
        const end = value.indexOf(']', i);
        if (end < 0) fail('unterminated [etag]');
        const raw = value.slice(i + 1, end).trim();
        if (!/^(W\/)?"[^"]*"$/.test(raw)) fail('bad entity tag');
        conditions.push({ not, etag: raw.replace(/^W\//, '') });
        i = end + 1;
      } else fail('expected a state token or an entity tag');
    }
    if (conditions.length === 0) fail('empty list');
    lists.push({ ...(tagged ? { tag } : {}), conditions });
    ws();
  }
  return lists;
}

/** The lock tokens a request submits through its If header. */
export function submittedTokens(lists: readonly IfList[]): Set<string> {
  const out = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.token && !c.not) out.add(c.token);
  return out;
}

/** What a list's conditions are tested against: the state of one resource. */
export interface ResourceState {
  etag: string | undefined;
  /** Lock tokens of the locks covering the resource. */
  tokens: ReadonlySet<string>;
}

/**
 * True when at least one list holds. `stateOf` gives the state of the list's resource (the tag,
 * or the request URI for no-tag lists); undefined means the tag is not one of ours (the list is false).
 */
export async function evaluateIf(lists: readonly IfList[], stateOf: (tag: string | undefined) => Promise<ResourceState | undefined>): Promise<boolean> {
  for (const list of lists) {
    const state = await stateOf(list.tag);
    if (!state) continue;
    const holds = list.conditions.every((c) => {
      const v = c.token !== undefined ? state.tokens.has(c.token) : state.etag !== undefined && state.etag === c.etag;
      return c.not ? !v : v;
    });
    if (holds) return true;
  }
  return false;
}
