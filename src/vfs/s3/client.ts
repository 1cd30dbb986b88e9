// The S3 ObjectClient (AWS S3 and S3-compatible servers) over @aws-sdk/client-s3: keys in, bytes
// out. Every request carries the configured encryption (SSE-S3/KMS on writes, SSE-C on every read,
// write, head and copy); uploads send multipart parts from reused buffers (upload.ts), large
// reads fetch ranges in parallel (download.ts).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type ObjectCannedACL,
  type S3ClientConfig,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { AppError } from '../../errors.ts';
import { destroyOnAbort, REQUEST_DEADLINE_MS, withDeadline } from '../abort.ts';
import type { CallOptions } from '../fs.ts';
import type { GetRange, ListOptions, ListPage, ObjectClient, ObjectInfo, ObjectUpload, PutOptions } from '../object/client.ts';
import { objectStoresUseFetch } from '../../runtime.ts';
import { ParallelRangeReader } from './download.ts';
import { S3FetchHandler } from './fetch-handler.ts';
import { s3Error, statusOf } from './errors.ts';
import { S3Upload } from './upload.ts';

export interface S3ClientOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Static credentials; absent: the SDK's default chain (env, shared files, SSO, IMDS/ECS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  storageClass?: string;
  acl?: string;
  /** "AES256" or "aws:kms". */
  serverSideEncryption?: string;
  sseKmsKeyId?: string;
  /** SSE-C key (32 raw bytes as a string, or its base64); the SDK adds the key MD5. */
  sseCustomerKey?: string;
  uploadPartSize: number;
  uploadConcurrency: number;
  downloadPartSize: number;
  downloadConcurrency: number;
  /** ms; 0: none. */
  downloadPartMaxTime: number;
  /** ms one UploadPart (or the single PutObject of a small file) may take. */
  uploadPartMaxTime: number;
  skipTlsVerify: boolean;
  requestChecksumCalculation?: 'when_supported' | 'when_required';
  responseChecksumValidation?: 'when_supported' | 'when_required';
  /** Sockets per client; bounds concurrent requests of all sessions on this mount. */
  maxSockets?: number;
}

/** CopySource wants "bucket/key" URL-encoded per segment. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export class S3ObjectClient implements ObjectClient {
  readonly kind = 's3' as const;
  readonly location: { bucket: string; endpoint?: string };
  readonly sdk: S3Client;
  readonly #o: S3ClientOptions;
  readonly #sseC: { SSECustomerAlgorithm?: string; SSECustomerKey?: string };

  constructor(opts: S3ClientOptions) {
    this.#o = opts;
    this.location = { bucket: opts.bucket, endpoint: opts.endpoint };
    this.#sseC = opts.sseCustomerKey ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: opts.sseCustomerKey } : {};
    const maxSockets = opts.maxSockets ?? 64;
    const config: S3ClientConfig = {
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.credentials,
      requestChecksumCalculation: opts.requestChecksumCalculation?.toUpperCase() as S3ClientConfig['requestChecksumCalculation'],
      responseChecksumValidation: opts.responseChecksumValidation?.toUpperCase() as S3ClientConfig['responseChecksumValidation'],
      // Own agents, so destroy() releases exactly this client's sockets.
      requestHandler: objectStoresUseFetch()
        ? new S3FetchHandler({ maxSockets, skipTlsVerify: opts.skipTlsVerify })
        : {
            httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
            httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets, rejectUnauthorized: !opts.skipTlsVerify }),
          },
    };
    this.sdk = new S3Client(config);
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.sdk.send(new HeadObjectCommand({ Bucket: this.#o.bucket, Key: key, ...this.#sseC }), { abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) });
      return {
        key,
        size: r.ContentLength ?? 0,
        lastModifiedMs: r.LastModified?.getTime() ?? 0,
        etag: r.ETag,
        metadata: r.Metadata,
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw s3Error(err, 'head', key);
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    try {
      const r = await this.sdk.send(
        new ListObjectsV2Command({
          Bucket: this.#o.bucket,
          Prefix: prefix || undefined,
          Delimiter: opts.delimiter,
          ContinuationToken: opts.token,
          MaxKeys: opts.maxKeys,
        }),
        { abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) },
      );
      return {
        objects: (r.Contents ?? []).map((c) => ({
          key: c.Key ?? '',
          size: c.Size ?? 0,
          lastModifiedMs: c.LastModified?.getTime() ?? 0,
          etag: c.ETag,
        })),
        prefixes: (r.CommonPrefixes ?? []).map((p) => p.Prefix ?? '').filter((p) => p !== ''),
        nextToken: r.IsTruncated ? r.NextContinuationToken : undefined,
      };
    } catch (err) {
      throw s3Error(err, 'list', prefix);
    }
  }

  async #getRange(key: string, start: number, end: number | undefined, signal?: AbortSignal): Promise<Readable> {
    try {
      const r = await this.sdk.send(
        new GetObjectCommand({ Bucket: this.#o.bucket, Key: key, Range: `bytes=${start}-${end ?? ''}`, ...this.#sseC }),
        { abortSignal: signal },
      );
      // The SDK's abort covers the request; a body already streaming is stopped here.
      return destroyOnAbort(r.Body as Readable, signal, 's3 get', key);
    } catch (err) {
      throw s3Error(err, 'get', key);
    }
  }

  async get(key: string, range: GetRange = { start: 0 }): Promise<Readable> {
    const signal = range.signal;
    const { downloadPartSize: part, downloadConcurrency: conc } = this.#o;
    let end = range.end;
    if (conc > 1 && end === undefined) {
      // Parallel parts need the object's end; a plain read does not, so only then ask.
      const info = await this.head(key, { signal });
      if (!info) throw new AppError('not_found', `s3 get ${key}: not found`);
      end = info.size - 1;
    }
    if (conc <= 1 || end === undefined || end - range.start + 1 <= part) return this.#getRange(key, range.start, end, signal);
    // ObjectFs heads the key before reading, so a missing key fails there; a race surfaces as
    // a stream error on the first part.
    const reader = new ParallelRangeReader((s, e, signal) => this.#getRange(key, s, e, signal), range.start, end, part, conc, this.#o.downloadPartMaxTime);
    return destroyOnAbort(reader, signal, 's3 get', key);
  }

  put(key: string, opts: PutOptions = {}): ObjectUpload {
    const o = this.#o;
    return new S3Upload(
      this.sdk,
      {
        Bucket: o.bucket,
        Key: key,
        Metadata: opts.metadata,
        ContentType: opts.contentType,
        StorageClass: o.storageClass as StorageClass | undefined,
        ACL: o.acl as ObjectCannedACL | undefined,
        ServerSideEncryption: o.serverSideEncryption as ServerSideEncryption | undefined,
        SSEKMSKeyId: o.sseKmsKeyId,
        ...this.#sseC,
      },
      o.uploadPartSize,
      o.uploadConcurrency,
      { signal: opts.signal, journal: opts.journal, partTimeoutMs: o.uploadPartMaxTime },
    );
  }

  async copy(from: string, to: string, metadata?: Record<string, string>, opts: CallOptions = {}): Promise<void> {
    const o = this.#o;
    try {
      await this.sdk.send(
        new CopyObjectCommand({
          Bucket: o.bucket,
          Key: to,
          CopySource: copySource(o.bucket, from),
          MetadataDirective: metadata ? 'REPLACE' : 'COPY',
          Metadata: metadata,
          StorageClass: o.storageClass as StorageClass | undefined,
          ACL: o.acl as ObjectCannedACL | undefined,
          ServerSideEncryption: o.serverSideEncryption as ServerSideEncryption | undefined,
          SSEKMSKeyId: o.sseKmsKeyId,
          ...this.#sseC,
          ...(o.sseCustomerKey ? { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: o.sseCustomerKey } : {}),
        }),
        { abortSignal: opts.signal },
      );
    } catch (err) {
      throw s3Error(err, 'copy', from);
    }
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    try {
      await this.sdk.send(new DeleteObjectCommand({ Bucket: this.#o.bucket, Key: key }), { abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw s3Error(err, 'delete', key);
    }
  }

  async discardUploads(key: string, opts: CallOptions = {}): Promise<number> {
    const bucket = this.#o.bucket;
    let n = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.sdk.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }), { abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) });
        for (const u of page.Uploads ?? []) {
          if (u.Key !== key || !u.UploadId) continue;
          await this.sdk.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: u.UploadId }), { abortSignal: withDeadline(opts.signal, REQUEST_DEADLINE_MS) }).catch((err: unknown) => {
            // Gone meanwhile (completed or aborted): nothing left to discard.
            if (statusOf(err) !== 404) throw err;
          });
          n++;
        }
        if (!page.IsTruncated) return n;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (err) {
      throw s3Error(err, 'discard uploads', key);
    }
  }

  async close(): Promise<void> {
    this.sdk.destroy();
  }
}
