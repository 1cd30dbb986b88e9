// The SFTP/SCP front-end as a Service of `serve`: undefined when sftpd has no bindings.
import type { ServiceFactory } from '../../core/service.ts';
import { SftpServer } from './server.ts';
import { sharedHostKeys } from '../../core/host-keys.ts';

export const sftpService: ServiceFactory = (runtime) => {
  const bindings = runtime.config.sftpd?.bindings ?? [];
  if (!bindings.some((b) => b.port > 0)) return undefined;
  const { store, log } = runtime;
  const server = new SftpServer({
    config: runtime.config, dataDir: runtime.dataDir, gate: runtime.gate, log,
    ...(store.shared ? { sharedHostKeys: () => sharedHostKeys({ store, log }) } : {}),
  });
  return {
    name: 'sftpd',
    start: () => server.start(),
    stop: () => server.stop(),
    reload: (config) => server.reload(config),
  };
};
