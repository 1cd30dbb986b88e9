// htpasswd parsing: the formats SFTPGo verifies are kept, the others named with their line.
import { describe, expect, test } from 'bun:test';
import { parseHtpasswd } from '../../../src/auth/htpasswd.ts';

describe('parseHtpasswd', () => {
  test('bcrypt, $1$ and $apr1$ entries are read; comments and blank lines skipped', () => {
    const r = parseHtpasswd('# users\n\na:$2y$05$abcdefghijklmnopqrstuu5Tm1v2n3b4c5d6e7f8g9h0i1j2k3l4m\nb:$apr1$salt$hash\r\nc:$1$salt$hash\n');
    expect([...r.users.keys()]).toEqual(['a', 'b', 'c']);
    expect(r.unsupported).toEqual([]);
  });

  test('{SHA}, crypt(3), plain text and a line without a colon are reported', () => {
    const r = parseHtpasswd('s:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\nd:abJnggxhB/yWI\nx:$5$rounds$y\nnocolon\n');
    expect(r.users.size).toBe(0);
    expect(r.unsupported).toEqual(['line 1: s ({SHA})', 'line 2: d (crypt or plain text)', 'line 3: x ($5$)', 'line 4: not user:hash']);
  });
});
