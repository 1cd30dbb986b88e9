/** @jsxImportSource hono/jsx */
// The web admin's lists of folders and admins, rendered by the API's resource functions (so
// secrets are redacted the same way), each with its source: YAML, YAML + override, or API; a super
// admin may turn another admin's two-factor authentication off from the admins list.
import type { FC } from 'hono/jsx';
import type { Hono } from 'hono';
import type { Env } from '../../api/app.ts';
import { KINDS, list } from '../../api/resources.ts';
import type { Kit } from './app.tsx';
import { BASE, SourceBadge } from './views.tsx';
import { disableAdminTotp } from '../../api/admin-totp.ts';
import { PostButton } from '../layout.tsx';

type Json = Record<string, unknown>;

const FoldersPage: FC<{ folders: Json[] }> = ({ folders }) => (
  <>
    <h1>Folders</h1>
    <table id="folders">
      <thead><tr><th>Name</th><th>Source</th><th>Path</th><th>Used by</th></tr></thead>
      <tbody>
        {folders.map((f) => (
          <tr data-name={String(f.name)}>
            <td>{String(f.name)}</td>
            <td><SourceBadge record={f} /></td>
            <td><code>{String(f.mapped_path ?? '')}</code></td>
            <td>{[...((f.users as string[] | undefined) ?? []), ...((f.groups as string[] | undefined) ?? []).map((g) => `group ${g}`)].join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {folders.length === 0 && <p class="note">No virtual folder.</p>}
  </>
);

const AdminsPage: FC<{ admins: Json[]; csrf: string }> = ({ admins, csrf }) => (
  <>
    <h1>Admins</h1>
    <table id="admins">
      <thead><tr><th>Username</th><th>Source</th><th>Status</th><th>Permissions</th><th>Role</th><th>Two-factor</th></tr></thead>
      <tbody>
        {admins.map((a) => {
          const totp = ((a.filters as Json | undefined)?.totp_config as Json | undefined)?.enabled === true;
          return (
            <tr data-username={String(a.username)}>
              <td>{String(a.username)}</td>
              <td><SourceBadge record={a} /></td>
              <td>{a.status === 1 ? 'enabled' : <span class="badge off">disabled</span>}</td>
              <td>{((a.permissions as string[] | undefined) ?? []).join(', ')}</td>
              <td>{String(a.role ?? '')}</td>
              <td>
                {totp ? 'TOTP' : 'off'}
                {/* For an admin locked out of its authenticator, as PUT /api/v2/admins/{username}/2fa/disable. */}
                {totp && <PostButton action={`${BASE}/admins/${encodeURIComponent(String(a.username))}/2fa/disable`} csrf={csrf} label="Turn off" kind="secondary" />}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  </>
);

/** Lists are capped as the API's pages are: the first 500 records. */
const LIMIT = 500;

export function mountRecordLists(web: Hono<Env>, kit: Kit): void {
  web.get('/folders', async (c) => {
    const v = await kit.visit(c, 'manage_folders');
    if (v instanceof Response) return v;
    return kit.send(v, 'Folders', <FoldersPage folders={await list(kit.runtime, KINDS.folders, { offset: 0, limit: LIMIT })} />);
  });

  web.get('/admins', async (c) => {
    // As /api/v2/admins: super admins only, and a role admin never is one.
    const v = await kit.visit(c, '*');
    if (v instanceof Response) return v;
    return kit.send(v, 'Admins', <AdminsPage admins={await list(kit.runtime, KINDS.admins, { offset: 0, limit: LIMIT })} csrf={v.session.csrf} />);
  });

  web.post('/admins/:username/2fa/disable', async (c) => {
    const p = await kit.posted(c, '*');
    if (p instanceof Response) return p;
    const name = c.req.param('username');
    if ((await disableAdminTotp(kit.runtime, name, p.v.admin.username)) !== 'disabled')
      return kit.flashTo(p.v, `${BASE}/admins`, { kind: 'error', text: `admin "${name}" has no two-factor authentication` });
    kit.runtime.log('info', 'web_change', { action: 'totp_disabled', kind: 'admin', name, by: p.v.admin.username });
    return kit.flashTo(p.v, `${BASE}/admins`, { kind: 'info', text: `Two-factor authentication of ${name} turned off.` });
  });
}
