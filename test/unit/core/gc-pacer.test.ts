// The collector pacer: a full collection per `everyBytes` moved by open transfers, none when idle.
import { expect, test } from 'bun:test';
import type { ConnectionRegistry } from '../../../src/core/connection.ts';
import { startGcPacer } from '../../../src/core/gc-pacer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('collects once per everyBytes moved, never while idle, and counts again after a transfer ends', async () => {
  const transfers = new Set([{ bytes: 0 }, { bytes: 0 }]);
  const registry = { list: () => [{ transfers }] } as unknown as ConnectionRegistry;
  let collections = 0;
  const stop = startGcPacer({ registry, everyBytes: 1000, collect: () => collections++ });
  try {
    await sleep(250);
    expect(collections).toBe(0);
    const [a, b] = [...transfers] as [{ bytes: number }, { bytes: number }];
    a.bytes = 600;
    b.bytes = 500;
    await sleep(250);
    expect(collections).toBe(1);
    await sleep(250);
    expect(collections).toBe(1); // no more data moved
    transfers.delete(a); // the sum drops to 500: counting restarts from there
    await sleep(250);
    b.bytes = 1400;
    await sleep(250);
    expect(collections).toBe(1);
    b.bytes = 1600;
    await sleep(250);
    expect(collections).toBe(2);
  } finally {
    stop();
  }
  // Stopped: nothing more, whatever moves.
  for (const t of transfers) t.bytes += 10_000;
  await sleep(250);
  expect(collections).toBe(2);
});

test('bytes of transfers that ended between two checks count too: many small files still pace collections', async () => {
  const registry = { list: () => [] } as unknown as ConnectionRegistry;
  let ended = 0;
  let collections = 0;
  const stop = startGcPacer({ registry, everyBytes: 1000, endedBytes: () => ended, collect: () => collections++ });
  try {
    // Each 100-byte file starts and ends between two checks: the open transfers never hold any.
    for (let i = 0; i < 50; i++) {
      ended += 100;
      await sleep(20);
    }
    await sleep(150);
    // 5,000 bytes at one collection per 1,000 at most, checked every 100 ms.
    expect(collections).toBeGreaterThanOrEqual(2);
    expect(collections).toBeLessThanOrEqual(5);
  } finally {
    stop();
  }
});

test('transfers that free their own buffers (paced false) never trigger a collection', async () => {
  const own = { bytes: 0, paced: false };
  const transfers = new Set([own]);
  const registry = { list: () => [{ transfers }] } as unknown as ConnectionRegistry;
  let collections = 0;
  const stop = startGcPacer({ registry, everyBytes: 1000, collect: () => collections++ });
  try {
    own.bytes = 50_000;
    await sleep(250);
    expect(collections).toBe(0);
    // A paced transfer beside it still counts.
    transfers.add({ bytes: 1500, paced: true });
    await sleep(250);
    expect(collections).toBe(1);
  } finally {
    stop();
  }
});
