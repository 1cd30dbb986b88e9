// `sftpgo explain` and the config's access assertions: the user a login would see (the YAML's
// records, the store's runtime overrides on top when a store is given, folders and groups
// resolved by the records layer's own functions), the core's answer for one operation
// (core/access.ts), and where the deciding rule is written: a config path with its file, line and
// column, or the override that replaced it.
import type { LoginProtocol } from '../auth/login.ts';
import type { LoadedConfig, PathSegment, SourcePosition } from '../config/load.ts';
import type { SecretBox } from '../config/sealed.ts';
import type { AccessAssertion } from '../config/schema-types.ts';
import { locatorFor } from '../config/source.ts';
import { decideAccess, type AccessAnswer, type AccessRule, type Operation } from '../core/access.ts';
import { cleanVirtualPath } from '../core/paths.ts';
import { GROUP_PRIMARY, GROUP_SECONDARY, type Kind, type UserRecord } from '../model.ts';
import { type GroupOrigin, withStoredGroups } from '../store/groups.ts';
import { effectiveUser, getOverride } from '../store/records.ts';
import type { CollectionName, Collections, Override, ReadTx } from '../store/store.ts';
import { desiredState, type DesiredState } from './desired.ts';

/** Where a rule or a fact is written: a config path with its position, an override, or a runtime record. */
export type Source =
  | { config_path: string; file: string; line: number; column: number }
  | { override: { kind: Kind; name: string; field: string; updated_at: string; updated_by: string } }
  | { runtime: { kind: Kind; name: string } };

export interface Fact {
  text: string;
  source?: Source;
}

export interface Explanation {
  decision: 'allowed' | 'denied';
  user: string;
  path: string;
  operation: Operation;
  protocol: LoginProtocol;
  ip?: string;
  rule: Fact;
  chain: Fact[];
  /** The refusal reads as "not found" to the client (deny_policy 1). */
  looks_missing?: boolean;
}

export interface Question {
  username: string;
  path: string;
  operation: Operation;
  protocol: LoginProtocol;
  ip?: string;
}

/** The records a login reads: the YAML's where it declares them, the store's (runtime ones, overrides) otherwise. */
class DesiredView implements ReadTx {
  constructor(
    private readonly desired: DesiredState,
    private readonly store: ReadTx | undefined,
  ) {}

  async get<C extends CollectionName>(c: C, key: string): Promise<Collections[C] | undefined> {
    const declared = c === 'users' ? this.desired.users.get(key) : c === 'groups' ? this.desired.groups.get(key) : c === 'folders' ? this.desired.folders.get(key) : undefined;
    const stored = await this.store?.get(c, key);
    if (!declared) return stored;
    // The store's bookkeeping (created_at counts a group's expires_in) with the file's definition.
    const meta: Record<string, unknown> = stored && typeof stored === 'object' ? stored : {};
    const record: Record<string, unknown> = { ...declared.spec, id: meta.id ?? 0, created_at: meta.created_at ?? Date.now(), updated_at: meta.updated_at ?? 0, source: 'config' };
    return record as Collections[C];
  }

  entries<C extends CollectionName>(c: C): AsyncIterable<[string, Collections[C]]> {
    return this.store ? this.store.entries(c) : (async function* () {})();
  }

  count(c: CollectionName): Promise<number> {
    return this.store ? this.store.count(c) : Promise.resolve(0);
  }
}

export interface ExplainerOptions {
  loaded: LoadedConfig;
  dataDir: string;
  /** The data dir's store, for runtime records and overrides; without it the YAML alone answers. */
  store?: ReadTx;
  secrets: SecretBox;
  now?: number;
}

/** Answers questions about one config (and store): build once, ask many (assertions). */
export class Explainer {
  readonly #view: DesiredView;
  readonly #locate: (path: readonly PathSegment[]) => SourcePosition;

  constructor(private readonly opts: ExplainerOptions) {
    this.#view = new DesiredView(desiredState(opts.loaded, opts.dataDir, opts.secrets, { resolvePasswords: false }), opts.store);
    this.#locate = locatorFor(opts.loaded);
  }

  /** The answer, or undefined when there is no such user. */
  async explain(q: Question): Promise<Explanation | undefined> {
    const own = await effectiveUser(this.#view, q.username);
    if (!own) return undefined;
    const fromGroups = new Map<string, GroupOrigin>();
    const user = await withStoredGroups(this.#view, own, (setting, origin) => fromGroups.set(setting, origin));
    const answer = decideAccess({ user, path: q.path, operation: q.operation, protocol: q.protocol, now: this.opts.now ?? Date.now(), ...(q.ip !== undefined ? { ip: q.ip } : {}) });
    const where = await this.#origins(own, fromGroups);
    return {
      decision: answer.allowed ? 'allowed' : 'denied',
      user: q.username,
      path: answer.vpath,
      operation: q.operation,
      protocol: q.protocol,
      ...(q.ip !== undefined ? { ip: q.ip } : {}),
      rule: ruleFact(answer, user, where),
      chain: await this.#chain(answer, own, user, where, q),
      ...(answer.looksMissing ? { looks_missing: true } : {}),
    };
  }

  /** Where the settings of `own` (the user's record) and of its groups are written. */
  async #origins(own: UserRecord, fromGroups: Map<string, GroupOrigin>): Promise<Origins> {
    const { config } = this.opts.loaded;
    const store = this.opts.store;
    const userIndex = (config.users ?? []).findIndex((u) => u.username === own.username);
    const userOverride = store ? await getOverride(store, 'user', own.username) : undefined;
    const groupOverrides = new Map<string, Override>();
    for (const g of own.groups ?? []) {
      const o = store ? await getOverride(store, 'group', g.name) : undefined;
      if (o) groupOverrides.set(g.name, o);
    }
    const located = (path: PathSegment[]): Source => {
      const pos = this.#locate(path);
      return { config_path: configPath(path), file: pos.file, line: pos.line, column: pos.col };
    };
    const overridden = (o: Override, field: string): Source => ({
      override: { kind: o.kind, name: o.name, field, updated_at: new Date(o.updated_at).toISOString(), updated_by: o.updated_by },
    });
    return {
      ownIndex: userIndex,
      ...(userOverride ? { userOverride } : {}),
      declaredPermissions: userIndex >= 0 && Object.keys(config.users![userIndex]!.permissions ?? {}).length > 0,
      group: (setting) => fromGroups.get(setting),
      user: (path) => {
        const field = String(path[0]);
        if (userOverride && field in userOverride.fields) return overridden(userOverride, field);
        return userIndex >= 0 ? located(['users', userIndex, ...path]) : { runtime: { kind: 'user', name: own.username } };
      },
      groupSource: (origin) => {
        const o = groupOverrides.get(origin.group);
        const field = String(origin.path[0]);
        if (o && field in o.fields) return overridden(o, field);
        const gi = (config.groups ?? []).findIndex((g) => g.name === origin.group);
        return gi >= 0 ? located(['groups', gi, ...origin.path]) : { runtime: { kind: 'group', name: origin.group } };
      },
      config: located,
      own,
    };
  }

  async #chain(answer: AccessAnswer, own: UserRecord, user: UserRecord, where: Origins, q: Question): Promise<Fact[]> {
    const { config } = this.opts.loaded;
    const facts: Fact[] = [];
    facts.push({ text: `user ${own.username}${where.ownIndex >= 0 ? ' is declared in the config' : ' is a runtime record (not in the config)'}`, source: where.ownIndex >= 0 ? where.config(['users', where.ownIndex, 'username']) : { runtime: { kind: 'user', name: own.username } } });
    const { userOverride } = where;
    if (userOverride) facts.push({ text: `its fields ${Object.keys(userOverride.fields).sort().join(', ')} are overridden at runtime`, source: where.user([Object.keys(userOverride.fields).sort()[0]!]) });
    (own.groups ?? []).forEach((m, i) => {
      const gi = (config.groups ?? []).findIndex((g) => g.name === m.name);
      const type = m.type === GROUP_PRIMARY ? 'primary' : m.type === GROUP_SECONDARY ? 'secondary' : 'membership only: gives no settings';
      facts.push({ text: `member of group ${m.name} (${type})`, source: gi >= 0 ? where.config(['groups', gi, 'name']) : where.user(['groups', i]) });
    });
    if (answer.startDirectory !== '/') {
      const origin = where.group('start_directory');
      facts.push({ text: `start directory ${answer.startDirectory}${cleanVirtualPath(q.path, '/') !== answer.vpath ? `: ${q.path} is ${answer.vpath}` : ''}`, source: origin ? where.groupSource(origin) : where.user(['filters', 'start_directory']) });
    }
    if (answer.folder) {
      const vf = answer.folder;
      const origin = where.group(`virtual_folders:${vf.virtualPath}`);
      const k = (own.virtual_folders ?? []).findIndex((f) => cleanVirtualPath(f.virtual_path) === vf.virtualPath);
      const fi = (config.folders ?? []).findIndex((f) => f.name === vf.name);
      facts.push({ text: `${answer.vpath} is in virtual folder ${vf.name}, mounted at ${vf.virtualPath}`, source: origin ? where.groupSource(origin) : where.user(['virtual_folders', Math.max(k, 0)]) });
      if (fi >= 0) facts.push({ text: `folder ${vf.name} is declared in the config`, source: where.config(['folders', fi, 'name']) });
    } else facts.push({ text: `${answer.vpath} is in the home directory ${user.home_dir}` });
    if (q.ip === undefined && (user.filters?.allowed_ip?.length || user.filters?.denied_ip?.length)) facts.push({ text: 'no client address given: allowed_ip and denied_ip were not consulted' });
    // For a refusal by name, the permission that would have let it through.
    if (answer.rule.kind === 'pattern') {
      const grant = decideAccess({ user: { ...user, filters: { ...user.filters, file_patterns: [] } }, path: answer.vpath, operation: q.operation, protocol: q.protocol, now: this.opts.now ?? Date.now() });
      if (grant.rule.kind === 'permission') facts.push(ruleFact(grant, user, where));
    }
    if (answer.allowed && answer.patternFilter) {
      const origin = where.group(`file_patterns:${answer.patternFilter}`);
      const k = (own.filters?.file_patterns ?? []).findIndex((p) => cleanVirtualPath(p.path) === answer.patternFilter);
      facts.push({ text: `the file patterns for ${answer.patternFilter} let the name through`, source: origin ? where.groupSource(origin) : where.user(['filters', 'file_patterns', Math.max(k, 0)]) });
    }
    return facts;
  }

  /** Each assertion of the config checked: the failures, each with where it is written and why. */
  async failedAssertions(): Promise<AssertionFailure[]> {
    const out: AssertionFailure[] = [];
    for (const [i, a] of (this.opts.loaded.config.assertions ?? []).entries()) {
      const e = await this.explain(questionOf(a));
      const got = e?.decision === 'allowed' ? 'allow' : 'deny';
      if (e && got === a.expect) continue;
      const pos = this.#locate(['assertions', i]);
      out.push({ index: i, assertion: a, at: { config_path: `assertions[${i}]`, file: pos.file, line: pos.line, column: pos.col }, ...(e ? { explanation: e } : {}) });
    }
    return out;
  }
}

export interface AssertionFailure {
  index: number;
  assertion: AccessAssertion;
  at: Source;
  explanation?: Explanation;
}

export function questionOf(a: AccessAssertion): Question {
  return { username: a.user, path: a.path, operation: a.operation, protocol: a.protocol ?? 'SSH', ...(a.ip !== undefined ? { ip: a.ip } : {}) };
}

interface Origins {
  /** The user's index in the config's users, -1 for a runtime user. */
  ownIndex: number;
  /** The runtime override on top of the user's config record. */
  userOverride?: Override;
  /** The config gives the user permissions (otherwise the default "/": ["*"] applies). */
  declaredPermissions: boolean;
  own: UserRecord;
  /** The group a merged setting came from (keys as store/groups.ts MergeTrace names them). */
  group(setting: string): GroupOrigin | undefined;
  groupSource(origin: GroupOrigin): Source;
  /** A path in the user's own record. */
  user(path: PathSegment[]): Source;
  config(path: PathSegment[]): Source;
}

/** `users[3].permissions["/private"]`: keys that are not plain names quoted, as in JSON. */
export function configPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function list(values: readonly string[]): string {
  return `[${values.join(', ')}]`;
}

function ruleFact(answer: AccessAnswer, user: UserRecord, where: Origins): Fact {
  const rule: AccessRule = answer.rule;
  switch (rule.kind) {
    case 'account':
      if (rule.field === 'status') return { text: 'the account is disabled (status: 0)', source: where.user(['status']) };
      {
        const origin = where.group('expiration_date');
        return { text: `the account expired at ${new Date(user.expiration_date ?? 0).toISOString()}`, source: origin ? where.groupSource(origin) : where.user(['expiration_date']) };
      }
    case 'filter': {
      const text =
        rule.field === 'denied_protocols'
          ? `protocol ${rule.entry} is in denied_protocols`
          : rule.field === 'denied_login_methods'
            ? `login method ${rule.entry} is in denied_login_methods`
            : rule.field === 'denied_ip'
              ? `the client address matches denied_ip entry ${rule.entry}`
              : `the client address matches no allowed_ip entry ${list(user.filters?.allowed_ip ?? [])}`;
      if (rule.entry !== undefined) {
        const origin = where.group(`${rule.field}:${rule.entry}`);
        if (origin) return { text, source: where.groupSource(origin) };
        const k = ((where.own.filters?.[rule.field] ?? []) as readonly string[]).indexOf(rule.entry);
        return { text, source: where.user(['filters', rule.field, Math.max(k, 0)]) };
      }
      if (where.own.filters?.allowed_ip?.length) return { text, source: where.user(['filters', 'allowed_ip']) };
      const origin = (user.filters?.allowed_ip ?? []).map((e) => where.group(`allowed_ip:${e}`)).find((o) => o);
      return { text, ...(origin ? { source: where.groupSource({ group: origin.group, path: origin.path.slice(0, -1) }) } : {}) };
    }
    case 'mount_point': {
      if (rule.virtualPath === '/') return { text: 'the root directory cannot be renamed or removed' };
      const origin = where.group(`virtual_folders:${rule.virtualPath}`);
      const k = (where.own.virtual_folders ?? []).findIndex((f) => cleanVirtualPath(f.virtual_path) === rule.virtualPath);
      return { text: `${rule.virtualPath} is where a virtual folder is mounted: it cannot be renamed or removed`, source: origin ? where.groupSource(origin) : where.user(['virtual_folders', Math.max(k, 0)]) };
    }
    case 'permission': {
      if (rule.key === undefined) return { text: `no permissions are configured for ${rule.dir} or any parent: "${rule.permission}" is not granted`, source: where.user(['permissions']) };
      const verdict = answer.allowed ? 'granted' : 'not granted';
      const text = `"${rule.permission}" is ${verdict} at ${rule.dir}: permissions[${JSON.stringify(rule.key)}] is ${list(rule.granted)}`;
      const origin = where.group(`permissions:${rule.key}`);
      if (origin) return { text, source: where.groupSource(origin) };
      if (where.ownIndex >= 0 && !where.declaredPermissions) return { text: `${text} (the default: the user sets no permissions)`, source: where.user(['username']) };
      return { text, source: where.user(['permissions', rule.key]) };
    }
    case 'pattern': {
      const name = answer.vpath.slice(answer.vpath.lastIndexOf('/') + 1);
      const text =
        rule.list === 'denied_patterns'
          ? `the name "${name}" matches denied pattern "${rule.pattern}" of the file patterns for ${rule.filterPath}`
          : `the name "${name}" matches none of the allowed patterns of the file patterns for ${rule.filterPath}`;
      const tail: PathSegment[] = rule.list === 'denied_patterns' ? ['denied_patterns', rule.index] : ['allowed_patterns'];
      const origin = where.group(`file_patterns:${rule.filterPath}`);
      if (origin) return { text, source: where.groupSource({ group: origin.group, path: [...origin.path, ...tail] }) };
      const k = (where.own.filters?.file_patterns ?? []).findIndex((p) => cleanVirtualPath(p.path) === rule.filterPath);
      return { text, source: where.user(['filters', 'file_patterns', Math.max(k, 0), ...tail]) };
    }
  }
}

/** One line per source: `sftpgo.yaml:12:7 users[0].permissions["/private"]`, or the override. */
export function formatSource(s: Source): string {
  if ('config_path' in s) return `${s.file}:${s.line}:${s.column} ${s.config_path}`;
  if ('override' in s) return `override via API on ${s.override.updated_at} by ${s.override.updated_by} (${s.override.kind} ${s.override.name}, field ${s.override.field})`;
  return `${s.runtime.kind} ${s.runtime.name} as stored (created at runtime, not in the config)`;
}

export function formatExplanation(e: Explanation): string {
  const lines = [`${e.decision}: ${e.user} ${e.operation} ${e.path} over ${e.protocol}${e.ip !== undefined ? ` from ${e.ip}` : ''}${e.looks_missing ? ' (the client is told the path does not exist)' : ''}`];
  lines.push(`rule: ${e.rule.text}`);
  if (e.rule.source) lines.push(`  at ${formatSource(e.rule.source)}`);
  if (e.chain.length) lines.push('because:');
  for (const f of e.chain) lines.push(`  - ${f.text}${f.source ? `\n      at ${formatSource(f.source)}` : ''}`);
  return lines.join('\n') + '\n';
}

export function formatFailure(f: AssertionFailure): string {
  const a = f.assertion;
  const head = `${formatSource(f.at)}: expected ${a.expect} for ${a.user} ${a.operation} ${a.path}${a.description ? ` (${a.description})` : ''}`;
  if (!f.explanation) return `${head}: no such user`;
  const e = f.explanation;
  return `${head}, got ${e.decision === 'allowed' ? 'allow' : 'deny'}: ${e.rule.text}${e.rule.source ? `\n  at ${formatSource(e.rule.source)}` : ''}`;
}
