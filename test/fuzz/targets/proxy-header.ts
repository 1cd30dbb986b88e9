// Fuzz target: the PROXY protocol v1/v2 header reader (src/lib/proxy-header.ts). Besides the
// result's shape, the reader must agree with itself as bytes arrive: a header found in the whole
// input is found the same in exactly its own bytes, and every shorter prefix asks for more.
import { isIP } from 'node:net';
import { readProxyHeader, V1_MAX_LENGTH, type HeaderRead, type ProxyEndpoint } from '../../../src/lib/proxy-header.ts';
import { check, type FuzzTarget } from '../target.ts';

const MAX = 512;

function checkEndpoint(e: ProxyEndpoint | undefined): void {
  if (!e) return;
  check(isIP(e.address) !== 0, `endpoint address is an IP: ${e.address}`);
  check(Number.isInteger(e.port) && e.port >= 0 && e.port <= 65535, `port in range: ${e.port}`);
}

function checkRead(r: HeaderRead, buf: Buffer): void {
  switch (r.kind) {
    case 'more':
    case 'none':
      return;
    case 'invalid':
      check(typeof r.reason === 'string' && r.reason.length > 0, 'an invalid header has a reason');
      return;
    case 'header': {
      const h = r.header;
      check(Number.isInteger(r.length) && r.length > 0 && r.length <= buf.length, `header length within the input: ${r.length}`);
      check(h.version === 1 || h.version === 2, 'version 1 or 2');
      check(h.command === 'proxy' || h.command === 'local', 'command');
      if (h.version === 1) check(r.length <= V1_MAX_LENGTH, 'v1 within 107 bytes');
      else check(r.length <= MAX, 'v2 within the limit');
      check((h.source === undefined) === (h.destination === undefined), 'source and destination together');
      checkEndpoint(h.source);
      checkEndpoint(h.destination);
      check(Array.isArray(h.tlvs) && h.tlvs.every((t) => t.type >= 0 && t.type <= 255 && Buffer.isBuffer(t.value)), 'TLVs');
      return;
    }
    default:
      check(false, `unknown result ${JSON.stringify(r)}`);
  }
}

export const target: FuzzTarget = {
  name: 'proxy-header',
  maxLen: 600,
  dictionary: [
    'PROXY ', 'TCP4 ', 'TCP6 ', 'UNKNOWN', '\r\n', ' 65535', ' 0', '127.0.0.1', '::1', '::ffff:1.2.3.4',
    Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]),
    Buffer.from([0x21, 0x11]), Buffer.from([0x21, 0x21]), Buffer.from([0x20, 0x00]), Buffer.from([0x21, 0x31]),
  ],
  run(data) {
    const r = readProxyHeader(data, MAX);
    checkRead(r, data);
    if (r.kind === 'header') {
      const exact = readProxyHeader(data.subarray(0, r.length), MAX);
      check(exact.kind === 'header' && exact.length === r.length, 'the header alone reads the same');
      check(JSON.stringify(exact) === JSON.stringify(r), 'same header from its own bytes');
      const prefix = readProxyHeader(data.subarray(0, r.length - 1), MAX);
      check(prefix.kind === 'more', `a header cut short asks for more, got ${prefix.kind}`);
    } else if (r.kind === 'more' && data.length > 0) {
      check(readProxyHeader(data.subarray(0, data.length - 1), MAX).kind === 'more', 'a prefix of "more" asks for more');
    }
  },
};
