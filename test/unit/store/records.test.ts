// The records layer on a real (LMDB) store: metadata and usage rows on every write, passwords
// hashed only when they change, deletes that take the usage row and override along, and API edits
// that change a runtime record in place but turn into an override on a config-declared one.
import { afterEach, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../src/config/sealed.ts';
import { hashingOptions, Records } from '../../../src/store/records.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import type { Store } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  removeTempDirs();
});

async function setup(): Promise<{ records: Records; store: Store; clock: { now: number } }> {
  const store = openLmdbStore(tempDir('records-'));
  opened.push(store);
  await migrateUp(store);
  const clock = { now: 1000 };
  const secrets = new SecretBox(randomBytes(32));
  return { store, clock, records: new Records({ store, secrets, hashing: hashingOptions({ bcrypt_options: { cost: 4 } }), now: () => clock.now }) };
}

describe('Records', () => {
  test('put gives ids, times and source, keeps them on rewrite, and starts a usage row once', async () => {
    const { records, store, clock } = await setup();
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice', home_dir: '/h' }, { source: 'config' }));
    await records.write((tx) => tx.put('folder', 'team', { name: 'team' }, { source: 'runtime' }));
    await records.write((tx) => tx.put('admin', 'root', { username: 'root' }, { source: 'config' }));
    expect(await store.get('users', 'alice')).toMatchObject({ id: 1, created_at: 1000, updated_at: 1000, source: 'config' });
    expect(await store.get('folders', 'team')).toMatchObject({ id: 1, source: 'runtime' });
    expect(await store.get('usage', 'user:alice')).toEqual({ used_quota_size: 0, used_quota_files: 0, last_quota_update: 0, used_upload_data_transfer: 0, used_download_data_transfer: 0 });
    expect(await store.get('usage', 'folder:team')).toBeDefined();
    expect(await store.count('usage')).toBe(2);

    await store.write((tx) => tx.put('usage', 'user:alice', { used_quota_size: 5, used_quota_files: 1, last_quota_update: 9, used_upload_data_transfer: 0, used_download_data_transfer: 0 }));
    clock.now = 2000;
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice', home_dir: '/h2' }, { source: 'config' }));
    expect(await store.get('users', 'alice')).toMatchObject({ id: 1, created_at: 1000, updated_at: 2000, home_dir: '/h2' });
    expect((await store.get('usage', 'user:alice'))!.used_quota_size).toBe(5);
    await records.write((tx) => tx.put('user', 'bob', { username: 'bob', home_dir: '/b' }, { source: 'runtime' }));
    expect((await store.get('users', 'bob'))!.id).toBe(2);
  });

  test('a password is hashed only when it changed; absent keeps it, null removes it', async () => {
    const { records, store } = await setup();
    const first = await records.storedPassword('s3cret');
    expect(first.password).toStartWith('$2');
    expect(await records.storedPassword('s3cret', first)).toEqual(first);
    const other = await records.storedPassword('other', first);
    expect(other.password).not.toBe(first.password);
    expect(other.password_digest).not.toBe(first.password_digest);

    await records.write((tx) => tx.put('user', 'alice', { username: 'alice', password: 'ignored' }, { source: 'runtime', password: first }));
    expect(await store.get('users', 'alice')).toMatchObject({ password: first.password, password_digest: first.password_digest });
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice', quota_size: 1 }, { source: 'runtime' }));
    expect(await store.get('users', 'alice')).toMatchObject({ password: first.password, password_digest: first.password_digest, quota_size: 1 });
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice' }, { source: 'runtime', password: null }));
    const cleared = (await store.get('users', 'alice'))!;
    expect(cleared.password).toBeUndefined();
    expect(cleared.password_digest).toBeUndefined();
  });

  test('delete takes the usage row and the override along', async () => {
    const { records, store } = await setup();
    await records.write(async (tx) => {
      await tx.put('user', 'alice', { username: 'alice', quota_size: 1 }, { source: 'config' });
      await tx.setOverride('user', 'alice', { quota_size: 2 }, 'root');
    });
    expect((await records.effectiveUser('alice'))!.quota_size).toBe(2);
    expect(await records.write((tx) => tx.delete('user', 'alice'))).toBe(true);
    expect(await records.write((tx) => tx.delete('user', 'alice'))).toBe(false);
    expect(await store.count('users')).toBe(0);
    expect(await store.count('usage')).toBe(0);
    expect(await store.count('overrides')).toBe(0);
  });

  test('an edit changes a runtime record in place and a config record through its override', async () => {
    const { records, store, clock } = await setup();
    await records.write(async (tx) => {
      await tx.put('user', 'run', { username: 'run', quota_size: 1, description: 'd' }, { source: 'runtime' });
      await tx.put('user', 'cfg', { username: 'cfg', quota_size: 1 }, { source: 'config' });
    });
    clock.now = 5000;
    const edited = await records.write((tx) => tx.edit('user', 'run', { fields: { quota_size: 3 }, cleared: ['description'], by: 'root', expectUpdatedAt: 1000 }));
    expect(edited).toBe('updated');
    const run = (await store.get('users', 'run'))!;
    expect(run.quota_size).toBe(3);
    expect(run.description).toBeUndefined();
    expect(run.updated_at).toBe(5000);

    expect(await records.write((tx) => tx.edit('user', 'cfg', { fields: { quota_size: 7 }, cleared: [], by: 'root' }))).toBe('override_set');
    expect((await store.get('users', 'cfg'))!.quota_size).toBe(1);
    expect((await records.effectiveUser('cfg'))!.quota_size).toBe(7);
    expect(await store.get('overrides', 'user:cfg')).toMatchObject({ fields: { quota_size: 7 }, updated_by: 'root', updated_at: 5000 });
    expect(await records.write((tx) => tx.edit('user', 'cfg', { fields: { quota_size: 1 }, cleared: [], by: 'root' }))).toBe('override_dropped');
    expect(await store.count('overrides')).toBe(0);

    await expect(records.write((tx) => tx.edit('user', 'run', { fields: { quota_size: 4 }, cleared: [], by: 'root', expectUpdatedAt: 1000 }))).rejects.toThrow(/changed during the update/);
    expect((await store.get('users', 'run'))!.quota_size).toBe(3);
  });

  test("a user's last_password_change: stamped when the hash changes, kept otherwise, and carried by an override", async () => {
    const { records, store, clock } = await setup();
    const first = await records.storedPassword('first-pw');
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice' }, { source: 'runtime', password: first }));
    expect((await store.get('users', 'alice'))!.last_password_change).toBe(1000);
    clock.now = 2000;
    // A rewrite that keeps the password (absent, or the same hash) keeps its age.
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice', quota_size: 1, last_password_change: 1 }, { source: 'runtime' }));
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice', quota_size: 2 }, { source: 'runtime', password: first }));
    expect((await store.get('users', 'alice'))!.last_password_change).toBe(1000);
    clock.now = 3000;
    const second = await records.storedPassword('second-pw');
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice' }, { source: 'runtime', password: second }));
    expect((await store.get('users', 'alice'))!.last_password_change).toBe(3000);
    // An import says when the password was set; no password, no age.
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice' }, { source: 'runtime', password: second, passwordChangedAt: 42 }));
    expect((await store.get('users', 'alice'))!.last_password_change).toBe(42);
    await records.write((tx) => tx.put('user', 'alice', { username: 'alice' }, { source: 'runtime', password: null }));
    expect((await store.get('users', 'alice'))!.last_password_change).toBeUndefined();
    // A record from before the field existed counts from its last update.
    await store.write((tx) => tx.put('users', 'old', { username: 'old', password: first.password, id: 9, created_at: 100, updated_at: 500, source: 'runtime' } as never));
    clock.now = 4000;
    await records.write((tx) => tx.put('user', 'old', { username: 'old', quota_size: 1 }, { source: 'runtime' }));
    expect((await store.get('users', 'old'))!.last_password_change).toBe(500);

    // API edits: in place for a runtime record, in the override for a config one.
    clock.now = 5000;
    await records.write((tx) => tx.edit('user', 'alice', { fields: { password: first.password }, cleared: [], by: 'root' }));
    expect((await store.get('users', 'alice'))!.last_password_change).toBe(5000);
    await records.write((tx) => tx.edit('user', 'alice', { fields: {}, cleared: ['password', 'password_digest'], by: 'root' }));
    expect((await store.get('users', 'alice'))!.last_password_change).toBeUndefined();
    await records.write((tx) => tx.put('user', 'cfg', { username: 'cfg' }, { source: 'config', password: first }));
    clock.now = 6000;
    await records.write((tx) => tx.edit('user', 'cfg', { fields: { password: second.password }, cleared: [], by: 'root' }));
    expect((await store.get('users', 'cfg'))!.last_password_change).toBe(5000);
    expect((await records.effectiveUser('cfg'))!.last_password_change).toBe(6000);
    expect((await store.get('overrides', 'user:cfg'))!.fields).toMatchObject({ password: second.password, last_password_change: 6000 });
  });

  test("a role admin's edit is checked against the user's role inside the write, override included", async () => {
    const { records, store } = await setup();
    await records.write((tx) => tx.put('user', 'ann', { username: 'ann', home_dir: '/h', role: 'east' }, { source: 'config' }));
    const base = (await store.get('users', 'ann'))!.updated_at;
    // Of the role: the edit goes through.
    expect(await records.write((tx) => tx.edit('user', 'ann', { fields: { quota_size: 1 }, cleared: [], by: 'east-admin', expectUpdatedAt: base, onlyRole: 'east' }))).toBe('override_set');
    // A global admin moves ann to another role through an override; the east admin's next write is refused as not found.
    await records.write((tx) => tx.edit('user', 'ann', { fields: { role: 'west' }, cleared: [], by: 'root' }));
    const edit = records.write((tx) => tx.edit('user', 'ann', { fields: { quota_size: 2 }, cleared: [], by: 'east-admin', expectUpdatedAt: base, onlyRole: 'east' }));
    await expect(edit).rejects.toMatchObject({ code: 'not_found' });
    await expect(records.write((tx) => tx.requireRole('user', 'ann', 'east'))).rejects.toMatchObject({ code: 'not_found' });
    await records.write((tx) => tx.requireRole('user', 'ann', 'west'));
    // Folders and global admins are not role-checked.
    await records.write((tx) => tx.requireRole('folder', 'x', 'east'));
    await records.write((tx) => tx.requireRole('user', 'ann', undefined));
  });

  test('hashingOptions reads data_provider.password_hashing', () => {
    expect(hashingOptions(undefined)).toEqual({ algo: 'bcrypt' });
    expect(hashingOptions({ algo: 'argon2id', argon2_options: { memory: 1024 } })).toEqual({ algo: 'argon2id', argon2: { memoryKiB: 1024, iterations: 1, parallelism: 2 } });
    expect(hashingOptions({ algo: 'argon2id', argon2_options: { memory: 2048, iterations: 3, parallelism: 4 } })).toEqual({ algo: 'argon2id', argon2: { memoryKiB: 2048, iterations: 3, parallelism: 4 } });
  });
});
