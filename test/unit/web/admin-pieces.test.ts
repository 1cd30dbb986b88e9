// The web admin's pure parts: sessions (idle expiry, tokens), the user form turned into an API
// body, where each field of a user comes from, and which paths a binding serves.
import { describe, expect, test } from 'bun:test';
import { sameToken, WebSessions } from '../../../src/web/sessions.ts';
import { userBody, valuesOf } from '../../../src/web/admin/user-form.ts';
import { fieldOrigin, recordSource, shownFields } from '../../../src/web/admin/origins.ts';
import { bindingServes, servesPath } from '../../../src/api/service.ts';

describe('web sessions', () => {
  test('a session lives while used and ends when idle past its validity or closed', async () => {
    let now = 1_000;
    const sessions = new WebSessions({ idleMs: 100, now: () => now });
    const s = await sessions.open('root');
    expect(s.csrf).not.toBe(s.id);
    now += 90;
    expect((await sessions.find(s.id))?.username).toBe('root');
    now += 90; // 180 since open, 90 since last use
    expect(await sessions.find(s.id)).toBeDefined();
    now += 101;
    expect(await sessions.find(s.id)).toBeUndefined();
    const t = await sessions.open('root');
    await sessions.close(t.id);
    expect(await sessions.find(t.id)).toBeUndefined();
    expect(await sessions.find(undefined)).toBeUndefined();
    expect(await sessions.find('made-up')).toBeUndefined();
  });

  test('opening a session forgets the expired ones', async () => {
    let now = 0;
    const sessions = new WebSessions({ idleMs: 10, now: () => now });
    const a = await sessions.open('a');
    await sessions.open('b');
    now = 50;
    await sessions.open('c');
    // Back within a's validity, it is still gone: the sweep removed it.
    now = 5;
    expect(await sessions.find(a.id)).toBeUndefined();
  });

  test('tokens compare only when both are present and equal', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abd')).toBe(false);
    expect(sameToken('abc', 'abcd')).toBe(false);
    expect(sameToken(undefined, 'abc')).toBe(false);
    expect(sameToken('', '')).toBe(false);
  });
});

describe('user form', () => {
  test('a new user: the common fields, numbers parsed, keys one per line, empty home left out', () => {
    const { body, errors } = userBody({ username: 'bob', password: 'pw', home_dir: '', permissions: ['list', 'download'], status: '1', quota_size: '10', quota_files: '', public_keys: 'ssh-ed25519 AAA a\r\n\n ssh-ed25519 BBB b ' });
    expect(errors).toEqual([]);
    expect(body).toEqual({ username: 'bob', password: 'pw', permissions: { '/': ['list', 'download'] }, status: 1, quota_size: 10, quota_files: 0, public_keys: ['ssh-ed25519 AAA a', 'ssh-ed25519 BBB b'] });
  });

  test('an unchecked status box disables; a non-number is refused by name', () => {
    const { body, errors } = userBody({ username: 'bob', quota_files: '1.5' });
    expect(body.status).toBe(0);
    expect(errors).toEqual(['quota_files: must be a whole number']);
  });

  test('an edit keeps what the form does not show and the stored password when left empty', () => {
    const current = { username: 'alice', status: 1, home_dir: '/h', permissions: { '/': ['*'], '/in': ['upload'] }, quota_size: 0, quota_files: 0, filters: { max_upload_file_size: 5 }, has_password: true };
    const values = valuesOf(current);
    expect(values).toMatchObject({ username: 'alice', permissions: ['*'], enabled: true, quota_files: '0' });
    const { body } = userBody({ username: 'ignored', password: '', home_dir: '/h', permissions: ['list'], status: '1', quota_files: '3' }, current);
    expect(body).toMatchObject({ username: 'alice', permissions: { '/': ['list'], '/in': ['upload'] }, quota_files: 3, filters: { max_upload_file_size: 5 } });
    expect('password' in body).toBe(false);
    expect(current.permissions['/']).toEqual(['*']); // the rendered record is not changed
  });
});

describe('field origins', () => {
  const yamlUser = { username: 'alice', source: 'config', status: 0, quota_files: 3, last_login: 5, overrides: { fields: { status: 0, password: '[**redacted**]', max_sessions: null }, updated_at: 7, updated_by: 'root' } };

  test('a YAML user: overridden fields name who and when, the rest are from the YAML, usage is server state', () => {
    expect(recordSource(yamlUser)).toBe('override');
    expect(fieldOrigin(yamlUser, 'status')).toEqual({ kind: 'override', by: 'root', at: 7 });
    expect(fieldOrigin(yamlUser, 'has_password')).toEqual({ kind: 'override', by: 'root', at: 7 });
    expect(fieldOrigin(yamlUser, 'quota_files')).toEqual({ kind: 'yaml' });
    expect(fieldOrigin(yamlUser, 'last_login')).toEqual({ kind: 'state' });
    // A field the override cleared is still listed; the definition comes before the state.
    expect(shownFields(yamlUser)).toEqual(['max_sessions', 'quota_files', 'status', 'last_login', 'source']);
  });

  test('a runtime user is all runtime record; a YAML user without override is YAML', () => {
    expect(recordSource({ source: 'runtime' })).toBe('api');
    expect(fieldOrigin({ source: 'runtime', status: 1 }, 'status')).toEqual({ kind: 'runtime' });
    expect(recordSource({ source: 'config' })).toBe('yaml');
  });
});

describe('binding paths', () => {
  test('enable_rest_api, enable_web_admin and enable_web_client default on, and each switches its prefix only', () => {
    expect(bindingServes({})).toEqual({ restApi: true, webAdmin: true, webClient: true });
    const webOnly = bindingServes({ enable_rest_api: false });
    expect(servesPath(webOnly, '/api/v2/users')).toBe(false);
    expect(servesPath(webOnly, '/api/v2')).toBe(false);
    expect(servesPath(webOnly, '/web/admin/login')).toBe(true);
    expect(servesPath(webOnly, '/healthz')).toBe(true);
    const apiOnly = bindingServes({ enable_web_admin: false });
    expect(servesPath(apiOnly, '/web/admin')).toBe(false);
    expect(servesPath(apiOnly, '/web/administrator')).toBe(true); // not the prefix: the app answers 404 itself
    expect(servesPath(apiOnly, '/api/v2/token')).toBe(true);
    expect(servesPath(apiOnly, '/web/client/files')).toBe(true);
    const noClient = bindingServes({ enable_web_client: false });
    expect(servesPath(noClient, '/web/client')).toBe(false);
    expect(servesPath(noClient, '/web/client/login')).toBe(false);
    expect(servesPath(noClient, '/web/admin/login')).toBe(true);
    expect(servesPath(noClient, '/web/client/pubshares/abc')).toBe(false);
  });
});
