// The bandwidth bucket's arithmetic and the data transfer allowance rules, without a server.
import { describe, expect, test } from 'bun:test';
import { BandwidthBuckets, Bucket } from '../../../src/core/bandwidth.ts';
import { remainingAllowance, TransferGate, transferLimitsOf } from '../../../src/core/transfer-limits.ts';
import type { Transferred, Usage, UsageBook } from '../../../src/core/quota.ts';
import type { UserRecord } from '../../../src/model.ts';
import { AppError } from '../../../src/errors.ts';

// One server's buckets, as the tests below share them.
const buckets = new BandwidthBuckets();
const bucketFor: BandwidthBuckets['for'] = (...a) => buckets.for(...a);

describe('Bucket', () => {
  test('waits make the steady rate exact, after a small burst', () => {
    const b = new Bucket();
    b.rate = 1000 * 1024; // 1000 KB/s
    // 40 chunks of 32 KB granted at t=0: the last one may go 1.28 s later, less the 50 ms burst.
    let wait = 0;
    for (let i = 0; i < 40; i++) wait = b.reserve(32 * 1024, 0);
    expect(wait).toBeCloseTo(1280 - 50, 5);
    // After idling, the clock restarts from now: no credit is hoarded beyond the burst.
    expect(b.reserve(32 * 1024, 10_000)).toBe(0);
    expect(b.reserve(32 * 1024, 10_000)).toBeCloseTo(64 - 50, 5);
  });

  test('rate 0 never waits', () => {
    const b = new Bucket();
    expect(b.reserve(1 << 30, 0)).toBe(0);
  });

  test('one bucket per user and direction, rate taken from the latest setting', () => {
    const a = bucketFor('u1', 'upload', 100);
    const b = bucketFor('u1', 'upload', 200);
    expect(a).toBe(b);
    expect(b!.rate).toBe(200 * 1024);
    expect(bucketFor('u1', 'download', 100)).not.toBe(a);
    expect(bucketFor('u2', 'upload', 100)).not.toBe(a);
    expect(bucketFor('u1', 'upload', 0)).toBeUndefined();
  });
});

function user(extra: Partial<UserRecord>): UserRecord {
  return { username: 'u', status: 1, home_dir: '/tmp', permissions: { '/': ['*'] }, id: 1, created_at: 0, updated_at: 0, source: 'config', ...extra } as UserRecord;
}

class MemBook implements UsageBook {
  t: Transferred = { upload: 0, download: 0 };
  get(): Usage {
    return { size: 0, files: 0 };
  }
  add(): void {}
  set(): void {}
  transferred(): Transferred {
    return { ...this.t };
  }
  addTransferred(_k: string, up: number, down: number): void {
    this.t.upload += up;
    this.t.download += down;
  }
  setTransferred(_k: string, t: Transferred): void {
    this.t = t;
  }
}

describe('data transfer allowances', () => {
  test('own direction and total both bind', () => {
    const l = transferLimitsOf(user({ upload_data_transfer: 2, total_data_transfer: 3 }), 'upload');
    expect(remainingAllowance(l, 'upload', { upload: 0, download: 0 })).toBe(2 * 1024 * 1024);
    expect(remainingAllowance(l, 'upload', { upload: 0, download: 2.5 * 1024 * 1024 })).toBe(0.5 * 1024 * 1024);
    expect(remainingAllowance(l, 'download', { upload: 1024 * 1024, download: 0 })).toBe(2 * 1024 * 1024);
  });

  test('a chunk past the allowance is refused and not counted; the next open is refused', () => {
    const book = new MemBook();
    const u = user({ download_data_transfer: 1 });
    const gate = new TransferGate('download', transferLimitsOf(u, 'download'), 'gate-user', book);
    gate.checkOpen();
    void gate.pass(1024 * 1024 - 10);
    let err: unknown;
    try {
      void gate.pass(11);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('read_quota_exceeded');
    expect(book.t.download).toBe(1024 * 1024 - 10);
    void gate.pass(10);
    expect(() => new TransferGate('download', transferLimitsOf(u, 'download'), 'gate-user', book).checkOpen()).toThrow(/quota/);
    // Uploads are still allowed: only downloads are limited.
    new TransferGate('upload', transferLimitsOf(u, 'upload'), 'gate-user', book).checkOpen();
  });

  test('max_upload_file_size refuses a write ending past it with the quota error', () => {
    const gate = new TransferGate('upload', transferLimitsOf(user({ filters: { max_upload_file_size: 100 } } as never), 'upload'), 'x', undefined);
    gate.checkFileSize(100);
    expect(() => gate.checkFileSize(101)).toThrow(/max_upload_file_size/);
  });
});
