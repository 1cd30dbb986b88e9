// Download.chunks(), the streamed read of a download (WebDAV GET): the bytes asked for, in order,
// in fresh buffers, with the next read running ahead, and no read left running on the handle once
// the consumer stops (the handle is closed right after).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Download } from '../../../src/core/transfers.ts';
import type { FileReader } from '../../../src/vfs/fs.ts';
import { openCore, type CoreHarness, type CoreLogin } from '../../support/core.ts';

let core: CoreHarness;
let u: CoreLogin;

beforeAll(async () => {
  core = await openCore({ yaml: 'users:\n  - { username: d, permissions: { "/": ["*"] } }\n' });
  u = await core.login({ username: 'd' });
});

afterAll(() => core.close());

/** A file of `size` bytes (byte i is i % 251) whose reads each take `delayMs`; counts reads in flight. */
function slowReader(size: number, delayMs: number) {
  const state = { inFlight: 0, reads: 0 };
  const reader: FileReader = {
    async read(into, position) {
      state.inFlight++;
      state.reads++;
      await new Promise((r) => setTimeout(r, delayMs));
      const n = Math.max(0, Math.min(into.byteLength, size - position));
      for (let i = 0; i < n; i++) into[i] = (position + i) % 251;
      state.inFlight--;
      return n;
    },
    close: async () => undefined,
  };
  return { reader, state };
}

describe('Download.chunks', () => {
  test('yields the range asked for, in order, and stops at the end of the file', async () => {
    const { reader } = slowReader(10_000, 1);
    const dl = new Download(u.conn, '/f', reader);
    const got: Buffer[] = [];
    for await (const c of dl.chunks(100, 8_099, 3_000)) got.push(c);
    expect(got.map((c) => c.length)).toEqual([3_000, 3_000, 2_000]);
    const all = Buffer.concat(got);
    for (let i = 0; i < all.length; i++) if (all[i] !== (100 + i) % 251) throw new Error(`byte ${i}`);
    // Without an end, up to the end of the file.
    let total = 0;
    for await (const c of dl.chunks(9_000, undefined, 3_000)) total += c.length;
    expect(total).toBe(1_000);
    await dl.close();
  });

  test('reads start at 64 KiB and grow with what was read up to 1 MiB; no chunk is a slice of a shared pool', async () => {
    const size = 3 * 1024 * 1024 + 100;
    const { reader } = slowReader(size, 0);
    const dl = new Download(u.conn, '/f', reader);
    const lengths: number[] = [];
    for await (const c of dl.chunks(0)) {
      lengths.push(c.length);
      // A consumer may free it whole: it starts its own memory.
      expect(c.byteOffset).toBe(0);
    }
    const K = 1024;
    // Ends on 64 KiB × 2^k boundaries, then on MiB boundaries (a 1 MiB allowance is met exactly).
    expect(lengths.slice(0, 7)).toEqual([64 * K, 64 * K, 128 * K, 256 * K, 512 * K, 1024 * K, 1024 * K]);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(size);
    // A small file costs one small buffer, not a 1 MiB one.
    const small = new Download(u.conn, '/g', slowReader(100, 0).reader);
    const got: Buffer[] = [];
    for await (const c of small.chunks(0)) got.push(c);
    expect(got.map((c) => c.length)).toEqual([100]);
    expect(got[0]!.buffer.byteLength).toBe(64 * K);
    await dl.close();
    await small.close();
  });

  test('a consumer that stops leaves no read running on the handle', async () => {
    const { reader, state } = slowReader(1 << 20, 20);
    const dl = new Download(u.conn, '/f', reader);
    for await (const c of dl.chunks(0, undefined, 4096)) {
      expect(c.length).toBe(4096);
      // The next chunk is being read ahead while this one is used.
      expect(state.inFlight).toBe(1);
      break;
    }
    expect(state.inFlight).toBe(0);
    expect(state.reads).toBe(2);
    await dl.abort();
  });
});
