// SFTPGo's telemetry listener (`telemetry`): `/healthz` open to all, `/metrics` in Prometheus text
// behind HTTP Basic auth when `auth_user_file` names an htpasswd file, over HTTPS when a certificate
// is configured. Off unless `bind_port` is set; listens on 127.0.0.1 unless `bind_address` says
// otherwise. The gauges read at scrape time are built here, from the server's live state.
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { Htpasswd } from '../auth/htpasswd.ts';
import type { ServerContext } from '../core/context.ts';
import type { Gauge } from '../core/metrics.ts';
import type { Service, ServiceFactory } from '../core/service.ts';
import { HttpDeadlines } from '../core/http-deadlines.ts';
import { plainIp } from '../core/ip.ts';

/** Gauges read at scrape time: SFTPGo's (active connections, data provider) and ours. */
export async function gauges(runtime: ServerContext): Promise<Gauge[]> {
  const live = runtime.connections.list();
  const byProto = new Map<string, number>();
  const transfers = new Map<string, number>();
  let bytes = 0;
  for (const c of live) {
    byProto.set(c.protocol, (byProto.get(c.protocol) ?? 0) + 1);
    for (const t of c.transfers) {
      transfers.set(t.direction, (transfers.get(t.direction) ?? 0) + 1);
      bytes += t.bytes;
    }
  }
  const store = runtime.store;
  const records: Gauge['values'] = [];
  let available = 1;
  let overrides = 0;
  try {
    for (const col of ['users', 'folders', 'groups', 'admins'] as const) {
      const n = { config: 0, runtime: 0 };
      for await (const [, r] of store.entries(col)) n[(r as { source?: 'config' | 'runtime' }).source ?? 'config']++;
      records.push({ labels: { kind: col, source: 'config' }, value: n.config }, { labels: { kind: col, source: 'runtime' }, value: n.runtime });
    }
    overrides = await store.count('overrides');
  } catch {
    available = 0;
  }
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const source = runtime.configSource;
  const config: Gauge[] = source?.revision
    ? [
        { name: 'sftpgo_config_revision_info', help: 'The Git revision of the config serving (reconcile.git).', values: [{ labels: { revision: source.revision }, value: 1 }] },
        { name: 'sftpgo_config_last_apply_timestamp_seconds', help: 'When that revision was applied, in seconds since the epoch.', values: [{ labels: {}, value: Math.floor(source.applied_at / 1000) }] },
      ]
    : [];
  // With a shared store, an info series names the replica, so a dashboard can join any series on it.
  const node = runtime.nodes.identity;
  const nodeInfo: Gauge[] = node.shared ? [{ name: 'sftpgo_node_info', help: 'This replica\'s node name (data_provider.node.name) among those sharing the store.', values: [{ labels: { node: node.name }, value: 1 }] }] : [];
  return [
    ...config,
    ...nodeInfo,
    { name: 'sftpgo_active_connections', help: 'Live connections (one per SFTP/SCP/SSH channel, FTP or WebDAV client).', values: [{ labels: {}, value: live.length }] },
    { name: 'sftpgo_dataprovider_availability', help: '1 while the store answers.', values: [{ labels: {}, value: available }] },
    { name: 'sftpgo_connections', help: 'Live connections, by protocol.', values: [...byProto].map(([protocol, value]) => ({ labels: { protocol }, value })) },
    { name: 'sftpgo_active_transfers', help: 'Open transfers, by direction.', values: [...transfers].map(([direction, value]) => ({ labels: { direction }, value })) },
    { name: 'sftpgo_active_transfer_bytes', help: 'Bytes moved so far by open transfers.', values: [{ labels: {}, value: bytes }] },
    { name: 'sftpgo_records', help: 'Stored users, folders, groups and admins, by owner.', values: records },
    { name: 'sftpgo_overrides', help: 'Runtime overrides on config-declared resources.', values: [{ labels: {}, value: overrides }] },
    { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', values: [{ labels: {}, value: mem.rss }] },
    { name: 'process_cpu_seconds_total', help: 'User and system CPU time spent, in seconds.', values: [{ labels: {}, value: (cpu.user + cpu.system) / 1e6 }], type: 'counter' },
    { name: 'process_start_time_seconds', help: 'Start time of the process since the epoch, in seconds.', values: [{ labels: {}, value: Math.floor(Date.now() / 1000 - process.uptime()) }] },
  ];
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

async function authorised(req: IncomingMessage, users: Htpasswd | undefined): Promise<boolean> {
  if (!users) return true;
  const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  return users.verify(decoded.slice(0, colon), decoded.slice(colon + 1));
}

async function answer(runtime: ServerContext, users: Htpasswd | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://telemetry').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed\n', { allow: 'GET, HEAD' });
  if (path === '/healthz') return send(res, 200, 'ok');
  if (path !== '/metrics') return send(res, 404, '404 page not found\n');
  if (!(await authorised(req, users))) return send(res, 401, 'Unauthorized\n', { 'www-authenticate': 'Basic realm="SFTPGo telemetry"' });
  const text = runtime.metrics.render(await gauges(runtime));
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  res.end(req.method === 'HEAD' ? undefined : text);
}

export const telemetryService: ServiceFactory = (runtime: ServerContext): Service | undefined => {
  const cfg = runtime.config.telemetry;
  if (!cfg?.bind_port) return undefined;
  let server: Server | undefined;
  let deadlines: HttpDeadlines | undefined;
  return {
    name: 'telemetry',
    async start() {
      const users = cfg.auth_user_file
        ? new Htpasswd(resolve(cfg.auth_user_file), (problem) => runtime.log('warn', 'telemetry_auth_file', { file: cfg.auth_user_file, problem }))
        : undefined;
      const handler = (req: IncomingMessage, res: ServerResponse) =>
        void answer(runtime, users, req, res).catch((err: Error) => {
          runtime.log('error', 'telemetry_error', { error: err.message });
          if (!res.headersSent) send(res, 500, 'Internal Server Error\n');
          else res.end();
        });
      const https = Boolean(cfg.certificate_file && cfg.certificate_key_file);
      server = https
        ? createHttps(
            {
              cert: readFileSync(resolve(cfg.certificate_file!)),
              key: readFileSync(resolve(cfg.certificate_key_file!)),
              minVersion: cfg.min_tls_version === 13 ? 'TLSv1.3' : 'TLSv1.2',
              ALPNProtocols: ['http/1.1'],
            },
            handler,
          )
        : createHttp(handler);
      // The same request head, keep-alive and stall deadlines as the other HTTP listeners: Bun's
      // node:http enforces its own timeouts on none of them (see core/http-deadlines.ts).
      deadlines = new HttpDeadlines({
        http: server,
        timeouts: () => runtime.sockets.httpTimeouts,
        onTimeout: (ip, reason) => runtime.sockets.timedOut(ip, 'HTTP', reason),
      });
      const d = deadlines;
      server.on(https ? 'secureConnection' : 'connection', (sock: Socket) => d.track(sock, sock, plainIp(sock.remoteAddress)));
      const address = cfg.bind_address ?? '127.0.0.1';
      const s = server;
      await new Promise<void>((ok, fail) => {
        s.once('error', fail);
        const done = () => (s.off('error', fail), ok());
        if (address) s.listen(cfg.bind_port, address, done);
        else s.listen(cfg.bind_port, done);
      });
      const port = (s.address() as AddressInfo).port;
      runtime.log('info', 'telemetry_listening', { address: address || '*', port, https, auth: Boolean(users) });
    },
    async stop() {
      const s = server;
      server = undefined;
      deadlines?.stop();
      if (!s) return;
      await new Promise<void>((ok) => {
        s.close(() => ok());
        s.closeAllConnections();
      });
    },
  };
};
