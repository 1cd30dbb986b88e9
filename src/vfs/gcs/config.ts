// Turns a `gcsconfig` block into what the GCS client needs: SDK options (endpoint, credentials),
// the resumable chunk size, the predefined ACL, the storage class and the key prefix. Pure apart
// from secret resolution, so the rules are testable without a server.
import type { StorageOptions } from '@google-cloud/storage';
import type { GCSConfig } from '../../config/schema-types.ts';
import { AppError } from '../../errors.ts';
import { literalSecret, type SecretResolver } from '../options.ts';

const MiB = 1024 * 1024;
/** SFTPGo's (and Google's Go client's) default resumable chunk: 16 MiB. */
const DEFAULT_CHUNK_MB = 16;
/** SFTPGo's upload_part_max_time when 0: the Go client's default chunk deadline, 32 s. */
const DEFAULT_CHUNK_MAX_S = 32;
/** Predefined ACLs of the JSON API (`predefinedAcl`), as SFTPGo documents for `acl`. */
const PREDEFINED_ACLS = ['authenticatedRead', 'bucketOwnerFullControl', 'bucketOwnerRead', 'private', 'projectPrivate', 'publicRead'] as const;
export type PredefinedAcl = (typeof PREDEFINED_ACLS)[number];

export interface GcsTarget {
  bucket: string;
  /** Options for `new Storage(...)`; may hold credentials: never log them. */
  storageOptions: StorageOptions;
  /** For logs: the API endpoint (default Google's). */
  endpoint?: string;
  /** Resumable upload chunk; a multiple of 256 KiB as GCS requires. */
  chunkBytes: number;
  /** ms one chunk may take to be accepted (upload_part_max_time) before the upload fails. */
  chunkMaxMs: number;
  acl?: PredefinedAcl;
  storageClass?: string;
  /** "" or a prefix ending in "/". */
  keyPrefix: string;
}

function fail(message: string): never {
  throw new AppError('config', `gcs: ${message}`);
}

/** SFTPGo's key_prefix: no leading "/", always a trailing "/" when set. */
export function normalizeKeyPrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  if (!p) return '';
  if (p.split('/').some((seg) => seg === '.' || seg === '..')) fail('key_prefix must not contain "." or ".." segments');
  return p.endsWith('/') ? p : `${p}/`;
}

/** `baseDir` resolves a relative credentials_file; `resolveSecret` reads `credentials`. */
export function gcsTarget(config: GCSConfig, baseDir: string, resolveSecret: SecretResolver = literalSecret): GcsTarget {
  if (!config.bucket) fail('bucket is required');
  const mb = config.upload_part_size || DEFAULT_CHUNK_MB;
  if (!Number.isInteger(mb) || mb < 0) fail('upload_part_size must be a whole number of MB');
  const chunkMaxS = config.upload_part_max_time || DEFAULT_CHUNK_MAX_S;
  if (!Number.isInteger(chunkMaxS) || chunkMaxS < 0) fail('upload_part_max_time must be a whole number of seconds');
  if (config.acl && !(PREDEFINED_ACLS as readonly string[]).includes(config.acl)) {
    fail(`acl must be one of ${PREDEFINED_ACLS.join(', ')}`);
  }

  const options: StorageOptions = {};
  let hasCredentials = false;
  if (config.credentials !== undefined) {
    const json = resolveSecret(config.credentials);
    if (json) {
      try {
        options.credentials = JSON.parse(json) as StorageOptions['credentials'];
      } catch {
        fail('credentials is not valid JSON (expected a service account key)');
      }
      const projectId = (options.credentials as { project_id?: unknown }).project_id;
      if (typeof projectId === 'string') options.projectId = projectId;
      hasCredentials = true;
    }
  }
  if (!hasCredentials && config.credentials_file) {
    options.keyFilename = config.credentials_file.startsWith('/') ? config.credentials_file : `${baseDir}/${config.credentials_file}`;
    hasCredentials = true;
  }
  const automatic = config.automatic_credentials === 1;
  if (config.endpoint) {
    options.apiEndpoint = config.endpoint.replace(/\/+$/, '');
    // The SDK sends no auth to a custom endpoint (an emulator) unless told to; credentials given
    // explicitly mean a real endpoint (e.g. Private Service Connect) that wants them.
    if (hasCredentials || automatic) options.useAuthWithCustomEndpoint = true;
  } else if (!hasCredentials && !automatic) {
    fail('credentials, credentials_file or automatic_credentials: 1 is required');
  }

  return {
    bucket: config.bucket,
    storageOptions: options,
    endpoint: options.apiEndpoint,
    chunkBytes: mb * MiB,
    chunkMaxMs: chunkMaxS * 1000,
    ...(config.acl ? { acl: config.acl as PredefinedAcl } : {}),
    ...(config.storage_class ? { storageClass: config.storage_class } : {}),
    keyPrefix: normalizeKeyPrefix(config.key_prefix),
  };
}
