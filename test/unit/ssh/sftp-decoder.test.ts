// The SFTP server decoder of the vendored ssh2 (vendor/ssh2/lib/protocol/SFTP.js) on requests that
// do not decode, fed bytes directly: each gets one answer for its own id and the packets after it
// in the same chunk are still read (regressions found by the sftp-packet fuzz target).
import { describe, expect, test } from 'bun:test';
import { SFTP } from '../../../vendor/ssh2/lib/protocol/SFTP.js';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
const str = (s: string): Buffer => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
function packet(type: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([type]), ...parts]);
  return Buffer.concat([u32(body.length), body]);
}

function server(): { sftp: SFTP; seen: string[]; closed: () => boolean } {
  const seen: string[] = [];
  let closed = false;
  const protocol = { _remoteIdentRaw: 'SSH-2.0-OpenSSH_9.2', channelData: () => undefined, channelClose: () => (closed = true) };
  const sftp = new SFTP({ _protocol: protocol }, { type: 'session', incoming: {}, outgoing: { id: 0, window: 2 ** 30, packetSize: 65536, state: 'open' } }, { server: true });
  sftp.on('REALPATH', (id: number, path: string) => seen.push(`REALPATH ${id} ${path}`));
  sftp.on('RENAME', (id: number, from: string, to: string) => seen.push(`RENAME ${id} ${from} ${to}`));
  sftp.on('BAD_REQUEST', (id: number, code: number) => seen.push(`BAD ${id} ${code}`));
  sftp.on('error', () => seen.push('error'));
  sftp.push(packet(1, u32(3)));
  return { sftp, seen, closed: () => closed };
}

describe('SFTP request decoder', () => {
  test('an unknown request type is answered and the next packet in the same chunk is read', () => {
    const { sftp, seen, closed } = server();
    sftp.push(Buffer.concat([packet(0, u32(4352), str('x')), packet(16, u32(2), str('/'))]));
    expect(seen).toEqual(['BAD 4352 8', 'REALPATH 2 /']);
    expect(closed()).toBe(false);
  });

  test('a string past the end of its packet is BAD_MESSAGE, not an undefined field', () => {
    const { sftp, seen } = server();
    sftp.push(Buffer.concat([packet(18, u32(7), u32(0x7fffffff), str('/b')), packet(18, u32(8), str('/a'), str('/b'))]));
    expect(seen).toEqual(['BAD 7 5', 'RENAME 8 /a /b']);
  });

  test('a request too short for its id ends the channel', () => {
    const { sftp, seen, closed } = server();
    sftp.push(packet(16, Buffer.from([0, 1])));
    expect(seen).toEqual(['error']);
    expect(closed()).toBe(true);
  });

  test('a packet length of 2 GiB or more ends the channel as oversized', () => {
    const { sftp, seen, closed } = server();
    sftp.push(Buffer.from([0x80, 0x80, 0x80, 0x00, 17, 0, 0, 0, 1]));
    expect(seen).toEqual(['error']);
    expect(closed()).toBe(true);
  });
});
