// Every service `serve` can run, in start order. Each decides from the config whether it is enabled.
// A front-end's module (and the libraries behind it: ssh2, the FTP and WebDAV servers, Hono and the
// API routes) is imported only when its config section asks for listeners: an idle server that
// runs SFTP alone does not keep the code, heap and binary pages of the others.
import type { Config } from '../config/load.ts';
import type { ServerContext } from '../core/context.ts';
import type { Service, ServiceFactory } from '../core/service.ts';

/** A service whose module loads on demand; `wanted` is a cheap prefilter, the factory decides. */
interface LazyService {
  wanted(config: Config): boolean;
  load(): Promise<ServiceFactory>;
}

const anyPort = (bindings: { port: number }[] | undefined): boolean => (bindings ?? []).some((b) => b.port > 0);

// The defender first: bans are loaded before any listener accepts, and saved after they all closed.
export const SERVICES: LazyService[] = [
  { wanted: () => true, load: async () => (await import('../core/defender-service.ts')).defenderService },
  { wanted: (c) => anyPort(c.sftpd?.bindings), load: async () => (await import('../protocols/sftp/service.ts')).sftpService },
  { wanted: (c) => anyPort(c.ftpd?.bindings), load: async () => (await import('../protocols/ftp/service.ts')).ftpService },
  { wanted: (c) => anyPort(c.webdavd?.bindings), load: async () => (await import('../protocols/webdav/service.ts')).webdavService },
  { wanted: (c) => (c.httpd?.bindings ?? []).length > 0, load: async () => (await import('../api/service.ts')).apiService },
  { wanted: (c) => (c.telemetry?.bind_port ?? 0) > 0, load: async () => (await import('./telemetry.ts')).telemetryService },
];

/** Builds the service of `lazy` for `context`, importing its module only when the config wants it. */
export async function buildService(lazy: LazyService, context: ServerContext): Promise<Service | undefined> {
  if (!lazy.wanted(context.config)) return undefined;
  return (await lazy.load())(context);
}
