// The pieces of the login hooks that decide without a server: scopes, per-user filters, answer
// parsing, the user JSON hooks see, and the post-login scope (run against real tiny scripts).
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../src/config/load.ts';
import { externalAuthApplies } from '../../../src/auth/external.ts';
import { checkPasswordApplies, hookUser, notifyLogin, parseHookJson, preLoginApplies, runCheckPassword } from '../../../src/auth/login-hooks.ts';
import type { LoginAttempt } from '../../../src/auth/login.ts';
import type { UserRecord } from '../../../src/model.ts';
import { runHook } from '../../../src/core/hooks.ts';
import { createLog } from '../../../src/log.ts';

const log = createLog();
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { startReceiver, writeScript } from '../../integration/hooks/harness.ts';

afterAll(removeTempDirs);

const user = (extra: Partial<UserRecord> = {}): UserRecord =>
  ({ username: 'u', status: 1, home_dir: '/h', permissions: { '/': ['*'] }, id: 1, created_at: 0, updated_at: 0, source: 'runtime', ...extra }) as UserRecord;
const attempt: LoginAttempt = { protocol: 'FTP', ip: '192.0.2.1', username: 'u', method: 'password' };

describe('scopes and filters', () => {
  test('external_auth_scope is a bitmask of methods; 0 means all', () => {
    const cfg = (scope?: number): Config => ({ data_provider: { external_auth_hook: '/bin/true', ...(scope === undefined ? {} : { external_auth_scope: scope }) } });
    expect(externalAuthApplies(cfg(), 'publickey')).toBe(true);
    expect(externalAuthApplies(cfg(0), 'keyboard-interactive')).toBe(true);
    expect(externalAuthApplies(cfg(1), 'password')).toBe(true);
    expect(externalAuthApplies(cfg(1), 'publickey')).toBe(false);
    expect(externalAuthApplies(cfg(2), 'publickey')).toBe(true);
    expect(externalAuthApplies(cfg(6), 'keyboard-interactive')).toBe(true);
    expect(externalAuthApplies(cfg(7), 'TLSCertificate')).toBe(false);
    expect(externalAuthApplies(cfg(8), 'TLSCertificate')).toBe(true);
    expect(externalAuthApplies({}, 'password')).toBe(false);
  });

  test('check_password_scope is a bitmask of protocols; the user filter turns it off', () => {
    const cfg = (scope: number): Config => ({ data_provider: { check_password_hook: '/bin/true', check_password_scope: scope } });
    expect(checkPasswordApplies(cfg(0), user(), 'DAV')).toBe(true);
    expect(checkPasswordApplies(cfg(1), user(), 'SSH')).toBe(true);
    expect(checkPasswordApplies(cfg(1), user(), 'FTP')).toBe(false);
    expect(checkPasswordApplies(cfg(6), user(), 'DAV')).toBe(true);
    expect(checkPasswordApplies(cfg(6), user(), 'HTTP')).toBe(false);
    expect(checkPasswordApplies(cfg(0), user({ filters: { hooks: { check_password_disabled: true } } }), 'FTP')).toBe(false);
  });

  test('pre_login_disabled skips the pre-login hook; unknown users always get it', () => {
    const cfg: Config = { data_provider: { pre_login_hook: '/bin/true' } };
    expect(preLoginApplies(cfg, undefined)).toBe(true);
    expect(preLoginApplies(cfg, user())).toBe(true);
    expect(preLoginApplies(cfg, user({ filters: { hooks: { pre_login_disabled: true } } }))).toBe(false);
    expect(preLoginApplies({}, user())).toBe(false);
  });
});

describe('answers', () => {
  test('hook output: empty means "no answer", a JSON object is an answer, anything else is garbage', () => {
    expect(parseHookJson('')).toBeUndefined();
    expect(parseHookJson(' \n')).toBeUndefined();
    expect(parseHookJson('{"username":"a"}\n')).toEqual({ username: 'a' });
    expect(parseHookJson('[1]')).toBe('garbage');
    expect(parseHookJson('null')).toBe('garbage');
    expect(parseHookJson('ok')).toBe('garbage');
  });

  test('hooks never see the password hash or its digest', () => {
    const seen = hookUser(user({ password: '$2b$10$abc', password_digest: 'd' }))!;
    expect(seen).not.toHaveProperty('password');
    expect(seen).not.toHaveProperty('password_digest');
    expect(seen.username).toBe('u');
  });

  test('check password: a malformed answer denies like status 0', async () => {
    const dir = tempDir();
    const cases: [string, unknown][] = [
      ['echo \'{"status":1}\'', { status: 1 }],
      ['echo \'{"status":2,"to_verify":"abc"}\'', { status: 2, toVerify: 'abc' }],
      ['echo \'{"status":2}\'', { status: 0, reason: 'check_password_hook_invalid' }],
      ['echo \'{"status":7}\'', { status: 0, reason: 'check_password_hook_invalid' }],
      ['echo \'{"status":1}\'; exit 1', { status: 0, reason: 'check_password_hook_failed' }],
      ['echo "$SFTPGO_AUTHD_PASSWORD" | grep -q "^pw$" && echo \'{"status":1}\' || echo \'{"status":0}\'', { status: 1 }],
    ];
    for (const [i, [body, want]] of cases.entries()) {
      const hook = writeScript(dir, `cp${i}.sh`, body);
      expect(await runCheckPassword({ data_provider: { check_password_hook: hook } }, attempt, 'pw', log)).toEqual(want as never);
    }
  });
});

describe('post_login_scope', () => {
  async function notified(scope: 0 | 1 | 2, ok: boolean): Promise<boolean> {
    const dir = tempDir();
    const out = join(dir, 'out');
    const hook = writeScript(dir, 'post.sh', `echo "$SFTPGO_LOGIND_STATUS $SFTPGO_LOGIND_METHOD" > '${out}.tmp' && mv '${out}.tmp' '${out}'`);
    notifyLogin({ data_provider: { post_login_hook: hook, post_login_scope: scope } }, attempt, user(), ok, log);
    // The run is in the background: give it a second (a script like this one takes milliseconds).
    for (let i = 0; i < 50 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 20));
    if (!existsSync(out)) return false;
    expect(readFileSync(out, 'utf8').trim()).toBe(`${ok ? 1 : 0} password`);
    return true;
  }

  test('0 notifies both, 1 only failures, 2 only successes', async () => {
    expect(await notified(0, true)).toBe(true);
    expect(await notified(0, false)).toBe(true);
    expect(await notified(1, false)).toBe(true);
    expect(await notified(1, true)).toBe(false);
    expect(await notified(2, true)).toBe(true);
    expect(await notified(2, false)).toBe(false);
  });
});

describe('HTTP hooks', () => {
  test('GET hooks send no body and carry their fields in the query', async () => {
    const rx = await startReceiver(() => ({ status: 204 }));
    try {
      const r = await runHook(`${rx.url}/connect`, { name: 't', method: 'GET', query: { ip: '192.0.2.1', protocol: 'SSH' }, log });
      expect(r).toMatchObject({ ok: true, kind: 'http', status: 204 });
      expect(rx.requests[0]).toMatchObject({ method: 'GET', path: '/connect', query: { ip: '192.0.2.1', protocol: 'SSH' } });
      expect(rx.requests[0]!.body).toBeUndefined();
    } finally {
      await rx.close();
    }
  });
});
