/** @jsxImportSource hono/jsx */
// The web admin's event actions and rules (lists with their source, one record as the API shows
// it, a button that runs an on-demand rule) and quota maintenance (a user's quota scan started,
// the running scans, the users' quota and transfer usage), over the API's own functions and with
// the API's permissions and role scope.
import type { FC } from 'hono/jsx';
import type { Hono } from 'hono';
import type { Env } from '../../api/app.ts';
import { eventNames, renderEventRecord } from '../../api/event-routes.ts';
import { startQuotaScan } from '../../api/quota-routes.ts';
import { KINDS, list } from '../../api/resources.ts';
import { isAppError } from '../../errors.ts';
import { Csrf, PostButton } from '../layout.tsx';
import type { Kit } from './app.tsx';
import { BASE, SourceBadge, userHref } from './views.tsx';

type Json = Record<string, unknown>;
type EventKind = 'event_action' | 'event_rule';

const TRIGGERS: Record<number, string> = { 1: 'filesystem', 2: 'provider', 3: 'schedule', 4: 'IP blocked', 5: 'certificate', 6: 'on demand', 7: 'IdP login' };
const ACTION_TYPES: Record<number, string> = {
  1: 'HTTP', 2: 'command', 3: 'email', 4: 'backup', 5: 'user quota reset', 6: 'folder quota reset', 7: 'transfer quota reset', 8: 'data retention', 9: 'filesystem',
  11: 'password expiration', 12: 'user expiration', 13: 'IdP check', 14: 'inactivity', 15: 'log rotate',
};
const ON_DEMAND = 6;

function eventHref(kind: EventKind, name?: string): string {
  const base = `${BASE}/${kind === 'event_action' ? 'eventactions' : 'eventrules'}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

const EventsPage: FC<{ kind: EventKind; records: Json[]; csrf: string }> = (p) => {
  const rules = p.kind === 'event_rule';
  return (
    <>
      <h1>{rules ? 'Event rules' : 'Event actions'}</h1>
      <p><a href={eventHref(rules ? 'event_action' : 'event_rule')}>{rules ? 'Event actions' : 'Event rules'} →</a></p>
      <table id={rules ? 'event-rules' : 'event-actions'}>
        <thead><tr><th>Name</th><th>Source</th><th>{rules ? 'Trigger' : 'Type'}</th><th>{rules ? 'Actions' : 'Used by'}</th><th></th></tr></thead>
        <tbody>
          {p.records.map((r) => (
            <tr data-name={String(r.name)}>
              <td><a href={eventHref(p.kind, String(r.name))}>{String(r.name)}</a></td>
              <td><SourceBadge record={r} /></td>
              <td>{rules ? TRIGGERS[Number(r.trigger)] ?? String(r.trigger) : ACTION_TYPES[Number(r.type)] ?? String(r.type)}</td>
              <td>{rules ? ((r.actions as Json[] | undefined) ?? []).map((a) => String(a.name)).join(', ') : ((r.rules as string[] | undefined) ?? []).join(', ')}</td>
              <td>{rules && r.trigger === ON_DEMAND && <PostButton action={`${eventHref('event_rule', String(r.name))}/run`} csrf={p.csrf} label="Run" />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.records.length === 0 && <p class="note">None.</p>}
      <p class="note">Actions and rules are changed through the API or the YAML.</p>
    </>
  );
};

const EventPage: FC<{ kind: EventKind; record: Json; csrf: string }> = (p) => {
  const { overrides, ...shown } = p.record;
  const o = overrides as { updated_by?: string; updated_at?: number } | undefined;
  return (
    <>
      <h1>{p.kind === 'event_rule' ? 'Event rule' : 'Event action'} {String(p.record.name)}</h1>
      <p><SourceBadge record={p.record} />{o && <span class="note"> override by {o.updated_by}</span>}</p>
      {p.kind === 'event_rule' && p.record.trigger === ON_DEMAND && (
        <div class="actions"><PostButton action={`${eventHref('event_rule', String(p.record.name))}/run`} csrf={p.csrf} label="Run" /></div>
      )}
      <pre id="event-record">{JSON.stringify(shown, null, 2)}</pre>
      <p><a href={eventHref(p.kind)}>← all</a></p>
    </>
  );
};

const QuotaPage: FC<{ scans: { name: string; start_time: number }[]; users: Json[]; csrf: string; canView: boolean }> = (p) => (
  <>
    <h1>Quota</h1>
    <h2>Scan a user's quota usage</h2>
    <form class="search" method="post" action={`${BASE}/quota/scans`}>
      <Csrf token={p.csrf} />
      <input type="text" name="username" placeholder="username" aria-label="username" required />
      <button type="submit">Start scan</button>
    </form>
    <h2>Running scans</h2>
    <table id="quota-scans">
      <thead><tr><th>User</th><th>Started</th></tr></thead>
      <tbody>
        {p.scans.map((s) => (
          <tr data-username={s.name}><td>{s.name}</td><td>{new Date(s.start_time).toISOString()}</td></tr>
        ))}
      </tbody>
    </table>
    {p.scans.length === 0 && <p class="note">No scan is running.</p>}
    {p.canView && (
      <>
        <h2>Quota and transfer usage</h2>
        <table id="usage">
          <thead><tr><th>User</th><th>Used size</th><th>Used files</th><th>Uploaded</th><th>Downloaded</th></tr></thead>
          <tbody>
            {p.users.map((u) => (
              <tr data-username={String(u.username)}>
                <td><a href={userHref(String(u.username))}>{String(u.username)}</a></td>
                <td>{String(u.used_quota_size ?? 0)}{u.quota_size ? ` / ${String(u.quota_size)}` : ''}</td>
                <td>{String(u.used_quota_files ?? 0)}{u.quota_files ? ` / ${String(u.quota_files)}` : ''}</td>
                <td>{String(u.used_upload_data_transfer ?? 0)}</td>
                <td>{String(u.used_download_data_transfer ?? 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </>
    )}
  </>
);

export function mountEventPages(web: Hono<Env>, kit: Kit): void {
  const { runtime } = kit;

  for (const kind of ['event_action', 'event_rule'] as const) {
    const path = kind === 'event_action' ? '/eventactions' : '/eventrules';
    web.get(path, async (c) => {
      const v = await kit.visit(c, '*');
      if (v instanceof Response) return v;
      const records: Json[] = [];
      for (const name of (await eventNames(runtime.store, kind)).slice(0, 500)) {
        const r = await renderEventRecord(runtime.store, kind, name);
        if (r) records.push(r);
      }
      return kit.send(v, kind === 'event_rule' ? 'Event rules' : 'Event actions', <EventsPage kind={kind} records={records} csrf={v.session.csrf} />);
    });
    web.get(`${path}/:name`, async (c) => {
      const v = await kit.visit(c, '*');
      if (v instanceof Response) return v;
      const record = await renderEventRecord(runtime.store, kind, c.req.param('name'));
      if (!record) return kit.flashTo(v, eventHref(kind), { kind: 'error', text: `"${c.req.param('name')}" not found` });
      return kit.send(v, String(record.name), <EventPage kind={kind} record={record} csrf={v.session.csrf} />);
    });
  }

  web.post('/eventrules/:name/run', async (c) => {
    const p = await kit.posted(c, '*');
    if (p instanceof Response) return p;
    const name = c.req.param('name');
    try {
      await runtime.events.runOnDemand(name);
    } catch (err) {
      if (!isAppError(err)) throw err;
      return kit.flashTo(p.v, eventHref('event_rule'), { kind: 'error', text: `Not started: ${err.message}` });
    }
    runtime.log('info', 'web_change', { action: 'run', kind: 'event_rule', name, by: p.v.admin.username });
    return kit.flashTo(p.v, eventHref('event_rule'), { kind: 'info', text: `Event rule ${name} started: its actions are queued.` });
  });

  web.get('/quota', async (c) => {
    const v = await kit.visit(c, 'quota_scans');
    if (v instanceof Response) return v;
    const scans = await v.scope.filter(runtime.quotaScans.list('user'), (s) => s.name);
    const canView = v.admin.permissions.includes('*') || v.admin.permissions.includes('view_users');
    const users = canView ? await list(runtime, KINDS.users, { offset: 0, limit: 500, admits: v.scope.admits }) : [];
    return kit.send(v, 'Quota', <QuotaPage scans={scans} users={users} csrf={v.session.csrf} canView={canView} />);
  });

  web.post('/quota/scans', async (c) => {
    const p = await kit.posted(c, 'quota_scans');
    if (p instanceof Response) return p;
    const { v, form } = p;
    const name = typeof form.username === 'string' ? form.username.trim() : '';
    // A role admin's scope hides another role's user as if it did not exist (as the API does).
    const outcome = (await v.scope.admits(name)) ? await startQuotaScan(runtime, 'user', name, v.admin.username) : 'not_found';
    const text = {
      started: `Quota scan of ${name} started.`,
      running: `A quota scan of ${name} is already running.`,
      not_found: `user "${name}" not found`,
      disabled: 'quota tracking is disabled (data_provider.track_quota is 0)',
    }[outcome];
    return kit.flashTo(v, `${BASE}/quota`, { kind: outcome === 'started' ? 'info' : 'error', text });
  });
}
