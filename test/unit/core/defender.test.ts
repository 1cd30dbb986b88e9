// The defender's rules with a fake clock: scores inside the observation window, bans and their
// growth, safelist and blocklist, the bounded tables, and keeping bans in a real LMDB store.
import { afterAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cidrMatcher } from '../../../src/lib/cidr.ts';
import { BanJournal, configureDefender, parseListFile } from '../../../src/core/defender-service.ts';
import {
  Defender,
  defenderDriver,
  defenderSettings,
  eventForLoginFailure,
  eventForRefusal,
  hostId,
  ipFromHostId,
} from '../../../src/core/defender.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateDown, migrateUp } from '../../../src/store/migrations.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const MIN = 60_000;

function make(cfg: Parameters<typeof defenderSettings>[0] = {}): { d: Defender; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const d = new Defender({ now: () => clock.now });
  d.configure(defenderSettings({ enabled: true, ...cfg }));
  return { d, clock };
}

describe('scoring and bans', () => {
  test('reaching the threshold bans; one event less does not', () => {
    const { d } = make({ threshold: 5, score_valid: 1 });
    for (let i = 0; i < 4; i++) d.record('192.0.2.1', 'valid');
    expect(d.isBanned('192.0.2.1')).toBe(false);
    expect(d.host('192.0.2.1')?.score).toBe(4);
    d.record('192.0.2.1', 'valid');
    expect(d.isBanned('192.0.2.1')).toBe(true);
    expect(d.admit('192.0.2.1')).toBe('banned');
    expect(d.admit('192.0.2.2')).toBeUndefined();
  });

  test('each event kind scores its own setting; an unknown user counts double by default', () => {
    const { d } = make({ threshold: 15 });
    d.record('192.0.2.1', 'invalid');
    d.record('192.0.2.2', 'valid');
    d.record('192.0.2.3', 'limit_exceeded');
    d.record('192.0.2.4', 'no_auth');
    expect(d.host('192.0.2.1')?.score).toBe(2);
    expect(d.host('192.0.2.2')?.score).toBe(1);
    expect(d.host('192.0.2.3')?.score).toBe(3);
    // score_no_auth is 0 by default: nothing is recorded at all.
    expect(d.host('192.0.2.4')).toBeUndefined();
    expect(d.sizes().hosts).toBe(3);
  });

  test('score_invalid, score_valid, score_limit_exceeded and score_no_auth set what each event adds', () => {
    const { d } = make({ threshold: 100, score_invalid: 7, score_valid: 5, score_limit_exceeded: 11, score_no_auth: 13 });
    d.record('192.0.2.1', 'invalid');
    d.record('192.0.2.2', 'valid');
    d.record('192.0.2.3', 'limit_exceeded');
    d.record('192.0.2.4', 'no_auth');
    expect(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((ip) => d.host(ip)?.score)).toEqual([7, 5, 11, 13]);
  });

  test('events older than the observation time stop counting', () => {
    const { d, clock } = make({ threshold: 3, observation_time: 1 });
    d.record('192.0.2.1', 'valid');
    d.record('192.0.2.1', 'valid');
    clock.now += MIN + 1;
    d.record('192.0.2.1', 'valid');
    expect(d.isBanned('192.0.2.1')).toBe(false);
    expect(d.host('192.0.2.1')?.score).toBe(1);
  });

  test('a ban ends after ban_time; attempts while banned extend it by ban_time_increment percent', () => {
    const { d, clock } = make({ threshold: 1, ban_time: 1, ban_time_increment: 50 });
    d.record('192.0.2.1', 'valid');
    const first = Date.parse(d.host('192.0.2.1')!.ban_time!);
    expect(first).toBe(clock.now + MIN);
    expect(d.admit('192.0.2.1')).toBe('banned');
    expect(Date.parse(d.host('192.0.2.1')!.ban_time!)).toBe(first + MIN / 2);
    clock.now = first + MIN / 2 + 1;
    expect(d.isBanned('192.0.2.1')).toBe(false);
    expect(d.admit('192.0.2.1')).toBeUndefined();
    expect(d.hosts()).toEqual([]);
  });

  test('fractional minutes work for short bans', () => {
    const { d, clock } = make({ threshold: 1, ban_time: 0.05, ban_time_increment: 0 });
    d.record('192.0.2.1', 'valid');
    expect(d.admit('192.0.2.1')).toBe('banned');
    clock.now += 3001;
    expect(d.admit('192.0.2.1')).toBeUndefined();
  });

  test('remove unbans and forgets the score', () => {
    const { d } = make({ threshold: 2 });
    d.record('192.0.2.1', 'invalid');
    d.record('192.0.2.2', 'valid');
    expect(d.remove('192.0.2.1')).toBe(true);
    expect(d.remove('192.0.2.2')).toBe(true);
    expect(d.remove('192.0.2.3')).toBe(false);
    expect(d.isBanned('192.0.2.1')).toBe(false);
    expect(d.hosts()).toEqual([]);
  });

  test('IPv4-mapped IPv6 addresses are the IPv4 host', () => {
    const { d } = make({ threshold: 2 });
    d.record('::ffff:192.0.2.1', 'valid');
    d.record('192.0.2.1', 'valid');
    expect(d.admit('::ffff:192.0.2.1')).toBe('banned');
    expect(d.hosts().map((h) => h.ip)).toEqual(['192.0.2.1']);
  });

  test('disabled: nothing is scored or refused', () => {
    const { d } = make({ enabled: false, threshold: 1, blocklist: ['192.0.2.0/24'] });
    d.record('192.0.2.1', 'valid');
    expect(d.admit('192.0.2.1')).toBeUndefined();
    expect(d.sizes()).toEqual({ hosts: 0, banned: 0 });
  });
});

describe('safelist and blocklist', () => {
  test('a safelisted network is never scored nor banned', () => {
    const { d } = make({ threshold: 1, safelist: ['192.0.2.0/24', '2001:db8::/32'] });
    for (let i = 0; i < 50; i++) {
      d.record('192.0.2.7', 'invalid');
      d.record('2001:db8::1', 'invalid');
    }
    expect(d.admit('192.0.2.7')).toBeUndefined();
    expect(d.admit('2001:db8::1')).toBeUndefined();
    expect(d.sizes()).toEqual({ hosts: 0, banned: 0 });
    d.record('198.51.100.1', 'valid');
    expect(d.admit('198.51.100.1')).toBe('banned');
  });

  test('a blocklisted address is always refused, even when also safelisted', () => {
    const { d } = make({ safelist: ['192.0.2.0/24'], blocklist: ['192.0.2.9', '203.0.113.0/24'] });
    expect(d.admit('192.0.2.9')).toBe('blocklisted');
    expect(d.admit('203.0.113.200')).toBe('blocklisted');
    expect(d.admit('192.0.2.8')).toBeUndefined();
  });

  test('list files: SFTPGo JSON, a JSON array, or one entry per line; relative to the working directory', () => {
    expect(parseListFile('{"addresses":["192.0.2.1"],"networks":["10.0.0.0/8"]}')).toEqual(['192.0.2.1', '10.0.0.0/8']);
    expect(parseListFile('["::1"]')).toEqual(['::1']);
    expect(parseListFile('# office\n192.0.2.1\n\n10.0.0.0/8  # lan\r\n')).toEqual(['192.0.2.1', '10.0.0.0/8']);
    const dir = tempDir('defender-');
    writeFileSync(join(dir, 'block.json'), '{"addresses":["198.51.100.5"],"networks":["203.0.113.0/24"]}');
    writeFileSync(join(dir, 'safe.txt'), '192.0.2.0/24\n');
    const d = new Defender();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      configureDefender(d, { common: { defender: { enabled: true, threshold: 1, blocklist_file: 'block.json', safelist_file: 'safe.txt' } } });
    } finally {
      process.chdir(cwd);
    }
    expect(d.admit('198.51.100.5')).toBe('blocklisted');
    expect(d.admit('203.0.113.4')).toBe('blocklisted');
    d.record('192.0.2.3', 'invalid');
    expect(d.admit('192.0.2.3')).toBeUndefined();
    expect(() => configureDefender(d, { common: { defender: { enabled: true, blocklist_file: join(dir, 'missing') } } })).toThrow(/blocklist_file/);
  });

  test('cidrMatcher: addresses, networks, both families, garbage ignored', () => {
    const m = cidrMatcher(['192.0.2.1', '10.0.0.0/8', '2001:db8::/32', 'not-an-ip', '1.2.3.4/40']);
    expect(m('192.0.2.1')).toBe(true);
    expect(m('192.0.2.2')).toBe(false);
    expect(m('10.255.0.1')).toBe(true);
    expect(m('::ffff:10.1.1.1')).toBe(true);
    expect(m('2001:db8:ffff::1')).toBe(true);
    expect(m('2001:db9::1')).toBe(false);
    expect(m('1.2.3.4')).toBe(false);
    expect(cidrMatcher([])('192.0.2.1')).toBe(false);
  });
});

describe('bounded tables', () => {
  test('100,000 distinct addresses never hold more than the hard limit of scored hosts', () => {
    const { d, clock } = make({ threshold: 1000, entries_soft_limit: 100, entries_hard_limit: 150 });
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      clock.now += 1;
      d.record(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'invalid');
      max = Math.max(max, d.sizes().hosts);
    }
    expect(max).toBe(150);
    expect(d.sizes().hosts).toBeLessThanOrEqual(150);
    // The newest survive, the oldest went first.
    expect(d.host('10.1.134.159')?.score).toBe(2);
    expect(d.host('10.0.0.0')).toBeUndefined();
  });

  test('100,000 distinct banned addresses keep the ban table under the hard limit, longest bans kept', () => {
    const { d, clock } = make({ threshold: 1, entries_soft_limit: 100, entries_hard_limit: 150 });
    const dropped: string[] = [];
    d.onBanChange((ip, until) => until === undefined && dropped.push(ip));
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      clock.now += 1;
      d.record(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'valid');
      max = Math.max(max, d.sizes().banned);
    }
    expect(max).toBe(150);
    expect(d.sizes().hosts).toBe(0);
    expect(d.isBanned('10.1.134.159')).toBe(true);
    expect(d.isBanned('10.0.0.0')).toBe(false);
    // Evictions are reported, so the store drops them too.
    expect(dropped.length).toBe(100_000 - d.sizes().banned);
  });

  test('lowering the limits on reload trims at once', () => {
    const { d } = make({ threshold: 1000 });
    for (let i = 0; i < 140; i++) d.record(`10.0.0.${i}`, 'valid');
    expect(d.sizes().hosts).toBe(140);
    d.configure(defenderSettings({ enabled: true, threshold: 1000, entries_soft_limit: 10, entries_hard_limit: 20 }));
    expect(d.sizes().hosts).toBe(10);
  });
});

describe('reasons', () => {
  test('login_failed reasons map to SFTPGo event kinds', () => {
    expect(eventForLoginFailure('user_not_found')).toBe('invalid');
    expect(eventForLoginFailure('invalid_credentials')).toBe('valid');
    expect(eventForLoginFailure('no_password')).toBe('valid');
    expect(eventForLoginFailure('invalid_signature')).toBe('valid');
    expect(eventForLoginFailure('invalid_token')).toBe('valid');
    expect(eventForLoginFailure('login_grace_time_exceeded')).toBe('no_auth');
    expect(eventForLoginFailure('max_sessions')).toBe('limit_exceeded');
    expect(eventForLoginFailure('max_auth_tries')).toBeUndefined();
    expect(eventForLoginFailure('error')).toBeUndefined();
  });
  test('connection_refused: bans are not scored again, other refusals are limits', () => {
    expect(eventForRefusal('banned')).toBeUndefined();
    expect(eventForRefusal('blocklisted')).toBeUndefined();
    expect(eventForRefusal('admission_error')).toBeUndefined();
    expect(eventForRefusal('post_connect_hook')).toBe('limit_exceeded');
    expect(eventForRefusal('too_many_connections')).toBe('limit_exceeded');
  });
  test('host ids are the hex of the address text', () => {
    expect(hostId('127.0.0.1')).toBe('3132372e302e302e31');
    expect(ipFromHostId('3132372e302e302e31')).toBe('127.0.0.1');
    expect(ipFromHostId(hostId('2001:db8::1'))).toBe('2001:db8::1');
    expect(ipFromHostId('zz')).toBeUndefined();
    expect(ipFromHostId(Buffer.from('../etc').toString('hex'))).toBeUndefined();
  });
});

describe('config checks', () => {
  test('bad list entries and a soft limit not below the hard limit are refused at load, with their path', () => {
    const r = parseConfigText(
      'common:\n  defender:\n    enabled: true\n    ban_time: 0.5\n    entries_soft_limit: 150\n    safelist: ["10.0.0.0/8", "10.0.0.0/33", "example.com"]\n',
      'test.yaml',
      '/tmp',
    );
    expect(r.ok).toBe(false);
    const issues = r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
    expect(issues).toEqual([
      'common.defender.entries_soft_limit: must be lower than entries_hard_limit (150)',
      'common.defender.safelist[1]: "10.0.0.0/33" is not an IP address or CIDR network',
      'common.defender.safelist[2]: "example.com" is not an IP address or CIDR network',
    ]);
    expect(parseConfigText('common:\n  defender:\n    enabled: true\n    ban_time: 0.05\n    blocklist: ["::1", "192.0.2.0/24"]\n', 'test.yaml', '/tmp').ok).toBe(true);
    expect(parseConfigText('common:\n  defender:\n    ban_time: 0\n', 'test.yaml', '/tmp').ok).toBe(false);
  });

  test('driver provider needs a shared data provider; memory goes with any', () => {
    const issues = (text: string) => {
      const r = parseConfigText(text, 'test.yaml', '/tmp');
      return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
    };
    expect(issues('common:\n  defender:\n    enabled: true\n    driver: provider\n')).toEqual([
      'common.defender.driver: provider keeps scores and bans in a shared data provider: it needs data_provider.driver postgresql (with lmdb, one server, use memory)',
    ]);
    const pg = 'data_provider:\n  driver: postgresql\n  host: db\n  name: sftpgo\n  username: sftpgo\n';
    expect(issues(`common:\n  defender:\n    enabled: true\n    driver: provider\n${pg}`)).toEqual([]);
    expect(issues(`common:\n  defender:\n    enabled: true\n    driver: memory\n${pg}`)).toEqual([]);
    expect(issues('common:\n  defender:\n    driver: redis\n').length).toBe(1);
  });

  test('without a driver, a shared store means provider and LMDB memory', () => {
    expect(defenderDriver({})).toBe('memory');
    expect(defenderDriver({ data_provider: { driver: 'lmdb' } })).toBe('memory');
    expect(defenderDriver({ data_provider: { driver: 'postgresql' } })).toBe('provider');
    expect(defenderDriver({ common: { defender: { driver: 'memory' } }, data_provider: { driver: 'postgresql' } })).toBe('memory');
  });

  test('a defender without the shared counters keeps its scores in memory whatever the settings say', () => {
    const d = new Defender();
    d.configure({ ...defenderSettings({ enabled: true, threshold: 2 }), shared: true });
    expect(d.shared).toBe(false);
    d.record('192.0.2.7', 'valid');
    expect(d.host('192.0.2.7')?.score).toBe(1);
  });
});

describe('kept in the store', () => {
  test('bans are written in one batch, restored on start, and expired ones dropped', async () => {
    const dir = tempDir('defender-store-');
    const store = openLmdbStore(dir);
    await migrateUp(store);
    const journal = new BanJournal(store);
    const { d, clock } = make({ threshold: 1, ban_time: 10 });
    d.onBanChange((ip, until) => journal.note(ip, until));
    d.record('192.0.2.1', 'valid');
    d.record('192.0.2.2', 'valid');
    d.record('192.0.2.3', 'valid');
    d.remove('192.0.2.3');
    expect(await store.count('bans')).toBe(0);
    await journal.flush();
    const keys: string[] = [];
    for await (const [k] of store.entries('bans')) keys.push(k);
    expect(keys).toEqual(['192.0.2.1', '192.0.2.2']);
    await store.write((tx) => tx.put('bans', '198.51.100.1', { ip: '198.51.100.1', until: clock.now - 1 }));

    const fresh = new Defender({ now: () => clock.now });
    fresh.configure(defenderSettings({ enabled: true }));
    await new BanJournal(store).restore(fresh, clock.now);
    expect(fresh.isBanned('192.0.2.1')).toBe(true);
    expect(fresh.isBanned('192.0.2.2')).toBe(true);
    expect(fresh.isBanned('198.51.100.1')).toBe(false);
    expect(await store.get('bans', '198.51.100.1')).toBeUndefined();

    // Down from version 3 drops the bans; up again starts empty.
    await migrateDown(store, 2);
    expect(await store.count('bans')).toBe(0);
    await migrateUp(store);
    await store.close();
  });

  test('replicas writing one collection cannot undo each other: extensions need a stored ban, bans never shorten, run-out bans go only when run out there too', async () => {
    const store = openLmdbStore(tempDir('defender-journal-'));
    await migrateUp(store);
    const now = Date.now();
    const journal = new BanJournal(store, undefined, { now: () => now });
    const stored = async (ip: string) => (await store.get('bans', ip))?.until;
    await store.write(async (tx) => {
      await tx.put('bans', '192.0.2.1', { ip: '192.0.2.1', until: now + 60_000 });
      await tx.put('bans', '192.0.2.2', { ip: '192.0.2.2', until: now + 60_000 });
    });
    // Lifted elsewhere: an extension noted here does not bring it back.
    journal.note('192.0.2.9', now + 5000, 'extend');
    // A ban made here shorter than the one another replica stored leaves the longer one.
    journal.note('192.0.2.1', now + 1000, 'ban');
    // Ran out in this replica's table, but another replica extended it: it stays.
    journal.note('192.0.2.2', undefined, 'expire');
    // A ban then its extension before the batch is written: the extended ban.
    journal.note('192.0.2.3', now + 1000, 'ban');
    journal.note('192.0.2.3', now + 2000, 'extend');
    await journal.flush();
    expect(await stored('192.0.2.9')).toBeUndefined();
    expect(await stored('192.0.2.1')).toBe(now + 60_000);
    expect(await stored('192.0.2.2')).toBe(now + 60_000);
    expect(await stored('192.0.2.3')).toBe(now + 2000);
    journal.note('192.0.2.2', undefined, 'lift');
    journal.note('192.0.2.1', now + 90_000, 'extend');
    await journal.flush();
    expect(await stored('192.0.2.2')).toBeUndefined();
    expect(await stored('192.0.2.1')).toBe(now + 90_000);
    await store.close();
  });
});
