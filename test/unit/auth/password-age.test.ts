// The password-age rules every protocol's password login applies (auth/password-age.ts).
import { describe, expect, test } from 'bun:test';
import { passwordChangeDue, passwordChangeMessage } from '../../../src/auth/password-age.ts';
import type { UserRecord } from '../../../src/model.ts';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

function user(extra: Partial<UserRecord>): UserRecord {
  return { username: 'u', status: 1, home_dir: '/h', permissions: { '/': ['*'] }, id: 1, created_at: 0, updated_at: NOW - DAY, source: 'config', ...extra };
}

describe('passwordChangeDue', () => {
  test('password_expiration counts days from last_password_change; 0 or absent never expires', () => {
    expect(passwordChangeDue(user({ last_password_change: NOW - 400 * DAY }), NOW)).toBeUndefined();
    expect(passwordChangeDue(user({ last_password_change: NOW - 400 * DAY, filters: { password_expiration: 0 } }), NOW)).toBeUndefined();
    expect(passwordChangeDue(user({ last_password_change: NOW - 30 * DAY + 1, filters: { password_expiration: 30 } }), NOW)).toBeUndefined();
    expect(passwordChangeDue(user({ last_password_change: NOW - 30 * DAY, filters: { password_expiration: 30 } }), NOW)).toBeUndefined();
    expect(passwordChangeDue(user({ last_password_change: NOW - 30 * DAY - 1, filters: { password_expiration: 30 } }), NOW)).toBe('password_expired');
  });

  test('a record without last_password_change counts from its last update', () => {
    expect(passwordChangeDue(user({ updated_at: NOW - 2 * DAY, filters: { password_expiration: 1 } }), NOW)).toBe('password_expired');
    expect(passwordChangeDue(user({ updated_at: NOW - DAY / 2, filters: { password_expiration: 1 } }), NOW)).toBeUndefined();
  });

  test('require_password_change refuses whatever the age', () => {
    expect(passwordChangeDue(user({ last_password_change: NOW, filters: { require_password_change: true } }), NOW)).toBe('password_change_required');
    expect(passwordChangeDue(user({ last_password_change: NOW, filters: { require_password_change: false } }), NOW)).toBeUndefined();
  });

  test('only these two reasons have a message for the client', () => {
    expect(passwordChangeMessage('password_expired')).toBe('Login not allowed, password expired');
    expect(passwordChangeMessage('password_change_required')).toBe('Login not allowed, password change required');
    expect(passwordChangeMessage('invalid_credentials')).toBeUndefined();
    expect(passwordChangeMessage('toString')).toBeUndefined();
    expect(passwordChangeMessage(undefined)).toBeUndefined();
  });
});
