// What an admin limited to a role may reach (SFTPGo 2.7's roles). The route table says, per route,
// whether role admins may use it at all and which user it acts on; app.ts checks both before any
// handler runs, so a route that does not say is closed to role admins, and a route acting on a user
// of another role answers 404, as if the user did not exist. Lists filter through the scope.
import type { AdminRecord } from '../model.ts';
import { effectiveUser } from '../store/records.ts';
import type { ReadTx } from '../store/store.ts';

/**
 * How a route serves role admins. `open`: it touches no user (folders, status, the defender) and
 * the admin's permissions decide. `users`: it acts on users, each of which must be of the admin's
 * role. Absent: role admins get 403, as on SFTPGo's super-admin-only routes.
 */
export type RoleAccess = 'open' | 'users';

/** The users one request may see. */
export interface RoleScope {
  /** The admin's role; undefined: a global admin, who sees every user. */
  readonly role: string | undefined;
  /** Whether the admin may see and manage this user (false when the user does not exist). */
  admits(username: string): Promise<boolean>;
  /** The subset of `items` whose user the admin may see, order kept. */
  filter<T>(items: readonly T[], username: (item: T) => string): Promise<T[]>;
}

/** The scope of `admin`'s request; each user's role is read once per request. */
export function roleScope(store: ReadTx, admin: AdminRecord | undefined): RoleScope {
  const role = admin?.role || undefined;
  const known = new Map<string, boolean>();
  const admits = async (username: string): Promise<boolean> => {
    if (role === undefined) return true;
    let ok = known.get(username);
    if (ok === undefined) {
      ok = (await effectiveUser(store, username))?.role === role;
      known.set(username, ok);
    }
    return ok;
  };
  return {
    role,
    admits,
    async filter(items, username) {
      if (role === undefined) return [...items];
      const out = [];
      for (const item of items) if (await admits(username(item))) out.push(item);
      return out;
    },
  };
}

/**
 * The role a user body may carry when `scope` writes it: a role admin's users are always of its
 * role (absent or empty: that role, as SFTPGo sets it); naming another one is refused.
 */
export function scopedUserRole(scope: RoleScope, role: unknown): { role: string | undefined } | { refused: string } {
  if (scope.role === undefined) return { role: typeof role === 'string' && role !== '' ? role : undefined };
  if (role === undefined || role === '' || role === scope.role) return { role: scope.role };
  return { refused: `role: an admin of role "${scope.role}" cannot give a user another role` };
}
