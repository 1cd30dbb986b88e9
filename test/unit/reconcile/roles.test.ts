// Roles through reconcile and the store's migrations on a real (LMDB) store: a role the YAML drops
// is removed after its users left it, a runtime user that had it loses it, a runtime admin that has
// it makes the reconcile fail whole; reverting the store to version 4 disables role admins.
import { afterEach, describe, expect, test } from 'bun:test';
import { migrateDown, migrateUp } from '../../../src/store/migrations.ts';
import { openCore, type CoreHarness } from '../../support/core.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

function yaml(roles: string[], bobRole?: string): string {
  return `
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
roles:
${roles.map((r) => `  - name: ${r}\n`).join('')}users:
  - username: bob
    permissions: { "/": ["*"] }
${bobRole ? `    role: ${bobRole}\n` : ''}`;
}

async function open(text: string): Promise<CoreHarness> {
  const core = await openCore({ yaml: text });
  opened.push(core);
  return core;
}

describe('roles in reconcile', () => {
  test('a dropped role goes after the users that left it, and its runtime users lose it', async () => {
    const core = await open(yaml(['eu', 'us'], 'eu'));
    expect(await core.store.get('roles', 'eu')).toMatchObject({ name: 'eu', source: 'config' });
    expect((await core.user('bob')).role).toBe('eu');
    await core.ctx.records.write((tx) => tx.put('user', 'dora', { username: 'dora', role: 'eu', home_dir: '/srv/dora', permissions: { '/': ['*'] }, status: 1 }, { source: 'runtime' }));

    const r = await core.reconcile(yaml(['us'], 'us'));
    expect(r.plan.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual(['update user bob', 'delete role eu']);
    expect(await core.store.get('roles', 'eu')).toBeUndefined();
    expect((await core.user('bob')).role).toBe('us');
    expect((await core.user('dora')).role).toBeUndefined();
  });

  test('a role a runtime admin still has cannot be dropped: nothing is written', async () => {
    const core = await open(yaml(['eu', 'us']));
    await core.ctx.records.write((tx) => tx.put('admin', 'eu-admin', { username: 'eu-admin', role: 'eu', permissions: ['view_users'], status: 1 }, { source: 'runtime' }));
    await expect(core.reconcile(yaml(['us'], 'us'))).rejects.toThrow('role "eu" is referenced by admin "eu-admin"');
    expect(await core.store.get('roles', 'eu')).toBeDefined();
    expect((await core.user('bob')).role).toBeUndefined();
  });

  test('reverting the store to version 4 drops the roles and disables the admins limited to one', async () => {
    const core = await open(yaml(['eu']));
    await core.ctx.records.write((tx) => tx.put('admin', 'eu-admin', { username: 'eu-admin', role: 'eu', permissions: ['view_users'], status: 1 }, { source: 'runtime' }));
    await core.ctx.records.write((tx) => tx.put('admin', 'global', { username: 'global', permissions: ['view_users'], status: 1 }, { source: 'runtime' }));
    expect((await migrateDown(core.store, 4, () => {})).slice(-3)).toEqual([7, 6, 5]);
    expect(await core.store.count('roles')).toBe(0);
    expect(await core.store.get('admins', 'eu-admin')).toMatchObject({ status: 0, role: 'eu' });
    expect(await core.store.get('admins', 'global')).toMatchObject({ status: 1 });
    expect((await migrateUp(core.store, { log: () => {} })).slice(0, 3)).toEqual([5, 6, 7]);
  });
});
