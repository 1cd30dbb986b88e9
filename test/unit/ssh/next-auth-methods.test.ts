// Which methods may follow a public key: next_auth_methods less the combinations denied_login_methods
// forbids, and keyboard-interactive only where the server offers it.
import { expect, test } from 'bun:test';
import { nextAuthMethods, offeredMethods } from '../../../src/protocols/sftp/auth.ts';
import type { UserRecord } from '../../../src/model.ts';

const user = (filters: UserRecord['filters']): UserRecord => ({ username: 'u', status: 1, home_dir: '/', permissions: {}, id: 1, created_at: 0, updated_at: 0, source: 'config', filters } as UserRecord);

test('next methods', () => {
  const both = user({ next_auth_methods: ['password', 'keyboard-interactive'] });
  expect(nextAuthMethods(both, { passwordAuthentication: true, keyboardInteractive: true })).toEqual(['password', 'keyboard-interactive']);
  expect(nextAuthMethods(both, { passwordAuthentication: true })).toEqual(['password']);
  expect(nextAuthMethods(both, { passwordAuthentication: true, keyboardInteractiveHook: '/bin/hook' })).toEqual(['password', 'keyboard-interactive']);
  const denied = user({ next_auth_methods: ['password', 'keyboard-interactive'], denied_login_methods: ['publickey+password'] });
  expect(nextAuthMethods(denied, { passwordAuthentication: true, keyboardInteractive: true })).toEqual(['keyboard-interactive']);
  expect(nextAuthMethods(user({}), { passwordAuthentication: true })).toEqual([]);
});

test('offered methods follow the settings', () => {
  expect(offeredMethods({ passwordAuthentication: false })).toEqual(['publickey']);
  expect(offeredMethods({ passwordAuthentication: true, keyboardInteractive: true })).toEqual(['publickey', 'password', 'keyboard-interactive']);
});
