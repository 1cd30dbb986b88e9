// Read-ahead for downloads: sequential reads come from one backend stream through a bounded window,
// random reads from the positional reader or a ranged read, backend errors reach the reader.
import { describe, expect, test } from 'bun:test';
import { Readable } from 'node:stream';
import { ReadAhead } from '../../../src/core/read-ahead.ts';
import type { FileReader, Fs, ReadRange } from '../../../src/vfs/fs.ts';

function content(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 13)) & 0xff;
  return b;
}

interface FakeOpts {
  chunk?: number;
  /** The stream fails once it has produced this many bytes from its start. */
  failAt?: number;
  /** The stream is destroyed without an error once it has produced this many bytes. */
  cutAt?: number;
}

/** A backend that only streams: each openRead is a Readable over `data` producing `chunk`-sized pieces asynchronously. */
function fakeFs(data: Buffer, o: FakeOpts = {}) {
  const opened: ReadRange[] = [];
  const streams: Readable[] = [];
  let produced = 0;
  const fs = {
    kind: 'fake',
    capabilities: {},
    async openRead(_path: string, range: ReadRange = {}): Promise<Readable> {
      opened.push(range);
      let at = range.start ?? 0;
      const end = Math.min(range.end ?? data.length - 1, data.length - 1) + 1;
      const start = at;
      const s = new Readable({
        highWaterMark: 16 * 1024,
        read() {
          setImmediate(() => {
            if (s.destroyed) return;
            if (o.failAt !== undefined && at - start >= o.failAt) return void s.destroy(new Error('backend exploded'));
            if (o.cutAt !== undefined && at - start >= o.cutAt) return void s.destroy();
            if (at >= end) return void s.push(null);
            const n = Math.min(o.chunk ?? 64 * 1024, end - at);
            // A fresh copy, as a network stream hands over.
            const c = Buffer.from(data.subarray(at, at + n));
            at += n;
            produced += n;
            s.push(c);
          });
        },
      });
      streams.push(s);
      return s;
    },
  } as unknown as Fs;
  return { fs, opened, streams, produced: () => produced };
}

/** A positional reader over `data` that counts its reads. */
function positional(data: Buffer) {
  const r = {
    reads: 0,
    closed: false,
    async read(into: Uint8Array, position: number): Promise<number> {
      r.reads++;
      const n = Math.max(0, Math.min(into.byteLength, data.length - position));
      into.set(data.subarray(position, position + n));
      return n;
    },
    async close() {
      r.closed = true;
    },
  };
  return r as typeof r & FileReader;
}

/** Reads the whole file the way OpenSSH sftp does: `inflight` requests of `size` bytes in flight. */
async function pipelined(r: ReadAhead, total: number, size: number, inflight: number): Promise<Buffer> {
  const out = Buffer.alloc(total + size);
  let next = 0;
  let got = 0;
  const one = async (): Promise<void> => {
    while (next < total) {
      const pos = next;
      next += size;
      const buf = Buffer.allocUnsafe(size);
      const n = await r.read(buf, pos);
      // Full reads except at the end of the file.
      expect(n).toBe(Math.min(size, total - pos));
      buf.copy(out, pos, 0, n);
      got += n;
    }
  };
  await Promise.all(Array.from({ length: inflight }, one));
  expect(got).toBe(total);
  return out.subarray(0, total);
}

describe('ReadAhead', () => {
  test('pipelined sequential reads come from one stream, in order, with the right bytes', async () => {
    const data = content(5 * 1024 * 1024 + 12345);
    const f = fakeFs(data, { chunk: 100 * 1024 });
    const r = new ReadAhead(f.fs, 'x', undefined, { windowBytes: 256 * 1024 });
    const got = await pipelined(r, data.length, 32 * 1024, 64);
    expect(got.equals(data)).toBe(true);
    // The first read is not yet known to be sequential: a ranged read; the rest one stream.
    expect(r.stats.streams).toBe(1);
    expect(r.stats.randomReads).toBe(1);
    expect(f.opened[0]).toEqual({ start: 0, end: 32 * 1024 - 1 });
    expect(f.opened[1]).toEqual({ start: 32 * 1024 });
    expect(r.stats.peakHeld).toBeLessThanOrEqual(256 * 1024);
    expect(r.stats.peakHeld).toBeGreaterThan(0);
    expect(await r.read(Buffer.alloc(10), data.length)).toBe(0);
    await r.close();
  });

  test('one read at a time, reads larger than the window, short read only at the end', async () => {
    const data = content(3 * 1024 * 1024 + 7);
    const f = fakeFs(data, { chunk: 48 * 1024 });
    const r = new ReadAhead(f.fs, 'x', undefined, { windowBytes: 128 * 1024 });
    const out = Buffer.alloc(data.length);
    let pos = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      const n = await r.read(buf, pos);
      if (n === 0) break;
      buf.copy(out, pos, 0, n);
      pos += n;
      if (pos < data.length) expect(n).toBe(buf.length);
    }
    expect(pos).toBe(data.length);
    expect(out.equals(data)).toBe(true);
    expect(r.stats.peakHeld).toBeLessThanOrEqual(128 * 1024);
    await r.close();
  });

  test('the window stays bounded while the reader is slow', async () => {
    const data = content(4 * 1024 * 1024);
    const f = fakeFs(data, { chunk: 200 * 1024 });
    const limit = 512 * 1024;
    const r = new ReadAhead(f.fs, 'x', undefined, { windowBytes: limit });
    const buf = Buffer.allocUnsafe(32 * 1024);
    await r.read(buf, 0);
    await r.read(buf, 32 * 1024);
    // Give the stream every chance to run ahead.
    await new Promise((res) => setTimeout(res, 200));
    expect(r.stats.peakHeld).toBeLessThanOrEqual(limit);
    // What the backend produced: the window, one chunk beside it and the stream's own buffer.
    expect(f.produced()).toBeLessThan(32 * 1024 + limit + 2 * 200 * 1024 + 16 * 1024);
    expect(f.produced()).toBeGreaterThanOrEqual(limit);
    await r.close();
    expect(f.streams.every((s) => s.destroyed)).toBe(true);
  });

  test('random offsets are served correctly, by ranged reads or the positional reader', async () => {
    const data = content(2 * 1024 * 1024 + 999);
    const offsets = [1_500_000, 17, 2 * 1024 * 1024, 900_000, data.length - 5, data.length + 10, 0, 333_333];
    for (const withPositional of [false, true]) {
      const f = fakeFs(data, { chunk: 64 * 1024 });
      const p = positional(data);
      const r = new ReadAhead(f.fs, 'x', withPositional ? p : undefined, { windowBytes: 256 * 1024 });
      for (const off of offsets) {
        const buf = Buffer.alloc(40_000);
        const n = await r.read(buf, off);
        const want = data.subarray(off, off + 40_000);
        expect(n).toBe(want.length);
        expect(buf.subarray(0, n).equals(want)).toBe(true);
      }
      expect(r.stats.streams).toBe(0);
      expect(r.stats.randomReads).toBe(offsets.length);
      if (withPositional) expect(p.reads).toBe(offsets.length);
      else expect(f.opened.every((o) => o.end !== undefined)).toBe(true);
      await r.close();
      if (withPositional) expect(p.closed).toBe(true);
    }
  });

  test('sequential, then a jump back, then sequential again from there', async () => {
    const data = content(3 * 1024 * 1024);
    const f = fakeFs(data, { chunk: 64 * 1024 });
    const r = new ReadAhead(f.fs, 'x', positional(data), { windowBytes: 256 * 1024 });
    const check = async (pos: number, len: number): Promise<void> => {
      const buf = Buffer.alloc(len);
      const n = await r.read(buf, pos);
      expect(buf.subarray(0, n).equals(data.subarray(pos, pos + len))).toBe(true);
    };
    for (let pos = 0; pos < 1024 * 1024; pos += 32 * 1024) await check(pos, 32 * 1024);
    expect(r.stats.streams).toBe(1);
    // A small skip ahead stays in the run; a jump back leaves it.
    await check(1024 * 1024 + 1000, 32 * 1024);
    expect(r.stats.streams).toBe(1);
    await check(100, 32 * 1024);
    expect(f.streams[0]!.destroyed).toBe(true);
    for (let pos = 100 + 32 * 1024; pos < 2 * 1024 * 1024; pos += 32 * 1024) await check(pos, 32 * 1024);
    expect(r.stats.streams).toBe(2);
    expect(r.stats.peakHeld).toBeLessThanOrEqual(256 * 1024);
    await r.close();
  });

  test('a backend error mid-stream fails the reads that need it', async () => {
    const data = content(2 * 1024 * 1024);
    const f = fakeFs(data, { chunk: 64 * 1024, failAt: 512 * 1024 });
    const r = new ReadAhead(f.fs, 'x', undefined, { windowBytes: 256 * 1024 });
    const results = await Promise.allSettled(
      Array.from({ length: 48 }, (_, i) => r.read(Buffer.allocUnsafe(32 * 1024), i * 32 * 1024)),
    );
    const failed = results.filter((x) => x.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const x of failed) expect(String((x as PromiseRejectedResult).reason)).toContain('backend exploded');
    // Everything before the failure point was delivered.
    const firstFailed = results.findIndex((x) => x.status === 'rejected');
    expect(firstFailed * 32 * 1024).toBeGreaterThanOrEqual(512 * 1024);
    await r.close();
  });

  test('a backend stream cut short without an error is an error, not an end of file', async () => {
    const data = content(1024 * 1024);
    const f = fakeFs(data, { chunk: 64 * 1024, cutAt: 256 * 1024 });
    const r = new ReadAhead(f.fs, 'x');
    const buf = Buffer.allocUnsafe(32 * 1024);
    let err: unknown;
    try {
      for (let pos = 0; pos < data.length; pos += buf.length) expect(await r.read(buf, pos)).toBe(buf.length);
    } catch (e) {
      err = e;
    }
    expect(String(err)).toContain('closed before the end');
    await r.close();
  });

  test('a failing open surfaces on the read, and close ends pending reads', async () => {
    const data = content(1024 * 1024);
    const f = fakeFs(data);
    let fail = false;
    const open = f.fs.openRead.bind(f.fs);
    (f.fs as { openRead: Fs['openRead'] }).openRead = async (p, range) => {
      if (fail) throw new Error('no such object');
      return open(p, range);
    };
    const r = new ReadAhead(f.fs, 'x');
    await r.read(Buffer.allocUnsafe(1024), 0);
    fail = true;
    await expect(r.read(Buffer.allocUnsafe(1024), 1024)).rejects.toThrow('no such object');
    await r.close();
    await expect(r.read(Buffer.allocUnsafe(1024), 2048)).rejects.toThrow('after close');

    fail = false;
    const r2 = new ReadAhead(f.fs, 'x', undefined, { windowBytes: 64 * 1024 });
    await r2.read(Buffer.allocUnsafe(1024), 0);
    // Far beyond what one window can reach in time: pending when close comes.
    const pending = r2.read(Buffer.allocUnsafe(1024 * 1024), 1024);
    await r2.close();
    await expect(pending).rejects.toThrow('after close');
  });
});
