// What the caller hands the backends it opens, so the vfs reads no module state of its own: how to
// turn a secret reference from a filesystem block into its clear value, and where to log. The
// core supplies both (the config's secret resolver and the server log); tests pass their own.
import type { Secret } from '../config/schema-types.ts';
import { AppError } from '../errors.ts';

/** The clear value of a secret; undefined when it has none yet (`{ generate: true }`). */
export type SecretResolver = (secret: Secret) => string | undefined;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One structured log line: a stable event name and its fields. */
export type VfsLog = (level: LogLevel, event: string, fields: Record<string, unknown>) => void;

/**
 * The resolver used when the caller gives none: a literal is its own value, and any reference
 * (`{ env }`, `{ file }`, sealed) is refused, since reading it needs the caller's secrets.
 */
export function literalSecret(secret: Secret): string | undefined {
  if (typeof secret === 'string') return secret;
  throw new AppError('config', 'a secret reference cannot be read here: the caller must pass resolveSecret');
}

/**
 * Told of each temporary upload file on local disk before it is created and once it is gone, so
 * that the files a crash orphans can be removed at the next start (core/upload-journal.ts).
 */
export interface TempJournal {
  /** Resolves once the entry is durable; the file is created only then. */
  begin(osPath: string): Promise<void>;
  end(osPath: string): void;
}

/**
 * Told of each multipart or block upload an object store holds open server-side, before it opens
 * and once it is completed or aborted, so that the uploads a crash leaves open are found and
 * discarded at the next start (core/upload-journal.ts). Keys are full object keys.
 */
export interface RemoteUploadJournal {
  begin(key: string): void;
  end(key: string): void;
}

/** Where the local backend (plain or under crypt) keeps the temporary files of atomic uploads. */
export interface LocalStaging {
  /**
   * common.temp_path: an absolute directory temporary uploads are written in, instead of beside
   * their target, and renamed into place from (copied then removed if it is another filesystem).
   */
  dir?: string;
  journal?: TempJournal;
}
