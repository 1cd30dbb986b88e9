// What the server would answer to one operation on one path by one user, and the rule that decides
// it: the question `sftpgo explain` and access assertions ask. It runs the checks a login and the
// session core run, in their order and with their functions (the gate's user filters and account
// checks, the per-directory permissions, the file patterns, the mount lookup), on an effective user
// record, without opening any storage: the answer assumes the path exists with the type the
// operation implies (a file, a directory for list, mkdir and rmdir).
import { filterRefusal, type FilterRefusal, type LoginProtocol } from '../auth/login.ts';
import type { UserRecord } from '../model.ts';
import { loginRefusal } from './login.ts';
import { cleanVirtualPath, parentOf, resolveMount } from './paths.ts';
import { FilePatterns, type PatternRule } from './patterns.ts';
import { governingEntry, grants, type Permission } from './permissions.ts';

/**
 * Each operation as the session core checks it (core/user-fs.ts): the permissions it needs, at the
 * entry's parent or (list) at the directory itself; whether a name the file patterns refuse reads
 * as missing under deny_policy 1 (`read`) or is always a permission error (`create`); whether a
 * virtual folder's mount point, or the root, is refused outright.
 */
export const OPERATIONS = {
  list: { needs: ['list'], at: 'self', name: 'read' },
  download: { needs: ['download'], at: 'parent', name: 'read' },
  upload: { needs: ['upload'], at: 'parent', name: 'create' },
  overwrite: { needs: ['overwrite'], at: 'parent', name: 'create' },
  delete: { needs: ['delete_files'], at: 'parent', name: 'read' },
  rename: { needs: ['rename_files'], at: 'parent', name: 'create', keepsMounts: true },
  mkdir: { needs: ['create_dirs'], at: 'parent', name: 'create' },
  rmdir: { needs: ['delete_dirs'], at: 'parent', name: 'read', keepsMounts: true },
  chmod: { needs: ['chmod'], at: 'parent', name: 'read' },
  chown: { needs: ['chown'], at: 'parent', name: 'read' },
  chtimes: { needs: ['chtimes'], at: 'parent', name: 'read' },
  symlink: { needs: ['create_symlinks'], at: 'parent', name: 'create' },
  // A copy needs SFTPGo's copy permission, then reads the source and writes the target (core/copy.ts).
  copy: { needs: ['copy', 'download', 'upload'], at: 'parent', name: 'read' },
} as const satisfies Record<string, { needs: readonly Permission[]; at: 'self' | 'parent'; name: 'read' | 'create'; keepsMounts?: true }>;

export type Operation = keyof typeof OPERATIONS;

export function isOperation(s: string): s is Operation {
  return Object.hasOwn(OPERATIONS, s);
}

export interface AccessQuestion {
  /** The effective user, as a login resolves it (overrides, folders, groups applied). */
  user: UserRecord;
  /** A virtual path; a relative one is taken from the user's start directory. */
  path: string;
  operation: Operation;
  protocol: LoginProtocol;
  /** The client address; without one the IP filters are not consulted. */
  ip?: string;
  /** Epoch ms the account checks are made at. */
  now: number;
}

/** The rule that decided, in terms of the effective user; the caller maps it to where it is written. */
export type AccessRule =
  | { kind: 'account'; field: 'status' | 'expiration_date' }
  | ({ kind: 'filter' } & FilterRefusal)
  | { kind: 'mount_point'; virtualPath: string }
  | { kind: 'permission'; permission: Permission; dir: string; key?: string; granted: readonly string[] }
  | ({ kind: 'pattern'; filterPath: string; hide: boolean } & PatternRule);

export interface AccessAnswer {
  allowed: boolean;
  /** For a refusal the rule that refused; for a grant the permission entry that granted. */
  rule: AccessRule;
  /** The cleaned virtual path the question is about. */
  vpath: string;
  startDirectory: string;
  /** The virtual folder serving the path (undefined: the home). */
  folder?: { name: string; virtualPath: string };
  /** The directory whose permissions and patterns govern the path. */
  dir: string;
  /** The file pattern filter governing the name, when one lets it through. */
  patternFilter?: string;
  /** A refusal under deny_policy 1 reads as "not found" to the client. */
  looksMissing?: boolean;
}

export function decideAccess(q: AccessQuestion): AccessAnswer {
  const { user, operation } = q;
  const op: (typeof OPERATIONS)[Operation] = OPERATIONS[operation];
  const startDirectory = user.filters?.start_directory ? cleanVirtualPath(user.filters.start_directory) : '/';
  const vpath = cleanVirtualPath(q.path, startDirectory);
  const dir = op.at === 'self' ? vpath : parentOf(vpath);
  const mounts = [{ virtualPath: '/' }, ...(user.virtual_folders ?? []).map((vf) => ({ virtualPath: cleanVirtualPath(vf.virtual_path), folder: vf.name }))];
  const { mount } = resolveMount(mounts, vpath);
  const base = { vpath, startDirectory, dir, ...('folder' in mount ? { folder: { name: mount.folder, virtualPath: mount.virtualPath } } : {}) };
  const deny = (rule: AccessRule, looksMissing = false): AccessAnswer => ({ ...base, allowed: false, rule, ...(looksMissing ? { looksMissing } : {}) });

  // The gate: the user's filters for this protocol and address, then the account.
  const refusal = filterRefusal(user, { protocol: q.protocol, ip: q.ip ?? '' });
  const ipRule = refusal?.field === 'allowed_ip' || refusal?.field === 'denied_ip';
  if (refusal && (q.ip !== undefined || !ipRule)) return deny({ kind: 'filter', ...refusal });
  const account = loginRefusal(user, q.now, 0);
  if (account === 'user_disabled') return deny({ kind: 'account', field: 'status' });
  if (account === 'user_expired') return deny({ kind: 'account', field: 'expiration_date' });

  // The session core: mount points, permissions, then the name.
  if ('keepsMounts' in op && (vpath === '/' || mounts.some((m) => m.virtualPath !== '/' && m.virtualPath === vpath)))
    return deny({ kind: 'mount_point', virtualPath: vpath });
  const entry = governingEntry(user.permissions, dir);
  const granted = entry?.granted ?? [];
  let grant: AccessRule | undefined;
  for (const permission of op.needs) {
    const rule: AccessRule = { kind: 'permission', permission, dir, granted, ...(entry ? { key: entry.key } : {}) };
    if (!grants(granted, permission)) return deny(rule);
    grant ??= rule;
  }
  const patterns = new FilePatterns(user.filters?.file_patterns);
  const filter = vpath === '/' ? undefined : patterns.filterFor(parentOf(vpath));
  const nameRule = filter?.refusal(vpath.slice(vpath.lastIndexOf('/') + 1));
  if (filter && nameRule) return deny({ kind: 'pattern', filterPath: filter.path, hide: filter.hide, ...nameRule }, filter.hide && op.name === 'read');
  return { ...base, allowed: true, rule: grant!, ...(filter ? { patternFilter: filter.path } : {}) };
}
