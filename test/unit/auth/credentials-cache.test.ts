// The verified-password cache: a hit needs the same name, the same password and the same stored
// hash; entries expire (fixed or sliding), the oldest or least recently used goes first when full,
// and new limits drop what was kept.
import { expect, setSystemTime, test, afterEach } from 'bun:test';
import { CredentialsCache, verifyCached } from '../../../src/auth/credentials-cache.ts';
import { hashPassword } from '../../../src/auth/passwords.ts';

afterEach(() => setSystemTime());

test('a hit needs the name, the password and the stored hash it verified against', () => {
  const c = new CredentialsCache({ ttlMs: 60_000, maxSize: 10 });
  c.add('u', 'pw-1', 'HASH-A');
  expect(c.has('u', 'pw-1', 'HASH-A')).toBe(true);
  expect(c.has('u', 'pw-2', 'HASH-A')).toBe(false);
  expect(c.has('v', 'pw-1', 'HASH-A')).toBe(false);
  // A wrong password leaves the entry alone.
  expect(c.has('u', 'pw-1', 'HASH-A')).toBe(true);
  // Another stored hash (the password was changed) drops it.
  expect(c.has('u', 'pw-1', 'HASH-B')).toBe(false);
  expect(c.has('u', 'pw-1', 'HASH-A')).toBe(false);
  expect(c.size).toBe(0);
});

test('fixed entries expire after the time from the login; sliding ones after the time from the last hit', () => {
  const start = new Date('2026-12-04T00:00:00Z').getTime();
  setSystemTime(start);
  const fixed = new CredentialsCache({ ttlMs: 60_000, maxSize: 10 });
  const sliding = new CredentialsCache({ ttlMs: 60_000, maxSize: 10, sliding: true });
  for (const c of [fixed, sliding]) c.add('u', 'pw', 'H');
  setSystemTime(start + 50_000);
  expect(fixed.has('u', 'pw', 'H')).toBe(true);
  expect(sliding.has('u', 'pw', 'H')).toBe(true);
  setSystemTime(start + 100_000);
  expect(fixed.has('u', 'pw', 'H')).toBe(false);
  expect(sliding.has('u', 'pw', 'H')).toBe(true);
  setSystemTime(start + 161_000);
  expect(sliding.has('u', 'pw', 'H')).toBe(false);
});

test('when full the oldest entry goes, or with sliding the least recently used', () => {
  const fixed = new CredentialsCache({ ttlMs: 60_000, maxSize: 2 });
  const sliding = new CredentialsCache({ ttlMs: 60_000, maxSize: 2, sliding: true });
  for (const c of [fixed, sliding]) {
    c.add('a', 'pw', 'H');
    c.add('b', 'pw', 'H');
    expect(c.has('a', 'pw', 'H')).toBe(true);
    c.add('c', 'pw', 'H');
  }
  expect([fixed.has('a', 'pw', 'H'), fixed.has('b', 'pw', 'H'), fixed.has('c', 'pw', 'H')]).toEqual([false, true, true]);
  expect([sliding.has('a', 'pw', 'H'), sliding.has('b', 'pw', 'H'), sliding.has('c', 'pw', 'H')]).toEqual([true, false, true]);
});

test('new limits drop the entries; the same limits keep them; size 0 keeps nothing', () => {
  const c = new CredentialsCache({ ttlMs: 60_000, maxSize: 5 });
  c.add('a', 'pw', 'H');
  c.configure({ ttlMs: 60_000, maxSize: 5 });
  expect(c.has('a', 'pw', 'H')).toBe(true);
  c.configure({ ttlMs: 60_000, maxSize: 6 });
  expect(c.has('a', 'pw', 'H')).toBe(false);
  c.configure({ ttlMs: 60_000, maxSize: 0 });
  c.add('a', 'pw', 'H');
  expect(c.size).toBe(0);
});

test('verifyCached checks the hash on a miss, keeps only a success, and works without a cache', async () => {
  const hash = await hashPassword('right-pw', { bcryptCost: 4 });
  const c = new CredentialsCache({ ttlMs: 60_000, maxSize: 5 });
  expect(await verifyCached(c, 'user:u', 'wrong-pw', hash)).toBe(false);
  expect(c.size).toBe(0);
  expect(await verifyCached(c, 'user:u', 'right-pw', hash)).toBe(true);
  expect(c.has('user:u', 'right-pw', hash)).toBe(true);
  expect(await verifyCached(c, 'user:u', 'wrong-pw', hash)).toBe(false);
  expect(await verifyCached(undefined, 'user:u', 'right-pw', hash)).toBe(true);
  expect(await verifyCached(undefined, 'user:u', 'right-pw', 'not a hash')).toBe(false);
});
