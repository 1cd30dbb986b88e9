// The REST API service: one HTTP(S) listener per `httpd.bindings[]` entry, all serving the same Hono
// app. Off unless bindings are configured; a binding without an address listens on 127.0.0.1 only
// (the API can change every user: expose it beyond loopback deliberately, behind TLS).
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Config } from '../config/load.ts';
import type { ServerContext } from '../core/context.ts';
import type { Service, ServiceFactory } from '../core/service.ts';
import { createApp } from './app.ts';
import { closeServer, nodeHandler } from './http.ts';

type Binding = NonNullable<NonNullable<Config['httpd']>['bindings']>[number];

export const apiService: ServiceFactory = (runtime: ServerContext): Service | undefined => {
  const bindings = (runtime.config.httpd?.bindings ?? []).filter((b) => b.enable_rest_api !== false);
  if (bindings.length === 0) return undefined;
  const servers: Server[] = [];
  return {
    name: 'httpd',
    async start() {
      const app = await createApp(runtime);
      const fetch = (req: Request, env: { remoteAddress: string }) => app.fetch(req, env);
      for (const b of bindings) {
        const https = b.enable_https === true;
        const server = https ? createHttps(tlsOptions(runtime.config, b), nodeHandler(fetch, 'https')) : createHttp(nodeHandler(fetch, 'http'));
        const address = b.address || '127.0.0.1';
        await new Promise<void>((ok, fail) => {
          server.once('error', fail);
          server.listen(b.port, address, () => (server.off('error', fail), ok()));
        });
        servers.push(server);
        const port = (server.address() as AddressInfo).port;
        runtime.log('info', 'api_listening', { address, port, https });
      }
    },
    async stop() {
      await Promise.all(servers.splice(0).map(closeServer));
    },
  };
};

function tlsOptions(config: Config, b: Binding): { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' | 'TLSv1.3' } {
  const cert = b.certificate_file ?? config.httpd?.certificate_file;
  const key = b.certificate_key_file ?? config.httpd?.certificate_key_file;
  if (!cert || !key) throw new Error(`httpd binding ${b.address ?? ''}:${b.port}: enable_https needs certificate_file and certificate_key_file`);
  return { cert: readFileSync(resolve(cert)), key: readFileSync(resolve(key)), minVersion: b.min_tls_version === 13 ? 'TLSv1.3' : 'TLSv1.2' };
}
