// Config checks for groups: a user's mappings name declared groups, none twice, at most one primary;
// a group's mounts name declared folders; every problem at its file, line and field.
import { describe, expect, test } from 'bun:test';
import { formatIssue, parseConfigText } from '../../../src/config/load.ts';

const GROUPS = `folders:
  - { name: shared, mapped_path: /srv/shared }
groups:
  - name: staff
    user_settings: { home_dir: /srv/%username% }
    virtual_folders: [{ name: shared, virtual_path: /shared }]
  - name: projects
`;

function problems(users: string, groups = GROUPS): string[] {
  const r = parseConfigText(`${groups}users:\n${users}`, 'test.yaml', '/tmp');
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe('groups in the config', () => {
  test('a user with a primary group may leave out home_dir and permissions', () => {
    expect(problems('  - username: ann\n    password: secret\n    groups: [{ name: staff, type: 1 }, { name: projects, type: 2 }]\n')).toEqual([]);
  });

  test('an unknown group, a group named twice and a second primary are errors at their line', () => {
    const users = '  - username: ann\n    password: secret\n    groups:\n      - { name: staff, type: 1 }\n      - { name: ghost, type: 2 }\n      - { name: projects, type: 1 }\n      - { name: staff, type: 3 }\n';
    expect(problems(users)).toEqual([
      'test.yaml:13:17: users[0].groups[1].name: group "ghost" is not declared in groups',
      'test.yaml:14:33: users[0].groups[2].type: only one primary group is allowed ("staff" is primary already)',
      'test.yaml:15:17: users[0].groups[3].name: the group "staff" is duplicated',
    ]);
  });

  test('a mapping type other than 1, 2 or 3, a group mounting an undeclared folder and a duplicate group are refused', () => {
    expect(problems('  - username: ann\n    password: secret\n    groups: [{ name: staff, type: 4 }]\n')).toEqual(['test.yaml:11:35: users[0].groups[0].type: must be one of 1, 2, 3']);
    const groups = 'groups:\n  - name: staff\n    virtual_folders: [{ name: nowhere, virtual_path: /x }]\n  - name: staff\n';
    const all = problems('  - username: ann\n    password: secret\n    groups: [{ name: staff, type: 1 }]\n', groups).join('\n');
    expect(all).toContain('groups[0].virtual_folders[0].name: folder "nowhere" is not declared in folders');
    expect(all).toContain('groups[1].name: duplicate group name "staff"');
  });
});
