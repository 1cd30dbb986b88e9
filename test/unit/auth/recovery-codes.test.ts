// Recovery codes against a real LMDB store: twelve RC- codes, kept only as digests with a hint,
// each good once (typed in any case), replaced by a new set, and bound to the record's id so an
// account made later under the same name does not inherit them.
import { afterAll, expect, test } from 'bun:test';
import { listRecoveryCodes, looksLikeRecoveryCode, newRecoveryCodes, unusedRecoveryCodes, useRecoveryCode } from '../../../src/auth/recovery-codes.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { META } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const store = openLmdbStore(tempDir('recovery-codes-'));
afterAll(async () => {
  await store.close();
  removeTempDirs();
});

const admin = { kind: 'admin' as const, name: 'root', id: 1 };

test('a set of twelve, stored as digests, each good once', async () => {
  const codes = await newRecoveryCodes(store, admin);
  expect(codes).toHaveLength(12);
  for (const c of codes) expect(looksLikeRecoveryCode(c)).toBe(true);
  expect(looksLikeRecoveryCode('123456')).toBe(false);
  const stored = JSON.stringify(await store.get('meta', META.recoveryCodes('admin', 'root')));
  for (const c of codes) expect(stored).not.toContain(c);
  expect(await useRecoveryCode(store, admin, ` ${codes[0]!.toLowerCase()} `)).toBe(true);
  expect(await useRecoveryCode(store, admin, codes[0]!)).toBe(false);
  expect(await unusedRecoveryCodes(store, admin)).toBe(11);
  expect((await listRecoveryCodes(store, admin)).filter((c) => c.used)).toEqual([{ code: `${codes[0]!.slice(0, 7)}…`, used: true }]);
  // Concurrent uses of one code: exactly one wins.
  const wins = await Promise.all([1, 2, 3].map(() => useRecoveryCode(store, admin, codes[1]!)));
  expect(wins.filter(Boolean)).toHaveLength(1);
});

test('a new set replaces the old; a later record of the same name inherits none', async () => {
  const old = await newRecoveryCodes(store, admin);
  const fresh = await newRecoveryCodes(store, admin);
  expect(await useRecoveryCode(store, admin, old[0]!)).toBe(false);
  expect(await useRecoveryCode(store, { ...admin, id: 2 }, fresh[0]!)).toBe(false);
  expect(await useRecoveryCode(store, { ...admin, kind: 'user' }, fresh[0]!)).toBe(false);
  expect(await useRecoveryCode(store, admin, fresh[0]!)).toBe(true);
});
