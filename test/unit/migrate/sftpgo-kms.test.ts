// SFTPGo secret formats opened by migrate/sftpgo-kms.ts. Fixed vectors were computed outside this
// project (Python `cryptography` for AES-GCM and HKDF, libsodium for the secretbox), so a mistake
// shared by the opener and the encrypting helpers (test/support/sftpgo-secrets.ts) would still show.
import { describe, expect, test } from 'bun:test';
import { openSftpgoSecret } from '../../../src/migrate/sftpgo-kms.ts';
import { sealAesGcm, sealSecretbox } from '../../support/sftpgo-secrets.ts';

const FIXED_GCM = {
  status: 'AES-256-GCM',
  payload: '6465666768696a6b6c6d6e6f664a7868f1f3595995424d2cd04ea9664c76fe93353c07c5449545651ac3e14c',
  key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  additional_data: 'frank',
  mode: 0,
};
const FIXED_BOX0 = {
  status: 'Secretbox',
  payload: 'KCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/lNIfgJ8GciVCceTAl7ySOvTojgxkne3CakzTJKLsSQ==',
  key: '030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc',
  additional_data: 'grace',
  mode: 0,
};
const FIXED_BOX1 = {
  status: 'Secretbox',
  payload: 'RkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdWCMkERPJKO623kA1gUkCqseIT0znmbf4CleZQ5KB2g==',
  key: '05101b26313c47525d68737e89949faab5c0cbd6e1ecf7020d18232e39444f5a',
  additional_data: 'henry',
  mode: 1,
};
const MASTER = 'my-master-passphrase';
// Additional data of 1,500 bytes, past the 1,024 that Node's hkdfSync takes as info (Go's HKDF has
// no limit); its box key was derived with Python's hmac module, the box sealed with libsodium.
const FIXED_BOX_LONG_AD = {
  status: 'Secretbox',
  payload: 'UFFSU1RVVldYWVpbXF1eX2BhYmNkZWZn3nigiZytkq+Vq8AVPOCzuEFpjSqR3phknp6HUxQE',
  key: '0708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526',
  additional_data: 'ad-'.repeat(500),
  mode: 0,
};

describe('SFTPGo secrets', () => {
  test('Plain, empty and string values pass through', () => {
    expect(openSftpgoSecret({ status: 'Plain', payload: 'x' })).toEqual({ ok: true, value: 'x' });
    expect(openSftpgoSecret({})).toEqual({ ok: true, value: undefined });
    expect(openSftpgoSecret({ status: 'AES-256-GCM', payload: '' })).toEqual({ ok: true, value: undefined });
    expect(openSftpgoSecret('lit')).toEqual({ ok: true, value: 'lit' });
  });

  test('fixed vectors: AES-256-GCM, Secretbox mode 0, Secretbox mode 1 with the master key', () => {
    expect(openSftpgoSecret(FIXED_GCM)).toEqual({ ok: true, value: 'JBSWY3DPEHPK3PXP' });
    expect(openSftpgoSecret(FIXED_BOX0)).toEqual({ ok: true, value: 'grace-S3-secret' });
    expect(openSftpgoSecret(FIXED_BOX1, { masterKey: MASTER })).toEqual({ ok: true, value: 'henry-sftp-pass' });
  });

  test('fresh values sealed as SFTPGo does open, with and without additional data', () => {
    for (const ad of ['', 'bob', 'ünïcode']) {
      expect(openSftpgoSecret(sealAesGcm('s3cr3t-é', ad))).toEqual({ ok: true, value: 's3cr3t-é' });
      expect(openSftpgoSecret(sealSecretbox('s3cr3t-é', ad))).toEqual({ ok: true, value: 's3cr3t-é' });
      expect(openSftpgoSecret(sealSecretbox('s3cr3t-é', ad, 'pass phrase'), { masterKey: 'pass phrase' })).toEqual({ ok: true, value: 's3cr3t-é' });
    }
  });

  test('a Secretbox with additional data over 1,024 bytes opens', () => {
    expect(openSftpgoSecret(FIXED_BOX_LONG_AD)).toEqual({ ok: true, value: 'long-ad-secret' });
  });

  test('a payload, key or additional_data that is not text is refused with a reason, not thrown', () => {
    for (const field of ['payload', 'key', 'additional_data'])
      for (const base of [FIXED_GCM, FIXED_BOX0])
        for (const bad of [1234, true, ['x'], { a: 1 }])
          expect(openSftpgoSecret({ ...base, [field]: bad })).toEqual({ ok: false, reason: `secret: ${field} is not text` });
  });

  test('a mode-0 Secretbox ignores a given master key, as SFTPGo does when decrypting', () => {
    expect(openSftpgoSecret(FIXED_BOX0, { masterKey: MASTER })).toEqual({ ok: true, value: 'grace-S3-secret' });
  });

  test('tampering, a wrong additional_data and a wrong or missing master key are refused with a reason', () => {
    const tampered = { ...FIXED_GCM, payload: FIXED_GCM.payload.slice(0, -2) + '00' };
    expect(openSftpgoSecret(tampered)).toMatchObject({ ok: false, reason: expect.stringContaining('does not open') });
    expect(openSftpgoSecret({ ...FIXED_GCM, additional_data: 'other' })).toMatchObject({ ok: false });
    expect(openSftpgoSecret({ ...FIXED_BOX0, additional_data: 'other' })).toMatchObject({ ok: false });
    expect(openSftpgoSecret(FIXED_BOX1)).toMatchObject({ ok: false, reason: expect.stringContaining('master key') });
    expect(openSftpgoSecret(FIXED_BOX1, { masterKey: 'wrong' })).toMatchObject({ ok: false, reason: expect.stringContaining('wrong master key') });
    expect(openSftpgoSecret({ ...FIXED_GCM, key: 'zz' })).toMatchObject({ ok: false, reason: expect.stringContaining('hex') });
    expect(openSftpgoSecret({ ...FIXED_BOX0, payload: 'not base64!' })).toMatchObject({ ok: false });
  });

  test('cloud KMS and redacted secrets name why they cannot open', () => {
    for (const [status, name] of [['GCP', 'Google Cloud KMS'], ['AWS', 'AWS KMS'], ['VaultTransit', 'Vault'], ['AzureKeyVault', 'Azure Key Vault']])
      expect(openSftpgoSecret({ status, payload: 'abc', key: '' })).toMatchObject({ ok: false, reason: expect.stringContaining(name!) });
    expect(openSftpgoSecret({ status: 'Redacted', payload: '[**redacted**]' })).toMatchObject({ ok: false, reason: expect.stringContaining('redacted') });
    expect(openSftpgoSecret({ status: 'Weird', payload: 'x' })).toMatchObject({ ok: false, reason: expect.stringContaining('unknown') });
  });
});
