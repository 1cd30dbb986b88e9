// The WebDAV request parsers on their own (pure logic; kept beside the WebDAV tests): the strict XML
// parser and the If-header parser accept what clients send, refuse the rest with their own error
// type, and never throw anything else, whatever the input.
import { describe, expect, test } from 'bun:test';
import { IfHeaderError, evaluateIf, parseIfHeader, submittedTokens } from '../../../src/protocols/webdav/if-header.ts';
import { parseRange } from '../../../src/protocols/webdav/files.ts';
import { pathBelowPrefix } from '../../../src/protocols/webdav/request.ts';
import { XmlError, parseXml, serializeXml } from '../../../src/protocols/webdav/xml.ts';

const SAMPLES = [
  '<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><x:foo xmlns:x="http://e/"/></D:prop></D:propfind>',
  '<propertyupdate xmlns="DAV:"><set><prop><z:v xmlns:z="urn:z">a &amp; b<![CDATA[<raw>]]><z:n a="1"/></z:v></prop></set></propertyupdate>',
  '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>me</D:href></D:owner></D:lockinfo>',
];

describe('xml', () => {
  test('namespaces are resolved and survive serialization', () => {
    const el = parseXml(SAMPLES[1]!);
    expect(el.ns).toBe('DAV:');
    const v = (((el.children[0] as never as { children: never[] }).children[0] as { children: unknown[] }).children[0]) as never;
    const again = parseXml(serializeXml(v));
    expect(again.ns).toBe('urn:z');
    expect(serializeXml(again)).toBe(serializeXml(v));
    expect(serializeXml(parseXml('<a xmlns=""><b/></a>'))).toBe('<a xmlns=""><b/></a>');
  });

  test('refuses DOCTYPE, unknown entities, unbound prefixes, empty prefix bindings, trailing content', () => {
    for (const bad of [
      '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
      '<a>&nbsp;</a>',
      '<p:a/>',
      '<a xmlns:p=""/>',
      '<a/><b/>',
      '<a></b>',
      '<a b="1" b="2"/>',
      '',
      '<a>',
      '<a b=1/>',
      '<a>&#0;</a>',
    ])
      expect(() => parseXml(bad)).toThrow(XmlError);
  });

  test('random damage to valid bodies only ever raises XmlError', () => {
    let seed = 42;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 3000; i++) {
      const s = SAMPLES[i % SAMPLES.length]!;
      const chars = [...s];
      for (let k = 0; k <= rnd(4); k++) {
        const at = rnd(chars.length);
        const op = rnd(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, '<>&;:"=/!?[]x'[rnd(13)]!);
        else chars[at] = String.fromCharCode(rnd(128));
      }
      try {
        parseXml(chars.join(''));
      } catch (err) {
        expect(err).toBeInstanceOf(XmlError);
      }
    }
    // Deep nesting is refused, not a stack overflow.
    expect(() => parseXml('<a>'.repeat(100_000))).toThrow(XmlError);
  });
});

describe('If header', () => {
  test('parses no-tag and tagged lists, Not, etags; collects submitted tokens', () => {
    const l = parseIfHeader('(<urn:uuid:1> ["e1"]) (Not <DAV:no-lock> [W/"e2"])');
    expect(l).toHaveLength(2);
    expect(l[1]!.conditions).toEqual([{ not: true, token: 'DAV:no-lock' }, { not: false, etag: '"e2"' }]);
    expect([...submittedTokens(l)]).toEqual(['urn:uuid:1']);
    const t = parseIfHeader('<http://h/a> (<urn:uuid:2>) <http://h/b> (["x"])');
    expect(t.map((x) => x.tag)).toEqual(['http://h/a', 'http://h/b']);
  });

  test('evaluation: any list true; all conditions of a list', async () => {
    const state = async () => ({ etag: '"e"', tokens: new Set(['urn:uuid:1']) });
    expect(await evaluateIf(parseIfHeader('(<urn:uuid:1> ["e"])'), state)).toBe(true);
    expect(await evaluateIf(parseIfHeader('(<urn:uuid:1> ["x"])'), state)).toBe(false);
    expect(await evaluateIf(parseIfHeader('(<urn:uuid:9>) (Not <DAV:no-lock>)'), state)).toBe(true);
    expect(await evaluateIf(parseIfHeader('(<urn:uuid:9>)'), state)).toBe(false);
  });

  test('garbage only ever raises IfHeaderError', () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const alphabet = '()<>[]"W/ Not:xu\t';
    for (let i = 0; i < 3000; i++) {
      const s = Array.from({ length: rnd(30) }, () => alphabet[rnd(alphabet.length)]).join('');
      try {
        parseIfHeader(s);
      } catch (err) {
        expect(err).toBeInstanceOf(IfHeaderError);
      }
    }
  });
});

describe('ranges and paths', () => {
  test('single byte ranges', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
  });

  test('URL paths below a prefix', () => {
    expect(pathBelowPrefix('/dav/a%20b/c', '/dav')).toBe('/a b/c');
    expect(pathBelowPrefix('/dav', '/dav')).toBe('/');
    expect(pathBelowPrefix('/x/y/?q=1', '')).toBe('/x/y');
    for (const bad of ['/dav/../x', '/dav/%2e%2e/x', '/dav/a%00', '/dav/%zz', '/dav/a#frag']) expect(() => pathBelowPrefix(bad, '/dav')).toThrow();
    expect(() => pathBelowPrefix('/davx/a', '/dav')).toThrow();
  });
});
