// Users' last login on a real (LMDB) store: SFTPGo's rule for when it is written (older than the
// delay, or the user changed since, or stamped in the future), one write for a burst of logins,
// nothing for a user that is gone, and the delete that takes it along.
import { afterEach, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../src/config/sealed.ts';
import { LAST_LOGIN_MIN_DELAY_MS, LastLogins, lastLoginDue } from '../../../src/core/last-login.ts';
import type { Log } from '../../../src/log.ts';
import type { UserRecord } from '../../../src/model.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import { hashingOptions, Records } from '../../../src/store/records.ts';
import { META, type Store } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  removeTempDirs();
});

interface Setup {
  store: Store;
  records: Records;
  clock: { now: number };
  logged: { event: string; fields?: Record<string, unknown> }[];
  user(): Promise<UserRecord>;
  stored(): Promise<unknown>;
  logins(opts?: { minDelayMs?: number; externalAuthCacheMs?: number }): LastLogins;
}

async function setup(): Promise<Setup> {
  const store = openLmdbStore(tempDir('last-login-'));
  opened.push(store);
  await migrateUp(store);
  const clock = { now: 1_000_000 };
  const records = new Records({ store, secrets: new SecretBox(randomBytes(32)), hashing: hashingOptions({ bcrypt_options: { cost: 4 } }), now: () => clock.now });
  await records.write((tx) => tx.put('user', 'alice', { username: 'alice', home_dir: '/h' }, { source: 'runtime' }));
  const logged: Setup['logged'] = [];
  const log: Log = (_level, event, fields) => void logged.push({ event, ...(fields ? { fields } : {}) });
  return {
    store,
    records,
    clock,
    logged,
    user: async () => (await store.get('users', 'alice')) as unknown as UserRecord,
    stored: () => store.get('meta', META.userLastLogin('alice')),
    logins: (opts = {}) =>
      new LastLogins({ store, log, now: () => clock.now, ...(opts.minDelayMs !== undefined ? { minDelayMs: opts.minDelayMs } : {}), externalAuthCacheMs: () => opts.externalAuthCacheMs ?? 0 }),
  };
}

describe('lastLoginDue', () => {
  const base = { updatedAt: 100, now: 1_000_000, delayMs: 60_000 };
  test('never logged in, or changed since the last login: due', () => {
    expect(lastLoginDue({ ...base, last: 0 })).toBe(true);
    expect(lastLoginDue({ ...base, updatedAt: 999_000, last: 999_000 })).toBe(true);
  });
  test('recent: not due; as old as the delay: due', () => {
    expect(lastLoginDue({ ...base, last: base.now - 59_999 })).toBe(false);
    expect(lastLoginDue({ ...base, last: base.now - 60_000 })).toBe(true);
  });
  test('a little in the future is recent; more than ten seconds is not', () => {
    expect(lastLoginDue({ ...base, last: base.now + 10_000 })).toBe(false);
    expect(lastLoginDue({ ...base, last: base.now + 10_001 })).toBe(true);
  });
  test('the default delay is SFTPGo\'s ten minutes', () => {
    expect(LAST_LOGIN_MIN_DELAY_MS).toBe(600_000);
  });
});

describe('LastLogins', () => {
  test('the first login is written, a recent one is not, one past the delay is', async () => {
    const s = await setup();
    const logins = s.logins({ minDelayMs: 5_000 });
    s.clock.now += 1;
    await logins.record(await s.user());
    expect(await s.stored()).toBe(1_000_001);
    s.clock.now += 4_000;
    await logins.record(await s.user());
    expect(await s.stored()).toBe(1_000_001);
    s.clock.now += 1_000;
    await logins.record(await s.user());
    expect(await s.stored()).toBe(1_005_001);
  });

  test('a user changed since its last login is written again at once', async () => {
    const s = await setup();
    const logins = s.logins();
    s.clock.now += 1;
    await logins.record(await s.user());
    s.clock.now += 1_000;
    await s.records.write((tx) => tx.put('user', 'alice', { username: 'alice', home_dir: '/h2' }, { source: 'runtime' }));
    s.clock.now += 1_000;
    await logins.record(await s.user());
    expect(await s.stored()).toBe(1_002_001);
  });

  test('a burst of logins writes once', async () => {
    const s = await setup();
    const logins = s.logins();
    const user = await s.user();
    let commits = 0;
    const stop = s.store.subscribe('meta', () => commits++);
    s.clock.now += 1;
    await Promise.all(Array.from({ length: 10 }, () => logins.record(user)));
    await logins.record(user);
    stop();
    expect(commits).toBe(1);
    expect(await s.stored()).toBe(1_000_001);
  });

  test('the external auth cache time replaces the delay for a user the cache vouches for', async () => {
    const s = await setup();
    const logins = s.logins({ externalAuthCacheMs: 2_000 });
    const cached = { ...(await s.user()), external_auth_cached_until: s.clock.now + 60_000 } as UserRecord;
    s.clock.now += 1;
    await logins.record(cached);
    s.clock.now += 2_000;
    await logins.record(cached);
    expect(await s.stored()).toBe(1_002_001);
    // Without the cache mark the ten minutes hold.
    s.clock.now += 2_000;
    await logins.record(await s.user());
    expect(await s.stored()).toBe(1_002_001);
  });

  test('a user deleted before the write leaves nothing behind; a delete takes the last login along', async () => {
    const s = await setup();
    const logins = s.logins();
    const user = await s.user();
    s.clock.now += 1;
    await logins.record(user);
    expect(await s.stored()).toBe(1_000_001);
    await s.records.write((tx) => tx.delete('user', 'alice'));
    expect(await s.stored()).toBeUndefined();
    s.clock.now += 1;
    await logins.record(user);
    expect(await s.stored()).toBeUndefined();
  });

  test('a failed write is logged, not thrown', async () => {
    const s = await setup();
    const logins = s.logins();
    const user = await s.user();
    await s.store.close();
    opened.splice(opened.indexOf(s.store), 1);
    await logins.record(user);
    expect(s.logged.map((l) => l.event)).toContain('user_last_login_failed');
  });
});
