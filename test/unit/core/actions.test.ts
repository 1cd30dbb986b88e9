// Custom actions, the pure parts: settings from the config, where a virtual path lives on each
// backend (the path, provider, bucket and endpoint a hook is told), the status and open-flag
// encodings, the environment a program gets; and the bounded queue's accounting.
import { describe, expect, test } from 'bun:test';
import { BoundedQueue } from '../../../src/core/action-queue.ts';
import { actionEnv, actionSettings, openFlags, statusOf, storageOf, type ActionEvent } from '../../../src/core/actions.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { AppError } from '../../../src/errors.ts';
import type { UserRecord } from '../../../src/model.ts';

function user(extra: Partial<UserRecord> = {}): UserRecord {
  return { id: 1, created_at: 0, updated_at: 0, source: 'config', username: 'u', status: 1, home_dir: '/srv/u', permissions: { '/': ['*'] }, ...extra } as UserRecord;
}

describe('actionSettings', () => {
  test('off without a hook or without events', () => {
    expect(actionSettings(undefined)).toBeUndefined();
    expect(actionSettings({ actions: { execute_on: ['upload'] } })).toBeUndefined();
    expect(actionSettings({ actions: { hook: '/bin/true', execute_on: [] } })).toBeUndefined();
  });

  test('defaults: 30 s timeout, a queue of 1000', () => {
    const s = actionSettings({ actions: { hook: '/bin/true', execute_on: ['upload', 'delete'], execute_sync: ['delete'] } })!;
    expect([...s.executeOn]).toEqual(['upload', 'delete']);
    expect([...s.executeSync]).toEqual(['delete']);
    expect(s.timeoutMs).toBe(30_000);
    expect(s.queueSize).toBe(1000);
    expect(actionSettings({ actions: { hook: 'http://h/', execute_on: ['upload'], timeout: 2, queue_size: 5 } })).toMatchObject({ timeoutMs: 2000, queueSize: 5 });
  });
});

describe('storageOf', () => {
  test('local home: the full filesystem path', () => {
    expect(storageOf(user(), '/a/b.txt')).toEqual({ fs_provider: 0, path: '/srv/u/a/b.txt' });
    expect(storageOf(user(), '/')).toEqual({ fs_provider: 0, path: '/srv/u' });
  });

  test('object stores: the key with its prefix, the bucket and the endpoint', () => {
    const s3 = user({ filesystem: { provider: 's3', s3config: { bucket: 'bk', key_prefix: 'users/u/', endpoint: 'http://minio:9000' } } });
    expect(storageOf(s3, '/x/y.bin')).toEqual({ fs_provider: 1, path: 'users/u/x/y.bin', bucket: 'bk', endpoint: 'http://minio:9000' });
    const gcs = user({ filesystem: { provider: 2, gcsconfig: { bucket: 'g' } } });
    expect(storageOf(gcs, '/f')).toEqual({ fs_provider: 2, path: 'f', bucket: 'g' });
    const az = user({ filesystem: { provider: 'azblob', azblobconfig: { container: 'c', endpoint: 'http://azurite:10000' } } });
    expect(storageOf(az, '/f')).toEqual({ fs_provider: 3, path: 'f', bucket: 'c', endpoint: 'http://azurite:10000' });
  });

  test('crypt and sftp', () => {
    const crypt = user({ filesystem: { provider: 'crypt', cryptconfig: { passphrase: 'p' } } });
    expect(storageOf(crypt, '/f')).toEqual({ fs_provider: 4, path: '/srv/u/f' });
    const sftp = user({ filesystem: { provider: 'sftp', sftpconfig: { endpoint: 'host:22', username: 'x', prefix: '/data' } } });
    expect(storageOf(sftp, '/f')).toEqual({ fs_provider: 5, path: '/data/f', endpoint: 'host:22' });
  });

  test('virtual folders: the deepest mount wins, paths inside it are relative to its root', () => {
    const u = user({
      virtual_folders: [
        { name: 'shared', virtual_path: '/shared', mapped_path: '/srv/shared' },
        { name: 'deep', virtual_path: '/shared/deep/', filesystem: { provider: 's3', s3config: { bucket: 'b2' } } },
      ],
    });
    expect(storageOf(u, '/shared/a.txt')).toEqual({ fs_provider: 0, path: '/srv/shared/a.txt' });
    expect(storageOf(u, '/shared/deep/k')).toEqual({ fs_provider: 1, path: 'k', bucket: 'b2' });
    expect(storageOf(u, '/sharedness')).toEqual({ fs_provider: 0, path: '/srv/u/sharedness' });
  });
});

describe('encodings', () => {
  test('status: 1 ok, 3 quota exceeded, 2 anything else', () => {
    expect(statusOf(undefined)).toBe(1);
    expect(statusOf(new AppError('quota_exceeded', 'q'))).toBe(3);
    expect(statusOf(new AppError('io', 'x'))).toBe(2);
    expect(statusOf(new Error('x'))).toBe(2);
  });

  test('open flags are the Linux O_* values SFTPGo reports', () => {
    expect(openFlags({ truncate: true })).toBe(0o1001 | 0o100); // O_WRONLY|O_TRUNC|O_CREAT
    expect(openFlags({ truncate: false, append: true })).toBe(0x1 | 0x40 | 0x400);
    expect(openFlags({ truncate: true, exclusive: true })).toBe(0x1 | 0x40 | 0x80 | 0x200);
  });

  test('the environment sets every variable, empty when not applicable', () => {
    const e: ActionEvent = {
      action: 'rename', username: 'u', path: '/srv/u/a', target_path: '/srv/u/b', virtual_path: '/a', virtual_target_path: '/b',
      fs_provider: 0, status: 1, protocol: 'SFTP', ip: '10.0.0.1', session_id: 'abc', timestamp: 1_700_000_000_123 * 1e6,
    };
    expect(actionEnv(e)).toEqual({
      SFTPGO_ACTION: 'rename', SFTPGO_ACTION_USERNAME: 'u', SFTPGO_ACTION_PATH: '/srv/u/a', SFTPGO_ACTION_TARGET: '/srv/u/b',
      SFTPGO_ACTION_VIRTUAL_PATH: '/a', SFTPGO_ACTION_VIRTUAL_TARGET: '/b', SFTPGO_ACTION_SSH_CMD: '', SFTPGO_ACTION_FILE_SIZE: '0',
      SFTPGO_ACTION_ELAPSED: '0', SFTPGO_ACTION_FS_PROVIDER: '0', SFTPGO_ACTION_BUCKET: '', SFTPGO_ACTION_ENDPOINT: '',
      SFTPGO_ACTION_STATUS: '1', SFTPGO_ACTION_PROTOCOL: 'SFTP', SFTPGO_ACTION_IP: '10.0.0.1', SFTPGO_ACTION_SESSION_ID: 'abc',
      SFTPGO_ACTION_OPEN_FLAGS: '0', SFTPGO_ACTION_TIMESTAMP: '1700000000123000000',
    });
    // The JSON body keeps the nanosecond timestamp's digits.
    expect(JSON.stringify({ t: e.timestamp })).toBe('{"t":1700000000123000000}');
  });
});

describe('BoundedQueue', () => {
  const metric = 'test_queue_dropped_total';
  const metrics = new Metrics();
  const counterValue = (name: string, labels: Record<string, string>) => metrics.value(name, labels);
  const reporting = { metrics, log: () => undefined };

  test('runs at most `workers` jobs at once, queues `capacity` more, drops and counts the rest', async () => {
    const q = new BoundedQueue({ capacity: 2, workers: 1, droppedMetric: metric, name: 't1', ...reporting });
    const release: (() => void)[] = [];
    let ran = 0;
    const job = () => new Promise<void>((r) => release.push(() => (ran++, r())));
    expect(q.push(job, { k: 'a' })).toBe(true); // running
    expect(q.push(job, { k: 'a' })).toBe(true); // queued
    expect(q.push(job, { k: 'a' })).toBe(true); // queued
    expect(q.push(job, { k: 'a' })).toBe(false);
    expect(q.push(job, { k: 'a' })).toBe(false);
    expect(counterValue(metric, { k: 'a' })).toBe(2);
    expect(q.running).toBe(1);
    expect(q.pending).toBe(2);
    while (ran < 3) {
      await new Promise((r) => setTimeout(r, 0));
      release.shift()?.();
    }
    await q.drain(1000);
    expect(ran).toBe(3);
    expect(q.running + q.pending).toBe(0);
  });

  test('a failing job does not stop the workers', async () => {
    const q = new BoundedQueue({ capacity: 5, workers: 2, droppedMetric: metric, name: 't2', ...reporting });
    let ok = 0;
    q.push(() => Promise.reject(new Error('boom')));
    q.push(async () => void ok++);
    q.push(async () => void ok++);
    expect(await q.drain(1000)).toBe(0);
    expect(ok).toBe(2);
  });

  test('drain gives up after its time and drops what is still queued, counting it', async () => {
    const q = new BoundedQueue({ capacity: 5, workers: 1, droppedMetric: metric, name: 't3', ...reporting });
    let stuck: () => void = () => undefined;
    q.push(() => new Promise<void>((r) => (stuck = r)));
    q.push(async () => undefined, { k: 'b' });
    q.push(async () => undefined, { k: 'b' });
    const started = Date.now();
    expect(await q.drain(100)).toBe(2);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(counterValue(metric, { k: 'b' })).toBe(2);
    stuck();
  });
});
