// The FTP/S front-end as a Service of `serve`: undefined when ftpd has no bindings.
import type { ServiceFactory } from '../../core/service.ts';
import { FtpServer } from './server.ts';

export const ftpService: ServiceFactory = (runtime) => {
  const bindings = runtime.config.ftpd?.bindings ?? [];
  if (!bindings.some((b) => b.port > 0)) return undefined;
  const server = new FtpServer({ config: runtime.config, dataDir: runtime.dataDir, gate: runtime.gate, log: runtime.log });
  return {
    name: 'ftpd',
    start: () => server.start(),
    stop: () => server.stop(),
    reload: (config) => server.reload(config),
  };
};
