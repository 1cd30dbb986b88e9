// The live connections an admin sees and closes, across the replicas sharing the store: this
// replica's own, then each other active replica's, asked in parallel through its API (node-calls.ts),
// each entry naming the node that holds it. A replica that does not answer is left out of the
// listing (and logged); a close goes to the node named, or to whichever holds the connection.
// The admin API and the web admin both list and close through here.
import type { ServerContext } from '../core/context.ts';
import type { AdminRecord } from '../model.ts';
import { callPeer } from './node-calls.ts';
import type { RoleScope } from './scope.ts';
import { connectionStatus } from './status.ts';

type Json = Record<string, unknown>;

export interface ConnectionQuery {
  runtime: ServerContext;
  admin: AdminRecord;
  scope: RoleScope;
  /** Set when another replica asks: answer with this replica's connections only. */
  fromNode?: boolean;
}

const CONNECTIONS_PATH = '/api/v2/connections';

export async function listConnections(q: ConnectionQuery): Promise<Json[]> {
  const { runtime, scope } = q;
  const self = runtime.nodes.identity;
  const node = self.shared ? self.name : undefined;
  const local = (await scope.filter(runtime.connections.list(), (c) => c.username)).map((c) => connectionStatus(c, node));
  if (!self.shared || q.fromNode) return local;
  const peers = await runtime.nodes.peers();
  const remote = await Promise.all(
    peers.map(async (peer) => {
      const res = await callPeer(runtime, peer, { method: 'GET', path: CONNECTIONS_PATH, admin: q.admin.username, permission: 'view_conns' });
      if (!res) return [];
      const body = res.ok ? await res.json().catch(() => undefined) : undefined;
      if (!Array.isArray(body)) {
        runtime.log('warn', 'node_call_failed', { peer: peer.name, request: `GET ${CONNECTIONS_PATH}`, status: res.status });
        return [];
      }
      return body.filter((e): e is Json => !!e && typeof e === 'object').map((e) => ({ ...e, node: peer.name }));
    }),
  );
  return [...local, ...remote.flat()];
}

export interface CloseRequest extends ConnectionQuery {
  id: string;
  /** SFTPGo's `node` query parameter: the replica holding the connection; absent: find it. */
  node?: string | undefined;
}

export type CloseOutcome =
  | { closed: true; node: string; /** Known when this replica held it. */ username?: string }
  | { closed: false; status: 404 | 503; message: string };

export async function closeConnection(r: CloseRequest): Promise<CloseOutcome> {
  const { runtime, id } = r;
  const self = runtime.nodes.identity;
  const notFound: CloseOutcome = { closed: false, status: 404, message: `connection ${id} not found` };
  if (!self.shared || !r.node || r.node === self.name) {
    const c = runtime.connections.get(id);
    if (c && (await r.scope.admits(c.username)) && (await runtime.connections.close(id))) return { closed: true, username: c.username, node: self.name };
    if (!self.shared || r.node || r.fromNode) return notFound;
    // Not here, no node named: each active replica is asked; at most one holds the id.
    const answers = await Promise.all((await runtime.nodes.peers()).map((peer) => closeOn(r, peer.name)));
    return answers.find((a) => a.closed) ?? answers.find((a) => !a.closed && a.status === 503) ?? notFound;
  }
  return closeOn(r, r.node);
}

async function closeOn(r: CloseRequest, name: string): Promise<CloseOutcome> {
  const { runtime, id } = r;
  const peer = await runtime.nodes.peer(name);
  if (peer === 'unknown') return { closed: false, status: 404, message: `node ${name} not found among the active nodes` };
  if (peer === 'unreachable') return { closed: false, status: 503, message: `node ${name} registered no address to reach it at` };
  const path = `${CONNECTIONS_PATH}/${encodeURIComponent(id)}`;
  const res = await callPeer(runtime, peer, { method: 'DELETE', path, admin: r.admin.username, permission: 'close_conns' });
  if (!res) return { closed: false, status: 503, message: `node ${name} did not answer` };
  await res.body?.cancel().catch(() => undefined);
  if (res.ok) return { closed: true, node: name };
  if (res.status !== 404) runtime.log('warn', 'node_call_failed', { peer: name, request: `DELETE ${path}`, status: res.status });
  return { closed: false, status: res.status === 404 ? 404 : 503, message: res.status === 404 ? `connection ${id} not found on node ${name}` : `node ${name} answered ${res.status}` };
}
