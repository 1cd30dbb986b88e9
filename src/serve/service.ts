// What `serve` runs: each protocol front-end (and later the admin API) is a Service started with
// the shared runtime and stopped on shutdown. Reload hands services the new config.
import type { Config } from '../config/load.ts';
import type { Records } from '../store/records.ts';
import type { Store } from '../store/store.ts';

export interface Runtime {
  /** The current config; replaced on reload. */
  readonly config: Config;
  /** Absolute data dir: the store, generated host keys. */
  readonly dataDir: string;
  readonly store: Store;
  /** The one writer of users, folders and admins. */
  readonly records: Records;
  /** Re-reads the config file and reconciles it (SIGHUP does the same); the running state stays on error. */
  reload(): Promise<{ ok: boolean; errors?: string[] }>;
}

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Closes listeners and live connections; resolves when everything is released. */
  stop(): Promise<void>;
  /** Called after a successful reload with the new config. */
  reload?(config: Config): Promise<void>;
}

export type ServiceFactory = (runtime: Runtime) => Service | undefined;
