// The store interface's contract, run against each implementation (LMDB here, PostgreSQL in
// test/integration/store/postgres.test.ts): a write's own reads see its writes, nothing is
// committed when its callback throws, writers run one at a time, entries are paged and merged with
// the pending writes in key order, and listeners hear each change only after its commit.
import { describe, expect, test } from 'bun:test';
import type { BanRecord, ReadTx, Store, StoreChange } from '../../src/store/store.ts';

const ban = (ip: string, until = 1): BanRecord => ({ ip, until });

async function keys(tx: ReadTx): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of tx.entries('bans')) out.push(k);
  return out;
}

/** Declares the contract's tests; `store()` opens a new, empty store the caller closes after each test. */
export function storeContract(store: () => Promise<Store>): void {
  describe('write transactions', () => {
    test('reads inside a write see its writes; others see them only after the commit', async () => {
      const s = await store();
      await s.write((tx) => tx.put('bans', 'b', ban('b')));
      let seenOutside: unknown = 'unset';
      await s.write(async (tx) => {
        await tx.put('bans', 'a', ban('a'));
        await tx.remove('bans', 'b');
        expect(await tx.get('bans', 'a')).toEqual(ban('a'));
        expect(await tx.get('bans', 'b')).toBeUndefined();
        expect(await tx.count('bans')).toBe(1);
        expect(await keys(tx)).toEqual(['a']);
        seenOutside = await s.get('bans', 'a');
      });
      expect(seenOutside).toBeUndefined();
      expect(await s.get('bans', 'a')).toEqual(ban('a'));
      expect(await s.get('bans', 'b')).toBeUndefined();
    });

    test('a callback that throws commits nothing, and the store stays usable', async () => {
      const s = await store();
      await expect(
        s.write(async (tx) => {
          await tx.put('bans', 'a', ban('a'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await s.count('bans')).toBe(0);
      const result = await s.write(async (tx) => {
        await tx.put('bans', 'c', ban('c'));
        return 'ok';
      });
      expect(result).toBe('ok');
      expect(await keys(s)).toEqual(['c']);
    });

    test('writers run one at a time: read-modify-write never loses an update', async () => {
      const s = await store();
      const bump = () =>
        s.write(async (tx) => {
          const n = ((await tx.get('meta', 'n')) as number | undefined) ?? 0;
          await new Promise((r) => setTimeout(r, 1));
          await tx.put('meta', 'n', n + 1);
        });
      await Promise.all(Array.from({ length: 20 }, bump));
      expect(await s.get('meta', 'n')).toBe(20);
    });

    test('entries come in key order across pages, with pending puts and removes merged in', async () => {
      const s = await store();
      const all = Array.from({ length: 1200 }, (_, i) => `k${String(i).padStart(5, '0')}`);
      await s.write(async (tx) => {
        for (const k of all) if (Number(k.slice(1)) % 2 === 0) await tx.put('bans', k, ban(k));
      });
      expect((await keys(s)).length).toBe(600);
      const merged = await s.write(async (tx) => {
        for (const k of all) if (Number(k.slice(1)) % 2 === 1) await tx.put('bans', k, ban(k, 2));
        await tx.remove('bans', 'k00000');
        await tx.put('bans', 'k00002', ban('k00002', 3));
        const out: [string, number][] = [];
        for await (const [k, v] of tx.entries('bans')) out.push([k, v.until]);
        return out;
      });
      expect(merged.map(([k]) => k)).toEqual(all.slice(1));
      expect(merged[0]).toEqual(['k00001', 2]);
      expect(merged[1]).toEqual(['k00002', 3]);
      expect(await s.count('bans')).toBe(1199);
    });

    test('clear removes committed and pending keys alike', async () => {
      const s = await store();
      await s.write((tx) => tx.put('bans', 'a', ban('a')));
      await s.write(async (tx) => {
        await tx.put('bans', 'b', ban('b'));
        await tx.clear('bans');
        expect(await tx.count('bans')).toBe(0);
      });
      expect(await s.count('bans')).toBe(0);
    });
  });

  describe('change notifications', () => {
    test('listeners hear each committed change of their collection, with the value it replaced, after the commit, and never a rolled back one', async () => {
      const s = await store();
      const heard: StoreChange<'bans'>[] = [];
      const off = s.subscribe('bans', (c) => heard.push(c));
      const metaHeard: string[] = [];
      s.subscribe('meta', (c) => metaHeard.push(c.key));
      await s.write(async (tx) => {
        await tx.put('bans', 'a', ban('a'));
        await tx.put('meta', 'x', 1);
        expect(heard).toEqual([]);
      });
      await s.write((tx) => tx.remove('bans', 'a'));
      await s.write((tx) => tx.remove('bans', 'never-there'));
      await s.write(async (tx) => {
        await tx.put('bans', 'z', ban('z'));
        throw new Error('rolled back');
      }).catch(() => undefined);
      expect(heard).toEqual([
        { collection: 'bans', key: 'a', value: ban('a') },
        // A change carries the value it replaced (what provider event rules report for a delete).
        { collection: 'bans', key: 'a', value: undefined, previous: ban('a') },
      ]);
      expect(metaHeard).toEqual(['x']);
      off();
      await s.write((tx) => tx.put('bans', 'b', ban('b')));
      expect(heard.length).toBe(2);
    });
  });
}
