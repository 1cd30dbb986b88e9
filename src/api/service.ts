// The HTTP service: one HTTP(S) listener per `httpd.bindings[]` entry, all serving the same Hono
// app, the REST API under /api/v2, the web admin under /web/admin and the web client under
// /web/client, each switched per binding (enable_rest_api, enable_web_admin, enable_web_client). Off unless bindings are configured; a binding without an address listens on 127.0.0.1 only
// (the API can change every user: expose it beyond loopback deliberately, behind TLS).
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage } from 'node:http';
import { createSecureContext } from 'node:tls';
import { resolve } from 'node:path';
import type { Config } from '../config/load.ts';
import type { ServerContext } from '../core/context.ts';
import type { Service, ServiceFactory } from '../core/service.ts';
import { createApp } from './app.ts';
import { openHttpDoor, type HttpDoor } from '../core/http-door.ts';
import { nodeHandler } from './http.ts';
import { errorBody } from './respond.ts';
import { createWebAdmin } from '../web/admin/app.tsx';
import { createWebClient } from '../web/client/app.tsx';
import { ensureJwtKey } from './auth.ts';
import { createSharePages } from '../web/pubshares/app.tsx';

function errorResponse404(): Response {
  return new Response(JSON.stringify(errorBody(404, 'not found')), { status: 404, headers: { 'content-type': 'application/json' } });
}

type Binding = NonNullable<NonNullable<Config['httpd']>['bindings']>[number];

export interface BindingServes {
  restApi: boolean;
  webAdmin: boolean;
  webClient: boolean;
}

/** What one binding serves: the REST API, the web admin and the web client are each on unless set false (as SFTPGo). */
export function bindingServes(b: Pick<Binding, 'enable_rest_api' | 'enable_web_admin' | 'enable_web_client'>): BindingServes {
  return { restApi: b.enable_rest_api !== false, webAdmin: b.enable_web_admin !== false, webClient: b.enable_web_client !== false };
}

/** Whether a binding answers `path`; the other paths get 404 there. */
export function servesPath(serves: BindingServes, path: string): boolean {
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
  if (under('/api/v2')) return serves.restApi;
  if (under('/web/admin')) return serves.webAdmin;
  if (under('/web/client')) return serves.webClient;
  return true;
}

export const apiService: ServiceFactory = (runtime: ServerContext): Service | undefined => {
  const bindings = (runtime.config.httpd?.bindings ?? []).filter((b) => {
    const s = bindingServes(b);
    return s.restApi || s.webAdmin || s.webClient;
  });
  if (bindings.length === 0) return undefined;
  const doors: HttpDoor[] = [];
  return {
    name: 'httpd',
    async start() {
      const webAdmin = bindings.some((b) => bindingServes(b).webAdmin);
      const webClient = bindings.some((b) => bindingServes(b).webClient);
      const mounts = [];
      if (webAdmin) mounts.push({ path: '/web/admin', app: createWebAdmin(runtime) });
      // the share pages first: the client's own middleware leaves /web/client/pubshares to them
      if (webClient) mounts.push({ path: '/web/client/pubshares', app: createSharePages(runtime) });
      if (webClient) mounts.push({ path: '/web/client', app: createWebClient(runtime, { jwtKey: await ensureJwtKey(runtime.store) }) });
      const app = await createApp(runtime, { mounts });
      const clientOf = (req: IncomingMessage) => runtime.sockets.addressOf(req.socket);
      for (const b of bindings) {
        const serves = bindingServes(b);
        const fetch = (req: Request, env: { remoteAddress: string }) =>
          servesPath(serves, new URL(req.url).pathname) ? app.fetch(req, env) : errorResponse404();
        const https = b.enable_https === true;
        // Our listener admits each socket first (caps, PROXY header with proxy_mode 1), then this
        // server, which never listens itself, parses its requests.
        const server = createHttp(nodeHandler(fetch, https ? 'https' : 'http', clientOf));
        const address = b.address || '127.0.0.1';
        const door = await openHttpDoor({
          sockets: runtime.sockets,
          protocol: 'HTTP',
          proxy: b.proxy_mode === 1,
          http: server,
          tls: https ? createSecureContext(tlsOptions(runtime.config, b)) : undefined,
          host: address,
          port: b.port,
          onClientError: (ip, err) => runtime.gate.protocolError({ ip, protocol: 'HTTP', username: '', error: err.message }),
          onListenerError: (err) => runtime.log('error', 'api_listener_error', { error: err.message }),
        });
        doors.push(door);
        runtime.log('info', 'api_listening', { address, port: door.address.port, https });
      }
    },
    async stop() {
      await Promise.all(doors.splice(0).map((d) => d.close()));
    },
  };
};

function tlsOptions(config: Config, b: Binding): { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' | 'TLSv1.3' } {
  const cert = b.certificate_file ?? config.httpd?.certificate_file;
  const key = b.certificate_key_file ?? config.httpd?.certificate_key_file;
  if (!cert || !key) throw new Error(`httpd binding ${b.address ?? ''}:${b.port}: enable_https needs certificate_file and certificate_key_file`);
  return { cert: readFileSync(resolve(cert)), key: readFileSync(resolve(key)), minVersion: b.min_tls_version === 13 ? 'TLSv1.3' : 'TLSv1.2' };
}
