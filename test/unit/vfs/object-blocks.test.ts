// BlockBuffer: the block coalescing object-store uploads put between protocol writes and the SDKs.
import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { BlockBuffer } from '../../../src/vfs/object/blocks.ts';

function run(blockBytes: number, sizes: number[]): { blocks: Buffer[]; last: Buffer | undefined; data: Buffer } {
  const b = new BlockBuffer(blockBytes);
  const blocks: Buffer[] = [];
  const parts: Buffer[] = [];
  for (const n of sizes) {
    const chunk = randomBytes(n);
    parts.push(Buffer.from(chunk));
    b.add(chunk, (block) => blocks.push(block));
    chunk.fill(0); // the caller reuses its buffer: what was handed on must not change
  }
  return { blocks, last: b.take(), data: Buffer.concat(parts) };
}

describe('BlockBuffer', () => {
  test('small writes come out as full blocks plus the rest, byte for byte', () => {
    const { blocks, last, data } = run(1024 * 1024, Array(100).fill(32 * 1024));
    expect(blocks.map((x) => x.length)).toEqual([1024 * 1024, 1024 * 1024, 1024 * 1024]);
    expect(last?.length).toBe(100 * 32 * 1024 - 3 * 1024 * 1024);
    expect(Buffer.concat([...blocks, last!]).equals(data)).toBe(true);
  });

  test('a write larger than a block is split across blocks', () => {
    const { blocks, last, data } = run(64 * 1024, [10, 200 * 1024, 5]);
    expect(blocks.map((x) => x.length)).toEqual([64 * 1024, 64 * 1024, 64 * 1024]);
    expect(Buffer.concat([...blocks, last!]).equals(data)).toBe(true);
  });

  test('a small file costs a small buffer; nothing written, nothing taken', () => {
    const { blocks, last } = run(8 * 1024 * 1024, [100]);
    expect(blocks).toEqual([]);
    expect(last?.length).toBe(100);
    expect(last!.buffer.byteLength).toBeLessThan(1024 * 1024);
    expect(new BlockBuffer(1024).take()).toBeUndefined();
  });

  test('pending counts what was copied in and not handed on', () => {
    const b = new BlockBuffer(1000);
    b.add(new Uint8Array(1500), () => undefined);
    expect(b.pending).toBe(500);
    b.take();
    expect(b.pending).toBe(0);
  });
});
