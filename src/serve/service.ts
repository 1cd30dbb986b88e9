// What `serve` runs: each protocol front-end and the admin API is a Service built from the server
// context, started, and stopped on shutdown. Reload hands services the new config. `Runtime` is
// the part of the context the record writers (API resources, imports) read.
import type { Config } from '../config/load.ts';
import type { ServerContext } from '../core/context.ts';
import type { Store } from '../store/store.ts';

export interface Runtime {
  /** The current config; replaced on reload. */
  readonly config: Config;
  /** Absolute data dir: the store, generated host keys. */
  readonly dataDir: string;
  readonly store: Store;
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

/** Builds a service from the server's context; undefined when the config leaves it off. */
export type ServiceFactory = (context: ServerContext) => Service | undefined;
