// The usage book over the asynchronous store: quota checks read it synchronously, so it keeps the
// stored rows loaded and current through change notifications; a flush never makes a delta count
// twice or vanish while its write waits for the commit.
import { afterEach, describe, expect, test } from 'bun:test';
import { openUsageBook, type StoreUsageBook } from '../../../src/core/quota.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import { emptyUsage } from '../../../src/store/records.ts';
import type { Store } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const opened: Store[] = [];
const books: StoreUsageBook[] = [];
afterEach(async () => {
  for (const b of books.splice(0)) await b.close();
  for (const s of opened.splice(0)) await s.close();
  removeTempDirs();
});

async function setup(): Promise<Store> {
  const store = openLmdbStore(tempDir('usage-'));
  opened.push(store);
  await migrateUp(store);
  await store.write((tx) => tx.put('usage', 'user:alice', { ...emptyUsage(), used_quota_size: 100, used_quota_files: 1 }));
  return store;
}

describe('usage book', () => {
  test('two flushes at once (the timer and a session that ended) commit each delta once', async () => {
    const store = await setup();
    const book = await openUsageBook(store);
    books.push(book);
    book.add('user:alice', 11, 1);
    await Promise.all([book.flush(), book.flush(), book.flush()]);
    expect(await store.get('usage', 'user:alice')).toMatchObject({ used_quota_size: 111, used_quota_files: 2 });
    expect(book.get('user:alice')).toEqual({ size: 111, files: 2 });
  });

  test('reads the stored rows, adds pending deltas, and counts each delta once across a flush', async () => {
    const store = await setup();
    const book = await openUsageBook(store);
    books.push(book);
    expect(book.get('user:alice')).toEqual({ size: 100, files: 1 });
    book.add('user:alice', 50, 1);
    book.addTransferred('user:alice', 10, 0);
    expect(book.get('user:alice')).toEqual({ size: 150, files: 2 });

    // Held up behind another writer: while the flush waits, reads still see the delta once.
    let release = () => {};
    const holding = new Promise<void>((started) => {
      void store.write(() => new Promise<void>((r) => ((release = r), started())));
    });
    await holding;
    const flushed = book.close();
    book.add('user:alice', 5, 0);
    expect(book.get('user:alice')).toEqual({ size: 155, files: 2 });
    release();
    await flushed;
    // The commit landed the first deltas in the row and took them off the pending ones, at once.
    expect(book.get('user:alice')).toEqual({ size: 155, files: 2 });
    expect(book.transferred('user:alice')).toEqual({ upload: 10, download: 0 });
    // Shutdown's flush also wrote the delta added while the first flush waited.
    const row = (await store.get('usage', 'user:alice'))!;
    expect(row.used_quota_size).toBe(155);
    expect(row.used_upload_data_transfer).toBe(10);
  });

  test('other writers of the store are seen at once; set() replaces the counters and drops pending deltas', async () => {
    const store = await setup();
    const book = await openUsageBook(store);
    books.push(book);
    await store.write((tx) => tx.put('usage', 'folder:team', { ...emptyUsage(), used_quota_size: 7 }));
    expect(book.get('folder:team')).toEqual({ size: 7, files: 0 });
    await store.write((tx) => tx.remove('usage', 'folder:team'));
    expect(book.get('folder:team')).toEqual({ size: 0, files: 0 });

    book.add('user:alice', 30, 3);
    await book.set('user:alice', { size: 1, files: 1 });
    expect(book.get('user:alice')).toEqual({ size: 1, files: 1 });
    expect((await store.get('usage', 'user:alice'))!.used_quota_size).toBe(1);
  });
});
