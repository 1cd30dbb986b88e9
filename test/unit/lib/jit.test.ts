// lib/jit.ts relies on bun:jsc's noFTL, a testing hook of the runtime: if a Bun upgrade drops or
// renames it, oneShot silently stops helping, so this notices.
import { expect, test } from 'bun:test';
import { oneShot } from '../../../src/lib/jit.ts';

test('bun:jsc still offers noFTL, and a function marked by oneShot still runs', async () => {
  const jsc = await import('bun:jsc');
  expect(typeof jsc.noFTL).toBe('function');
  const sum = (n: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += i;
    return s;
  };
  oneShot(sum);
  let total = 0;
  for (let i = 0; i < 20_000; i++) total += sum(100);
  expect(total).toBe(20_000 * 4950);
});
