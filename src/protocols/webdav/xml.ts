// A small, strict XML parser for WebDAV request bodies (propfind, propertyupdate, lockinfo) and
// the serializer for what we send back. Namespaces are resolved while parsing, so callers match
// elements by (namespace, local name). Anything outside the subset DAV needs is refused with an
// XmlError (mapped to 400): DOCTYPE (no entity expansion, ever), unknown entities, unbound
// prefixes, `xmlns:p=""`, mismatched tags, trailing content. It never throws anything else.

export class XmlError extends Error {}

export interface XmlElement {
  kind: 'element';
  ns: string;
  local: string;
  /** Attributes other than namespace declarations, by "{ns}local" (ns empty for unprefixed). */
  attrs: Map<string, string>;
  children: XmlNode[];
}
export interface XmlText {
  kind: 'text';
  text: string;
}
export type XmlNode = XmlElement | XmlText;

export const DAV_NS = 'DAV:';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const MAX_DEPTH = 64;

const NAME_START = /[A-Za-z_\u00C0-\uFFFF]/;
const NAME_CHAR = /[A-Za-z0-9_.\-\u00B7\u00C0-\uFFFF]/;

export function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new XmlError(`${msg} at offset ${i}`);
  };
  const skipWs = (): void => {
    while (i < src.length && ' \t\r\n'.includes(src[i]!)) i++;
  };
  const startsWith = (s: string): boolean => src.startsWith(s, i);
  const expect = (s: string): void => {
    if (!startsWith(s)) fail(`expected "${s}"`);
    i += s.length;
  };
  const name = (): string => {
    const start = i;
    if (i >= src.length || !NAME_START.test(src[i]!)) fail('expected a name');
    i++;
    while (i < src.length && (NAME_CHAR.test(src[i]!) || src[i] === ':')) i++;
    return src.slice(start, i);
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;&]*);|&/g, (m, ent: string | undefined) => {
      if (ent === undefined) return fail('bare "&"');
      if (ent === 'lt') return '<';
      if (ent === 'gt') return '>';
      if (ent === 'amp') return '&';
      if (ent === 'quot') return '"';
      if (ent === 'apos') return "'";
      const num = /^#x([0-9a-fA-F]{1,6})$/.exec(ent) ?? /^#([0-9]{1,7})$/.exec(ent);
      if (num) {
        const cp = parseInt(num[1]!, ent[1] === 'x' ? 16 : 10);
        if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('invalid character reference');
        return String.fromCodePoint(cp);
      }
      return fail(`unknown entity "${m}"`);
    });
  /** Comments, processing instructions and whitespace between markup (outside the root). */
  const misc = (): void => {
    for (;;) {
      skipWs();
      if (startsWith('<!--')) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (startsWith('<?')) {
        const end = src.indexOf('?>', i + 2);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (startsWith('<!')) fail('DOCTYPE and declarations are not accepted');
      else return;
    }
  };

  const element = (scope: Map<string, string>, depth: number): XmlElement => {
    if (depth > MAX_DEPTH) fail('too deeply nested');
    expect('<');
    const qname = name();
    const rawAttrs: [string, string][] = [];
    for (;;) {
      const hadWs = i < src.length && ' \t\r\n'.includes(src[i]!);
      skipWs();
      if (startsWith('/>') || startsWith('>')) break;
      if (!hadWs) fail('expected whitespace before an attribute');
      const an = name();
      skipWs();
      expect('=');
      skipWs();
      const q = src[i];
      if (q !== '"' && q !== "'") fail('expected a quoted attribute value');
      const end = src.indexOf(q!, i + 1);
      if (end < 0) fail('unterminated attribute value');
      const raw = src.slice(i + 1, end);
      if (raw.includes('<')) fail('"<" in an attribute value');
      rawAttrs.push([an, decode(raw)]);
      i = end + 1;
    }
    let local = scope;
    const seen = new Set<string>();
    for (const [an, v] of rawAttrs) {
      if (seen.has(an)) fail(`duplicate attribute ${an}`);
      seen.add(an);
      if (an === 'xmlns') {
        if (local === scope) local = new Map(scope);
        local.set('', v);
      } else if (an.startsWith('xmlns:')) {
        const p = an.slice(6);
        if (!v) fail(`namespace prefix "${p}" bound to an empty name`);
        if (p === 'xmlns' || (p === 'xml' && v !== XML_NS)) fail(`reserved prefix "${p}"`);
        if (local === scope) local = new Map(scope);
        local.set(p, v);
      }
    }
    const resolve = (qn: string, isAttr: boolean): [string, string] => {
      const c = qn.indexOf(':');
      if (c < 0) return [isAttr ? '' : (local.get('') ?? ''), qn];
      const p = qn.slice(0, c);
      const l = qn.slice(c + 1);
      if (!l || l.includes(':')) fail(`bad qualified name "${qn}"`);
      const ns = p === 'xml' ? XML_NS : local.get(p);
      if (ns === undefined) fail(`unbound namespace prefix "${p}"`);
      return [ns!, l];
    };
    const [ns, lname] = resolve(qname, false);
    const attrs = new Map<string, string>();
    for (const [an, v] of rawAttrs) {
      if (an === 'xmlns' || an.startsWith('xmlns:')) continue;
      const [ans, al] = resolve(an, true);
      attrs.set(`{${ans}}${al}`, v);
    }
    const el: XmlElement = { kind: 'element', ns, local: lname, attrs, children: [] };
    if (startsWith('/>')) {
      i += 2;
      return el;
    }
    expect('>');
    for (;;) {
      if (i >= src.length) fail(`unclosed element <${qname}>`);
      if (startsWith('</')) {
        i += 2;
        const close = name();
        if (close !== qname) fail(`</${close}> closes <${qname}>`);
        skipWs();
        expect('>');
        return el;
      }
      if (startsWith('<!--')) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (startsWith('<![CDATA[')) {
        const end = src.indexOf(']]>', i + 9);
        if (end < 0) fail('unterminated CDATA section');
        pushText(el, src.slice(i + 9, end));
        i = end + 3;
      } else if (startsWith('<?')) {
        const end = src.indexOf('?>', i + 2);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (startsWith('<!')) fail('declarations are not accepted inside elements');
      else if (src[i] === '<') el.children.push(element(local, depth + 1));
      else {
        const next = src.indexOf('<', i);
        const end = next < 0 ? src.length : next;
        pushText(el, decode(src.slice(i, end)));
        i = end;
      }
    }
  };

  if (src.charCodeAt(0) === 0xfeff) i = 1;
  misc();
  if (i >= src.length) fail('empty document');
  const root = element(new Map(), 0);
  misc();
  if (i < src.length) fail('content after the root element');
  return root;
}

function pushText(el: XmlElement, text: string): void {
  if (!text) return;
  const last = el.children[el.children.length - 1];
  if (last?.kind === 'text') last.text += text;
  else el.children.push({ kind: 'text', text });
}

export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element');
}

export function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return elements(el).find((c) => c.ns === ns && c.local === local);
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (c.kind === 'text' ? c.text : textOf(c))).join('');
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : '&quot;'));
}

/**
 * Serializes a parsed element back to text, declaring every namespace it uses on the element
 * itself, so it stays correct wherever it is embedded (dead property values, lock owners).
 */
export function serializeXml(el: XmlElement, inherited = new Map<string, string>()): string {
  const decls: string[] = [];
  const scope = new Map(inherited);
  const prefixFor = (ns: string): string => {
    for (const [p, n] of scope) if (p !== '' && n === ns) return p;
    let k = scope.size;
    while (scope.has(`ns${k}`)) k++;
    const p = `ns${k}`;
    scope.set(p, ns);
    decls.push(` xmlns:${p}="${escapeXml(ns)}"`);
    return p;
  };
  let tag: string;
  if (el.ns === '') {
    tag = el.local;
    // An unprefixed name in no namespace must undo any inherited default namespace.
    if (scope.get('') !== '') {
      scope.set('', '');
      decls.push(' xmlns=""');
    }
  } else {
    tag = `${prefixFor(el.ns)}:${el.local}`;
  }
  const attrs: string[] = [];
  for (const [key, v] of el.attrs) {
    const m = /^\{(.*)\}(.*)$/.exec(key)!;
    const name = m[1] ? `${m[1] === XML_NS ? 'xml' : prefixFor(m[1])}:${m[2]}` : m[2];
    attrs.push(` ${name}="${escapeXml(v)}"`);
  }
  const inner = el.children.map((c) => (c.kind === 'text' ? escapeXml(c.text) : serializeXml(c, scope))).join('');
  const open = `<${tag}${decls.join('')}${attrs.join('')}`;
  return inner ? `${open}>${inner}</${tag}>` : `${open}/>`;
}
