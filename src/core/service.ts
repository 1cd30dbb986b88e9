// What `serve` runs: each protocol front-end, the admin API and the defender's persistence is a
// Service built from the server context, started, and stopped on shutdown. Reload hands services
// the new config. It lives in the core so front-ends depend on it without depending on `serve`.
import type { Config } from '../config/load.ts';
import type { ServerContext } from './context.ts';

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
