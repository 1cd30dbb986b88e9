// Override layering: diff, layer, and what effectiveUser/Folder/Admin return with an override.
import { describe, expect, test } from 'bun:test';
import type { Override, ReadTx } from '../../../src/store/store.ts';
import { diffOverride, effectiveAdmin, effectiveFolder, effectiveUser, layer, overrideKey } from '../../../src/store/records.ts';
import { formatOverrides, listOverrides } from '../../../src/reconcile/overrides.ts';

function memStore(data: Record<string, Record<string, unknown>>): ReadTx {
  return {
    get: async (c: string, k: string) => data[c]?.[k],
    entries: async function* (c: string) {
      yield* Object.entries(data[c] ?? {}).sort(([a], [b]) => a.localeCompare(b));
    },
    count: async (c: string) => Object.keys(data[c] ?? {}).length,
  } as unknown as ReadTx;
}

const base = { username: 'alice', id: 1, created_at: 1, updated_at: 2, source: 'config', quota_size: 10, description: 'yaml', home_dir: '/h', password: '$2a$x' };

describe('diffOverride', () => {
  test('only changed top-level fields; bookkeeping never', () => {
    expect(diffOverride(base, { ...base, quota_size: 20, id: 9, source: 'runtime' })).toEqual({ quota_size: 20 });
    expect(diffOverride(base, { ...base })).toBeUndefined();
  });
  test('a field the wanted record clears becomes null', () => {
    const { description: _d, ...wanted } = base;
    void _d;
    expect(diffOverride(base, wanted, Object.keys(base))).toEqual({ description: null });
  });
  test("an unset value in another form (0, '', [], false, an object of them) is no change; status 0 is", () => {
    const wanted = { ...base, max_sessions: 0, email: '', public_keys: [], filters: { denied_protocols: [], hooks: { pre_login_disabled: false } } };
    expect(diffOverride(base, wanted, Object.keys(base))).toBeUndefined();
    expect(diffOverride({ ...base, quota_files: 0 }, base, [...Object.keys(base), 'quota_files'])).toBeUndefined();
    expect(diffOverride({ ...base, status: 1 }, { ...base, status: 0 })).toEqual({ status: 0 });
    expect(diffOverride({ ...base, status: 0 }, base, [...Object.keys(base), 'status'])).toEqual({ status: null });
  });
  test('nested values compare by content, not key order', () => {
    const b = { ...base, permissions: { '/': ['list', 'download'], '/x': ['*'] } };
    expect(diffOverride(b, { ...b, permissions: { '/x': ['*'], '/': ['list', 'download'] } })).toBeUndefined();
  });
});

describe('layer', () => {
  const o: Override = { kind: 'user', name: 'alice', fields: { quota_size: 99, description: null, username: 'mallory', source: 'runtime' }, updated_at: 5, updated_by: 'root' };
  test('override fields win, null removes, identity fields are untouchable', () => {
    const out = layer(base, o) as Record<string, unknown>;
    expect(out.quota_size).toBe(99);
    expect('description' in out).toBe(false);
    expect(out.username).toBe('alice');
    expect(out.source).toBe('config');
    expect(layer(base, undefined)).toBe(base);
  });
});

describe('effective records', () => {
  const store = memStore({
    users: { alice: { ...base, virtual_folders: [{ name: 'team', virtual_path: '/team' }] } },
    folders: { team: { name: 'team', mapped_path: '/srv/team', id: 1, created_at: 1, updated_at: 1, source: 'config' } },
    admins: { root: { username: 'root', permissions: ['*'], status: 1, id: 1, created_at: 1, updated_at: 1, source: 'config' } },
    overrides: {
      [overrideKey('user', 'alice')]: { kind: 'user', name: 'alice', fields: { password: '$2a$new', quota_size: 1 }, updated_at: 7, updated_by: 'root' },
      [overrideKey('folder', 'team')]: { kind: 'folder', name: 'team', fields: { mapped_path: '/srv/team2' }, updated_at: 8, updated_by: 'ops' },
      [overrideKey('admin', 'root')]: { kind: 'admin', name: 'root', fields: { status: 0 }, updated_at: 9, updated_by: 'ops' },
    },
  });

  test('logins see the override, and mounts see the folder override', async () => {
    const u = (await effectiveUser(store, 'alice'))!;
    expect(u.password).toBe('$2a$new');
    expect(u.quota_size).toBe(1);
    expect(u.home_dir).toBe('/h');
    expect(u.virtual_folders![0]!.mapped_path).toBe('/srv/team2');
    expect((await effectiveFolder(store, 'team'))!.mapped_path).toBe('/srv/team2');
    expect((await effectiveAdmin(store, 'root'))!.status).toBe(0);
    expect(await effectiveUser(store, 'nobody')).toBeUndefined();
  });

  test('listOverrides names fields (never values) in key order; formatOverrides prints them', async () => {
    const list = await listOverrides(store);
    expect(list.map((o) => `${o.kind}:${o.name}:${o.fields.join(',')}`)).toEqual(['admin:root:status', 'folder:team:mapped_path', 'user:alice:password,quota_size']);
    expect(JSON.stringify(list)).not.toContain('$2a$new');
    expect(formatOverrides(list)).toContain('override user alice (password, quota_size) by root');
    expect(formatOverrides([])).toBe('');
  });
});
