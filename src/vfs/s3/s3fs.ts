// Opens an S3 mount: turns a user's S3Config (SFTPGo's field names and defaults) into an
// S3ObjectClient and wraps it in the shared ObjectFs, confined to `key_prefix`.
//
// Not yet supported, refused or documented here rather than silently ignored:
//  - role_arn: assuming a role needs STS (@aws-sdk/credential-providers' fromTemporaryCredentials,
//    not a dependency yet); a config with role_arn is refused with `unsupported`.
import { AppError } from '../../errors.ts';
import type { S3Config } from '../../config/schema-types.ts';
import { ObjectFs } from '../object/objectfs.ts';
import { literalSecret, type RemoteUploadJournal, type SecretResolver, type VfsLog } from '../options.ts';
import { S3ObjectClient, type S3ClientOptions } from './client.ts';

export interface OpenS3Options {
  renameDirs?: boolean;
  renameDirMaxObjects?: number;
  listPageSize?: number;
  /** Reads access_secret, session_token and sse_customer_key (default: literals only). */
  resolveSecret?: SecretResolver;
  log?: VfsLog;
  uploads?: RemoteUploadJournal;
}

const MiB = 1024 * 1024;
/** S3 refuses parts under 5 MiB (except the last). */
const MIN_PART_MB = 5;
const DEFAULT_UPLOAD_CONCURRENCY = 2;
// SFTPGo's default is 5 parallel 5 MB parts; 2 keeps a download's memory at ~10 MiB, as uploads.
const DEFAULT_DOWNLOAD_CONCURRENCY = 2;

/** The client options an S3Config means; pure apart from reading secrets. */
export function s3ClientOptions(config: S3Config, resolveSecret: SecretResolver = literalSecret): S3ClientOptions {
  const secretOf = (secret: S3Config['access_secret']): string | undefined => (secret === undefined ? undefined : resolveSecret(secret) || undefined);
  if (!config.bucket) throw new AppError('config', 's3: bucket is required');
  if (config.role_arn) throw new AppError('unsupported', 's3: role_arn (assume role) is not supported yet');
  const secret = secretOf(config.access_secret);
  if (config.access_key && !secret) throw new AppError('config', 's3: access_key needs access_secret');
  const sessionToken = secretOf(config.session_token);
  const partMb = (n: number | undefined): number => Math.max(n || MIN_PART_MB, MIN_PART_MB);
  const sse = config.server_side_encryption || undefined;
  if (config.sse_kms_key_id && sse !== 'aws:kms') throw new AppError('config', 's3: sse_kms_key_id needs server_side_encryption "aws:kms"');
  return {
    bucket: config.bucket,
    region: config.region || 'us-east-1',
    endpoint: config.endpoint || undefined,
    forcePathStyle: config.force_path_style ?? false,
    credentials: config.access_key ? { accessKeyId: config.access_key, secretAccessKey: secret!, sessionToken } : undefined,
    storageClass: config.storage_class || undefined,
    acl: config.acl || undefined,
    serverSideEncryption: sse,
    sseKmsKeyId: config.sse_kms_key_id || undefined,
    sseCustomerKey: secretOf(config.sse_customer_key),
    uploadPartSize: partMb(config.upload_part_size) * MiB,
    uploadConcurrency: config.upload_concurrency || DEFAULT_UPLOAD_CONCURRENCY,
    downloadPartSize: partMb(config.download_part_size) * MiB,
    downloadConcurrency: config.download_concurrency || DEFAULT_DOWNLOAD_CONCURRENCY,
    downloadPartMaxTime: (config.download_part_max_time ?? 0) * 1000,
    // As SFTPGo: a minute per MB of part unless set.
    uploadPartMaxTime: (config.upload_part_max_time || partMb(config.upload_part_size) * 60) * 1000,
    skipTlsVerify: config.skip_tls_verify ?? false,
    requestChecksumCalculation: config.request_checksum_calculation,
    responseChecksumValidation: config.response_checksum_validation,
  };
}

export async function openS3Fs(config: S3Config, opts: OpenS3Options = {}): Promise<ObjectFs> {
  const client = new S3ObjectClient(s3ClientOptions(config, opts.resolveSecret));
  return new ObjectFs(client, config.key_prefix, {
    renameDirs: opts.renameDirs,
    renameDirMaxObjects: opts.renameDirMaxObjects,
    listPageSize: opts.listPageSize,
    log: opts.log,
    uploads: opts.uploads,
  });
}
