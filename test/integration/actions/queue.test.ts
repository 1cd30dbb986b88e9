// Asynchronous actions behind a slow HTTP receiver (each answer held 5 s): uploads are not slowed,
// a full queue drops and counts notifications (logged once per burst, not per drop), and shutdown
// drains the queue for a bounded time, then drops the rest with a log line.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { sftpBatch, startSftpd, type Sftpd } from '../sftp/harness.ts';
import { Receiver } from './receiver.ts';

const SLOW_MS = 5000;
const WORKERS = 4;
const QUEUE = 2;

let s: Sftpd;
let rx: Receiver;
let local: string;
let telemetryPort: number;

beforeAll(async () => {
  rx = await Receiver.start();
  rx.delayMs = SLOW_MS;
  telemetryPort = await freePort();
  const extra = [
    'common:',
    '  actions:',
    '    execute_on: [upload]',
    `    hook: ${rx.url}`,
    '    timeout: 30',
    `    queue_size: ${QUEUE}`,
    'telemetry:',
    `  bind_port: ${telemetryPort}`,
  ].join('\n');
  s = await startSftpd([{ username: 'alice' }], extra);
  local = tempDir('actions-queue-');
  for (let i = 0; i < 20; i++) writeFileSync(join(local, `f${i}.txt`), `file ${i}`);
});

afterAll(async () => {
  await s?.server.stop();
  await rx?.stop();
  removeTempDirs();
});

async function dropped(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${telemetryPort}/metrics`)).text();
  const m = /^sftpgo_actions_dropped_total\{action="upload"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Resolves when `cond` holds (polled), or rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20)); // poll interval for state in another process
  }
}

describe('a slow receiver', () => {
  test('does not slow an SFTP upload', async () => {
    const started = Date.now();
    const r = await sftpBatch(s, 'alice', [`put ${join(local, 'f0.txt')} one.txt`]);
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(SLOW_MS - 1000);
    // The notification went out and is still being held by the receiver: the upload did not wait for it.
    await until(() => rx.started >= 1, 5000, 'the hook request');
    expect(rx.received).toHaveLength(0);
  });

  test('a full queue drops and counts notifications, logged once per burst', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `put ${join(local, `f${i}.txt`)} many${i}.txt`);
    const started = Date.now();
    const r = await sftpBatch(s, 'alice', lines);
    expect(r.status).toBe(0);
    // Twenty uploads behind a 5 s receiver: a blocking design would take 100 s.
    const took = Date.now() - started;
    expect(took).toBeLessThan(SLOW_MS);
    // One worker still holds the first test's request: 3 free workers and 2 queue slots take 5.
    const n = await dropped();
    expect(n).toBe(20 - (WORKERS - 1) - QUEUE);
    const full = s.server.logs.filter((l) => l.event === 'queue_full' && l.queue === 'actions');
    expect(full).toHaveLength(1);
    expect(full[0]!.capacity).toBe(QUEUE);
    // Everything not dropped is delivered, late.
    await until(() => rx.received.length === 21 - n, 4 * SLOW_MS, 'the accepted notifications');
    expect(rx.received.filter((x) => x.body.virtual_path === '/one.txt')).toHaveLength(1);
  });

  test('the queue accepts again once it has room, and says how many the burst dropped', async () => {
    const before = rx.received.length;
    expect((await sftpBatch(s, 'alice', [`put ${join(local, 'f1.txt')} again.txt`])).status).toBe(0);
    const ended = await s.server.waitForLog((l) => l.event === 'queue_drops_ended');
    expect(ended.dropped).toBe(await dropped());
    await until(() => rx.received.length === before + 1, 3 * SLOW_MS, 'the new notification');
    expect(rx.received.at(-1)!.body.virtual_path).toBe('/again.txt');
  });
});

describe('shutdown', () => {
  test('drains for at most 5 s, then drops what is still queued with a log line', async () => {
    rx.delayMs = 60_000;
    const sent = rx.started;
    const lines = Array.from({ length: WORKERS + QUEUE }, (_, i) => `put ${join(local, `f${i}.txt`)} last${i}.txt`);
    expect((await sftpBatch(s, 'alice', lines)).status).toBe(0);
    await until(() => rx.started >= sent + WORKERS, 5000, 'the workers to be busy');
    const started = Date.now();
    const code = await s.server.stop();
    const took = Date.now() - started;
    expect(code).toBe(0);
    expect(took).toBeGreaterThanOrEqual(4500);
    expect(took).toBeLessThan(12_000);
    const line = s.server.logs.find((l) => l.event === 'actions_dropped_on_shutdown');
    expect(line?.dropped).toBe(QUEUE);
    expect(line?.cancelled).toBe(WORKERS);
  });
});
