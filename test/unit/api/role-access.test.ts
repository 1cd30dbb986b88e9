// The route table's promise to role admins: a route that acts on a user never lets a role admin in
// unchecked, and only the routes that declare it serve role admins at all.
import { describe, expect, test } from 'bun:test';
import { openApiDocument } from '../../../src/api/openapi.ts';
import { ROUTES } from '../../../src/api/routes.ts';

describe('role access in the route table', () => {
  test('no route naming a user in its path is open to role admins without the user check', () => {
    const unchecked = ROUTES.filter((r) => r.path.includes('{username}') && r.roleAdmins === 'open').map((r) => `${r.method} ${r.path}`);
    expect(unchecked).toEqual([]);
  });

  test('super-admin routes stay closed to role admins', () => {
    const superOnly = ROUTES.filter((r) => r.permission === '*' && r.roleAdmins !== undefined).map((r) => `${r.method} ${r.path}`);
    expect(superOnly).toEqual([]);
  });

  test('the routes acting on users of another path name that user', () => {
    const byConnection = ROUTES.filter((r) => r.roleAdmins === 'users' && r.path.includes('{connectionID}'));
    expect(byConnection.length).toBeGreaterThan(0);
    for (const r of byConnection) expect(r.actsOn).toBeDefined();
  });
});

describe('role access in the OpenAPI document', () => {
  test('each admin route says what a role admin gets', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, Record<string, unknown>>> };
    expect(doc.paths['/api/v2/users/{username}']!.get!['x-role-admins']).toBe('users');
    expect(doc.paths['/api/v2/folders']!.get!['x-role-admins']).toBe('open');
    expect(doc.paths['/api/v2/roles']!.get!['x-role-admins']).toBe('refused');
    expect(doc.paths['/healthz']!.get!['x-role-admins']).toBeUndefined();
  });
});
