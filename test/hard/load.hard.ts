// The long load runs (npm run test:hard), against a real server process with its default deadlines:
//   - 1,000 idle logged-in SFTP sessions on a fresh process: RSS per session;
//   - 200 concurrent SFTP sessions of mixed put, get and list for 5 minutes: no error, RSS flat;
//   - 3,000 silent TCP connections from one address to each listener (the per-host cap of 20
//     refuses the rest), then 3,000 to SFTP from 150 addresses (20 each, all admitted), while a user
//     on another address logs in over SFTP; the admitted ones are gone after the SSH grace time.
// Each part prints its figures as a JSON line for test/hard/RESULTS.md.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { connect, type Socket } from 'node:net';
import { freePort } from '../support/net.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { idleSftpSessions, mixedSftpLoad, openSftp, processRssMiB } from '../support/sftp-load.ts';
import { removeTempDirs, tempDir } from '../support/tmp.ts';
import { usersYaml } from '../support/users.ts';

const PASSWORD = 'Hard-Load-1';
let crowd: RunningServer;
let door: RunningServer;
const crowdPorts = { sftp: 0 };
const doorPorts = { sftp: 0, ftp: 0, dav: 0, api: 0 };

beforeAll(async () => {
  const dir = tempDir('hard-load-');
  crowdPorts.sftp = await freePort();
  const { yaml: users } = usersYaml(dir, [{ username: 'lena' }], PASSWORD);
  // The crowd comes from one address: the per-host cap is lifted on this server.
  crowd = await startServer({
    yaml: `common:\n  max_per_host_connections: 0\nsftpd:\n  bindings: [{ address: 127.0.0.1, port: ${crowdPorts.sftp} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n${users}\n`,
    cwd: dir,
  });
  const dir2 = tempDir('hard-door-');
  for (const k of Object.keys(doorPorts) as (keyof typeof doorPorts)[]) doorPorts[k] = await freePort();
  const { yaml: users2 } = usersYaml(dir2, [{ username: 'lena' }], PASSWORD);
  // Defaults everywhere: max_per_host_connections 20, login_grace_time 120 s, HTTP deadlines.
  door = await startServer({
    yaml: `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${doorPorts.sftp} }]\nftpd:\n  bindings: [{ address: 127.0.0.1, port: ${doorPorts.ftp} }]\nwebdavd:\n  bindings: [{ address: 127.0.0.1, port: ${doorPorts.dav} }]\nhttpd:\n  bindings: [{ address: 127.0.0.1, port: ${doorPorts.api} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n${users2}\n`,
    cwd: dir2,
  });
});

afterAll(async () => {
  await crowd?.stop();
  await door?.stop();
  removeTempDirs();
});

test('1,000 idle SFTP sessions', async () => {
  const f = await idleSftpSessions({ target: { port: crowdPorts.sftp, username: 'lena', password: PASSWORD }, sessions: 1000, holdMs: 10_000, pid: crowd.proc.pid! });
  console.log(`load.idle ${JSON.stringify(f)}`);
  expect(f.failed).toBe(0);
  expect(f.sessions).toBe(1000);
}, 15 * 60_000);

test('200 SFTP sessions of mixed put, get and list for 5 minutes', async () => {
  const f = await mixedSftpLoad({ target: { port: crowdPorts.sftp, username: 'lena', password: PASSWORD }, sessions: 200, durationMs: 5 * 60_000, fileBytes: 64 * 1024, pid: crowd.proc.pid! });
  const { samples, ...rss } = f.rss as typeof f.rss & { samples?: number[] };
  console.log(`load.mixed ${JSON.stringify({ ...f, rss, errors: f.errors.length, firstErrors: f.errors.slice(0, 5), rssEveryMinute: samples?.filter((_, i) => i % 120 === 0) })}`);
  expect(f.errors).toEqual([]);
  expect(f.rss.end - f.rss.start).toBeLessThan(200);
}, 15 * 60_000);

async function silent(port: number, from: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from });
    s.on('error', () => resolve(undefined));
    // Flowing, so that the server's close is seen (a paused socket never reads its EOF).
    s.resume();
    s.once('connect', () => resolve(s));
  });
}

const refusals = (reason: string) => door.logs.filter((l) => l.event === 'connection_refused' && l.reason === reason).length;

test('3,000 silent connections per listener from one address, then 3,000 to SFTP from 150 addresses: a user still logs in', async () => {
  const rssStart = processRssMiB(door.proc.pid!);
  const started = Date.now();
  const held: Socket[] = [];
  for (const port of Object.values(doorPorts)) {
    for (let i = 0; i < 3000; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => silent(port, '127.0.1.1')));
      held.push(...batch.filter((s): s is Socket => s !== undefined));
    }
  }
  await Bun.sleep(1000);
  const perHost = refusals('max_per_host_connections');
  const rssFlood = processRssMiB(door.proc.pid!);
  const login1 = await openSftp({ port: doorPorts.sftp, username: 'lena', password: PASSWORD }).then((s) => s.close().then(() => true), () => false);
  for (const s of held.splice(0)) s.destroy();

  // 150 addresses x 20: every one admitted, all silent until the SSH grace time.
  const many: Socket[] = [];
  for (let a = 0; a < 150; a++) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => silent(doorPorts.sftp, `127.0.2.${a + 1}`)));
    many.push(...batch.filter((s): s is Socket => s !== undefined));
  }
  const rssMany = processRssMiB(door.proc.pid!);
  const loginStarted = Date.now();
  const login2 = await openSftp({ port: doorPorts.sftp, username: 'lena', password: PASSWORD }).then((s) => s.close().then(() => true), () => false);
  const loginMs = Date.now() - loginStarted;
  const closedBy = Date.now() + 130_000;
  const open = () => many.filter((s) => !s.destroyed).length;
  while (open() > 0 && Date.now() < closedBy) await Bun.sleep(1000);
  const graceExceeded = door.logs.filter((l) => l.event === 'login_failed' && l.reason === 'login_grace_time_exceeded').length;
  const figures = {
    flood_one_address: { attempted: 4 * 3000, refused_per_host: perHost, rss_mib_start: rssStart, rss_mib_during: rssFlood, user_logged_in: login1 },
    flood_150_addresses: { attempted: 3000, admitted: many.length, rss_mib_during: rssMany, user_logged_in: login2, user_login_ms: loginMs, still_open_after_grace: open(), grace_time_exceeded: graceExceeded },
    seconds: (Date.now() - started) / 1000,
    rss_mib_end: processRssMiB(door.proc.pid!),
  };
  console.log(`load.flood ${JSON.stringify(figures)}`);
  for (const s of many) s.destroy();
  expect(login1).toBe(true);
  expect(login2).toBe(true);
  expect(perHost).toBeGreaterThanOrEqual(4 * 3000 - 4 * 20);
  expect(figures.flood_150_addresses.still_open_after_grace).toBe(0);
}, 15 * 60_000);
