// Flat memory for a large file through every protocol: one 256 MiB file up and down over SFTP, SCP,
// FTP, WebDAV and the user API with real clients, the server in this process, its RSS sampled
// every 100 ms. A server that held a whole file (or let a fast client outrun the disk, as WebDAV
// PUT did before it used requestBody) grows by more than the file; a streaming one stays within
// its buffers and the runtime's lazily returned memory. The 10 GB run is test/hard/memory.hard.ts.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { bigTransfers, formatFigures } from '../../support/big-transfers.ts';
import { startDoorServer, type DoorServer } from '../../support/door-server.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = 'Mem-Secret-1';
const SIZE = 256 * 1024 * 1024;
/** Growth allowed over the RSS at a transfer's start: well under the file's 256 MiB. */
const MAX_GROWTH_MIB = 160;
let door: DoorServer;

beforeAll(async () => {
  door = await startDoorServer({ prefix: 'memory-', username: 'mia', password: PASSWORD, common: '  idle_timeout: 0\n' });
});

afterAll(async () => {
  await door?.server.stop();
  removeTempDirs();
});

test('a 256 MiB file up and down through SFTP, SCP, FTP, WebDAV and the user API: RSS stays flat', async () => {
  const figures = await bigTransfers({ door, username: 'mia', password: PASSWORD, sizeBytes: SIZE, timeoutMs: 180_000 });
  console.log(formatFigures(figures, SIZE));
  expect(figures).toHaveLength(10);
  for (const f of figures) {
    expect({ what: `${f.protocol} ${f.direction}`, ok: f.ok, detail: f.detail }).toEqual({ what: `${f.protocol} ${f.direction}`, ok: true, detail: '' });
    expect({ what: `${f.protocol} ${f.direction}`, growth: f.rss.peak - f.rss.start < MAX_GROWTH_MIB }).toEqual({ what: `${f.protocol} ${f.direction}`, growth: true });
  }
}, 600_000);
