// SFTPGo's event manager resources (/api/v2/eventactions, /api/v2/eventrules) and the on-demand
// run (POST /api/v2/eventrules/run/{name}), for super admins only, as in SFTPGo 2.7. Bodies take
// SFTPGo's shapes, GET sent back included (read-only fields, an action's empty option blocks, the
// action details a rule lists); answers are SFTPGo's: 201 with a Location, PUT replaces, secrets
// redacted. A record the YAML declares is changed through its override and removed from the YAML.
import { definition, mapSecrets } from '../config/secrets.ts';
import { formatPath } from '../config/schema-errors.ts';
import type { EventAction, EventRule } from '../config/schema-types.ts';
import { eventActionProblems, eventRuleProblems } from '../core/event-rules/model.ts';
import { AppError } from '../errors.ts';
import type { EventActionRecord, EventRuleRecord, Kind } from '../model.ts';
import { effectiveEventAction, effectiveEventRule, getOverride, layer } from '../store/records.ts';
import { normaliseEventAction, normaliseEventRule } from '../store/specs.ts';
import type { Override, ReadTx } from '../store/store.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { QueryParam, Route } from './routes.ts';
import { REDACTED_SECRET } from './shapes.ts';

const ACTIONS = '/api/v2/eventactions';
const RULES = '/api/v2/eventrules';

const PAGING: QueryParam[] = [
  { name: 'offset', description: 'Skip this many records', schema: { type: 'integer', minimum: 0, default: 0 } },
  { name: 'limit', description: 'At most this many records (1-500)', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
];

type Json = Record<string, unknown>;

function who(ctx: ApiContext): string {
  return ctx.admin?.username ?? 'api';
}

function paging(ctx: ApiContext): { offset: number; limit: number } {
  const offset = Math.max(0, Number(ctx.c.req.query('offset') ?? 0) || 0);
  const limit = Math.min(500, Math.max(1, Number(ctx.c.req.query('limit') ?? 100) || 100));
  return { offset, limit };
}

/** Effective records (override on top) of one collection, by name. */
async function allActions(store: ReadTx): Promise<Map<string, EventActionRecord>> {
  const overrides = new Map<string, Override>();
  for await (const [key, o] of store.entries('overrides')) if (o.kind === 'event_action') overrides.set(key, o);
  const out = new Map<string, EventActionRecord>();
  for await (const [name, a] of store.entries('event_actions')) out.set(name, layer(a, overrides.get(`event_action:${name}`)));
  return out;
}

/** The rules that run `action` (effective: override on top). */
async function rulesRunning(store: ReadTx, action: string): Promise<string[]> {
  const out: string[] = [];
  for await (const [name] of store.entries('event_rules')) if ((await effectiveEventRule(store, name))?.actions.some((a) => a.name === action)) out.push(name);
  return out;
}

/** An action as SFTPGo shows it: secrets redacted, the rules that run it. */
function actionView(a: EventActionRecord, rules: readonly string[]): Json {
  const { source: _s, ...rest } = a;
  const out = mapSecrets(rest, definition('EventAction'), () => REDACTED_SECRET) as Json;
  if (rules.length) out.rules = rules;
  return out;
}

async function renderAction(store: ReadTx, name: string): Promise<Json | undefined> {
  const a = await effectiveEventAction(store, name);
  if (!a) return undefined;
  return withOverride(store, 'event_action', name, actionView(a, await rulesRunning(store, name)));
}

/** A rule as SFTPGo shows it: each of its actions with the action's own fields. */
function ruleView(r: EventRuleRecord, actions: ReadonlyMap<string, EventActionRecord>): Json {
  const { source: _s, ...rule } = r;
  return {
    ...rule,
    actions: rule.actions.map((ref) => {
      const a = actions.get(ref.name);
      const base = a ? actionView(a, []) : { name: ref.name };
      return { ...base, ...(ref.order !== undefined ? { order: ref.order } : {}), relation_options: { is_failure_action: false, stop_on_failure: false, execute_sync: false, ...ref.relation_options } };
    }),
  };
}

async function renderRule(store: ReadTx, name: string, actions?: Map<string, EventActionRecord>): Promise<Json | undefined> {
  const r = await effectiveEventRule(store, name);
  if (!r) return undefined;
  return withOverride(store, 'event_rule', name, ruleView(r, actions ?? (await allActions(store))));
}

/** The names of one collection's actions or rules. */
export async function eventNames(store: ReadTx, kind: 'event_action' | 'event_rule'): Promise<string[]> {
  const names: string[] = [];
  for await (const [name] of store.entries(kind === 'event_action' ? 'event_actions' : 'event_rules')) names.push(name);
  return names;
}

/** An action or rule as the API shows it, with where it comes from (`source`), for the web admin's lists. */
export async function renderEventRecord(store: ReadTx, kind: 'event_action' | 'event_rule', name: string): Promise<Json | undefined> {
  const rec = kind === 'event_action' ? await effectiveEventAction(store, name) : await effectiveEventRule(store, name);
  const view = kind === 'event_action' ? await renderAction(store, name) : await renderRule(store, name);
  return rec && view ? { ...view, source: rec.source } : undefined;
}

async function withOverride(store: ReadTx, kind: Kind, name: string, view: Json): Promise<Json> {
  const o = await getOverride(store, kind, name);
  return o ? { ...view, overrides: { fields: o.fields, updated_at: o.updated_at, updated_by: o.updated_by } } : view;
}

/**
 * What a GET returned, sent back: read-only fields and the option blocks SFTPGo sends empty go; a
 * redacted password goes too (actionSpec keeps the stored one).
 */
function acceptAction(body: Json): Json {
  const { id: _i, rules: _r, created_at: _c, updated_at: _u, source: _s, overrides: _o, ...rest } = body;
  const options = rest.options as Json | undefined;
  if (options && typeof options === 'object') {
    const kept: Json = {};
    for (const [k, v] of Object.entries(options)) if (!isEmptyBlock(v)) kept[k] = v;
    const fs = kept.fs_config as Json | undefined;
    if (fs && typeof fs === 'object' && isEmptyBlock(fs.compress)) delete fs.compress;
    const http = kept.http_config as Json | undefined;
    if (http && typeof http === 'object' && isRedacted(http.password)) delete http.password;
    rest.options = kept;
  }
  return rest;
}

function isRedacted(s: unknown): boolean {
  return typeof s === 'object' && s !== null && (s as Json).status === 'Redacted';
}

function isEmptyBlock(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(isEmptyBlock);
  return false;
}

function acceptRule(body: Json): Json {
  const { id: _i, created_at: _c, updated_at: _u, source: _s, overrides: _o, ...rest } = body;
  if (Array.isArray(rest.actions))
    rest.actions = rest.actions.map((a: unknown) => {
      if (!a || typeof a !== 'object') return a;
      const { name, order, relation_options } = a as Json;
      return { name, ...(order !== undefined ? { order } : {}), ...(relation_options !== undefined ? { relation_options } : {}) };
    });
  const conditions = rest.conditions as Json | undefined;
  if (conditions && typeof conditions === 'object') {
    // SFTPGo sends these empty on every rule.
    for (const k of ['provider_events', 'schedules', 'idp_login_event']) if (isEmptyBlock(conditions[k])) delete conditions[k];
    const options = conditions.options as Json | undefined;
    if (options && typeof options === 'object') for (const k of ['provider_objects', 'concurrent_execution']) if (isEmptyBlock(options[k])) delete options[k];
  }
  return rest;
}

function refuse(problems: { path: (string | number)[]; message: string }[], what: string): void {
  if (problems.length === 0) return;
  const err = new AppError('invalid', `invalid ${what}`);
  (err as AppError & { details?: unknown }).details = problems.map((p) => ({ path: formatPath(p.path), message: p.message }));
  throw err;
}

/** The action as stored, once checked: a body that sent the password back redacted keeps the stored one. */
async function actionSpec(ctx: ApiContext, a: EventAction, current: Json | undefined): Promise<Json> {
  const http = a.options?.http_config;
  // The body as sent (Hono keeps it): acceptAction took the redacted password out before validation.
  const raw = (await ctx.c.req.json()) as { options?: { http_config?: { password?: unknown } } };
  const kept = (current?.options as EventAction['options'] | undefined)?.http_config?.password;
  if (http && isRedacted(raw.options?.http_config?.password) && kept !== undefined) http.password = kept;
  // A reference would let an API caller send the server's environment or files to an endpoint of
  // its choosing: through the API the password itself is given.
  const pw = http?.password;
  if (typeof pw === 'object' && ('env' in pw || 'file' in pw))
    refuse([{ path: ['options', 'http_config', 'password'], message: 'give the password itself (a string or {"status": "Plain", "payload": ...}); env and file references belong in the config file' }], 'event action');
  refuse(eventActionProblems(a, { enabledCommands: ctx.runtime.config.common?.event_manager?.enabled_commands ?? [] }), 'event action');
  const { runtime } = ctx;
  return { ...normaliseEventAction(a, { baseDir: runtime.dataDir, secrets: runtime.store.secrets }) };
}

async function ruleSpec(ctx: ApiContext, r: EventRule): Promise<Json> {
  const actions = new Map<string, EventAction>();
  for (const a of r.actions) {
    const action = await effectiveEventAction(ctx.runtime.store, a.name);
    if (action) actions.set(a.name, action);
  }
  refuse(eventRuleProblems(r, (n) => actions.get(n)), 'event rule');
  return { ...normaliseEventRule(r) };
}

/** PUT replaces: every field of the new definition set, every other field of the record cleared. */
function replacement(current: Json, spec: Json): { fields: Json; cleared: string[] } {
  const keep = new Set(['id', 'created_at', 'updated_at', 'source', 'name']);
  return { fields: spec, cleared: Object.keys(current).filter((k) => !keep.has(k) && !(k in spec)) };
}

function crud(kind: 'event_action' | 'event_rule'): Route[] {
  const isAction = kind === 'event_action';
  const base = isAction ? ACTIONS : RULES;
  const one = `${base}/{name}`;
  const noun = isAction ? 'event action' : 'event rule';
  const Noun = isAction ? 'Event action' : 'Event rule';
  const def = isAction ? 'EventAction' : 'EventRule';
  const tag = isAction ? 'event actions' : 'event rules';
  const render = (store: ReadTx, name: string) => (isAction ? renderAction(store, name) : renderRule(store, name));
  // The body passed the schema definition (app.ts): it has the record's shape.
  const spec = async (ctx: ApiContext, current: Json | undefined) => (isAction ? actionSpec(ctx, ctx.body as EventAction, current) : ruleSpec(ctx, ctx.body as EventRule));
  return [
    { method: 'get', path: base, summary: `List ${noun}s`, tag, auth: 'admin', permission: '*', query: PAGING, returns: `${def}[]`,
      handler: async (ctx) => {
        const { offset, limit } = paging(ctx);
        const store = ctx.runtime.store;
        const names: string[] = [];
        for await (const [name] of store.entries(isAction ? 'event_actions' : 'event_rules')) names.push(name);
        const actions = isAction ? undefined : await allActions(store);
        const out = [];
        for (const name of names.slice(offset, offset + limit)) {
          const r = isAction ? await renderAction(store, name) : await renderRule(store, name, actions);
          if (r) out.push(r);
        }
        return ctx.c.json(out);
      } },
    { method: 'post', path: base, summary: `Add an ${noun} (runtime-owned)`, tag, auth: 'admin', permission: '*', body: def, accept: isAction ? acceptAction : acceptRule, returns: def,
      handler: async (ctx) => {
        const body = ctx.body as Json;
        const name = String(body.name);
        const s = await spec(ctx, undefined);
        await ctx.runtime.records.write(async (tx) => {
          if (await tx.get(kind, name)) throw new AppError('exists', `${noun} "${name}" already exists`);
          await tx.put(kind, name, s, { source: 'runtime' });
        });
        ctx.runtime.log('info', 'api_change', { action: 'create', kind, name, by: who(ctx) });
        ctx.c.header('Location', `${base}/${encodeURIComponent(name)}`);
        return ctx.c.json(await render(ctx.runtime.store, name), 201);
      } },
    { method: 'get', path: one, summary: `Get an ${noun}`, tag, auth: 'admin', permission: '*', returns: def,
      handler: async (ctx) => {
        const name = ctx.c.req.param('name')!;
        const r = await render(ctx.runtime.store, name);
        return r ? ctx.c.json(r) : errorResponse(ctx.c, 404, `${noun} "${name}" not found`);
      } },
    { method: 'put', path: one, summary: `Replace an ${noun}; a config-declared one gets an override`, tag, auth: 'admin', permission: '*', body: def, accept: isAction ? acceptAction : acceptRule,
      handler: async (ctx) => {
        const name = ctx.c.req.param('name')!;
        const body = ctx.body as Json;
        if (body.name !== name) throw new AppError('invalid', `name: cannot rename (${name} in the path)`);
        const store = ctx.runtime.store;
        const found = isAction ? await effectiveEventAction(store, name) : await effectiveEventRule(store, name);
        const current: Json | undefined = found && { ...found };
        if (!current) throw new AppError('not_found', `${noun} "${name}" not found`);
        const s = await spec(ctx, current);
        const outcome = await ctx.runtime.records.write((tx) => tx.edit(kind, name, { ...replacement(current, s), by: who(ctx) }));
        ctx.runtime.log('info', 'api_change', { action: outcome, kind, name, by: who(ctx) });
        return ctx.c.json({ message: outcome === 'updated' ? `${Noun} updated` : outcome === 'override_set' ? `${noun} override saved` : `${noun} matches the config: override dropped` });
      } },
    { method: 'delete', path: one, summary: `Delete a runtime-owned ${noun}${isAction ? ' no rule runs' : ''}`, tag, auth: 'admin', permission: '*',
      handler: async (ctx) => {
        const name = ctx.c.req.param('name')!;
        await ctx.runtime.records.write(async (tx) => {
          const rec = await tx.get(kind, name);
          if (!rec) throw new AppError('not_found', `${noun} "${name}" not found`);
          if (rec.source === 'config') throw new AppError('exists', `${noun} "${name}" is declared in the config file: remove it there (an API change to it is an override)`);
          await tx.delete(kind, name);
        });
        ctx.runtime.log('info', 'api_change', { action: 'delete', kind, name, by: who(ctx) });
        return ctx.c.json({ message: `${Noun} deleted` });
      } },
    { method: 'delete', path: `/api/v2/overrides/${isAction ? 'eventactions' : 'eventrules'}/{name}`, summary: `Drop an ${noun}'s override: back to the config's value`, tag: 'overrides', auth: 'admin', permission: '*',
      handler: async (ctx) => {
        const name = ctx.c.req.param('name')!;
        await ctx.runtime.records.write(async (tx) => {
          if (!(await tx.get(kind, name))) throw new AppError('not_found', `${noun} "${name}" not found`);
          if (!(await tx.dropOverride(kind, name))) throw new AppError('not_found', `${noun} "${name}" has no override`);
        });
        ctx.runtime.log('info', 'api_change', { action: 'override_dropped', kind, name, by: who(ctx) });
        return ctx.c.json({ message: `${noun} override dropped` });
      } },
  ];
}

export const EVENT_ROUTES: Route[] = [
  ...crud('event_action'),
  ...crud('event_rule'),
  { method: 'post', path: `${RULES}/run/{name}`, summary: 'Run an on-demand event rule (trigger 6): its actions are queued', tag: 'event rules', auth: 'admin', permission: '*', status: 202,
    handler: async (ctx) => {
      await ctx.runtime.events.runOnDemand(ctx.c.req.param('name')!);
      return ctx.c.json({ message: 'Event rule started' }, 202);
    } },
];
