// Turns an `azblobconfig` block into where and how to reach the container: the container URL, the
// credential kind, and the part sizes. Pure apart from secret resolution, so the URL rules (public
// cloud, sovereign-cloud suffixes, azurite's path-style URLs, container vs account SAS URLs) are
// testable without a server.
import type { AzBlobConfig } from '../../config/schema-types.ts';
import { NO_SECRETS, type SecretBox } from '../../config/sealed.ts';
import { resolveSecret } from '../../config/secrets.ts';
import { AppError } from '../../errors.ts';

const MiB = 1024 * 1024;
/** SFTPGo's defaults: 5 MB parts, 5 in flight, for both directions. */
const DEFAULT_PART_MB = 5;
const DEFAULT_CONCURRENCY = 5;
/** Azure's largest block (Put Block, service version 2019-12-12 and later). */
const MAX_BLOCK_MB = 4000;
/** Azurite's well-known development account (public, documented by Microsoft). */
export const EMULATOR_ACCOUNT = 'devstoreaccount1';
export const EMULATOR_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export type AzAuth =
  | { kind: 'shared-key'; accountName: string; accountKey: string }
  /** The SAS token travels in the container URL's query string. */
  | { kind: 'sas' };

export interface AzTarget {
  container: string;
  /** Container URL; carries the SAS query when auth is 'sas'. Never log it: use `endpoint`. */
  containerUrl: string;
  /** Service URL without any query string, for logs. */
  endpoint: string;
  auth: AzAuth;
  uploadPartBytes: number;
  uploadConcurrency: number;
  downloadPartBytes: number;
  downloadConcurrency: number;
  accessTier?: 'Archive' | 'Hot' | 'Cool' | 'Cold';
}

function fail(message: string): never {
  throw new AppError('config', `azblob: ${message}`);
}

/**
 * Path-style URLs put the account in the first path segment (azurite, Azure Stack, IP hosts);
 * the public cloud puts it in the host name.
 */
function isPathStyle(url: URL, emulator: boolean): boolean {
  if (emulator) return true;
  const host = url.hostname;
  return host === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
}

function trimSlashes(s: string): string {
  return s.replace(/\/+$/, '');
}

/**
 * The service URL for shared-key auth. `endpoint` may be a full URL (used as given, with the account
 * appended for an emulator URL that lacks it) or, as in SFTPGo, a bare host: an endpoint suffix such
 * as `blob.core.chinacloudapi.cn`, or `host:port` of an emulator.
 */
export function serviceUrl(accountName: string, endpoint: string | undefined, emulator: boolean): string {
  if (!endpoint) return emulator ? `http://127.0.0.1:10000/${accountName}` : `https://${accountName}.blob.core.windows.net`;
  if (/^https?:\/\//i.test(endpoint)) {
    const url = new URL(endpoint);
    if (isPathStyle(url, emulator) && (url.pathname === '' || url.pathname === '/')) return `${url.origin}/${accountName}`;
    return trimSlashes(url.origin + url.pathname);
  }
  const bare = trimSlashes(endpoint);
  return emulator ? `http://${bare}/${accountName}` : `https://${accountName}.${bare}`;
}

/**
 * Splits a SAS URL into the container URL (query kept) and the container name. A container SAS
 * names its container in the path; an account SAS does not, and `container` must be configured.
 */
export function sasContainerUrl(
  sasUrl: string,
  container: string | undefined,
  emulator: boolean,
): { containerUrl: string; container: string; endpoint: string } {
  let url: URL;
  try {
    url = new URL(sasUrl);
  } catch {
    fail('sas_url is not a valid URL');
  }
  const segments = url.pathname.split('/').filter(Boolean);
  const accountSegments = isPathStyle(url, emulator) ? 1 : 0;
  const service = [url.origin, ...segments.slice(0, accountSegments)].join('/');
  const inUrl = segments[accountSegments] ? decodeURIComponent(segments[accountSegments]) : undefined;
  if (inUrl !== undefined) {
    if (segments.length > accountSegments + 1) fail('sas_url must be a container or account SAS URL, not a blob URL');
    if (container && container !== inUrl) fail(`container "${container}" does not match the container "${inUrl}" in sas_url`);
    return { containerUrl: `${service}/${encodeURIComponent(inUrl)}${url.search}`, container: inUrl, endpoint: service };
  }
  if (!container) fail('container is required with an account SAS URL');
  return { containerUrl: `${service}/${encodeURIComponent(container)}${url.search}`, container, endpoint: service };
}

function megabytes(value: number | undefined, field: string, fallback: number): number {
  const mb = value || fallback;
  if (!Number.isInteger(mb) || mb < 0) fail(`${field} must be a whole number of MB`);
  if (mb > MAX_BLOCK_MB) fail(`${field} must be at most ${MAX_BLOCK_MB} MB`);
  return mb * MiB;
}

export function azTarget(config: AzBlobConfig, baseDir: string, secrets: SecretBox = NO_SECRETS): AzTarget {
  const emulator = config.use_emulator === true;
  const sizes = {
    uploadPartBytes: megabytes(config.upload_part_size, 'upload_part_size', DEFAULT_PART_MB),
    uploadConcurrency: config.upload_concurrency || DEFAULT_CONCURRENCY,
    downloadPartBytes: megabytes(config.download_part_size, 'download_part_size', DEFAULT_PART_MB),
    downloadConcurrency: config.download_concurrency || DEFAULT_CONCURRENCY,
    ...(config.access_tier ? { accessTier: config.access_tier } : {}),
  };
  const sas = config.sas_url === undefined ? undefined : resolveSecret(config.sas_url, baseDir, secrets);
  if (sas) {
    const { containerUrl, container, endpoint } = sasContainerUrl(sas, config.container, emulator);
    return { container, containerUrl, endpoint, auth: { kind: 'sas' }, ...sizes };
  }
  if (!config.container) fail('container is required');
  let accountName = config.account_name;
  let accountKey = config.account_key === undefined ? undefined : resolveSecret(config.account_key, baseDir, secrets);
  if (emulator && !accountName && !accountKey) [accountName, accountKey] = [EMULATOR_ACCOUNT, EMULATOR_KEY];
  if (!accountName) fail('account_name is required unless sas_url is given');
  if (!accountKey) fail('account_key or sas_url is required');
  const endpoint = serviceUrl(accountName, config.endpoint, emulator);
  return {
    container: config.container,
    containerUrl: `${endpoint}/${encodeURIComponent(config.container)}`,
    endpoint,
    auth: { kind: 'shared-key', accountName, accountKey },
    ...sizes,
  };
}
