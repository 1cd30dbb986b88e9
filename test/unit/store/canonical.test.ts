// sameCanonical, which plan uses to compare a stored field with the config's, gives the verdict
// canonical JSON gives on every kind of value a record can hold, and some it cannot.
import { expect, test } from 'bun:test';
import { canonical, sameCanonical } from '../../../src/store/canonical.ts';

const values: unknown[] = [
  undefined, null, 0, -0, 1, 1.5, NaN, Infinity, -Infinity, '', '0', '1', 'a', true, false,
  [], [undefined], [null], [1, 2], [2, 1], ['a', ['b']], {}, { a: undefined }, { a: 1 }, { a: 1, b: undefined },
  { b: 2, a: 1 }, { a: 1, b: 2 }, { a: { b: [1, { c: 'x' }] } }, { a: { b: [1, { c: 'y' }] } }, { a: null }, { a: [] }, { a: {} },
  Object.assign(Object.create(null), { a: 1 }), new Date(0), new Date(1), new Uint8Array([1]), new Uint8Array([2]), { 0: 1 },
  new Map([['a', 1]]), { '/': ['*'], '/in': ['list', 'upload'] }, { '/in': ['list', 'upload'], '/': ['*'] }, { '/': ['*'] },
];

test('sameCanonical(a, b) is canonical(a) === canonical(b) on every pair', () => {
  let equalPairs = 0;
  for (const a of values)
    for (const b of values) {
      const expected = canonical(a) === canonical(b);
      if (expected) equalPairs++;
      if (sameCanonical(a, b) !== expected) throw new Error(`sameCanonical(${String(canonical(a))}, ${String(canonical(b))}) !== ${expected}`);
      // Nested one level down too, where the walk recurses rather than answering at the top.
      expect(sameCanonical({ x: [a] }, { x: [b] })).toBe(canonical({ x: [a] }) === canonical({ x: [b] }));
    }
  // Equal pairs beyond a value with itself exist (key order, undefined keys, NaN and null...).
  expect(equalPairs).toBeGreaterThan(values.length);
});
