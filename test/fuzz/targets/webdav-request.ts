// Fuzz target: what the WebDAV front-end parses from a request. The first byte picks the parser,
// the rest is the text: XML bodies (src/protocols/webdav/xml.ts, and the PROPFIND body read on
// top of it), the If header, Destination/request paths below a prefix, and Range against a size. Beyond shapes: a parsed XML body serialises to text that parses back to the same tree,
// and a request path never comes out with a dot segment, a NUL or outside the root.
import { parseXml, serializeXml, XmlError, type XmlElement } from '../../../src/protocols/webdav/xml.ts';
import { parseIfHeader, submittedTokens, IfHeaderError } from '../../../src/protocols/webdav/if-header.ts';
import { pathBelowPrefix } from '../../../src/protocols/webdav/request.ts';
import { parsePropfind } from '../../../src/protocols/webdav/propfind.ts';
import { HttpError } from '../../../src/protocols/webdav/status.ts';
import { parseByteRange } from '../../../src/lib/http-range.ts';
import { check, expectOnly, isString, type FuzzTarget } from '../target.ts';

function canonical(el: XmlElement): unknown {
  return [el.ns, el.local, [...el.attrs].sort(), el.children.map((c) => (c.kind === 'text' ? c.text : canonical(c)))];
}

function xmlBody(text: string): void {
  const el = expectOnly([XmlError], () => parseXml(text));
  if (!el) return;
  check(el.kind === 'element' && isString(el.ns) && isString(el.local) && el.local.length > 0, 'root element');
  const again = expectOnly([XmlError], () => parseXml(serializeXml(el)));
  check(again !== undefined, `serialised XML parses: ${serializeXml(el).slice(0, 200)}`);
  check(JSON.stringify(canonical(again)) === JSON.stringify(canonical(el)), 'serialise then parse gives the same tree');
  const wanted = expectOnly([HttpError], () => parsePropfind(el));
  if (wanted) check(['allprop', 'propname', 'prop'].includes(wanted.kind), 'propfind kind');
}

function ifHeader(text: string): void {
  const lists = expectOnly([IfHeaderError], () => parseIfHeader(text));
  if (!lists) return;
  check(lists.length > 0, 'a parsed If header has a list');
  for (const l of lists) {
    check(l.tag === undefined || (isString(l.tag) && l.tag.length > 0), 'tag');
    check(l.conditions.length > 0, 'a list has conditions');
    for (const c of l.conditions) check((c.token === undefined) !== (c.etag === undefined) && typeof c.not === 'boolean', 'a condition is a token or an etag');
  }
  for (const t of submittedTokens(lists)) check(isString(t) && t.length > 0, 'submitted token');
}

function requestPath(text: string): void {
  const nl = text.indexOf('\n');
  const prefix = nl < 0 ? '' : text.slice(0, nl);
  const raw = nl < 0 ? text : text.slice(nl + 1);
  const p = expectOnly([HttpError], () => pathBelowPrefix(raw, prefix));
  if (p === undefined) return;
  check(p.startsWith('/'), `absolute: ${p}`);
  check(!p.includes('\0'), 'no NUL');
  check(!p.split('/').some((s) => s === '..' || s === '.'), `no dot segment: ${p}`);
  check(p === '/' || !p.endsWith('/'), `clean: ${p}`);
  check(!p.includes('//'), `no empty segment: ${p}`);
}

function range(text: string, strict: boolean): void {
  const size = text.length * 7;
  const r = parseByteRange(text, size, { strict });
  if (r === null || r === 'unsatisfiable') return;
  check(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end), `integers: ${JSON.stringify(r)}`);
  check(r.start >= 0 && r.start <= r.end && r.end < size, `within the file: ${JSON.stringify(r)} of ${size}`);
}

export const target: FuzzTarget = {
  name: 'webdav-request',
  maxLen: 2048,
  dictionary: [
    '<?xml version="1.0" encoding="utf-8"?>', '<D:propfind xmlns:D="DAV:">', '</D:propfind>', '<D:prop>', '</D:prop>', '<D:allprop/>', '<D:propname/>',
    '<D:propertyupdate xmlns:D="DAV:">', '<D:set>', '<D:remove>', '<D:lockinfo xmlns:D="DAV:">', '<D:lockscope><D:exclusive/></D:lockscope>',
    '<D:locktype><D:write/></D:locktype>', '<D:owner>', '<![CDATA[', ']]>', '<!--', '-->', '<!DOCTYPE', '&amp;', '&lt;', '&#x41;', '&#65;', '&#0;', '&#xD800;', 'xmlns=""', 'xmlns:a=""', 'xml:lang="en"', '/>', '</', '="', "='",
    '(<urn:uuid:1>)', '(Not <DAV:no-lock>)', '["etag"]', '<http://h/a>', ' (', ')', 'W/"x"',
    '%2e%2e', '%2F', '%00', '%', '/../', '/./', '//', '?q', '#f', '\n',
    'bytes=', '-', ',', '0-0', '-1', '1-', '9007199254740993', 'infinity', '0', '1',
  ],
  run(data) {
    const text = data.subarray(1).toString('utf8');
    switch ((data[0] ?? 0) % 5) {
      case 0:
      case 1:
        return xmlBody(text);
      case 2:
        return ifHeader(text);
      case 3:
        return requestPath(text);
      default:
        return range(text, (data[0] ?? 0) >= 128);
    }
  },
};
