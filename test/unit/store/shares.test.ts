// Share links in the store: SFTPGo's validation of a share body, uses spent atomically up to
// max_tokens, the checks before a use, dumps that carry shares, and a user's shares deleted with it.
import { afterEach, describe, expect, test } from 'bun:test';
import { openCore, type CoreHarness } from '../../support/core.ts';
import { dumpStore, loadDump } from '../../../src/store/dump.ts';
import { LATEST_SCHEMA_VERSION, migrateDown, migrateUp } from '../../../src/store/migrations.ts';
import { addShare, checkShareSpec, newShareId, REDACTED_PASSWORD, renderShare, shareRefusal, spendShareUses, updateShare, type ShareWrite } from '../../../src/store/shares.ts';
import { hashPassword, isPasswordHash, verifyPassword } from '../../../src/auth/passwords.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

const YAML = `
users:
  - username: alice
    password: secret
  - username: bob
    password: secret
`;

async function core(): Promise<CoreHarness> {
  const c = await openCore({ yaml: YAML });
  opened.push(c);
  return c;
}

function writer(c: CoreHarness, now = Date.now()): ShareWrite {
  return { store: c.store, now, hash: (clear) => hashPassword(clear, { bcryptCost: 4 }), isHash: isPasswordHash };
}

const now = 1_700_000_000_000;
const check = (body: Record<string, unknown>) => checkShareSpec(body, { now, defaultName: 'dflt' });

describe('checkShareSpec', () => {
  test('cleans paths, drops duplicates and blanks, and names a share after its default', () => {
    expect(check({ scope: 1, paths: ['a/b/', '/a/b', ' ', '/c/../d'] })).toEqual({ name: 'dflt', scope: 1, paths: ['/a/b', '/d'] });
    expect(check({ scope: 2, paths: ['/../../in'], name: 'drop' }).paths).toEqual(['/in']);
  });

  test("refuses what SFTPGo refuses, with its messages", () => {
    expect(() => check({ scope: 4, paths: ['/a'] })).toThrow('invalid scope: 4');
    expect(() => check({ scope: 1, paths: [] })).toThrow('at least a shared path is required');
    expect(() => check({ scope: 2, paths: ['/a', '/b'] })).toThrow('the write share scope requires exactly one path');
    expect(() => check({ scope: 3, paths: ['/a', '/b'] })).toThrow('the write share scope requires exactly one path');
    expect(() => check({ scope: 1, paths: ['/a', '/a/b'] })).toThrow('shared paths cannot be nested');
    expect(() => check({ scope: 1, paths: ['/', '/b'] })).toThrow('shared paths cannot be nested');
    expect(() => check({ scope: 1, paths: ['/a'], expires_at: now - 1 })).toThrow('expiration must be in the future');
    expect(() => check({ scope: 1, paths: ['/a'], max_tokens: -1 })).toThrow('invalid max tokens');
    expect(() => check({ scope: 1, paths: ['/a'], password: REDACTED_PASSWORD })).toThrow('cannot save a share with a redacted password');
    expect(() => check({ scope: 1, paths: ['/a'], allow_from: ['10.0.0.1'] })).toThrow('could not parse allow from entry "10.0.0.1"');
    expect(() => check({ scope: 1, paths: ['/a'], name: 'a/b' })).toThrow('Slashes');
    // A restore keeps an expiration already past.
    expect(checkShareSpec({ scope: 1, paths: ['/a'], expires_at: now - 1 }, { now, restore: true, defaultName: 'x' }).expires_at).toBe(now - 1);
  });

  test('ids are 20 characters of base32hex, and differ', () => {
    const ids = new Set(Array.from({ length: 100 }, newShareId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[0-9a-v]{20}$/);
  });
});

describe('shares in the store', () => {
  test('the password is hashed, redacted on render, and kept when a GET is sent back', async () => {
    const c = await core();
    const w = writer(c);
    const rec = await addShare(w, 'alice', 'id1', check({ scope: 1, paths: ['/a'], password: 'pw' }));
    expect(isPasswordHash(rec.password!)).toBe(true);
    expect(await verifyPassword('pw', rec.password!)).toBe(true);
    expect(renderShare(rec).password).toBe(REDACTED_PASSWORD);
    const kept = await updateShare(w, 'alice', 'id1', check({ scope: 1, paths: ['/b'] }), true);
    expect(kept.password).toBe(rec.password);
    expect(kept.paths).toEqual(['/b']);
    const cleared = await updateShare(w, 'alice', 'id1', check({ scope: 1, paths: ['/b'] }), false);
    expect(cleared.password).toBeUndefined();
    // Another user's share is not found; a share for a user that does not exist is refused.
    await expect(updateShare(w, 'bob', 'id1', check({ scope: 1, paths: ['/b'] }), true)).rejects.toThrow('does not exist');
    await expect(addShare(w, 'carol', 'id2', check({ scope: 1, paths: ['/a'] }))).rejects.toThrow('related user "carol"');
  });

  test('uses are spent up to max_tokens, never past it even when racing, and given back', async () => {
    const c = await core();
    await addShare(writer(c), 'alice', 's', check({ scope: 1, paths: ['/a'], max_tokens: 3 }));
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => spendShareUses(c.store, 's', 1, now)));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(3);
    expect((await c.store.get('shares', 's'))!.used_tokens).toBe(3);
    await expect(spendShareUses(c.store, 's', 1, now)).rejects.toThrow('max share usage exceeded');
    await spendShareUses(c.store, 's', -1, now);
    expect((await c.store.get('shares', 's'))!).toMatchObject({ used_tokens: 2, last_use_at: now });
  });

  test('shareRefusal: uses left, expiration, allow_from', () => {
    const base = { id: 'x', name: 'x', scope: 1 as const, paths: ['/'], username: 'a', created_at: 0, updated_at: 0 };
    expect(shareRefusal(base, '10.0.0.1', now)).toBeUndefined();
    expect(shareRefusal({ ...base, max_tokens: 2, used_tokens: 2 }, '10.0.0.1', now)).toEqual({ status: 404, message: 'max share usage exceeded' });
    expect(shareRefusal({ ...base, expires_at: now - 1 }, '10.0.0.1', now)).toEqual({ status: 404, message: 'share expired' });
    expect(shareRefusal({ ...base, allow_from: ['192.168.0.0/16'] }, '10.0.0.1', now)).toEqual({ status: 403, message: 'login is not allowed from this IP' });
    expect(shareRefusal({ ...base, allow_from: ['192.168.0.0/16', '10.0.0.0/8'] }, '10.0.0.1', now)).toBeUndefined();
  });

  test("a dump carries shares, and deleting a user deletes its shares", async () => {
    const c = await core();
    await addShare(writer(c), 'alice', 'a1', check({ scope: 1, paths: ['/a'] }));
    await addShare(writer(c), 'bob', 'b1', check({ scope: 1, paths: ['/b'] }));
    const dump = await dumpStore(c.store);
    expect(Object.keys(dump.shares).sort()).toEqual(['a1', 'b1']);
    await c.ctx.records.write((tx) => tx.delete('user', 'alice'));
    expect(await c.store.get('shares', 'a1')).toBeUndefined();
    expect(await c.store.get('shares', 'b1')).toBeDefined();
    await loadDump(c.store, dump);
    expect(await c.store.get('shares', 'a1')).toMatchObject({ username: 'alice', paths: ['/a'] });
  });

  test('store version 8 holds them; reverting to 7 drops them and says how many', async () => {
    const c = await core();
    await addShare(writer(c), 'alice', 'a1', check({ scope: 1, paths: ['/a'] }));
    const logged: Record<string, unknown>[] = [];
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(8);
    expect(await migrateDown(c.store, 7, (_level, event, fields) => void logged.push({ event, ...fields }))).toContain(8);
    expect(await c.store.count('shares')).toBe(0);
    expect(logged).toContainEqual({ event: 'store_migration_drop', collection: 'shares', records: 1 });
    expect(await migrateUp(c.store)).toContain(8);
  });
});
