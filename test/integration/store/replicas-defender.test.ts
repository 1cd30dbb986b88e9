// The defender and rate limiters of three servers (separate processes, separate data dirs) sharing
// one PostgreSQL store, driven by real clients from their own loopback addresses: failed logins
// spread over the replicas add up to a ban that holds on all of them and shows in every replica's
// API, and a knock on one lengthens it on all; an unban through one lifts it on all; a ban runs out
// on all; a rate limit of N per period is N for the cluster, and its refusal scores in the shared
// defender; an IP list entry added through one replica applies on all.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, startReplica, type Postgres } from '../../support/postgres.ts';
import { run } from '../../support/run.ts';
import type { RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'Replica-Pass-1';
const ADMIN_PASSWORD = 'Replica-Admin-1';
/** Minutes: long enough for the checks after a ban, short enough to watch one run out. */
const BAN_MINUTES = 0.2;

interface Replica {
  proc: RunningServer;
  sftp: number;
  dav: number;
  api: number;
  token: string;
}

let pg: Postgres;
let dir: string;
const replicas: Replica[] = [];

function yaml(r: { sftp: number; dav: number; api: number }): string {
  return `common:
  defender:
    enabled: true
    driver: provider
    ban_time: ${BAN_MINUTES}
    ban_time_increment: 50
    threshold: 3
    score_valid: 1
    score_invalid: 1
    score_limit_exceeded: 3
    observation_time: 5
  rate_limiters:
    # 6 at once, then one every 20 s, per address: a 7th request at once would wait more than the
    # 10 s SFTPGo allows, so it is refused.
    - average: 3
      period: 60000
      burst: 6
      type: 2
      protocols: [DAV]
      generate_defender_events: true
${pg.providerYaml}  password_hashing: { bcrypt_options: { cost: 4 } }
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${r.sftp} }]
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${r.dav} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${r.api} }]
# 127.0.0.7 is never rate limited: the IP list test below probes it often.
ip_lists:
  - { ipornet: 127.0.0.7, type: 3 }
users:
  - username: yara
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'homes/yara')}
    permissions: { "/": ["*"] }
admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
`;
}

async function start(n: number): Promise<void> {
  const { proc, dataDir: _, ...ports } = await startReplica({ pg, dir, n, yaml });
  const r = await fetch(`http://127.0.0.1:${ports.api}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
  expect(r.status).toBe(200);
  replicas.push({ proc, ...ports, token: ((await r.json()) as { access_token: string }).access_token });
}

beforeAll(async () => {
  dir = tempDir('defender-replicas-');
  mkdirSync(join(dir, 'homes/yara'), { recursive: true });
  writeFileSync(join(dir, 'homes/yara/hello.txt'), 'hello\n');
  pg = await startPostgres();
  await start(0);
  await start(1);
  await start(2);
}, 180_000);

afterAll(async () => {
  for (const r of replicas) await r.proc.stop();
  await pg?.stop();
  removeTempDirs();
});

const SSH_OPTS = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

/** One OpenSSH sftp login by password from `from` to replica `r`, listing the home when it gets in; its exit status. */
async function sftpLogin(r: Replica, from: string, password: string): Promise<number> {
  const batch = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, 'ls\n');
  const res = await run('sshpass', [
    '-p', password, 'sftp', ...SSH_OPTS,
    '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-o', `BindAddress=${from}`, '-o', 'ConnectTimeout=10',
    '-P', String(r.sftp), '-b', batch, 'yara@127.0.0.1',
  ], { timeout: 30_000 });
  return res.status ?? -1;
}

/** A WebDAV PROPFIND by curl from `from`: the HTTP status, 0 when the server closed without answering. */
async function propfind(r: Replica, from: string): Promise<number> {
  const res = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '20', '--interface', from, '-X', 'PROPFIND', '-H', 'Depth: 0', '-u', `yara:${PASSWORD}`, `http://127.0.0.1:${r.dav}/`], { timeout: 30_000 });
  return Number(res.stdout.trim() || '0');
}

interface Host {
  id: string;
  ip: string;
  score?: number;
  ban_time?: string;
}

async function hosts(r: Replica): Promise<Host[]> {
  const res = await fetch(`http://127.0.0.1:${r.api}/api/v2/defender/hosts`, { headers: { authorization: `Bearer ${r.token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Host[];
}

async function host(r: Replica, ip: string): Promise<Host | undefined> {
  return (await hosts(r)).find((h) => h.ip === ip);
}

const hexId = (ip: string) => Buffer.from(ip).toString('hex');

/** Polls until `fn` holds for every replica; the milliseconds it took for each. */
async function onEvery(fn: (r: Replica) => Promise<boolean>, ms: number, what: string): Promise<number[]> {
  const start = Date.now();
  const took = replicas.map(() => -1);
  while (took.includes(-1)) {
    if (Date.now() - start > ms) throw new Error(`${what}: not on replicas ${took.flatMap((t, i) => (t < 0 ? [i] : [])).join(', ')} after ${ms} ms`);
    await Promise.all(replicas.map(async (r, i) => {
      if (took[i]! < 0 && (await fn(r))) took[i] = Date.now() - start;
    }));
    await new Promise((res) => setTimeout(res, 20));
  }
  return took;
}

test('three failed logins on three replicas ban the address on all of them, every API lists the ban, and a knock on one lengthens it on all', async () => {
  const [a, b, c] = [replicas[0]!, replicas[1]!, replicas[2]!];
  expect(await sftpLogin(a, '127.0.0.2', 'wrong-password')).not.toBe(0);
  expect(await sftpLogin(b, '127.0.0.2', 'wrong-password')).not.toBe(0);
  // Two failures on two replicas: a score of 2 for the cluster, seen by the third.
  await onEvery(async (r) => (await host(r, '127.0.0.2'))?.score === 2, 5000, 'score 2');
  const one = await fetch(`http://127.0.0.1:${c.api}/api/v2/defender/hosts/${hexId('127.0.0.2')}`, { headers: { authorization: `Bearer ${c.token}` } });
  expect(await one.json()).toEqual({ id: hexId('127.0.0.2'), ip: '127.0.0.2', score: 2 });
  expect(await sftpLogin(c, '127.0.0.2', 'wrong-password')).not.toBe(0);
  const took = await onEvery(async (r) => (await host(r, '127.0.0.2'))?.ban_time !== undefined, 5000, 'ban listed');
  // The replica that banned it shows the ban as soon as its score update returns; the others
  // within a second of it.
  expect(Math.max(...took)).toBeLessThan(1000 + took[2]!);
  const bans = await Promise.all(replicas.map((r) => host(r, '127.0.0.2')));
  // The same ban everywhere, with no score beside it (SFTPGo's shape).
  for (const h of bans) expect(h).toEqual({ id: hexId('127.0.0.2'), ip: '127.0.0.2', ban_time: bans[0]!.ban_time! });
  // Knocking again on one replica lengthens the ban by half its time on every replica.
  const first = Date.parse(bans[0]!.ban_time!);
  expect(await sftpLogin(b, '127.0.0.2', PASSWORD)).not.toBe(0);
  await onEvery(async (r) => Date.parse((await host(r, '127.0.0.2'))?.ban_time ?? '0') >= first + BAN_MINUTES * 30_000 - 1000, 5000, 'ban extended');
  // The right password from the banned address is refused by every replica; another address logs in.
  for (const r of replicas) {
    expect(await sftpLogin(r, '127.0.0.2', PASSWORD)).not.toBe(0);
    expect(await sftpLogin(r, '127.0.0.1', PASSWORD)).toBe(0);
  }
}, 120_000);

test('an unban through one replica lifts the ban on all', async () => {
  const b = replicas[1]!;
  const del = await fetch(`http://127.0.0.1:${b.api}/api/v2/defender/hosts/${hexId('127.0.0.2')}`, { method: 'DELETE', headers: { authorization: `Bearer ${b.token}` } });
  expect(del.status).toBe(200);
  const took = await onEvery(async (r) => (await host(r, '127.0.0.2')) === undefined, 5000, 'ban lifted');
  expect(Math.max(...took)).toBeLessThan(1000);
  for (const r of replicas) expect(await sftpLogin(r, '127.0.0.2', PASSWORD)).toBe(0);
  // Unknown now everywhere: a second unban finds nothing.
  const again = await fetch(`http://127.0.0.1:${replicas[2]!.api}/api/v2/defender/hosts/${hexId('127.0.0.2')}`, { method: 'DELETE', headers: { authorization: `Bearer ${replicas[2]!.token}` } });
  expect(again.status).toBe(404);
}, 120_000);

test('a ban runs out on every replica at its time', async () => {
  const [a, b, c] = [replicas[0]!, replicas[1]!, replicas[2]!];
  for (const r of [a, b, c]) expect(await sftpLogin(r, '127.0.0.3', 'wrong-password')).not.toBe(0);
  await onEvery(async (r) => (await host(r, '127.0.0.3'))?.ban_time !== undefined, 5000, 'ban listed');
  const banned = Date.parse((await host(a, '127.0.0.3'))!.ban_time!);
  expect(await sftpLogin(b, '127.0.0.3', PASSWORD)).not.toBe(0);
  // The knock lengthened it by half: wait for that end on every replica.
  await onEvery(async (r) => Date.parse((await host(r, '127.0.0.3'))?.ban_time ?? '0') >= banned + BAN_MINUTES * 30_000 - 1000, 5000, 'ban extended');
  const until = Date.parse((await host(a, '127.0.0.3'))!.ban_time!);
  await onEvery(async (r) => (await host(r, '127.0.0.3')) === undefined, BAN_MINUTES * 90_000 + 5000, 'ban run out');
  // ban_time is in whole seconds: the ban ends within the second it names.
  expect(Date.now()).toBeGreaterThanOrEqual(until - 1000);
  for (const r of replicas) expect(await sftpLogin(r, '127.0.0.3', PASSWORD)).toBe(0);
  // The replicas that saw it run out remove the stored ban in their next batch of ban writes.
  const stored = async (): Promise<string> => (await pg.sql(`SELECT count(*) FROM sftpgo_kv WHERE collection = 'bans' AND key = '127.0.0.3'`, pg.database)).trim();
  const deadline = Date.now() + 5000;
  while ((await stored()) !== '0' && Date.now() < deadline) await Bun.sleep(100);
  expect(await stored()).toBe('0');
}, 120_000);

test('a rate limit of 6 per period holds across the replicas, and its refusal bans the address everywhere', async () => {
  const statuses: number[] = [];
  // Round robin over the replicas: per replica that would be 3 each, well under 6.
  for (let i = 0; i < 9; i++) statuses.push(await propfind(replicas[i % 3]!, '127.0.0.5'));
  expect(statuses.slice(0, 6)).toEqual([207, 207, 207, 207, 207, 207]);
  // The 7th is refused (429); after it the address is banned (limit_exceeded scores 3, the
  // threshold), so later requests get 429 or are closed at the door (0) until the ban arrives.
  expect(statuses[6]).toBe(429);
  for (const s of statuses.slice(7)) expect([429, 0]).toContain(s);
  await onEvery(async (r) => (await host(r, '127.0.0.5'))?.ban_time !== undefined, 5000, 'rate limit ban listed');
  for (const r of replicas) expect(await propfind(r, '127.0.0.5')).toBe(0);
  // Another address has its own bucket.
  for (const r of replicas) expect(await propfind(r, '127.0.0.6')).toBe(207);
}, 120_000);

test("a defender block list entry added through one replica's API refuses the address on all, and its removal lets it back", async () => {
  const [a, c] = [replicas[0]!, replicas[2]!];
  expect(await propfind(c, '127.0.0.7')).toBe(207);
  const add = await fetch(`http://127.0.0.1:${a.api}/api/v2/iplists/2`, {
    method: 'POST',
    headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ipornet: '127.0.0.7', mode: 2, protocols: 0 }),
  });
  expect(add.status).toBe(201);
  const refused = await onEvery(async (r) => (await propfind(r, '127.0.0.7')) === 0, 5000, 'blocklisted');
  expect(Math.max(...refused)).toBeLessThan(1000);
  const del = await fetch(`http://127.0.0.1:${c.api}/api/v2/iplists/2/127.0.0.7`, { method: 'DELETE', headers: { authorization: `Bearer ${c.token}` } });
  expect(del.status).toBe(200);
  await onEvery(async (r) => (await propfind(r, '127.0.0.7')) === 207, 5000, 'allowed again');
}, 120_000);
