// The plan report's pure parts: changed leaves with old and new values, secrets hidden wherever they
// sit (a block added whole, a list of API keys), long values cut, long tables folded.
import { describe, expect, test } from 'bun:test';
import type { Change } from '../../../src/reconcile/plan.ts';
import { fieldChanges, planMarkdown, renderPlan, shortValue } from '../../../src/reconcile/plan-report.ts';

const update = (kind: Change['kind'], fields: string[], before: Record<string, unknown>, spec: Record<string, unknown>): Change => ({ action: 'update', kind, name: 'x', fields, before, spec });

describe('fieldChanges', () => {
  test('nested fields are named by their path, with old and new values', () => {
    const c = update('user', ['filesystem', 'quota_size'], { quota_size: 1, filesystem: { provider: 's3', s3config: { bucket: 'a', region: 'eu' } } }, { quota_size: 2, filesystem: { provider: 's3', s3config: { bucket: 'b', region: 'eu' } } });
    expect(fieldChanges(c)).toEqual([
      { path: 'filesystem.s3config.bucket', secret: false, old: 'a', new: 'b' },
      { path: 'quota_size', secret: false, old: 1, new: 2 },
    ]);
  });

  test('a secret in a block that appears whole is "set", never shown', () => {
    const c = update('folder', ['filesystem'], {}, { filesystem: { provider: 'crypt', cryptconfig: { passphrase: 'crypt-Secret-9' } } });
    const changes = fieldChanges(c);
    expect(changes).toEqual([
      { path: 'filesystem.cryptconfig.passphrase', secret: true, change: 'set' },
      { path: 'filesystem.provider', secret: false, old: undefined, new: 'crypt' },
    ]);
    expect(JSON.stringify(changes)).not.toContain('crypt-Secret-9');
  });

  test('an unchanged secret is no change; a list differing only in a secret says so without it', () => {
    const same = update('user', ['filesystem'], { filesystem: { provider: 's3', s3config: { bucket: 'a', access_secret: { sealed: 'v1:AAAA' } } } }, { filesystem: { provider: 's3', s3config: { bucket: 'b', access_secret: { sealed: 'v1:AAAA' } } } });
    expect(fieldChanges(same)).toEqual([{ path: 'filesystem.s3config.bucket', secret: false, old: 'a', new: 'b' }]);
    const keys = update('admin', ['api_keys'], { api_keys: [{ name: 'ci', key: 'key-Secret-1' }] }, { api_keys: [{ name: 'ci', key: 'key-Secret-2' }] });
    expect(fieldChanges(keys)).toEqual([{ path: 'api_keys', secret: true, change: 'changed' }]);
    const renamed = update('admin', ['api_keys'], { api_keys: [{ name: 'ci', key: 'key-Secret-1' }] }, { api_keys: [{ name: 'cd', key: 'key-Secret-1' }] });
    const text = renderPlan({ plan: { changes: [renamed] }, drift: [] }, 'text');
    expect(text).toContain('api_keys: [{"name":"ci","key":"(secret)"}] → [{"name":"cd","key":"(secret)"}]');
    expect(text).not.toContain('key-Secret-1');
  });

  test('the password and a taken-over runtime record', () => {
    const c = update('user', ['password', 'source'], { source: 'runtime' }, {});
    expect(fieldChanges(c)).toEqual([
      { path: 'password', secret: true, change: 'changed' },
      { path: 'source', secret: false, old: 'runtime', new: 'config' },
    ]);
  });
});

describe('rendering', () => {
  test('values are cut at 40 characters; control characters are escaped', () => {
    expect(shortValue('a'.repeat(50))).toBe(`${'a'.repeat(39)}…`);
    expect(shortValue('two\nlines')).toBe('"two\\nlines"');
    expect(shortValue(undefined)).toBe('(none)');
    expect(shortValue({ b: 1 })).toBe('{"b":1}');
  });

  test('a table of more than 20 rows folds into <details>; a backtick gets a longer fence', () => {
    const many: Change[] = Array.from({ length: 21 }, (_, i) => ({ action: 'create', kind: 'folder', name: `f${i}`, fields: [] }));
    const md = planMarkdown({ plan: { changes: many }, drift: [] });
    expect(md).toContain('<details><summary>folders: 21 changes</summary>');
    expect(md).toContain('</details>');
    const few = planMarkdown({ plan: { changes: [update('role', ['description'], { description: 'a`b' }, { description: 'c' })] }, drift: [] });
    expect(few).toContain('| ~ change | `x` | `description`: `` a`b `` → `c` |');
    expect(few).not.toContain('<details>');
  });
});
