// The narrow contract each object store (S3, GCS, Azure Blob) implements. ObjectFs (objectfs.ts)
// turns it into the Fs contract once for all three: directories as prefixes with delimiter
// listings, empty directories as marker objects, stat of a "directory", rename as copy+delete,
// bounded directory renames, mtime in metadata. A client knows nothing about directories, users or
// protocols: keys in, bytes out. Every call takes the caller's signal (fs.ts, CallOptions): an
// aborted call rejects promptly, and a stream or upload it opened is destroyed or aborted.
import type { Readable } from 'node:stream';
import type { CallOptions } from '../fs.ts';
import type { RemoteUploadJournal } from '../options.ts';

export interface ObjectInfo {
  /** Full key in the bucket/container (including any key prefix). */
  key: string;
  size: number;
  /** Last-modified time from the store, unix ms. */
  lastModifiedMs: number;
  etag?: string;
  /** User metadata, lower-case keys (ObjectFs keeps the client mtime under `MTIME_METADATA_KEY`). */
  metadata?: Record<string, string>;
}

export interface ListOptions extends CallOptions {
  /** "/" for one level (common prefixes returned apart); undefined for a flat, recursive listing. */
  delimiter?: string;
  /** Continuation token from the previous page. */
  token?: string;
  /** Page size hint; the store may return fewer. */
  maxKeys?: number;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Common prefixes (with the trailing delimiter) when a delimiter was given. */
  prefixes: string[];
  /** Present when there is another page. */
  nextToken?: string;
}

/** Bytes [start, end] (end inclusive, or to the end of the object). */
export interface GetRange extends CallOptions {
  start: number;
  end?: number;
}

export interface PutOptions extends CallOptions {
  metadata?: Record<string, string>;
  contentType?: string;
  /** Told when the upload opens server-side state (a multipart upload, staged blocks) and when that is gone. */
  journal?: RemoteUploadJournal;
}

/**
 * A streaming upload. Nothing is visible under the key until complete() resolves; abort() (or a
 * failed complete) leaves no object and releases any multipart/resumable session. Memory is
 * bounded by the client's part size × concurrency, never by the file size.
 */
export interface ObjectUpload {
  /**
   * Resolves when the chunk is accepted (backpressure: do not call again before it resolves). The
   * caller may reuse `chunk` once it has: the upload copies whatever it keeps past that point.
   */
  write(chunk: Uint8Array): Promise<void>;
  complete(): Promise<void>;
  abort(): Promise<void>;
}

export interface ObjectClient {
  readonly kind: 's3' | 'gcs' | 'azblob';
  /** For logs and event payloads: bucket/container and endpoint. */
  readonly location: { bucket: string; endpoint?: string };
  /** undefined when the key does not exist (never throws not-found). */
  head(key: string, opts?: CallOptions): Promise<ObjectInfo | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListPage>;
  /** Bytes of `key`; `end` inclusive. Not-found is AppError('not_found'). */
  get(key: string, range?: GetRange): Promise<Readable>;
  put(key: string, opts?: PutOptions): ObjectUpload;
  /** Server-side copy; replaces metadata with `metadata` when given. */
  copy(from: string, to: string, metadata?: Record<string, string>, opts?: CallOptions): Promise<void>;
  /** Deleting a missing key is not an error. */
  delete(key: string, opts?: CallOptions): Promise<void>;
  /** Discards the server-side state uploads of `key` left open (see Fs.discardUploads); resolves how many. */
  discardUploads?(key: string, opts?: CallOptions): Promise<number>;
  /** Releases sockets/agents. */
  close(): Promise<void>;
}

/** User-metadata key holding the client-set mtime (unix ms as a decimal string). */
export const MTIME_METADATA_KEY = 'sftpgo-mtime';
