// `Runtime`: the part of the server context the record writers (API resources, imports) read.
import type { Config } from '../config/load.ts';
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
