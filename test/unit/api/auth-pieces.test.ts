// JWT signing/verification, CIDR allow lists, metrics rendering, body validation paths.
import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { verifyPassword } from '../../../src/auth/passwords.ts';
import { hashApiKey } from '../../../src/api/auth.ts';
import { allowedBy, inCidr } from '../../../src/lib/cidr.ts';
import { signJwt, verifyJwt } from '../../../src/api/jwt.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { validateBody } from '../../../src/config/validate.ts';

describe('jwt', () => {
  const key = randomBytes(32);
  const now = 1_700_000_000;
  const claims = { sub: 'root', iat: now, exp: now + 60, jti: 'j', aud: ['API'] };
  test('round trip; expiry, audience, key and algorithm are enforced', () => {
    const t = signJwt(claims, key);
    expect(verifyJwt(t, key, 'API', now)?.sub).toBe('root');
    expect(verifyJwt(t, key, 'API', now + 61)).toBeUndefined();
    expect(verifyJwt(t, key, 'WebAdmin', now)).toBeUndefined();
    expect(verifyJwt(t, randomBytes(32), 'API', now)).toBeUndefined();
    const [, p, s] = t.split('.');
    expect(verifyJwt(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.${s}`, key, 'API', now)).toBeUndefined();
    expect(verifyJwt('garbage', key, 'API', now)).toBeUndefined();
  });
});

describe('cidr', () => {
  test('IPv4, IPv6, mapped addresses, bare addresses', () => {
    expect(inCidr('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(inCidr('11.1.2.3', '10.0.0.0/8')).toBe(false);
    expect(inCidr('::ffff:192.168.1.9', '192.168.1.0/24')).toBe(true);
    expect(inCidr('::1', '::1/128')).toBe(true);
    expect(inCidr('2001:db8::5', '2001:db8::/32')).toBe(true);
    expect(inCidr('2001:db9::5', '2001:db8::/32')).toBe(false);
    expect(inCidr('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(inCidr('127.0.0.1', 'nonsense/8')).toBe(false);
    expect(allowedBy([], '1.2.3.4')).toBe(true);
    expect(allowedBy(['10.0.0.0/8'], '1.2.3.4')).toBe(false);
  });
});

describe('api keys', () => {
  test('hashed in a format verifyPassword reads', async () => {
    const h = hashApiKey('abc-key');
    expect(h).toStartWith('$pbkdf2-sha256$');
    expect(await verifyPassword('abc-key', h)).toBe(true);
    expect(await verifyPassword('abd-key', h)).toBe(false);
  });
});

describe('metrics', () => {
  test('counters with labels render as Prometheus text', () => {
    const metrics = new Metrics();
    metrics.inc('sftpgo_login_failed_total', { protocol: 'SSH', reason: 'invalid_credentials' });
    metrics.inc('sftpgo_login_failed_total', { reason: 'invalid_credentials', protocol: 'SSH' }, 2);
    expect(metrics.value('sftpgo_login_failed_total', { protocol: 'SSH', reason: 'invalid_credentials' })).toBe(3);
    const text = metrics.render([{ name: 'sftpgo_connections', help: 'x', values: [{ labels: { protocol: 'FTP' }, value: 2 }] }]);
    expect(text).toContain('# TYPE sftpgo_login_failed_total counter\nsftpgo_login_failed_total{protocol="SSH",reason="invalid_credentials"} 3');
    expect(text).toContain('sftpgo_connections{protocol="FTP"} 2');
  });
});

describe('validateBody', () => {
  test('paths in config notation, one message per oneOf', () => {
    expect(validateBody('Folder', { name: 'ok', mapped_path: '/x' })).toEqual([]);
    expect(validateBody('User', { username: 'u', virtual_folders: [{ name: 'f' }], password: { nope: 1 } })).toEqual([
      { path: 'password', message: "must be a string, { env: NAME }, { file: PATH }, { generate: true }, { status: Plain, payload: ... } or { sealed: ... }" },
      { path: 'virtual_folders[0].virtual_path', message: 'required' },
    ]);
  });
});
