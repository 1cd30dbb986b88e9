// The WebDAV front-end as a Service of `serve`: undefined when webdavd has no bindings.
import type { ServiceFactory } from '../../core/service.ts';
import { WebdavServer } from './server.ts';

export const webdavService: ServiceFactory = (runtime) => {
  const bindings = runtime.config.webdavd?.bindings ?? [];
  if (!bindings.some((b) => b.port > 0)) return undefined;
  const server = new WebdavServer({ config: runtime.config, dataDir: runtime.dataDir, gate: runtime.gate, log: runtime.log });
  return {
    name: 'webdavd',
    start: () => server.start(),
    stop: () => server.stop(),
    reload: (config) => server.reload(config),
  };
};
