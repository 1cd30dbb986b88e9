// Event actions and rules as SFTPGo models them (type and trigger numbers, relation options), and
// the checks the schema cannot express: which types and triggers this server runs, the options
// block each type needs, the action references and ordering rules of a rule. One set of checks for
// the YAML (config/semantic.ts), API bodies and imports. Pure: no I/O.
import { isAbsolute, posix } from 'node:path';
import type { EventAction, EventEmailConfig, EventHttpConfig, EventRule } from '../../config/schema-types.ts';
import type { PathSegment } from '../../config/schema-errors.ts';
import { cleanVirtualPath } from '../paths.ts';
import { patternError } from '../patterns.ts';
import { EVENT_ACTION_BLOCK } from '../../model.ts';
import { compileSchedule } from './cron.ts';

export type { EventAction, EventRule };
export type RuleAction = EventRule['actions'][number];

export const ACTION_HTTP = 1;
export const ACTION_COMMAND = 2;
export const ACTION_EMAIL = 3;
export const ACTION_BACKUP = 4;
export const ACTION_USER_QUOTA_RESET = 5;
export const ACTION_FOLDER_QUOTA_RESET = 6;
export const ACTION_TRANSFER_QUOTA_RESET = 7;
export const ACTION_DATA_RETENTION = 8;
export const ACTION_FILESYSTEM = 9;
export const ACTION_PASSWORD_EXPIRATION = 11;
export const ACTION_USER_EXPIRATION = 12;
export const ACTION_USER_INACTIVITY = 14;
export const TRIGGER_FS = 1;
export const TRIGGER_PROVIDER = 2;
export const TRIGGER_SCHEDULE = 3;
export const TRIGGER_IP_BLOCKED = 4;
export const TRIGGER_ON_DEMAND = 6;

/** Action types that act on no object and read no options block. */
const BLOCKLESS_ACTIONS: ReadonlySet<number> = new Set([ACTION_BACKUP, ACTION_USER_QUOTA_RESET, ACTION_FOLDER_QUOTA_RESET, ACTION_TRANSFER_QUOTA_RESET, ACTION_USER_EXPIRATION]);
/** Action types that run for users: on a provider event, only for a changed user (SFTPGo's rule). */
export const USER_ACTIONS: ReadonlySet<number> = new Set([ACTION_USER_QUOTA_RESET, ACTION_TRANSFER_QUOTA_RESET, ACTION_DATA_RETENTION, ACTION_FILESYSTEM, ACTION_PASSWORD_EXPIRATION, ACTION_USER_EXPIRATION]);

export const FS_RENAME = 1;
export const FS_DELETE = 2;
export const FS_MKDIRS = 3;
export const FS_EXIST = 4;
export const FS_COMPRESS = 5;
export const FS_COPY = 6;

/** SFTPGo's action types this server does not run yet, by number. */
const UNSUPPORTED_ACTIONS: Record<number, string> = {
  13: 'Identity Provider account check', 15: 'log rotation',
};

const UNSUPPORTED_TRIGGERS: Record<number, string> = { 5: 'certificate renewal', 7: 'Identity Provider login' };
const SUPPORTED_TRIGGERS: ReadonlySet<number> = new Set([TRIGGER_FS, TRIGGER_PROVIDER, TRIGGER_SCHEDULE, TRIGGER_IP_BLOCKED, TRIGGER_ON_DEMAND]);
const SUPPORTED_ACTIONS_TEXT = 'types 1 (HTTP), 2 (command), 3 (email), 4 (backup), 5 to 7 (quota resets), 8 (data retention), 9 (filesystem), 11 (password expiration), 12 (user expiration) and 14 (user inactivity) are';

/** Which triggers read each condition (SFTPGo clears the others; here they are refused). */
const CONDITION_TRIGGERS: [path: PathSegment[], triggers: readonly number[], what: string][] = [
  [['conditions', 'fs_events'], [TRIGGER_FS], 'filesystem rules (trigger 1)'],
  [['conditions', 'provider_events'], [TRIGGER_PROVIDER], 'provider event rules (trigger 2)'],
  [['conditions', 'schedules'], [TRIGGER_SCHEDULE], 'scheduled rules (trigger 3)'],
  [['conditions', 'options', 'names'], [TRIGGER_FS, TRIGGER_PROVIDER, TRIGGER_SCHEDULE, TRIGGER_ON_DEMAND], 'filesystem, provider, scheduled and on-demand rules'],
  [['conditions', 'options', 'group_names'], [TRIGGER_FS, TRIGGER_PROVIDER, TRIGGER_SCHEDULE, TRIGGER_ON_DEMAND], 'filesystem, provider, scheduled and on-demand rules'],
  [['conditions', 'options', 'role_names'], [TRIGGER_FS, TRIGGER_PROVIDER, TRIGGER_SCHEDULE, TRIGGER_ON_DEMAND], 'filesystem, provider, scheduled and on-demand rules'],
  [['conditions', 'options', 'provider_objects'], [TRIGGER_PROVIDER], 'provider event rules (trigger 2)'],
  [['conditions', 'options', 'fs_paths'], [TRIGGER_FS], 'filesystem rules (trigger 1)'],
  [['conditions', 'options', 'protocols'], [TRIGGER_FS], 'filesystem rules (trigger 1)'],
  [['conditions', 'options', 'min_size'], [TRIGGER_FS], 'filesystem rules (trigger 1)'],
  [['conditions', 'options', 'max_size'], [TRIGGER_FS], 'filesystem rules (trigger 1)'],
  [['conditions', 'options', 'event_statuses'], [TRIGGER_FS], 'filesystem rules (trigger 1)'],
];

/** Actions a trigger cannot run (SFTPGo's CheckActionsConsistency, the part that does not depend on the event). */
const TRIGGER_REFUSES: Record<number, { types: ReadonlySet<number>; why: string }> = {
  [TRIGGER_FS]: { types: new Set([ACTION_FOLDER_QUOTA_RESET]), why: 'folder quota resets do not run on filesystem events' },
  [TRIGGER_IP_BLOCKED]: {
    types: new Set([ACTION_USER_QUOTA_RESET, ACTION_FOLDER_QUOTA_RESET, ACTION_TRANSFER_QUOTA_RESET, ACTION_DATA_RETENTION, ACTION_FILESYSTEM, ACTION_PASSWORD_EXPIRATION, ACTION_USER_EXPIRATION]),
    why: 'an IP blocked event has no user or folder to act on',
  },
};

/** Which options block each supported type reads. */
const BLOCK_OF = EVENT_ACTION_BLOCK;

const SYNC_EVENTS: ReadonlySet<string> = new Set(['upload', 'pre-upload', 'pre-download', 'pre-delete']);
const PRE_EVENTS: ReadonlySet<string> = new Set(['pre-upload', 'pre-download', 'pre-delete']);

export interface EventProblem {
  /** Relative to the action or rule. */
  path: PathSegment[];
  message: string;
}

export interface ActionCheckOptions {
  /** common.event_manager.enabled_commands: the programs command actions may run. */
  enabledCommands: readonly string[];
}

export function eventActionProblems(a: EventAction, opts: ActionCheckOptions): EventProblem[] {
  const out: EventProblem[] = [];
  const add = (path: PathSegment[], message: string) => out.push({ path, message });
  const unsupported = UNSUPPORTED_ACTIONS[a.type];
  if (unsupported) return [{ path: ['type'], message: `not supported yet: ${unsupported} actions (type ${a.type}); ${SUPPORTED_ACTIONS_TEXT}` }];
  if (BLOCKLESS_ACTIONS.has(a.type)) {
    for (const k of Object.keys(a.options ?? {}))
      add(['options', k], `applies to type ${Object.entries(BLOCK_OF).find(([, b]) => b === k)?.[0]} actions only; a type ${a.type} action takes no options`);
    return out;
  }
  const block = BLOCK_OF[a.type as keyof typeof BLOCK_OF];
  if (!block) return [{ path: ['type'], message: `unknown action type ${a.type}` }];
  for (const k of Object.keys(a.options ?? {}))
    if (k !== block) add(['options', k], `applies to type ${Object.entries(BLOCK_OF).find(([, b]) => b === k)?.[0]} actions only; this one is type ${a.type}`);
  if (!a.options?.[block]) return [...out, { path: ['options', block], message: `required for a type ${a.type} action` }];
  const password = a.type === ACTION_HTTP ? a.options.http_config?.password : undefined;
  if (typeof password === 'object' && 'generate' in password)
    add(['options', 'http_config', 'password'], 'a password for another server cannot be generated: give it, or read it with env or file');
  if (a.type === ACTION_HTTP) out.push(...httpPartsProblems(a.options.http_config!));
  if (a.type === ACTION_EMAIL) out.push(...emailProblems(a.options.email_config!));
  if (a.type === ACTION_USER_INACTIVITY) {
    const c = a.options.user_inactivity_config!;
    const at: PathSegment[] = ['options', 'user_inactivity_config'];
    if (!c.disable_threshold && !c.delete_threshold) add(at, 'at least one of disable_threshold and delete_threshold is required');
    else if (c.disable_threshold && c.delete_threshold && c.delete_threshold <= c.disable_threshold)
      add([...at, 'delete_threshold'], `must be greater than disable_threshold (${c.disable_threshold})`);
  }
  if (a.type === ACTION_COMMAND) {
    const cmd = a.options.cmd_config!.cmd;
    if (!isAbsolute(cmd)) add(['options', 'cmd_config', 'cmd'], 'must be an absolute path');
    else if (!opts.enabledCommands.includes(cmd)) add(['options', 'cmd_config', 'cmd'], `command "${cmd}" is not allowed: list it in common.event_manager.enabled_commands`);
  }
  if (a.type === ACTION_DATA_RETENTION) retentionProblems(a.options.retention_config!, add);
  if (a.type === ACTION_FILESYSTEM) {
    const fs = a.options.fs_config!;
    const at = (k: string): PathSegment[] => ['options', 'fs_config', k];
    const need = (k: 'renames' | 'deletes' | 'mkdirs' | 'exist' | 'copy', what: string) => {
      if (!fs[k]?.length) add(at(k), `at least one ${what} is required for fs_config type ${fs.type}`);
    };
    switch (fs.type) {
      case FS_RENAME:
        need('renames', 'rename');
        (fs.renames ?? []).forEach((r, i) => r.key === r.value && add([...at('renames'), i], `renaming "${r.key}" to itself`));
        break;
      case FS_DELETE:
        need('deletes', 'path to delete');
        break;
      case FS_MKDIRS:
        need('mkdirs', 'directory');
        break;
      case FS_EXIST:
        need('exist', 'path');
        break;
      case FS_COMPRESS: {
        const z = fs.compress;
        const name = z?.name?.trim() ?? '';
        if (!name) add(at('compress'), 'compress.name (the archive) is required for fs_config type 5');
        else if (cleanVirtualPath(name) === '/') add([...at('compress'), 'name'], 'the archive cannot be the root directory');
        if (!z?.paths?.length) add(at('compress'), 'at least one path to compress is required for fs_config type 5');
        (z?.paths ?? []).forEach((p, i) => name && cleanVirtualPath(p) === cleanVirtualPath(name) && add([...at('compress'), 'paths', i], 'the archive cannot compress itself'));
        break;
      }
      case FS_COPY:
        need('copy', 'copy');
        (fs.copy ?? []).forEach((c, i) => c.key === c.value && add([...at('copy'), i], `copying "${c.key}" onto itself`));
        break;
    }
    if (fs.compress && fs.type !== FS_COMPRESS && (fs.compress.name || fs.compress.paths?.length)) add(at('compress'), `applies to fs_config type ${FS_COMPRESS} only; this one is type ${fs.type}`);
    for (const k of ['renames', 'deletes', 'mkdirs', 'exist', 'copy'] as const) {
      const wanted = { renames: FS_RENAME, deletes: FS_DELETE, mkdirs: FS_MKDIRS, exist: FS_EXIST, copy: FS_COPY }[k];
      if (fs[k]?.length && fs.type !== wanted) add(at(k), `applies to fs_config type ${wanted} only; this one is type ${fs.type}`);
    }
  }
  return out;
}

function retentionProblems(c: NonNullable<NonNullable<EventAction['options']>['retention_config']>, add: (path: PathSegment[], message: string) => void): void {
  const seen = new Set<string>();
  const folders = c.folders ?? [];
  folders.forEach((f, i) => {
    const path = posix.normalize(`/${f.path}`).replace(/(.)\/+$/, '$1');
    if (seen.has(path)) add(['options', 'retention_config', 'folders', i, 'path'], `duplicate folder path "${path}"`);
    seen.add(path);
  });
  // As SFTPGo: a check whose every folder is excluded (retention 0) would do nothing.
  if (!folders.some((f) => (f.retention ?? 0) > 0)) add(['options', 'retention_config', 'folders'], 'nothing to delete: give at least one folder a retention above 0 hours');
}

/** SFTPGo's stand-in for the data retention check's reports, as an attachment or a file part. */
const RETENTION_REPORTS = '{{RetentionReports}}';
const NO_RETENTION_REPORTS = 'data retention reports ({{RetentionReports}}) are not supported yet: the data retention check writes its report to the log';

/** SFTPGo's checks of multipart parts: each a field or a file, never beside a body or a Content-Type header. */
function httpPartsProblems(c: EventHttpConfig): EventProblem[] {
  const out: EventProblem[] = [];
  const at: PathSegment[] = ['options', 'http_config'];
  const parts = c.parts ?? [];
  if (parts.length === 0) return out;
  if (c.body) out.push({ path: [...at, 'body'], message: 'a multipart request has no body: it is built from parts' });
  c.headers?.forEach((h, i) => {
    if (h.key.toLowerCase() === 'content-type') out.push({ path: [...at, 'headers', i], message: 'the Content-Type of a multipart request is set by the server' });
  });
  const files = new Set<string>();
  parts.forEach((p, i) => {
    if (p.filepath === RETENTION_REPORTS) out.push({ path: [...at, 'parts', i, 'filepath'], message: NO_RETENTION_REPORTS });
    else if (p.filepath) {
      const clean = cleanVirtualPath(p.filepath);
      if (files.has(clean)) out.push({ path: [...at, 'parts', i, 'filepath'], message: `"${p.filepath}" is already a part` });
      files.add(clean);
      if (p.body) out.push({ path: [...at, 'parts', i, 'body'], message: 'a part is a file (filepath) or a text (body), not both' });
    } else if (!p.body) out.push({ path: [...at, 'parts', i], message: 'a part needs a body when it has no filepath' });
  });
  return out;
}

function emailProblems(c: EventEmailConfig): EventProblem[] {
  const at: PathSegment[] = ['options', 'email_config'];
  const out: EventProblem[] = [];
  const seen = new Set<string>();
  c.attachments?.forEach((p, i) => {
    if (p.trim() === RETENTION_REPORTS) return void out.push({ path: [...at, 'attachments', i], message: NO_RETENTION_REPORTS });
    const clean = cleanVirtualPath(p.trim());
    if (seen.has(clean)) out.push({ path: [...at, 'attachments', i], message: `"${p}" is attached twice` });
    seen.add(clean);
  });
  return out;
}

/** Whether an action reads files of the event's user (attachments, multipart files): it needs a filesystem event. */
export function needsEventUser(a: EventAction): boolean {
  if (a.type === ACTION_EMAIL) return (a.options?.email_config?.attachments?.length ?? 0) > 0;
  if (a.type === ACTION_HTTP) return (a.options?.http_config?.parts ?? []).some((p) => !!p.filepath);
  return false;
}

/** The rule's actions in run order: by `order`, list order among equals (and when it is left out). */
export function orderedActions(rule: Pick<EventRule, 'actions'>): RuleAction[] {
  return rule.actions
    .map((a, i) => ({ a, key: a.order ?? i + 1, i }))
    .sort((x, y) => x.key - y.key || x.i - y.i)
    .map((x) => x.a);
}

/**
 * What is wrong with a rule; `actionExists` tells whether an action name resolves (the YAML's
* declared actions, or the store's for an API body): the action itself, or undefined when it
 * does not exist.
 */
export function eventRuleProblems(r: EventRule, actionOf: (name: string) => EventAction | undefined): EventProblem[] {
  const out: EventProblem[] = [];
  const add = (path: PathSegment[], message: string) => out.push({ path, message });
  const unsupported = UNSUPPORTED_TRIGGERS[r.trigger];
  if (unsupported)
    return [{ path: ['trigger'], message: `not supported yet: ${unsupported} rules (trigger ${r.trigger}); triggers 1 (filesystem events), 2 (provider events), 3 (schedules), 4 (IP blocked) and 6 (on demand) are` }];
  if (!SUPPORTED_TRIGGERS.has(r.trigger)) return [{ path: ['trigger'], message: `unknown trigger ${r.trigger}` }];
  const c = r.conditions;
  const o = c?.options;
  const fsEvents = c?.fs_events ?? [];
  if (r.trigger === TRIGGER_FS && fsEvents.length === 0) add(['conditions', 'fs_events'], 'at least one filesystem event is required for a trigger 1 rule');
  if (r.trigger === TRIGGER_PROVIDER && !c?.provider_events?.length) add(['conditions', 'provider_events'], 'at least one provider event is required for a trigger 2 rule');
  if (r.trigger === TRIGGER_SCHEDULE) {
    if (!c?.schedules?.length) add(['conditions', 'schedules'], 'at least one schedule is required for a trigger 3 rule');
    (c?.schedules ?? []).forEach((s, i) => {
      const compiled = compileSchedule(s);
      if (compiled instanceof Error) add(['conditions', 'schedules', i], `invalid schedule: ${compiled.message}`);
    });
  }
  for (const [path, triggers, what] of CONDITION_TRIGGERS) {
    let v: unknown = r;
    for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
    const set = Array.isArray(v) ? v.length > 0 : Boolean(v);
    if (set && !triggers.includes(r.trigger)) add(path, `applies to ${what} only`);
  }
  for (const list of ['names', 'group_names', 'role_names', 'fs_paths'] as const)
    (o?.[list] ?? []).forEach((p, i) => {
      const why = patternError(p.pattern.replace(/\*\*+/g, '*'));
      if (why) add(['conditions', 'options', list, i, 'pattern'], why);
    });
  if (o?.min_size && o.max_size && o.max_size <= o.min_size) add(['conditions', 'options', 'max_size'], `must be greater than min_size (${o.min_size})`);

  const names = new Set<string>();
  const orders = new Set<number>();
  let failureActions = 0;
  let hasSync = false;
  r.actions.forEach((a, i) => {
    const at: PathSegment[] = ['actions', i];
    if (names.has(a.name)) add([...at, 'name'], `duplicate action "${a.name}"`);
    names.add(a.name);
    const action = actionOf(a.name);
    if (!action) add([...at, 'name'], `event action "${a.name}" does not exist`);
    else {
      const refused = TRIGGER_REFUSES[r.trigger];
      if (refused?.types.has(action.type)) add([...at, 'name'], `action "${a.name}" (type ${action.type}) cannot run here: ${refused.why}`);
      // As SFTPGo: only a filesystem event has a user whose files can be attached or uploaded.
      else if (r.trigger !== TRIGGER_FS && needsEventUser(action)) add([...at, 'name'], `event action "${a.name}" sends files of the event's user, and a trigger ${r.trigger} rule has no user`);
    }
    if (a.order !== undefined) {
      if (orders.has(a.order)) add([...at, 'order'], `duplicate order ${a.order}`);
      orders.add(a.order);
    }
    const ro = a.relation_options;
    if (ro?.is_failure_action) failureActions++;
    if (ro?.execute_sync) {
      hasSync = true;
      if (ro.is_failure_action) add([...at, 'relation_options', 'execute_sync'], 'a failure action cannot run synchronously');
      else if (r.trigger !== TRIGGER_FS) add([...at, 'relation_options', 'execute_sync'], 'synchronous actions run on filesystem events (trigger 1) only');
      else {
        const other = fsEvents.find((e) => !SYNC_EVENTS.has(e));
        if (other) add([...at, 'relation_options', 'execute_sync'], `synchronous actions run only on upload and pre-* events, and this rule also fires on "${other}"`);
      }
    }
  });
  if (r.actions.length > 0 && failureActions === r.actions.length) add(['actions'], 'at least one action must not be a failure action');
  if (r.trigger === TRIGGER_FS && !hasSync) {
    const pre = fsEvents.find((e) => PRE_EVENTS.has(e));
    if (pre) add(['actions'], `the event "${pre}" needs at least one synchronous action (relation_options.execute_sync)`);
  }
  return out;
}
