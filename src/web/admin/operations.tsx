/** @jsxImportSource hono/jsx */
// The web admin's operations pages: live connections (with disconnect) and the defender's scored
// and banned hosts (with unban), through the same listing (every active node's, with a shared store)
// and defender as /api/v2/connections and /api/v2/defender/hosts, with the same permissions and role scope.
import type { FC } from 'hono/jsx';
import type { Hono } from 'hono';
import type { Env } from '../../api/app.ts';
import { hasPermission } from '../../api/auth.ts';
import { closeConnection, listConnections } from '../../api/connections.ts';
import { ipFromHostId, type DefenderHost } from '../../core/defender.ts';
import { PostButton } from '../layout.tsx';
import type { Kit } from './app.tsx';
import { BASE, userHref } from './views.tsx';

type Json = Record<string, unknown>;

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

const ConnectionsPage: FC<{ connections: Json[]; csrf: string; canClose: boolean; nodes: boolean }> = (p) => (
  <>
    <h1>Connections</h1>
    <table id="connections">
      <thead><tr><th>User</th>{p.nodes && <th>Node</th>}<th>Protocol</th><th>Client</th><th>Since</th><th>Transfers</th><th></th></tr></thead>
      <tbody>
        {p.connections.map((c) => (
          <tr data-connection={String(c.connection_id)} data-username={String(c.username)} data-node={c.node === undefined ? undefined : String(c.node)}>
            <td><a href={userHref(String(c.username))}>{String(c.username)}</a></td>
            {p.nodes && <td>{String(c.node ?? '')}</td>}
            <td>{String(c.protocol)}</td>
            <td>{String(c.remote_address)}</td>
            <td>{when(Number(c.connection_time))}</td>
            <td>{String(((c.active_transfers as unknown[] | undefined) ?? []).length)}</td>
            <td>{p.canClose && <PostButton action={closeAction(c)} csrf={p.csrf} label="Disconnect" kind="danger" />}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {p.connections.length === 0 && <p class="note">No live connection.</p>}
  </>
);

function closeAction(c: Json): string {
  const node = c.node === undefined ? '' : `?node=${encodeURIComponent(String(c.node))}`;
  return `${BASE}/connections/${encodeURIComponent(String(c.connection_id))}/close${node}`;
}

const DefenderPage: FC<{ enabled: boolean; hosts: DefenderHost[]; csrf: string; canManage: boolean }> = (p) => (
  <>
    <h1>Defender</h1>
    {!p.enabled && <p class="note">The defender is off (common.defender.enabled).</p>}
    <table id="defender">
      <thead><tr><th>Address</th><th>Banned until</th><th>Score</th><th></th></tr></thead>
      <tbody>
        {p.hosts.map((h) => (
          <tr data-ip={h.ip}>
            <td>{h.ip}</td>
            <td>{h.ban_time ?? ''}</td>
            <td>{h.score === undefined ? '' : String(h.score)}</td>
            <td>{p.canManage && <PostButton action={`${BASE}/defender/${h.id}/delete`} csrf={p.csrf} label={h.ban_time ? 'Unban' : 'Forget score'} kind="secondary" />}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {p.enabled && p.hosts.length === 0 && <p class="note">No host is scored or banned.</p>}
  </>
);

export function mountOperations(web: Hono<Env>, kit: Kit): void {
  const { runtime } = kit;

  web.get('/connections', async (c) => {
    const v = await kit.visit(c, 'view_conns');
    if (v instanceof Response) return v;
    const live = await listConnections({ runtime, admin: v.admin, scope: v.scope });
    return kit.send(v, 'Connections', <ConnectionsPage connections={live} csrf={v.session.csrf} canClose={hasPermission(v.admin, 'close_conns')} nodes={runtime.nodes.identity.shared} />);
  });

  web.post('/connections/:id/close', async (c) => {
    const p = await kit.posted(c, 'close_conns');
    if (p instanceof Response) return p;
    const { v } = p;
    const id = c.req.param('id');
    // A role admin's scope hides another role's connection as if it did not exist (as the API does).
    const out = await closeConnection({ runtime, admin: v.admin, scope: v.scope, id, node: c.req.query('node') });
    if (!out.closed) return kit.flashTo(v, `${BASE}/connections`, { kind: 'error', text: out.message });
    runtime.log('info', 'connection_closed_by_web', { connection_id: id, by: v.admin.username, ...(runtime.nodes.identity.shared ? { holder: out.node } : {}) });
    const text = out.username ? `Connection of ${out.username} closed.` : `Connection closed on node ${out.node}.`;
    return kit.flashTo(v, `${BASE}/connections`, { kind: 'info', text });
  });

  web.get('/defender', async (c) => {
    const v = await kit.visit(c, 'view_defender');
    if (v instanceof Response) return v;
    const d = runtime.defender;
    return kit.send(v, 'Defender', <DefenderPage enabled={d.enabled} hosts={d.enabled ? await d.listHosts() : []} csrf={v.session.csrf} canManage={hasPermission(v.admin, 'manage_defender')} />);
  });

  web.post('/defender/:id/delete', async (c) => {
    const p = await kit.posted(c, 'manage_defender');
    if (p instanceof Response) return p;
    const { v } = p;
    const ip = ipFromHostId(c.req.param('id'));
    if (!ip || !runtime.defender.enabled || !(await runtime.defender.unban(ip))) return kit.flashTo(v, `${BASE}/defender`, { kind: 'error', text: 'host not found' });
    runtime.log('info', 'web_change', { action: 'unban', kind: 'defender_host', name: ip, by: v.admin.username });
    return kit.flashTo(v, `${BASE}/defender`, { kind: 'info', text: `${ip} unbanned and its score forgotten.` });
  });
}
