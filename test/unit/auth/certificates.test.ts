// OpenSSH user certificates made by ssh-keygen: parsing, the CA signature (ed25519, ECDSA and RSA
// CAs), and every refusal reason. The user's own signature is checked the same way (verifySshSignature).
import { afterAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, sign } from 'node:crypto';
import { certificateRefusal, loadTrustedCAs, parseCertificate, verifySshSignature, type Certificate } from '../../../src/auth/certificates.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const dir = tempDir('certs-');
afterAll(() => removeTempDirs());

function keygen(name: string, type: string): string {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', path]);
  return path;
}

function certify(ca: string, key: string, args: string[]): Certificate {
  execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'test-id', ...args, `${key}.pub`]);
  const blob = Buffer.from(readFileSync(`${key}-cert.pub`, 'utf8').trim().split(/\s+/)[1]!, 'base64');
  const cert = parseCertificate(blob);
  if (cert instanceof Error) throw cert;
  return cert;
}

const caEd = keygen('ca_ed', 'ed25519');
const caEc = keygen('ca_ec', 'ecdsa');
const caRsa = keygen('ca_rsa', 'rsa');
const other = keygen('ca_other', 'ed25519');
const userKey = keygen('user', 'ed25519');
const now = Math.floor(Date.now() / 1000);
const trusted = loadTrustedCAs([`${caEd}.pub`, `${caEc}.pub`, 'ca_rsa.pub'], dir);
const check = { trustedCAs: trusted, username: 'alice', ip: '127.0.0.1', now };

describe('parsing and CA signatures', () => {
  test('ed25519 CA: fields as ssh-keygen wrote them', () => {
    const c = certify(caEd, userKey, ['-n', 'alice,bob', '-V', '+1h', '-z', '42']);
    expect(c.type).toBe('ssh-ed25519-cert-v01@openssh.com');
    expect(c.principals).toEqual(['alice', 'bob']);
    expect(c.serial).toBe(42n);
    expect(c.keyId).toBe('test-id');
    expect(c.certType).toBe(1);
    expect(c.extensions).toContain('permit-pty');
    // The certified key is the user's plain key.
    const plain = Buffer.from(readFileSync(`${userKey}.pub`, 'utf8').split(/\s+/)[1]!, 'base64');
    expect(c.publicKey.equals(plain)).toBe(true);
    expect(certificateRefusal(c, check)).toBeUndefined();
  });

  test('ECDSA and RSA CAs verify', () => {
    expect(certificateRefusal(certify(caEc, userKey, ['-n', 'alice', '-V', '+1h']), check)).toBeUndefined();
    expect(certificateRefusal(certify(caRsa, userKey, ['-n', 'alice', '-V', '+1h']), check)).toBeUndefined();
    expect(certificateRefusal(certify(caRsa, userKey, ['-n', 'alice', '-V', '+1h', '-t', 'rsa-sha2-256']), check)).toBeUndefined();
  });

  test('a tampered certificate fails the CA signature', () => {
    const c = certify(caEd, userKey, ['-n', 'alice', '-V', '+1h']);
    const signed = Buffer.from(c.signed);
    signed[signed.length - 100]! ^= 1;
    expect(certificateRefusal({ ...c, signed }, check)).toBe('cert_bad_signature');
  });

  test('garbage is not a certificate', () => {
    expect(parseCertificate(Buffer.from('nonsense'))).toBeInstanceOf(Error);
    const c = certify(caEd, userKey, ['-n', 'alice', '-V', '+1h']);
    expect(parseCertificate(Buffer.concat([c.signed, Buffer.from([0, 0, 0, 9])]))).toBeInstanceOf(Error);
  });
});

describe('refusals', () => {
  test('untrusted CA', () => {
    expect(certificateRefusal(certify(other, userKey, ['-n', 'alice', '-V', '+1h']), check)).toBe('cert_untrusted_ca');
  });
  test('wrong principal, and no principals at all', () => {
    expect(certificateRefusal(certify(caEd, userKey, ['-n', 'bob', '-V', '+1h']), check)).toBe('cert_principal_mismatch');
    expect(certificateRefusal(certify(caEd, userKey, ['-V', '+1h']), check)).toBe('cert_principal_mismatch');
  });
  test('expired and not yet valid', () => {
    expect(certificateRefusal(certify(caEd, userKey, ['-n', 'alice', '-V', '20200101:20200102']), check)).toBe('cert_expired');
    expect(certificateRefusal(certify(caEd, userKey, ['-n', 'alice', '-V', '+1d:+2d']), check)).toBe('cert_not_yet_valid');
  });
  test('host certificate', () => {
    expect(certificateRefusal(certify(caEd, userKey, ['-h', '-n', 'alice', '-V', '+1h']), check)).toBe('cert_not_user');
  });
  test('critical options: force-command refused, source-address honoured', () => {
    expect(certificateRefusal(certify(caEd, userKey, ['-n', 'alice', '-V', '+1h', '-O', 'force-command=/bin/true']), check)).toBe('cert_unsupported_critical_option');
    const c = certify(caEd, userKey, ['-n', 'alice', '-V', '+1h', '-O', 'source-address=10.0.0.0/8,127.0.0.1/32']);
    expect(certificateRefusal(c, check)).toBeUndefined();
    expect(certificateRefusal(c, { ...check, ip: '192.168.1.1' })).toBe('cert_source_address');
  });
});

describe('signatures', () => {
  test('user signature by the certified key', () => {
    // A key made by node:crypto (so the test can sign), certified by ssh-keygen from its .pub.
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const x = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
    const path = join(dir, 'nodekey');
    writeFileSync(`${path}.pub`, `ssh-ed25519 ${Buffer.concat([str('ssh-ed25519'), str(x)]).toString('base64')}\n`);
    const c = certify(caEd, path, ['-n', 'alice', '-V', '+1h']);
    const data = Buffer.from('session data');
    const raw = sign(null, data, privateKey);
    const blob = Buffer.concat([str('ssh-ed25519'), str(raw)]);
    expect(verifySshSignature(c.publicKey, data, blob)).toBe(true);
    expect(verifySshSignature(c.publicKey, Buffer.from('other data'), blob)).toBe(false);
    expect(verifySshSignature(c.publicKey, data, Buffer.concat([str('ssh-rsa'), str(raw)]))).toBe(false);
  });
  test('a CA file that is not a public key fails to load', () => {
    const bad = join(dir, 'bad.pub');
    writeFileSync(bad, 'not a key\n');
    expect(() => loadTrustedCAs([bad], dir)).toThrow(/trusted_user_ca_keys/);
  });
});

function str(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}
