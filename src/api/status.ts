// What `/api/v2/status` and `/api/v2/connections` show, in SFTPGo's shapes (`ServicesStatus`,
// `ConnectionStatus`): each service's state and bindings as configured, the live connections with
// their open transfers. Beyond SFTPGo, and documented as ours: each service's live connection count,
// the store's record counts, the config's source (the Git revision serving, with reconcile.git,
// and the revision the store records as applied) and, with a shared store, this node's name and
// the nodes registered.
import { rateLimitersStatus } from '../core/rate-limiters.ts';
import type { Connection } from '../core/connection.ts';
import type { ServerContext } from '../core/context.ts';
import { isActive } from '../core/nodes.ts';
import { configRevisionOf } from '../store/store.ts';

type Json = Record<string, unknown>;

/** The fields of a binding SFTPGo's status lists for a service; the rest of our config stays out. */
const BINDING_FIELDS = {
  ssh: ['address', 'port', 'apply_proxy_config'],
  ftp: ['address', 'port', 'apply_proxy_config', 'tls_mode', 'min_tls_version', 'force_passive_ip', 'passive_ip_overrides', 'client_auth_type',
    'tls_cipher_suites', 'passive_connections_security', 'active_connections_security', 'ignore_ascii_transfer_type', 'debug'],
  webdav: ['address', 'port', 'enable_https', 'min_tls_version', 'client_auth_type', 'tls_cipher_suites', 'prefix', 'proxy_allowed'],
} as const;

function bindings(list: readonly object[] | undefined, fields: readonly string[]): Json[] {
  return (list ?? [])
    .filter((b) => ((b as { port?: number }).port ?? 0) > 0)
    .map((b) => Object.fromEntries(fields.filter((f) => f in b).map((f) => [f, (b as Json)[f]])));
}

/**
 * One entry of `/api/v2/connections`: SFTPGo's ConnectionStatus (times in epoch milliseconds), with
 * the node holding it when replicas share the store (omitted for a single server, as SFTPGo does).
 */
export function connectionStatus(c: Connection, node?: string): Json {
  return {
    username: c.username,
    connection_id: c.id,
    ...(c.clientVersion ? { client_version: c.clientVersion } : {}),
    remote_address: c.remoteAddress,
    connection_time: c.startedAt,
    last_activity: c.lastActivity,
    protocol: c.protocol,
    active_transfers: [...c.transfers].map((t) => ({ operation_type: t.direction, path: t.virtualPath, start_time: t.startedAt, size: t.bytes })),
    ...(node ? { node } : {}),
  };
}

async function nodeStatus(runtime: ServerContext): Promise<Json> {
  const now = Date.now();
  const nodes = (await runtime.nodes.records()).map((r) => ({ name: r.name, url: r.url, active: isActive(r, now), updated_at: r.updated_at }));
  return { name: runtime.nodes.identity.name, url: runtime.nodes.identity.url, nodes };
}

export async function servicesStatus(runtime: ServerContext): Promise<Json> {
  const cfg = runtime.config;
  const live = runtime.connections.list();
  const count = (protocols: readonly string[]) => live.filter((c) => protocols.includes(c.protocol)).length;
  const ssh = bindings(cfg.sftpd?.bindings, BINDING_FIELDS.ssh);
  const ftp = bindings(cfg.ftpd?.bindings, BINDING_FIELDS.ftp);
  const webdav = bindings(cfg.webdavd?.bindings, BINDING_FIELDS.webdav);
  const range = cfg.ftpd?.passive_port_range;
  const stored = await configRevisionOf(runtime.store);
  return {
    ssh: {
      is_active: ssh.length > 0,
      bindings: ssh,
      connections: count(['SSH', 'SFTP', 'SCP']),
    },
    ftp: {
      is_active: ftp.length > 0,
      bindings: ftp,
      ...(range ? { passive_port_range: { start: range.start ?? 0, end: range.end ?? 0 } } : {}),
      connections: count(['FTP']),
    },
    webdav: { is_active: webdav.length > 0, bindings: webdav, connections: count(['DAV']) },
    data_provider: { is_active: true, driver: runtime.nodes.identity.shared ? 'postgresql' : 'lmdb', error: '' },
    defender: { is_active: runtime.defender.enabled },
    // One TOTP configuration, fixed (SHA-1, 6 digits, 30 s): the one SFTPGo calls "Default".
    mfa: { is_active: true, totp_configs: [{ name: 'Default', algo: 'sha1' }] },
    allow_list: { is_active: runtime.config.common?.allowlist_status === 1 },
    rate_limiters: rateLimitersStatus(runtime.config.common?.rate_limiters),
    // Ours, with a shared store: this node's name and every registered node.
    ...(runtime.nodes.identity.shared ? { node: await nodeStatus(runtime) } : {}),
    // Ours: where the running config came from, and with Git sync which commit serves.
    config: {
      ...(runtime.configSource ? { ...runtime.configSource } : { source: 'file' }),
      // The revision the store records as applied (by this server or another sharing the store),
      // and whether this server's own config was older than it (then the store's state serves).
      ...(stored ? { stored_revision: stored } : {}),
      ...(runtime.configRevision ? { revision_check: runtime.configRevision.verdict, ...(runtime.configRevision.warning ? { warning: runtime.configRevision.warning } : {}) } : {}),
    },
    store: {
      users: await runtime.store.count('users'),
      folders: await runtime.store.count('folders'),
      groups: await runtime.store.count('groups'),
      admins: await runtime.store.count('admins'),
      api_keys: await runtime.store.count('api_keys'),
      overrides: await runtime.store.count('overrides'),
    },
  };
}
