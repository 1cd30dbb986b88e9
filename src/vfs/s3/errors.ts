// Classifies AWS SDK errors into storage error kinds by HTTP status or error code, never by message
// or class name: both differ between Bun and Node, and between S3 and S3-compatible servers.
import { AppError, type ErrorCode } from '../../errors.ts';

interface SdkErrorShape {
  $metadata?: { httpStatusCode?: number };
  /** S3 error code from the XML body (e.g. "NoSuchKey"), or a Node/Bun errno code ("ECONNREFUSED"). */
  Code?: string;
  code?: string;
  name?: string;
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid',
  401: 'permission_denied',
  403: 'permission_denied',
  404: 'not_found',
  405: 'unsupported',
  409: 'exists',
  411: 'invalid',
  412: 'exists',
  416: 'invalid',
  501: 'unsupported',
};

/** The HTTP status of an SDK error, when the request reached a server. */
export function statusOf(err: unknown): number | undefined {
  return (err as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/** Turns anything the SDK throws into an AppError; the bucket and endpoint stay out of the message. */
export function s3Error(err: unknown, op: string, key: string): AppError {
  if (err instanceof AppError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const status = statusOf(err);
  const kind: ErrorCode = (status !== undefined ? BY_STATUS[status] : undefined) ?? 'io';
  const detail = e.Code ?? (status !== undefined ? `HTTP ${status}` : (e.code ?? 'failed'));
  return new AppError(kind, `s3 ${op} ${key}: ${detail}`, { cause: err });
}
