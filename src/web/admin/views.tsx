/** @jsxImportSource hono/jsx */
// The web admin's pages as components: what each shows, given the records the handlers read
// (app.tsx). They render only; every decision (permissions, role scope, validation) is made before.
import type { FC } from 'hono/jsx';
import { Csrf, PostButton } from '../layout.tsx';
import { fieldOrigin, recordSource, shownFields, type Origin, type RenderedOverride } from './origins.ts';
import { USER_PERMISSIONS, type UserFormValues } from './user-form.ts';
import type { OverrideSummary } from '../../reconcile/overrides.ts';

export const BASE = '/web/admin';

export function userHref(username: string, tail = ''): string {
  return `${BASE}/users/${encodeURIComponent(username)}${tail}`;
}

function when(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : 'never';
}

const SOURCE_LABEL = { yaml: 'YAML', override: 'YAML + override', api: 'API' } as const;

export const SourceBadge: FC<{ record: Record<string, unknown> }> = ({ record }) => {
  const s = recordSource(record);
  return <span class={`badge ${s}`} data-source={s}>{SOURCE_LABEL[s]}</span>;
};

export const LoginPage: FC<{ csrf: string; username?: string; error?: string }> = (p) => (
  <div class="login">
    <h1>Web admin login</h1>
    {p.error && <div class="flash error" role="alert">{p.error}</div>}
    <form class="stack" method="post" action={`${BASE}/login`}>
      <Csrf token={p.csrf} />
      <label>Username<input type="text" name="username" value={p.username ?? ''} autocomplete="username" required autofocus /></label>
      <label>Password<input type="password" name="password" autocomplete="current-password" required /></label>
      <button type="submit">Log in</button>
    </form>
  </div>
);

export const TwoFactorPage: FC<{ csrf: string; username: string; error?: string }> = (p) => (
  <div class="login">
    <h1>Two-factor authentication</h1>
    <p class="note">{p.username}: enter the code your authenticator app shows, or one of your recovery codes.</p>
    {p.error && <div class="flash error" role="alert">{p.error}</div>}
    <form class="stack" method="post" action={`${BASE}/login/2fa`}>
      <Csrf token={p.csrf} />
      <label>Authentication code<input type="text" name="passcode" autocomplete="one-time-code" required autofocus /></label>
      <button type="submit">Verify</button>
    </form>
  </div>
);

export interface UsersListProps {
  users: Record<string, unknown>[];
  q: string;
  page: number;
  more: boolean;
  canAdd: boolean;
}

export const UsersPage: FC<UsersListProps> = (p) => {
  const pageHref = (n: number) => `${BASE}/users?${new URLSearchParams({ ...(p.q ? { q: p.q } : {}), page: String(n) })}`;
  return (
    <>
      <h1>Users</h1>
      <form class="search" method="get" action={`${BASE}/users`}>
        <input type="search" name="q" value={p.q} placeholder="username contains" aria-label="search" />
        <button class="secondary" type="submit">Search</button>
      </form>
      {p.canAdd && (
        <p><a class="button" href={`${BASE}/users/new`}>Add user</a></p>
      )}
      <table id="users">
        <thead><tr><th>Username</th><th>Status</th><th>Source</th><th>Home</th><th>Last login</th></tr></thead>
        <tbody>
          {p.users.map((u) => (
            <tr data-username={String(u.username)}>
              <td><a href={userHref(String(u.username))}>{String(u.username)}</a></td>
              <td>{u.status === 1 ? 'enabled' : <span class="badge off">disabled</span>}</td>
              <td><SourceBadge record={u} /></td>
              <td><code>{String(u.home_dir ?? '')}</code></td>
              <td>{when(Number(u.last_login ?? 0))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.users.length === 0 && <p class="note">No user{p.q ? ` matches "${p.q}"` : ''}.</p>}
      <div class="pager">
        {p.page > 1 && <a href={pageHref(p.page - 1)}>← previous</a>}
        {p.more && <a href={pageHref(p.page + 1)}>next →</a>}
      </div>
    </>
  );
};

const OriginCell: FC<{ origin: Origin }> = ({ origin }) => {
  switch (origin.kind) {
    case 'yaml':
      return <span class="badge yaml">YAML</span>;
    case 'override':
      return <span class="badge override">override by {origin.by}, {when(origin.at)}</span>;
    case 'runtime':
      return <span class="badge api">runtime record</span>;
    case 'state':
      return <span class="note">server state</span>;
  }
};

/** Epoch-millisecond fields, shown as dates. */
const TIMES: ReadonlySet<string> = new Set(['created_at', 'updated_at', 'last_login', 'last_password_change', 'last_quota_update', 'first_upload', 'first_download', 'expiration_date']);

function shown(field: string, value: unknown): string {
  if (value === undefined) return '(cleared)';
  if (TIMES.has(field) && typeof value === 'number') return when(value);
  return typeof value === 'string' ? value : JSON.stringify(value, null, 1);
}

export interface UserPageProps {
  user: Record<string, unknown>;
  csrf: string;
  can: { edit: boolean; del: boolean };
}

export const UserPage: FC<UserPageProps> = ({ user, csrf, can }) => {
  const name = String(user.username);
  const o = user.overrides as RenderedOverride | undefined;
  const fromConfig = user.source === 'config';
  return (
    <>
      <h1>User {name} <SourceBadge record={user} /></h1>
      {fromConfig && !o && <p class="note" id="origin-note">Declared in the YAML config. A change made here is kept as an override on top of it.</p>}
      {fromConfig && o && (
        <p class="note" id="origin-note">
          Declared in the YAML config, with an override by {o.updated_by} at {when(o.updated_at)} on: {Object.keys(o.fields).sort().join(', ')}.
          Dropping it brings back the config's values.
        </p>
      )}
      {!fromConfig && <p class="note" id="origin-note">Created at run time (API or web admin); not in the YAML config.</p>}
      <div class="actions">
        {can.edit && <a class="button" href={userHref(name, '/edit')}>Edit</a>}
        {can.edit && <PostButton action={userHref(name, '/status')} csrf={csrf} label={user.status === 1 ? 'Disable' : 'Enable'} kind="secondary" />}
        {can.edit && o && <PostButton action={userHref(name, '/override/delete')} csrf={csrf} label="Drop override" kind="secondary" />}
        {can.del && <PostButton action={userHref(name, '/delete')} csrf={csrf} label="Delete" kind="danger" />}
      </div>
      <table id="fields">
        <thead><tr><th>Field</th><th>Value</th><th>From</th></tr></thead>
        <tbody>
          {shownFields(user).map((f) => {
            const origin = fieldOrigin(user, f);
            return (
              <tr data-field={f} data-origin={origin.kind}>
                <td>{f}</td>
                <td><code>{shown(f, user[f])}</code></td>
                <td><OriginCell origin={origin} /></td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
};

export interface UserFormProps {
  mode: 'create' | 'edit';
  values: UserFormValues;
  csrf: string;
  errors: string[];
  /** Editing a user the YAML declares: the change becomes an override. */
  fromConfig?: boolean;
}

export const UserFormPage: FC<UserFormProps> = (p) => {
  const action = p.mode === 'create' ? `${BASE}/users` : userHref(p.values.username);
  return (
    <>
      <h1>{p.mode === 'create' ? 'Add user' : `Edit user ${p.values.username}`}</h1>
      {p.fromConfig && <p class="flash info" id="override-note">This user is declared in the YAML config: saving keeps your changes as an override on top of it.</p>}
      {p.errors.length > 0 && (
        <div class="flash error" role="alert"><ul>{p.errors.map((e) => <li>{e}</li>)}</ul></div>
      )}
      <form class="stack" method="post" action={action}>
        <Csrf token={p.csrf} />
        {p.mode === 'create' && <label>Username<input type="text" name="username" value={p.values.username} required /></label>}
        <label>Password{p.mode === 'edit' && <span class="note"> (empty: unchanged)</span>}<input type="password" name="password" autocomplete="new-password" /></label>
        <label>Home directory<span class="note"> (empty: under users_base_dir)</span><input type="text" name="home_dir" value={p.values.home_dir} /></label>
        <fieldset>
          <legend>Permissions on /</legend>
          {USER_PERMISSIONS.map((perm) => (
            <label><input type="checkbox" name="permissions" value={perm} checked={p.values.permissions.includes(perm)} />{perm}</label>
          ))}
        </fieldset>
        <label><span><input type="checkbox" name="status" value="1" checked={p.values.enabled} /> Enabled</span></label>
        <label>Quota size (bytes, 0: none)<input type="number" name="quota_size" min="0" value={p.values.quota_size} /></label>
        <label>Quota files (0: none)<input type="number" name="quota_files" min="0" value={p.values.quota_files} /></label>
        <label>Public keys (one per line)<textarea name="public_keys">{p.values.public_keys}</textarea></label>
        <button type="submit">{p.mode === 'create' ? 'Create' : 'Save'}</button>
      </form>
    </>
  );
};

export const DriftPage: FC<{ overrides: OverrideSummary[] }> = ({ overrides }) => (
  <>
    <h1>Drift</h1>
    <p class="note">Changes made at run time to records the YAML config declares, kept as overrides on top of it: what <code>sftpgo plan</code> shows as drift. Applying the config does not undo them; dropping one does.</p>
    <table id="drift">
      <thead><tr><th>Kind</th><th>Name</th><th>Fields</th><th>By</th><th>When</th></tr></thead>
      <tbody>
        {overrides.map((o) => (
          <tr data-kind={o.kind} data-name={o.name}>
            <td>{o.kind}</td>
            <td>{o.kind === 'user' ? <a href={userHref(o.name)}>{o.name}</a> : o.name}</td>
            <td>{o.fields.join(', ')}</td>
            <td>{o.updated_by}</td>
            <td>{when(o.updated_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {overrides.length === 0 && <p class="note" id="no-drift">No drift: the store matches the config.</p>}
  </>
);

type Json = Record<string, unknown>;

export const StatusPage: FC<{ status: Json }> = ({ status }) => {
  const services = ['ssh', 'ftp', 'webdav'] as const;
  const config = (status.config ?? {}) as Json;
  const store = (status.store ?? {}) as Record<string, number>;
  return (
    <>
      <h1>Status</h1>
      <h2>Services</h2>
      <table id="services">
        <thead><tr><th>Service</th><th>Active</th><th>Bindings</th><th>Connections</th></tr></thead>
        <tbody>
          {services.map((s) => {
            const v = (status[s] ?? {}) as Json;
            const bindings = ((v.bindings as Json[] | undefined) ?? []).map((b) => `${String(b.address || '0.0.0.0')}:${String(b.port)}`);
            return (
              <tr data-service={s}>
                <td>{s}</td>
                <td>{v.is_active ? 'yes' : 'no'}</td>
                <td>{bindings.join(', ')}</td>
                <td>{String(v.connections ?? 0)}</td>
              </tr>
            );
          })}
          <tr data-service="defender"><td>defender</td><td>{(status.defender as Json | undefined)?.is_active ? 'yes' : 'no'}</td><td></td><td></td></tr>
        </tbody>
      </table>
      <h2>Config</h2>
      <table id="config">
        <tbody>
          <tr><th>Source</th><td>{String(config.source ?? 'file')}</td></tr>
          {config.source === 'git' && (
            <>
              <tr><th>Revision applied</th><td><code>{String(config.revision || '(none yet)')}</code></td></tr>
              <tr><th>Applied at</th><td>{when(Number(config.applied_at ?? 0))}</td></tr>
              <tr><th>Last error</th><td>{String(config.last_error || 'none')}</td></tr>
            </>
          )}
        </tbody>
      </table>
      <h2>Store</h2>
      <table id="store">
        <tbody>
          <tr><th>Driver</th><td>{String((status.data_provider as Json | undefined)?.driver ?? '')}</td></tr>
          {Object.entries(store).map(([k, n]) => (
            <tr><th>{k}</th><td>{String(n)}</td></tr>
          ))}
        </tbody>
      </table>
      <p class="note">The same facts as <code>GET /api/v2/status</code>.</p>
    </>
  );
};

export const MessagePage: FC<{ title: string; text: string }> = (p) => (
  <>
    <h1>{p.title}</h1>
    <div class="flash error" role="alert">{p.text}</div>
  </>
);
