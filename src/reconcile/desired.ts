// Turns a validated config into the desired state: one normalised spec per user, folder, group, admin and role,
// IP list entry, event action and rule, with password intents kept apart (clear passwords are hashed only when they changed).
import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import type { SecretBox } from '../config/sealed.ts';
import type { AdminSpec, EventActionSpec, EventRuleSpec, FolderSpec, GroupSpec, RoleSpec, UserSpec } from '../model.ts';
import { ipListSpec, type IpListSpec } from '../core/ip-lists.ts';
import { sortKeys } from '../store/canonical.ts';
import { ipListKey } from '../store/store.ts';
import { desiredAdmin, desiredUser, normaliseEventAction, normaliseEventRule, normaliseFolder, normaliseGroup, type Desired } from '../store/specs.ts';

export interface DesiredState {
  users: Map<string, Desired<UserSpec>>;
  folders: Map<string, Desired<FolderSpec>>;
  groups: Map<string, Desired<GroupSpec>>;
  admins: Map<string, Desired<AdminSpec>>;
  roles: Map<string, Desired<RoleSpec>>;
  /** IP list entries by store key (`<type>_<network>`). */
  ipLists: Map<string, IpListSpec>;
  eventActions: Map<string, Desired<EventActionSpec>>;
  eventRules: Map<string, Desired<EventRuleSpec>>;
  prune: boolean;
}

/** `resolvePasswords: false` leaves passwords unread (see SecretsContext): for access decisions only. */
export function desiredState(loaded: LoadedConfig, dataDir: string, secrets: SecretBox, opts: { resolvePasswords?: boolean } = {}): DesiredState {
  const { config, baseDir } = loaded;
  const ctx = { baseDir, secrets, ...opts };
  const usersBase = config.data_provider?.users_base_dir ?? resolve(dataDir, 'users');
  const users = new Map<string, Desired<UserSpec>>();
  for (const u of config.users ?? []) users.set(u.username, desiredUser(u, usersBase, ctx));
  const folders = new Map<string, Desired<FolderSpec>>();
  for (const f of config.folders ?? []) folders.set(f.name, { spec: normaliseFolder(f, ctx), password: { kind: 'none' } });
  const groups = new Map<string, Desired<GroupSpec>>();
  for (const g of config.groups ?? []) groups.set(g.name, { spec: normaliseGroup(g, ctx), password: { kind: 'none' } });
  const admins = new Map<string, Desired<AdminSpec>>();
  for (const a of config.admins ?? []) admins.set(a.username, desiredAdmin(a, ctx));
  const roles = new Map<string, Desired<RoleSpec>>();
  for (const r of config.roles ?? []) roles.set(r.name, { spec: sortKeys({ ...r }) as RoleSpec, password: { kind: 'none' } });
  const ipLists = new Map<string, IpListSpec>();
  for (const e of config.ip_lists ?? []) {
    const spec = ipListSpec(e);
    ipLists.set(ipListKey(spec.type, spec.ipornet), spec);
  }
  const eventActions = new Map<string, Desired<EventActionSpec>>();
  for (const a of config.event_actions ?? []) eventActions.set(a.name, { spec: normaliseEventAction(a, ctx), password: { kind: 'none' } });
  const eventRules = new Map<string, Desired<EventRuleSpec>>();
  for (const r of config.event_rules ?? []) eventRules.set(r.name, { spec: normaliseEventRule(r), password: { kind: 'none' } });
  return { users, folders, groups, admins, roles, ipLists, eventActions, eventRules, prune: config.reconcile?.prune ?? false };
}

