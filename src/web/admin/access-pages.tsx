/** @jsxImportSource hono/jsx */
// The web admin's pages for who may do what: API keys (created here and shown once, deleted),
// groups (created and deleted), roles, and the IP lists (entries added and deleted). Each list
// shows a record's source (YAML, YAML + override, API) and every write goes through the API's own
// functions, with the same permissions as the API's routes.
import type { FC } from 'hono/jsx';
import type { Hono } from 'hono';
import { acceptObjectBody, type Env } from '../../api/app.ts';
import { apiKeyDefinition, createApiKey, deleteApiKey, listApiKeys, shownApiKey } from '../../api/api-keys.ts';
import { addIpListEntry, deleteIpListEntry, ipListEntryOf, listIpList } from '../../api/ip-list-routes.ts';
import { create, KINDS, list, remove } from '../../api/resources.ts';
import { listRoles } from '../../api/roles.ts';
import { IP_LIST_TYPES, type IpListRecord, type IpListType } from '../../core/ip-lists.ts';
import { isAppError } from '../../errors.ts';
import { Csrf, PostButton } from '../layout.tsx';
import type { Kit, Posted, Visit } from './app.tsx';
import { BASE, SourceBadge } from './views.tsx';

type Json = Record<string, unknown>;

function when(ms: unknown): string {
  return typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : 'never';
}

function field(form: Posted, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v.trim() : '';
}

/** The message of an API refusal, with its field errors. */
function reason(err: unknown): string {
  if (!isAppError(err)) throw err;
  const details = (err as { details?: { path: string; message: string }[] }).details ?? [];
  return details.length ? details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ') : err.message;
}

// ---- API keys ----

const ApiKeysPage: FC<{ keys: Json[]; csrf: string; created?: string }> = (p) => (
  <>
    <h1>API keys</h1>
    {p.created && (
      <div class="flash info" role="status">
        API key created. This is the only time it is shown: <code id="new-api-key">{p.created}</code>
      </div>
    )}
    <table id="api-keys">
      <thead><tr><th>ID</th><th>Name</th><th>Source</th><th>Scope</th><th>Admin / user</th><th>Expires</th><th>Last use</th><th></th></tr></thead>
      <tbody>
        {p.keys.map((k) => (
          <tr data-id={String(k.id)} data-name={String(k.name)}>
            <td><code>{String(k.id)}</code></td>
            <td>{String(k.name)}</td>
            <td><SourceBadge record={{ source: 'runtime' }} /></td>
            <td>{k.scope === 1 ? 'admin' : 'user'}</td>
            <td>{String(k.admin ?? k.user ?? '')}</td>
            <td>{k.expires_at ? when(k.expires_at) : 'never'}</td>
            <td>{when(k.last_use_at)}</td>
            <td><PostButton action={`${BASE}/apikeys/${encodeURIComponent(String(k.id))}/delete`} csrf={p.csrf} label="Delete" kind="danger" /></td>
          </tr>
        ))}
      </tbody>
    </table>
    {p.keys.length === 0 && <p class="note">No API key.</p>}
    <h2>New API key</h2>
    <form class="stack" method="post" action={`${BASE}/apikeys`}>
      <Csrf token={p.csrf} />
      <label>Name<input type="text" name="name" required /></label>
      <fieldset>
        <legend>Scope</legend>
        <label><input type="radio" name="scope" value="1" checked /> admin</label>
        <label><input type="radio" name="scope" value="2" /> user</label>
      </fieldset>
      <label>Admin or user it acts as (empty: named when it is used)<input type="text" name="owner" /></label>
      <label>Description<input type="text" name="description" /></label>
      <button type="submit">Create API key</button>
    </form>
  </>
);

// ---- groups ----

const GroupsPage: FC<{ groups: Json[]; csrf: string }> = (p) => (
  <>
    <h1>Groups</h1>
    <table id="groups">
      <thead><tr><th>Name</th><th>Source</th><th>Description</th><th>Users</th><th></th></tr></thead>
      <tbody>
        {p.groups.map((g) => (
          <tr data-name={String(g.name)}>
            <td>{String(g.name)}</td>
            <td><SourceBadge record={g} /></td>
            <td>{String(g.description ?? '')}</td>
            <td>{((g.users as string[] | undefined) ?? []).join(', ')}</td>
            <td>{g.source !== 'config' && <PostButton action={`${BASE}/groups/${encodeURIComponent(String(g.name))}/delete`} csrf={p.csrf} label="Delete" kind="danger" />}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {p.groups.length === 0 && <p class="note">No group.</p>}
    <h2>New group</h2>
    <form class="stack" method="post" action={`${BASE}/groups`}>
      <Csrf token={p.csrf} />
      <label>Name<input type="text" name="name" required /></label>
      <label>Description<input type="text" name="description" /></label>
      <button type="submit">Create group</button>
    </form>
    <p class="note">A group's settings (home, permissions, quotas, folders) are set through the API or the YAML.</p>
  </>
);

// ---- roles ----

const RolesPage: FC<{ roles: Json[] }> = (p) => (
  <>
    <h1>Roles</h1>
    <table id="roles">
      <thead><tr><th>Name</th><th>Source</th><th>Description</th><th>Users</th><th>Admins</th></tr></thead>
      <tbody>
        {p.roles.map((r) => (
          <tr data-name={String(r.name)}>
            <td>{String(r.name)}</td>
            <td><SourceBadge record={r} /></td>
            <td>{String(r.description ?? '')}</td>
            <td>{((r.users as string[] | undefined) ?? []).join(', ')}</td>
            <td>{((r.admins as string[] | undefined) ?? []).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {p.roles.length === 0 && <p class="note">No role.</p>}
  </>
);

// ---- IP lists ----

const LIST_NAMES: Record<IpListType, string> = { 1: 'Allow list', 2: 'Defender', 3: "Rate limiters' safe list" };

const IpListsPage: FC<{ type: IpListType; entries: IpListRecord[]; csrf: string }> = (p) => (
  <>
    <h1>IP lists</h1>
    <nav class="actions">
      {IP_LIST_TYPES.map((t) => (
        <a class={t === p.type ? 'button' : 'button secondary'} href={`${BASE}/iplists?type=${t}`}>{LIST_NAMES[t]}</a>
      ))}
    </nav>
    <table id="ip-list">
      <thead><tr><th>IP or network</th><th>Source</th><th>Mode</th><th>Description</th><th></th></tr></thead>
      <tbody>
        {p.entries.map((e) => (
          <tr data-ipornet={e.ipornet}>
            <td><code>{e.ipornet}</code></td>
            <td><SourceBadge record={{ source: e.source === 'config' ? 'config' : 'runtime' }} /></td>
            <td>{e.mode === 2 ? 'deny' : 'allow'}</td>
            <td>{e.description ?? ''}</td>
            <td>{e.source !== 'config' && <PostButton action={`${BASE}/iplists/${p.type}/${encodeURIComponent(e.ipornet)}/delete`} csrf={p.csrf} label="Delete" kind="danger" />}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {p.entries.length === 0 && <p class="note">This list is empty.</p>}
    <h2>Add an entry</h2>
    <form class="stack" method="post" action={`${BASE}/iplists/${p.type}`}>
      <Csrf token={p.csrf} />
      <label>IP address or network (CIDR)<input type="text" name="ipornet" required /></label>
      {p.type === 2 && (
        <fieldset>
          <legend>Mode</legend>
          <label><input type="radio" name="mode" value="1" checked /> allow</label>
          <label><input type="radio" name="mode" value="2" /> deny</label>
        </fieldset>
      )}
      <label>Description<input type="text" name="description" /></label>
      <button type="submit">Add</button>
    </form>
  </>
);

function listTypeOf(raw: string | undefined): IpListType {
  const t = Number(raw);
  return IP_LIST_TYPES.includes(t as IpListType) ? (t as IpListType) : 1;
}

export function mountAccessPages(web: Hono<Env>, kit: Kit): void {
  const { runtime } = kit;
  const LIMIT = 500;

  const apiKeysPage = async (v: Visit, created?: string) =>
    kit.send(v, 'API keys', <ApiKeysPage keys={(await listApiKeys(runtime.store)).slice(0, LIMIT).map(shownApiKey)} csrf={v.session.csrf} created={created} />);

  web.get('/apikeys', async (c) => {
    const v = await kit.visit(c, '*');
    return v instanceof Response ? v : apiKeysPage(v);
  });

  web.post('/apikeys', async (c) => {
    const p = await kit.posted(c, '*');
    if (p instanceof Response) return p;
    const { v, form } = p;
    const scope = field(form, 'scope') === '2' ? 2 : 1;
    const owner = field(form, 'owner');
    const body = { name: field(form, 'name'), scope, description: field(form, 'description'), ...(owner ? { [scope === 1 ? 'admin' : 'user']: owner } : {}) };
    try {
      const { key } = await createApiKey(runtime, await apiKeyDefinition(runtime.store, body), v.admin.username);
      // Shown in this answer only: the store keeps its hash.
      return apiKeysPage(v, key);
    } catch (err) {
      return kit.flashTo(v, `${BASE}/apikeys`, { kind: 'error', text: `API key not created: ${reason(err)}` });
    }
  });

  web.post('/apikeys/:id/delete', async (c) => {
    const p = await kit.posted(c, '*');
    if (p instanceof Response) return p;
    try {
      await deleteApiKey(runtime, c.req.param('id'), p.v.admin.username);
    } catch (err) {
      return kit.flashTo(p.v, `${BASE}/apikeys`, { kind: 'error', text: reason(err) });
    }
    return kit.flashTo(p.v, `${BASE}/apikeys`, { kind: 'info', text: 'API key deleted.' });
  });

  web.get('/groups', async (c) => {
    const v = await kit.visit(c, 'manage_groups');
    if (v instanceof Response) return v;
    return kit.send(v, 'Groups', <GroupsPage groups={await list(runtime, KINDS.groups, { offset: 0, limit: LIMIT })} csrf={v.session.csrf} />);
  });

  web.post('/groups', async (c) => {
    const p = await kit.posted(c, 'manage_groups');
    if (p instanceof Response) return p;
    const { v, form } = p;
    const name = field(form, 'name');
    const description = field(form, 'description');
    const checked = acceptObjectBody({ definition: 'Group', body: { name, ...(description ? { description } : {}) }, creating: true, scope: v.scope });
    if (!checked.ok) return kit.flashTo(v, `${BASE}/groups`, { kind: 'error', text: `Group not created: ${checked.details?.map((d) => `${d.path}: ${d.message}`).join('; ') || checked.message}` });
    try {
      await create(runtime, KINDS.groups, checked.body);
    } catch (err) {
      return kit.flashTo(v, `${BASE}/groups`, { kind: 'error', text: `Group not created: ${reason(err)}` });
    }
    runtime.log('info', 'web_change', { action: 'create', kind: 'group', name, by: v.admin.username });
    return kit.flashTo(v, `${BASE}/groups`, { kind: 'info', text: `Group ${name} created.` });
  });

  web.post('/groups/:name/delete', async (c) => {
    const p = await kit.posted(c, 'manage_groups');
    if (p instanceof Response) return p;
    const name = c.req.param('name');
    try {
      await remove(runtime, KINDS.groups, name);
    } catch (err) {
      return kit.flashTo(p.v, `${BASE}/groups`, { kind: 'error', text: `Not deleted: ${reason(err)}` });
    }
    runtime.log('info', 'web_change', { action: 'delete', kind: 'group', name, by: p.v.admin.username });
    return kit.flashTo(p.v, `${BASE}/groups`, { kind: 'info', text: `Group ${name} deleted.` });
  });

  web.get('/roles', async (c) => {
    const v = await kit.visit(c, '*');
    if (v instanceof Response) return v;
    return kit.send(v, 'Roles', <RolesPage roles={await listRoles(runtime.store)} />);
  });

  web.get('/iplists', async (c) => {
    const v = await kit.visit(c, '*');
    if (v instanceof Response) return v;
    const type = listTypeOf(c.req.query('type'));
    return kit.send(v, 'IP lists', <IpListsPage type={type} entries={(await listIpList(runtime.store, type)).slice(0, LIMIT)} csrf={v.session.csrf} />);
  });

  web.post('/iplists/:type', async (c) => {
    const p = await kit.posted(c, '*');
    if (p instanceof Response) return p;
    const { v, form } = p;
    const type = listTypeOf(c.req.param('type'));
    const back = `${BASE}/iplists?type=${type}`;
    const description = field(form, 'description');
    try {
      const spec = ipListEntryOf({ ipornet: field(form, 'ipornet'), mode: Number(field(form, 'mode') || 1), ...(description ? { description } : {}) }, type);
      await addIpListEntry(runtime, spec, v.admin.username);
      return kit.flashTo(v, back, { kind: 'info', text: `${spec.ipornet} added.` });
    } catch (err) {
      return kit.flashTo(v, back, { kind: 'error', text: `Not added: ${reason(err)}` });
    }
  });

  web.post('/iplists/:type/:ipornet/delete', async (c) => {
    const p = await kit.posted(c, '*');
    if (p instanceof Response) return p;
    const type = listTypeOf(c.req.param('type'));
    const ipornet = c.req.param('ipornet');
    const back = `${BASE}/iplists?type=${type}`;
    try {
      await deleteIpListEntry(runtime, { type, ipornet }, p.v.admin.username);
    } catch (err) {
      return kit.flashTo(p.v, back, { kind: 'error', text: `Not deleted: ${reason(err)}` });
    }
    return kit.flashTo(p.v, back, { kind: 'info', text: `${ipornet} deleted.` });
  });
}
