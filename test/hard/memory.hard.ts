// The long memory run (npm run test:hard): one 10 GiB file up and down through SFTP, SCP, FTP,
// WebDAV and the user API with real clients, the server in this process, its RSS sampled every
// 100 ms. HARD_MEMORY_MIB sets another size. Prints a table for test/hard/RESULTS.md.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { bigTransfers, formatFigures } from '../support/big-transfers.ts';
import { startDoorServer, type DoorServer } from '../support/door-server.ts';
import { removeTempDirs } from '../support/tmp.ts';

const PASSWORD = 'Hard-Mem-1';
const SIZE = Number(process.env.HARD_MEMORY_MIB ?? 10 * 1024) * 1024 * 1024;
let door: DoorServer;

beforeAll(async () => {
  door = await startDoorServer({ prefix: 'hard-memory-', username: 'mia', password: PASSWORD, common: '  idle_timeout: 0\n' });
});

afterAll(async () => {
  await door?.server.stop();
  removeTempDirs();
});

test('a large file up and down through every protocol with flat RSS', async () => {
  const figures = await bigTransfers({ door, username: 'mia', password: PASSWORD, sizeBytes: SIZE, timeoutMs: 60 * 60_000 });
  console.log(formatFigures(figures, SIZE));
  for (const f of figures) {
    expect({ what: `${f.protocol} ${f.direction}`, ok: f.ok, detail: f.detail }).toEqual({ what: `${f.protocol} ${f.direction}`, ok: true, detail: '' });
    expect({ what: `${f.protocol} ${f.direction}`, growth: f.rss.peak - f.rss.start < 200 }).toEqual({ what: `${f.protocol} ${f.direction}`, growth: true });
  }
}, 4 * 60 * 60_000);
