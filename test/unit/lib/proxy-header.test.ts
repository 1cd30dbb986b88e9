// The PROXY protocol header parser (lib/proxy-header.ts) and the socket reader built on it
// (core/client-sockets.ts readHeaderFrom): v1 and v2, byte-by-byte arrival, TLVs, garbage, size
// limits, a header that never finishes, and the bytes after the header left for the protocol.
import { describe, expect, test } from 'bun:test';
import { connect, createServer, type Socket } from 'node:net';
import { readProxyHeader, V1_MAX_LENGTH } from '../../../src/lib/proxy-header.ts';
import { readHeaderFrom } from '../../../src/core/client-sockets.ts';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A v2 header: command (0 LOCAL, 1 PROXY), family byte, address block, then TLVs. */
function v2(cmd: number, fam: number, addresses: Buffer, tlvs: Buffer = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(addresses.length + tlvs.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | cmd, fam]), len, addresses, tlvs]);
}

function tcp4(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src).copy(b, 0);
  Buffer.from(dst).copy(b, 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

function tlv(type: number, value: Buffer): Buffer {
  const h = Buffer.from([type, 0, 0]);
  h.writeUInt16BE(value.length, 1);
  return Buffer.concat([h, value]);
}

/** Feeds `bytes` one at a time: every proper prefix must ask for more. */
function everyPrefixWantsMore(bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) expect(readProxyHeader(bytes.subarray(0, i)).kind).toBe('more');
}

describe('v1', () => {
  test('TCP4 with the stream right after it', () => {
    const header = Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 51234 2022\r\n');
    const r = readProxyHeader(Buffer.concat([header, Buffer.from('SSH-2.0-OpenSSH\r\n')]));
    expect(r).toEqual({
      kind: 'header',
      length: header.length,
      header: { version: 1, command: 'proxy', source: { address: '203.0.113.7', port: 51234 }, destination: { address: '192.0.2.1', port: 2022 }, tlvs: [] },
    });
  });

  test('TCP6 and UNKNOWN', () => {
    const r = readProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 40000 21\r\n'));
    expect(r.kind === 'header' && r.header.source).toEqual({ address: '2001:db8::7', port: 40000 });
    const u = readProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nUSER x\r\n'));
    expect(u.kind === 'header' && u.header.source).toBeUndefined();
    expect(u.kind === 'header' && u.length).toBe('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'.length);
  });

  test('split at every byte, it waits for the whole line', () => {
    everyPrefixWantsMore(Buffer.from('PROXY TCP4 10.1.2.3 10.0.0.1 1000 2000\r\n'));
  });

  test('garbage, bad addresses and ports, and a line with no end are invalid', () => {
    for (const line of ['PROXY TCP4 10.1.2.3 10.0.0.1 1000\r\n', 'PROXY TCP4 ::1 10.0.0.1 1 2\r\n', 'PROXY TCP4 10.1.2.3 10.0.0.1 70000 2\r\n', 'PROXY TCP4 10.1.2.3 10.0.0.1 01 2\r\n', 'PROXY UDP4 10.1.2.3 10.0.0.1 1 2\r\n'])
      expect(readProxyHeader(Buffer.from(line)).kind).toBe('invalid');
    const endless = Buffer.from('PROXY TCP4 ' + 'x'.repeat(V1_MAX_LENGTH));
    expect(readProxyHeader(endless)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('107') });
  });
});

describe('v2', () => {
  test('TCP4 PROXY with TLVs (ALPN, authority, a custom one), bytes after it untouched', () => {
    const tlvs = Buffer.concat([tlv(0x01, Buffer.from('h2')), tlv(0x02, Buffer.from('files.example')), tlv(0xe0, Buffer.alloc(0))]);
    const header = v2(1, 0x11, tcp4([198, 51, 100, 9], [10, 0, 0, 5], 40001, 21), tlvs);
    const r = readProxyHeader(Buffer.concat([header, Buffer.from('USER alice\r\n')]));
    expect(r.kind).toBe('header');
    if (r.kind !== 'header') return;
    expect(r.length).toBe(header.length);
    expect(r.header.source).toEqual({ address: '198.51.100.9', port: 40001 });
    expect(r.header.destination).toEqual({ address: '10.0.0.5', port: 21 });
    expect(r.header.tlvs.map((t) => [t.type, t.value.toString()])).toEqual([[1, 'h2'], [2, 'files.example'], [0xe0, '']]);
  });

  test('TCP6, and an IPv4-mapped source printed as sockets print it', () => {
    const a = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000007', 'hex').copy(a, 0);
    Buffer.from('00000000000000000000ffffc0000201', 'hex').copy(a, 16);
    a.writeUInt16BE(5555, 32);
    a.writeUInt16BE(2022, 34);
    const r = readProxyHeader(v2(1, 0x21, a));
    expect(r.kind === 'header' && r.header.source).toEqual({ address: '2001:db8::7', port: 5555 });
    expect(r.kind === 'header' && r.header.destination?.address).toBe('::ffff:192.0.2.1');
  });

  test('LOCAL (a health check) names no client; UNSPEC neither', () => {
    const local = readProxyHeader(v2(0, 0x00, Buffer.alloc(0)));
    expect(local).toMatchObject({ kind: 'header', length: 16, header: { command: 'local' } });
    const unspec = readProxyHeader(v2(1, 0x00, Buffer.alloc(0)));
    expect(unspec.kind === 'header' && unspec.header.source).toBeUndefined();
  });

  test('split at every byte, it waits for the declared length', () => {
    everyPrefixWantsMore(v2(1, 0x11, tcp4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), tlv(0x04, Buffer.alloc(40))));
  });

  test('bad version, command, family, short addresses, broken TLVs and oversize are invalid', () => {
    const ok = v2(1, 0x11, tcp4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2));
    const patch = (at: number, value: number) => {
      const b = Buffer.from(ok);
      b[at] = value;
      return b;
    };
    expect(readProxyHeader(patch(12, 0x11)).kind).toBe('invalid'); // version 1 in a v2 signature
    expect(readProxyHeader(patch(12, 0x22)).kind).toBe('invalid'); // command 2
    expect(readProxyHeader(patch(13, 0x41)).kind).toBe('invalid'); // family 4
    expect(readProxyHeader(v2(1, 0x21, Buffer.alloc(12))).kind).toBe('invalid'); // IPv6 in 12 bytes
    expect(readProxyHeader(v2(1, 0x11, tcp4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), Buffer.from([0x01, 0x00, 0x09, 0x41]))).kind).toBe('invalid');
    const huge = v2(1, 0x11, tcp4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), tlv(0x04, Buffer.alloc(5000)));
    expect(readProxyHeader(huge.subarray(0, 16))).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('limit') });
  });
});

test('anything that does not start like a header is no header, decided from its first byte', () => {
  for (const s of ['SSH-2.0-OpenSSH_9.2\r\n', 'GET / HTTP/1.1\r\n', 'USER x\r\n', '\x16\x03\x01'])
    expect(readProxyHeader(Buffer.from(s.slice(0, 1))).kind).toBe('none');
  expect(readProxyHeader(Buffer.from('PROXI')).kind).toBe('none');
  expect(readProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b])).kind).toBe('none');
});

describe('reading from a socket', () => {
  /** A listener whose accepted socket (paused) is read with readHeaderFrom; the client writes `chunks` with pauses. */
  async function serve(chunks: Buffer[], timeoutMs: number): Promise<{ result: Awaited<ReturnType<typeof readHeaderFrom>>; after: string }> {
    const accepted = new Promise<Socket>((resolve) => {
      const srv = createServer({ pauseOnConnect: true }, (s) => {
        srv.close();
        resolve(s);
      });
      srv.listen(0, '127.0.0.1', () => {
        const c = connect((srv.address() as { port: number }).port, '127.0.0.1', async () => {
          for (const chunk of chunks) {
            c.write(chunk);
            await Bun.sleep(30);
          }
        });
        c.on('error', () => undefined);
        setTimeout(() => c.destroy(), timeoutMs + 500);
      });
    });
    const sock = await accepted;
    const result = await readHeaderFrom(sock, timeoutMs);
    // What the protocol reads next: everything after the header, nothing lost.
    let after = '';
    if (result.kind === 'header' || result.kind === 'none') {
      sock.on('data', (d: Buffer) => (after += d.toString('latin1')));
      sock.resume();
      await Bun.sleep(150);
    }
    sock.destroy();
    return { result, after };
  }

  test('a header split over several writes, with the stream in the last one', async () => {
    const { result, after } = await serve([Buffer.from('PROXY TCP4 10.9.8'), Buffer.from('.7 10.0.0.1 4000 21\r'), Buffer.from('\nUSER bob\r\n'), Buffer.from('PASS x\r\n')], 2000);
    expect(result.kind === 'header' && result.header.source?.address).toBe('10.9.8.7');
    expect(after).toBe('USER bob\r\nPASS x\r\n');
  });

  test('no header: every byte read is handed back', async () => {
    const { result, after } = await serve([Buffer.from('SSH-2.0-x\r\n')], 2000);
    expect(result.kind).toBe('none');
    expect(after).toBe('SSH-2.0-x\r\n');
  });

  test('silence until the deadline is no header; a header that never finishes is invalid', async () => {
    expect((await serve([], 200)).result.kind).toBe('none');
    const started = Date.now();
    const stuck = await serve([Buffer.from('PROXY TCP4 10.1.1.1')], 300);
    expect(stuck.result).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('in time') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('garbage after the signature is invalid', async () => {
    const { result } = await serve([Buffer.from('PROXY NONSENSE\r\n')], 2000);
    expect(result.kind).toBe('invalid');
  });
});
