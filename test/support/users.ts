// The `users:` part of a test config: one local home per user under <dir>/homes, a password,
// permissions and any extra YAML lines the test adds.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface TestUserSpec {
  username: string;
  permissions?: Record<string, string[]>;
  /** Extra YAML lines for the user, indented by four spaces. */
  extra?: string;
}

export function usersYaml(dir: string, users: TestUserSpec[], password: string): { yaml: string; homes: Record<string, string> } {
  const homes: Record<string, string> = {};
  const yaml = users
    .map((u) => {
      const home = join(dir, 'homes', u.username);
      mkdirSync(home, { recursive: true });
      homes[u.username] = home;
      const permYaml = Object.entries(u.permissions ?? { '/': ['*'] })
        .map(([p, list]) => `      "${p}": [${list.map((x) => `"${x}"`).join(', ')}]`)
        .join('\n');
      return `  - username: ${u.username}\n    password: "${password}"\n    home_dir: ${home}\n    permissions:\n${permYaml}\n${u.extra ?? ''}`;
    })
    .join('\n');
  return { yaml, homes };
}
