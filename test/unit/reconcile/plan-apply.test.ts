// Reconcile on a real (LMDB) store through the records layer, as serve and reload run it: creates,
// updates naming only the changed fields, deletes of config-owned records, runtime records kept
// unless prune, an API override surviving a reconcile and listed as one, and a password hashed
// again only when the YAML changes it.
import { afterEach, describe, expect, test } from 'bun:test';
import { verifyPassword } from '../../../src/auth/passwords.ts';
import { formatOverrides, listOverrides } from '../../../src/reconcile/overrides.ts';
import { openCore, type CoreHarness } from '../../support/core.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

/** A config with folder docs and users alice and bob; each option changes one thing of it. */
function yaml(opts: { aliceDescription?: string; alicePassword?: string; bob?: boolean; prune?: boolean } = {}): string {
  return `
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
${opts.prune ? 'reconcile: { prune: true }\n' : ''}folders:
  - { name: docs, mapped_path: /srv/docs }
users:
  - username: alice
    password: "${opts.alicePassword ?? 'alice-Secret-1'}"
    description: "${opts.aliceDescription ?? 'first'}"
    quota_size: 1000
    permissions: { "/": ["*"] }
${opts.bob === false ? '' : `  - username: bob
    permissions: { "/": [list] }
`}`;
}

async function open(): Promise<CoreHarness> {
  const core = await openCore({ yaml: yaml() });
  opened.push(core);
  return core;
}

const changesOf = (r: { plan: { changes: { action: string; kind: string; name: string; fields: string[] }[] } }) =>
  r.plan.changes.map((c) => `${c.action} ${c.kind} ${c.name}${c.fields.length ? ` (${c.fields.join(', ')})` : ''}`);

describe('plan and apply', () => {
  test('the first reconcile creates; the same YAML again changes nothing', async () => {
    const core = await open();
    const alice = await core.user('alice');
    expect(alice).toMatchObject({ source: 'config', description: 'first', quota_size: 1000 });
    expect(await verifyPassword('alice-Secret-1', alice.password!)).toBe(true);
    expect(await core.ctx.records.effectiveFolder('docs')).toMatchObject({ mapped_path: '/srv/docs', source: 'config' });

    const again = await core.reconcile(yaml());
    expect(again.plan.changes).toEqual([]);
    expect((await core.user('alice')).updated_at).toBe(alice.updated_at);
  });

  test('an update names only the changed fields and leaves the other records alone', async () => {
    const core = await open();
    const bob = await core.user('bob');
    const r = await core.reconcile(yaml({ aliceDescription: 'second' }));
    expect(changesOf(r)).toEqual(['update user alice (description)']);
    expect((await core.user('alice')).description).toBe('second');
    expect((await core.user('bob')).updated_at).toBe(bob.updated_at);
  });

  test('the password is hashed again only when the YAML changes it', async () => {
    const core = await open();
    const created = await core.user('alice');
    const hash = created.password!;
    expect(created.last_password_change).toBe(created.created_at);
    await Bun.sleep(5);
    await core.reconcile(yaml({ aliceDescription: 'other field' }));
    expect((await core.user('alice')).password).toBe(hash);
    // Only a new password restarts the clock filters.password_expiration counts from.
    expect((await core.user('alice')).last_password_change).toBe(created.created_at);

    const r = await core.reconcile(yaml({ aliceDescription: 'other field', alicePassword: 'alice-Secret-2' }));
    expect(changesOf(r)).toEqual(['update user alice (password)']);
    const changed = (await core.user('alice')).password!;
    expect(changed).not.toBe(hash);
    expect(await verifyPassword('alice-Secret-2', changed)).toBe(true);
    expect((await core.user('alice')).last_password_change).toBeGreaterThan(created.created_at);
  });

  test('a record the YAML drops is deleted with its usage row; runtime records stay unless prune', async () => {
    const core = await open();
    await core.ctx.records.write((tx) =>
      tx.put('user', 'api-made', { username: 'api-made', status: 1, home_dir: '/h', permissions: { '/': ['*'] } }, { source: 'runtime' }),
    );
    const r = await core.reconcile(yaml({ bob: false }));
    expect(changesOf(r)).toEqual(['delete user bob']);
    expect(await core.ctx.records.effectiveUser('bob')).toBeUndefined();
    expect(await core.store.get('usage', 'user:bob')).toBeUndefined();
    expect((await core.user('api-made')).source).toBe('runtime');

    const pruned = await core.reconcile(yaml({ bob: false, prune: true }));
    expect(changesOf(pruned)).toEqual(['delete user api-made']);
    expect(await core.ctx.records.effectiveUser('api-made')).toBeUndefined();
  });

  test('an override set through the records layer survives a reconcile and is listed as one', async () => {
    const core = await open();
    const outcome = await core.ctx.records.write((tx) => tx.edit('user', 'alice', { fields: { quota_size: 5000 }, cleared: [], by: 'root' }));
    expect(outcome).toBe('override_set');

    // The YAML changes another field: the config record is updated, the override stays on top.
    const r = await core.reconcile(yaml({ aliceDescription: 'second' }));
    expect(changesOf(r)).toEqual(['update user alice (description)']);
    expect(await core.user('alice')).toMatchObject({ quota_size: 5000, description: 'second' });
    expect((await core.store.get('users', 'alice'))?.quota_size).toBe(1000);

    const overrides = await listOverrides(core.store);
    expect(overrides).toMatchObject([{ kind: 'user', name: 'alice', fields: ['quota_size'], updated_by: 'root' }]);
    expect(formatOverrides(overrides)).toContain('override user alice (quota_size) by root');
  });
});
