// Load on a real server process (`bun src/main.ts serve`): 200 idle logged-in SFTP sessions with
// their memory recorded (on a fresh process, so the figure is theirs) and every one logged out
// afterwards, then 50 concurrent sessions doing mixed uploads, downloads (checked) and listings for
// 30 seconds with no error and the server's RSS back near where it started. The long versions (200 sessions for 5 minutes, 1,000 idle) are in
// test/hard/load.hard.ts. Figures are printed for test/hard/RESULTS.md.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { idleSftpSessions, mixedSftpLoad } from '../../support/sftp-load.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'Load-Secret-1';
let server: RunningServer;
let port: number;

beforeAll(async () => {
  const dir = tempDir('load-');
  port = await freePort();
  const { yaml: users } = usersYaml(dir, [{ username: 'lena' }], PASSWORD);
  // Every client comes from 127.0.0.1: the per-host cap (20 by default) is lifted for the crowd.
  server = await startServer({
    yaml: `common:\n  max_per_host_connections: 0\nsftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n${users}\n`,
    cwd: dir,
  });
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

test('200 idle SFTP sessions stay logged in, then all log out', async () => {
  const before = logouts();
  const f = await idleSftpSessions({ target: { port, username: 'lena', password: PASSWORD }, sessions: 200, holdMs: 3_000, pid: server.proc.pid! });
  console.log(`idle: ${JSON.stringify(f)}`);
  expect(f.failed).toBe(0);
  expect(f.sessions).toBe(200);
  // Recorded, and bounded: well under a megabyte per idle session.
  expect(f.perSessionKiB).toBeLessThan(1024);
  await waitForLogouts(before + 200);
}, 120_000);

test('50 SFTP sessions of mixed put, get and list for 30 s: no error, memory back near its start', async () => {
  const before = logouts();
  const f = await mixedSftpLoad({ target: { port, username: 'lena', password: PASSWORD }, sessions: 50, durationMs: 30_000, fileBytes: 64 * 1024, pid: server.proc.pid! });
  console.log(`load: ${JSON.stringify({ ...f, errors: f.errors.length, firstErrors: f.errors.slice(0, 3) })}`);
  expect(f.errors).toEqual([]);
  expect(f.puts).toBeGreaterThan(50);
  expect(f.gets).toBeGreaterThan(50);
  expect(f.lists).toBeGreaterThan(50);
  // Flat: what the run left behind is small next to what it moved (puts x 64 KiB, gets likewise).
  expect(f.rss.end - f.rss.start).toBeLessThan(100);
  expect(f.rss.peak).toBeLessThan(f.rss.start + 250);
  await waitForLogouts(before + 50);
}, 120_000);

const logouts = () => server.logs.filter((l) => l.event === 'logout' && l.username === 'lena').length;

async function waitForLogouts(n: number): Promise<void> {
  const end = Date.now() + 15_000;
  while (logouts() < n && Date.now() < end) await Bun.sleep(100);
  expect(logouts()).toBeGreaterThanOrEqual(n);
}
