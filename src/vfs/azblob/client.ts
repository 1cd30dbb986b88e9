// The Azure Blob ObjectClient: keys in, bytes out, over @azure/storage-blob. Directories, key
// prefixes and mtimes are ObjectFs's business; this module only speaks to one container with
// shared-key or SAS auth, streaming block uploads (upload.ts) and parallel ranged reads
// (download.ts).
//
// The SDK keeps one module-wide HTTP client (keep-alive agent, idle sockets unref'd) for all its
// clients (under Bun, the runtime's fetch: fetch-client.ts), so there is no per-client socket pool
// to tear down: close() aborts this client's in-flight uploads and reads and refuses further use.
import type { Readable } from 'node:stream';
import { ContainerClient, StorageSharedKeyCredential, type BlobItem, type BlobPrefix } from '@azure/storage-blob';
import { AppError } from '../../errors.ts';
import { REQUEST_DEADLINE_MS, withDeadline } from '../abort.ts';
import type { CallOptions } from '../fs.ts';
import type { GetRange, ListOptions, ListPage, ObjectClient, ObjectInfo, ObjectUpload, PutOptions } from '../object/client.ts';
import type { AzTarget } from './config.ts';
import { objectStoresUseFetch } from '../../runtime.ts';
import { openDownload } from './download.ts';
import { AzFetchClient } from './fetch-client.ts';
import { azError, statusOf } from './errors.ts';
import { fromAzureMetadata, toAzureMetadata } from './metadata.ts';
import { BlockUpload, discardStagedBlocks } from './upload.ts';

/** Azure returns at most 5,000 entries per list call. */
const MAX_PAGE = 5000;
/** Copies within one account normally finish at once; poll briskly when one does not. */
const COPY_POLL_MS = 250;

export class AzBlobClient implements ObjectClient {
  readonly kind = 'azblob' as const;
  readonly location: { bucket: string; endpoint?: string };
  private readonly container: ContainerClient;
  private readonly uploads = new Set<ObjectUpload>();
  private readonly reads = new Set<Readable>();
  private closed = false;

  constructor(private readonly target: AzTarget) {
    this.location = { bucket: target.container, endpoint: target.endpoint };
    const auth = target.auth;
    const options = objectStoresUseFetch() ? { httpClient: new AzFetchClient() } : {};
    this.container =
      auth.kind === 'shared-key'
        ? new ContainerClient(target.containerUrl, new StorageSharedKeyCredential(auth.accountName, auth.accountKey), options)
        : new ContainerClient(target.containerUrl, undefined, options);
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectInfo | undefined> {
    this.checkOpen();
    if (!storable(key)) return undefined;
    try {
      const p = await this.container.getBlobClient(key).getProperties({ abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) });
      return {
        key,
        size: p.contentLength ?? 0,
        lastModifiedMs: p.lastModified?.getTime() ?? 0,
        ...(p.etag ? { etag: quoted(p.etag) } : {}),
        ...(p.metadata ? { metadata: fromAzureMetadata(p.metadata) } : {}),
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw azError(err, 'head', key);
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    this.checkOpen();
    const listOpts = { prefix: prefix || undefined, includeMetadata: true, abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) };
    const pageOpts = { continuationToken: opts.token || undefined, maxPageSize: Math.min(opts.maxKeys ?? MAX_PAGE, MAX_PAGE) };
    try {
      if (opts.delimiter) {
        const pages = this.container.listBlobsByHierarchy(opts.delimiter, listOpts).byPage(pageOpts);
        const { value: page } = await pages.next();
        if (!page) return { objects: [], prefixes: [] };
        return {
          objects: page.segment.blobItems.map(toInfo),
          prefixes: (page.segment.blobPrefixes ?? []).map((p: BlobPrefix) => p.name),
          ...(page.continuationToken ? { nextToken: page.continuationToken } : {}),
        };
      }
      const pages = this.container.listBlobsFlat(listOpts).byPage(pageOpts);
      const { value: page } = await pages.next();
      if (!page) return { objects: [], prefixes: [] };
      return {
        objects: page.segment.blobItems.map(toInfo),
        prefixes: [],
        ...(page.continuationToken ? { nextToken: page.continuationToken } : {}),
      };
    } catch (err) {
      throw azError(err, 'list', prefix);
    }
  }

  async get(key: string, range?: GetRange): Promise<Readable> {
    this.checkOpen();
    checkKey(key, 'read');
    return openDownload(this.container.getBlobClient(key), key, range, {
      partBytes: this.target.downloadPartBytes,
      concurrency: this.target.downloadConcurrency,
      live: this.reads,
    });
  }

  put(key: string, opts: PutOptions = {}): ObjectUpload {
    this.checkOpen();
    checkKey(key, 'upload');
    return new BlockUpload(this.container.getBlockBlobClient(key), key, opts, {
      partBytes: this.target.uploadPartBytes,
      concurrency: this.target.uploadConcurrency,
      ...(this.target.accessTier ? { accessTier: this.target.accessTier } : {}),
      live: this.uploads,
    });
  }

  async copy(from: string, to: string, metadata?: Record<string, string>, opts: CallOptions = {}): Promise<void> {
    const abortSignal = opts.signal;
    this.checkOpen();
    checkKey(from, 'copy');
    checkKey(to, 'copy');
    const dest = this.container.getBlockBlobClient(to);
    try {
      if (from === to) {
        // Copying a blob onto itself only to replace its metadata (ObjectFs's setTimes): Set Blob
        // Metadata does that in one request, and Copy Blob may refuse an identical source.
        if (metadata) await dest.setMetadata(toAzureMetadata(metadata), { abortSignal });
        return;
      }
      // Copy Blob (not Copy Blob From URL): within one account the destination's credential
      // authorizes reading the source; a SAS source URL carries its own token in the query.
      const poller = await dest.beginCopyFromURL(this.container.getBlobClient(from).url, {
        ...(metadata ? { metadata: toAzureMetadata(metadata) } : {}),
        ...(this.target.accessTier ? { tier: this.target.accessTier } : {}),
        intervalInMs: COPY_POLL_MS,
        abortSignal,
      });
      const result = await poller.pollUntilDone(); // polls with the abortSignal given above
      if (result.copyStatus !== 'success') throw new AppError('io', `azblob copy "${from}" -> "${to}": ${result.copyStatus}`);
      // No metadata on Copy Blob means "keep the source's": an explicit empty set needs a second call.
      if (metadata && Object.keys(metadata).length === 0) await dest.setMetadata({}, { abortSignal });
    } catch (err) {
      throw azError(err, 'copy', `${from} -> ${to}`);
    }
  }

  async discardUploads(key: string, opts: CallOptions = {}): Promise<number> {
    this.checkOpen();
    if (!storable(key)) return 0;
    try {
      return await discardStagedBlocks(this.container.getBlockBlobClient(key), opts.signal);
    } catch (err) {
      throw azError(err, 'discard uploads', key);
    }
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    this.checkOpen();
    if (!storable(key)) return;
    try {
      await this.container.getBlobClient(key).deleteIfExists({ deleteSnapshots: 'include', abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) });
    } catch (err) {
      throw azError(err, 'delete', key);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of [...this.reads]) r.destroy();
    await Promise.all([...this.uploads].map((u) => u.abort()));
  }

  private checkOpen(): void {
    if (this.closed) throw new AppError('invalid', `azblob client for container ${this.target.container} is closed`);
  }
}

/**
 * Keys a blob URL cannot carry faithfully: the SDK's URL handling resolves "." and ".." segments
 * (so "a/../b" would address "b"), and a backslash reaches the store as "/" (azurite does this;
 * Azure's naming rules say not to use it), so "a\b" would become a directory "a" holding "b" and
 * "..\x" a ".." segment. Such a key can only be refused.
 */
function storable(key: string): boolean {
  return key !== '' && !key.includes('\\') && !key.split('/').some((s) => s === '.' || s === '..');
}

function checkKey(key: string, op: string): void {
  if (!storable(key)) throw new AppError('invalid', `azblob ${op} "${key}": Azure cannot store this name (backslash, "." or ".." segment)`);
}

function toInfo(item: BlobItem): ObjectInfo {
  const metadata = fromAzureMetadata(item.metadata);
  return {
    key: item.name,
    size: item.properties.contentLength ?? 0,
    lastModifiedMs: item.properties.lastModified?.getTime() ?? 0,
    ...(item.properties.etag ? { etag: quoted(item.properties.etag) } : {}),
    ...(metadata && Object.keys(metadata).length > 0 ? { metadata } : {}),
  };
}

/** Headers give the ETag quoted, listings bare: report the HTTP (quoted) form from both. */
function quoted(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}
