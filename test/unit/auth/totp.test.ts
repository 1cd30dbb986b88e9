// TOTP against the RFC 6238 appendix B vectors (SHA-1), the drift window, replay refusal and the
// FTP password+code split.
import { describe, expect, test } from 'bun:test';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import { base32Decode, hotp, matchingStep, splitPasswordAndCode, TotpCodes, totpRequired, totpStep } from '../../../src/auth/totp.ts';
import type { UserRecord } from '../../../src/model.ts';

// One server's memory of accepted codes, shared by the tests below as a server's logins would.
const codes = new TotpCodes();
const checkTotp = (u: UserRecord, code: string, secrets: typeof NO_SECRETS, ms?: number) => codes.check(u, code, secrets, ms);

const RFC_KEY = Buffer.from('12345678901234567890');
// RFC 6238 appendix B, SHA-1 column: time -> 8-digit TOTP.
const VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

// base32 of "12345678901234567890"
const RFC_KEY_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

function user(secret: string | undefined, protocols: ('SSH' | 'FTP' | 'HTTP')[] = ['SSH', 'FTP'], username = 'u'): UserRecord {
  return {
    username, status: 1, home_dir: '/tmp', permissions: { '/': ['*'] }, id: 1, created_at: 0, updated_at: 0, source: 'config',
    filters: { totp_config: { enabled: true, secret, protocols } },
  } as UserRecord;
}

describe('RFC 6238 vectors', () => {
  for (const [t, code] of VECTORS) {
    test(`T=${t}`, () => {
      expect(hotp(RFC_KEY, totpStep(t), 8)).toBe(code);
      expect(hotp(RFC_KEY, totpStep(t), 6)).toBe(code.slice(2));
    });
  }
  test('base32 secret decodes to the RFC key', () => {
    expect(base32Decode(RFC_KEY_B32)!.equals(RFC_KEY)).toBe(true);
    expect(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq')!.equals(RFC_KEY)).toBe(true);
    expect(base32Decode('not base32!')).toBeUndefined();
  });
});

describe('window and replay', () => {
  test('one step of drift either way, not two', () => {
    const t = 1234567890;
    const step = totpStep(t);
    expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step - 1), t)).toBe(step - 1);
    expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step + 1), t)).toBe(step + 1);
    expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step - 2), t)).toBeUndefined();
    expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step + 2), t)).toBeUndefined();
    expect(matchingStep(RFC_KEY, '12345', t)).toBeUndefined();
  });

  test('a code is accepted once; older codes after it are refused', () => {
    const u = user(RFC_KEY_B32, ['SSH'], 'replay');
    const ms = 1234567890_000;
    const code = hotp(RFC_KEY, totpStep(ms / 1000));
    expect(checkTotp(u, '000000', NO_SECRETS, ms)).toBe('totp_invalid');
    expect(checkTotp(u, code, NO_SECRETS, ms)).toBeUndefined();
    expect(checkTotp(u, code, NO_SECRETS, ms + 1000)).toBe('totp_replayed');
    expect(checkTotp(u, hotp(RFC_KEY, totpStep(ms / 1000) - 1), NO_SECRETS, ms)).toBe('totp_replayed');
    const next = hotp(RFC_KEY, totpStep(ms / 1000) + 1);
    expect(checkTotp(u, next, NO_SECRETS, ms + 30_000)).toBeUndefined();
  });

  test('secret from the environment; a bad secret refuses', () => {
    process.env.TOTP_TEST_SECRET = RFC_KEY_B32;
    const ms = 2000000000_000;
    expect(checkTotp(user({ env: 'TOTP_TEST_SECRET' } as never, ['SSH'], 'envuser'), hotp(RFC_KEY, totpStep(ms / 1000)), NO_SECRETS, ms)).toBeUndefined();
    expect(checkTotp(user('!!!', ['SSH'], 'bad'), '123456', NO_SECRETS, ms)).toBe('totp_secret_invalid');
    expect(checkTotp(user({ env: 'TOTP_TEST_UNSET' } as never, ['SSH'], 'bad2'), '123456', NO_SECRETS, ms)).toBe('totp_secret_invalid');
  });
});

describe('which logins need a code', () => {
  test('protocols and enabled', () => {
    expect(totpRequired(user(RFC_KEY_B32, ['SSH']), 'SSH')).toBe(true);
    expect(totpRequired(user(RFC_KEY_B32, ['SSH']), 'FTP')).toBe(false);
    const off = user(RFC_KEY_B32, ['SSH']);
    off.filters!.totp_config!.enabled = false;
    expect(totpRequired(off, 'SSH')).toBe(false);
    // Enabled without a secret: a code is required and none is ever right.
    expect(totpRequired(user(undefined, ['SSH']), 'SSH')).toBe(true);
    expect(checkTotp(user(undefined, ['SSH']), '123456', NO_SECRETS)).toBe('totp_not_configured');
  });
  test('FTP password and code are split only for users with TOTP for FTP', () => {
    expect(splitPasswordAndCode(user(RFC_KEY_B32, ['FTP']), 'FTP', 'secret123456')).toEqual({ password: 'secret', code: '123456' });
    expect(splitPasswordAndCode(user(RFC_KEY_B32, ['SSH']), 'FTP', 'secret123456')).toEqual({ password: 'secret123456' });
  });
});

describe('stored secret references', () => {
  test('a relative file reference is made absolute against the config directory, and read at login', async () => {
    const { desiredUser } = await import('../../../src/store/specs.ts');
    const { tempDir, removeTempDirs } = await import('../../support/tmp.ts');
    const { writeFileSync } = await import('node:fs');
    const dir = tempDir('totp-secret-');
    writeFileSync(`${dir}/totp.txt`, `${RFC_KEY_B32}\n`);
    const spec = desiredUser({ username: 'f', filters: { totp_config: { enabled: true, secret: { file: 'totp.txt' }, protocols: ['SSH'] } } } as never, '/homes', { baseDir: dir, secrets: NO_SECRETS }).spec;
    expect(spec.filters!.totp_config!.secret).toEqual({ file: `${dir}/totp.txt` });
    const ms = 1111111111_000;
    expect(checkTotp(spec as UserRecord, hotp(RFC_KEY, totpStep(ms / 1000)), NO_SECRETS, ms)).toBeUndefined();
    removeTempDirs();
  });
});
