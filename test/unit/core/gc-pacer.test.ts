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
