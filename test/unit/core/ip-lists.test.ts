// IP lists: networks normalised as SFTPGo stores them, entry checks, the longest-prefix index with
// its protocol masks (IPv4, IPv6, IPv4-mapped clients), the server's lists following store commits,
// reconcile (plan names each entry; the API's are kept unless prune), dumpdata/loaddata and the
// store migration.
import { afterEach, describe, expect, test } from 'bun:test';
import { normaliseIpOrNet } from '../../../src/lib/cidr.ts';
import { ipListEntryProblem, IpListIndex } from '../../../src/core/ip-lists.ts';
import { dumpStore, loadDump } from '../../../src/store/dump.ts';
import { LATEST_SCHEMA_VERSION, migrateDown, migrateUp } from '../../../src/store/migrations.ts';
import { openCore, type CoreHarness } from '../../support/core.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

describe('normaliseIpOrNet', () => {
  test("SFTPGo's stored form", () => {
    expect(normaliseIpOrNet('192.0.2.7')).toBe('192.0.2.7/32');
    expect(normaliseIpOrNet('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(normaliseIpOrNet('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(normaliseIpOrNet('2001:DB8:0:0:1::1')).toBe('2001:db8::1:0:0:1/128');
    expect(normaliseIpOrNet('2001:db8::ff/64')).toBe('2001:db8::/64');
    expect(normaliseIpOrNet('::ffff:10.1.2.3/104')).toBe('10.0.0.0/8');
    expect(normaliseIpOrNet('::1')).toBe('::1/128');
    for (const bad of ['', 'host', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8x', '::/129', '1.2.3']) expect(normaliseIpOrNet(bad)).toBeUndefined();
  });

  test('entry checks: list type, mode (deny only for the defender), protocols mask', () => {
    expect(ipListEntryProblem({ ipornet: '10.0.0.0/8', type: 1 })).toBeUndefined();
    expect(ipListEntryProblem({ ipornet: '10.0.0.0/8', type: 2, mode: 2, protocols: 15 })).toBeUndefined();
    expect(ipListEntryProblem({ ipornet: '10.0.0.0/8', type: 4 })).toEqual({ field: 'type', message: 'invalid list type 4' });
    expect(ipListEntryProblem({ ipornet: '10.0.0.0/8', type: 1, mode: 2 })).toEqual({ field: 'mode', message: 'invalid list mode: 2' });
    expect(ipListEntryProblem({ ipornet: '10.0.0.0/8', type: 3, protocols: 16 })).toEqual({ field: 'protocols', message: 'invalid protocols: 16' });
    expect(ipListEntryProblem({ ipornet: 'x', type: 1 })).toEqual({ field: 'ipornet', message: 'invalid IP or network "x"' });
  });
});

describe('IpListIndex', () => {
  test('the longest matching prefix that applies to the protocol decides', () => {
    const idx = new IpListIndex();
    idx.set('10.0.0.0/8', { mode: 1, protocols: 0 });
    idx.set('10.1.0.0/16', { mode: 2, protocols: 0 });
    idx.set('10.1.2.0/24', { mode: 1, protocols: 2 });
    idx.set('2001:db8::/32', { mode: 2, protocols: 8 });
    expect(idx.match('10.9.9.9', 'SSH')).toBe(1);
    expect(idx.match('10.1.9.9', 'SSH')).toBe(2);
    expect(idx.match('10.1.2.3', 'FTP')).toBe(1);
    // The /24 is FTP only: SSH falls back to the /16.
    expect(idx.match('10.1.2.3', 'SSH')).toBe(2);
    // Any protocol (the defender asked without one).
    expect(idx.match('10.1.2.3', undefined)).toBe(1);
    expect(idx.match('::ffff:10.1.2.3', 'FTP')).toBe(1);
    expect(idx.match('11.0.0.1', 'SSH')).toBeUndefined();
    expect(idx.match('2001:db8:1::5', 'HTTP')).toBe(2);
    expect(idx.match('2001:db8:1::5', 'DAV')).toBeUndefined();
    expect(idx.match('not-an-ip', 'SSH')).toBeUndefined();
    idx.set('10.1.0.0/16', undefined);
    expect(idx.match('10.1.9.9', 'SSH')).toBe(1);
    expect(idx.size).toBe(3);
  });
});

const yaml = (entries: string, prune = false) => `
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
${prune ? 'reconcile: { prune: true }\n' : ''}ip_lists:
${entries}`;

describe('IP lists in the store', () => {
  test('reconcile creates, updates and deletes entries by key; the server lists follow every commit', async () => {
    const core = await openCore({ yaml: yaml('  - { ipornet: 10.0.0.0/8, type: 1 }\n  - { ipornet: 192.0.2.1, type: 2, mode: 2 }\n') });
    opened.push(core);
    const lists = core.ctx.ipLists;
    await lists.load();
    expect(lists.match(1, '10.2.3.4', 'SSH')).toBe(1);
    expect(lists.match(2, '192.0.2.1', 'FTP')).toBe(2);
    expect(await core.ctx.store.get('ip_lists', '1_10.0.0.0/8')).toMatchObject({ ipornet: '10.0.0.0/8', type: 1, mode: 1, protocols: 0, source: 'config' });

    const r = await core.reconcile(yaml('  - { ipornet: 10.0.0.0/8, type: 1, protocols: 1, description: ssh }\n'));
    expect(r.plan.changes.map((c) => `${c.action} ${c.kind} ${c.name}${c.fields.length ? ` (${c.fields.join(', ')})` : ''}`)).toEqual([
      'update iplist 1_10.0.0.0/8 (description, protocols)',
      'delete iplist 2_192.0.2.1/32',
    ]);
    expect(lists.match(1, '10.2.3.4', 'FTP')).toBeUndefined();
    expect(lists.match(1, '10.2.3.4', 'SSH')).toBe(1);
    expect(lists.match(2, '192.0.2.1', 'FTP')).toBeUndefined();
    expect((await core.reconcile(yaml('  - { ipornet: 10.0.0.0/8, type: 1, protocols: 1, description: ssh }\n'))).plan.changes).toEqual([]);
  });

  test("the API's entries survive a reconcile unless prune; dumpdata and loaddata carry them", async () => {
    const core = await openCore({ yaml: yaml('  - { ipornet: 10.0.0.0/8, type: 1 }\n') });
    opened.push(core);
    await core.ctx.records.write((tx) => tx.putIpListEntry({ ipornet: '203.0.113.0/24', type: 3, mode: 1, protocols: 8, source: 'api' }, undefined));
    expect((await core.reconcile(yaml('  - { ipornet: 10.0.0.0/8, type: 1 }\n'))).plan.changes).toEqual([]);
    const dump = await dumpStore(core.ctx.store);
    expect(Object.keys(dump.ip_lists).sort()).toEqual(['1_10.0.0.0/8', '3_203.0.113.0/24']);
    const pruned = await core.reconcile(yaml('  - { ipornet: 10.0.0.0/8, type: 1 }\n', true));
    expect(pruned.plan.changes.map((c) => `${c.action} ${c.name}`)).toEqual(['delete 3_203.0.113.0/24']);
    await loadDump(core.ctx.store, dump);
    expect(await core.ctx.store.get('ip_lists', '3_203.0.113.0/24')).toMatchObject({ type: 3, protocols: 8, source: 'api' });
  });

  test('store version 7 holds them; reverting to 6 drops them and says how many', async () => {
    const core = await openCore({ yaml: yaml('  - { ipornet: 10.0.0.0/8, type: 1 }\n') });
    opened.push(core);
    const logged: Record<string, unknown>[] = [];
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(7);
    // Later versions are walked down first; 7 is the last step.
    expect((await migrateDown(core.ctx.store, 6, (_level, event, fields) => void logged.push({ event, ...fields }))).at(-1)).toBe(7);
    expect(await core.ctx.store.count('ip_lists')).toBe(0);
    expect(logged).toContainEqual({ event: 'store_migration_drop', collection: 'ip_lists', records: 1 });
    expect(await migrateUp(core.ctx.store)).toContain(7);
  });

  test('the config refuses entries SFTPGo would, and duplicates', async () => {
    const entries = ['10.0.0.0/8, type: 1', '10.1.0.0/8, type: 1', 'bad, type: 2', '10.0.0.0/8, type: 1, mode: 2'].map((e) => `  - { ipornet: ${e} }\n`).join('');
    await expect(openCore({ yaml: yaml(entries) })).rejects.toThrow(
      /ip_lists\[1\]\.ipornet.*duplicate entry \\"10\.1\.0\.0\/8\\" in list type 1[\s\S]*ip_lists\[2\]\.ipornet.*invalid IP or network \\"bad\\"[\s\S]*ip_lists\[3\]\.mode.*invalid list mode: 2/,
    );
  });
});
