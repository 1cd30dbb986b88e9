import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { validateConfig, validateUser } from '../../../src/config/schema-validator.ts';

const root = join(import.meta.dir, '../../..');

describe('precompiled config validator', () => {
  test('matches sftpgo.schema.json (regenerate with npm run gen:types)', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts/gen-types.ts'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('reports every error with the failing schema, as the loader and API need', () => {
    expect(validateConfig({ users: [{ username: 'a', home_dir: '/h', permisions: {} }] })).toBe(false);
    const unknown = validateConfig.errors?.find((e) => e.keyword === 'additionalProperties');
    expect(unknown?.params).toEqual({ additionalProperty: 'permisions' });
    expect(Object.keys((unknown?.parentSchema as { properties: object }).properties)).toContain('permissions');
    expect(validateUser({ username: 1, status: 'x' })).toBe(false);
    expect(validateUser.errors!.length).toBeGreaterThan(1);
  });
});
