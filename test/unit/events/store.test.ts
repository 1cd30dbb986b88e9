// Event actions and rules in the store: reconcile creates actions before the rules that run them
// and deletes them after; a reload is seen by the event manager at once; an action an API rule
// still runs cannot leave with the YAML; dumpdata/loaddata carry them; store version 9 holds them
// and reverting below it drops them with their overrides.
import { afterEach, describe, expect, test } from 'bun:test';
import { dumpStore, loadDump } from '../../../src/store/dump.ts';
import { LATEST_SCHEMA_VERSION, migrateDown, migrateUp } from '../../../src/store/migrations.ts';
import { openCore, type CoreHarness } from '../../support/core.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

const action = (name: string) => `  - name: ${name}\n    type: 1\n    options:\n      http_config: { endpoint: "http://127.0.0.1:9/${name}", password: "pw-${name}" }\n`;
const rule = (name: string, events: string, actions: string) => `  - name: ${name}\n    trigger: 1\n    conditions: { fs_events: [${events}] }\n    actions: [${actions}]\n`;
const yaml = (actions: string, rules: string) => `
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
event_actions:
${actions}${rules ? `event_rules:\n${rules}` : ''}`;

describe('event actions and rules in the store', () => {
  test('reconcile: actions created before their rules, deleted after; a reload reaches the event manager at once', async () => {
    const core = await openCore({ yaml: yaml(action('a') + action('b'), rule('r', 'upload', '{ name: a }')) });
    opened.push(core);
    expect(await core.ctx.events.wants('upload')).toBe(true);
    expect(await core.ctx.events.wants('mkdir')).toBe(false);
    expect(await core.store.get('event_actions', 'a')).toMatchObject({ name: 'a', type: 1, source: 'config' });

    const next = await core.reconcile(yaml(action('b'), rule('r', 'mkdir', '{ name: b }')));
    expect(next.plan.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual(['update event_rule r', 'delete event_action a']);
    expect(await core.ctx.events.wants('mkdir')).toBe(true);
    expect(await core.ctx.events.wants('upload')).toBe(false);
    // Unchanged: no plan at all.
    expect((await core.reconcile(yaml(action('b'), rule('r', 'mkdir', '{ name: b }')))).plan.changes).toEqual([]);
  });

  test('an action a runtime rule still runs cannot be dropped by the YAML: nothing is written', async () => {
    const core = await openCore({ yaml: yaml(action('a'), '') });
    opened.push(core);
    await core.ctx.records.write((tx) => tx.put('event_rule', 'api-rule', { name: 'api-rule', trigger: 1, status: 1, conditions: { fs_events: ['upload'] }, actions: [{ name: 'a' }] }, { source: 'runtime' }));
    await expect(core.reconcile(yaml(action('b'), ''))).rejects.toThrow('event action "a" is referenced by the event rules "api-rule"');
    expect(await core.store.get('event_actions', 'a')).toBeDefined();
    expect(await core.store.get('event_actions', 'b')).toBeUndefined();
  });

  test('dumpdata and loaddata carry them; store version 9 down drops them and their overrides', async () => {
    const core = await openCore({ yaml: yaml(action('a'), rule('r', 'upload', '{ name: a }')) });
    opened.push(core);
    await core.ctx.records.write((tx) => tx.setOverride('event_rule', 'r', { description: 'runtime' }, 'root'));
    const dump = await dumpStore(core.store);
    expect(dump.event_actions.map((a) => a.name)).toEqual(['a']);
    expect(dump.event_rules.map((r) => r.name)).toEqual(['r']);
    const logged: Record<string, unknown>[] = [];
    // Every version above 8 is walked down, the newest first; 9 is the one that drops the rules.
    const reverted = await migrateDown(core.store, 8, (_l, event, fields) => void logged.push({ event, ...fields }));
    expect(reverted).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION - 8 }, (_, i) => LATEST_SCHEMA_VERSION - i));
    expect(await core.store.count('event_actions')).toBe(0);
    expect(await core.store.count('event_rules')).toBe(0);
    expect(await core.store.get('overrides', 'event_rule:r')).toBeUndefined();
    expect(logged).toContainEqual({ event: 'store_migration_drop', collection: 'event_rules', records: 1 });
    expect(await migrateUp(core.store, { log: () => {} })).toEqual([...reverted].reverse());
    await loadDump(core.store, dump);
    expect(await core.store.get('event_rules', 'r')).toMatchObject({ name: 'r', source: 'config' });
    expect(await core.store.get('overrides', 'event_rule:r')).toMatchObject({ fields: { description: 'runtime' } });
  });
});
