// Maps @azure/storage-blob failures to AppError codes. Classification is by HTTP status and the
// service's x-ms-error-code (`err.statusCode`, `err.code`) or a socket errno code, never by message
// or class name: those differ between Bun and Node. Messages name the operation and key, never the
// URL (a SAS token rides in its query string).
import { AppError, isAppError, type ErrorCode } from '../../errors.ts';

interface SdkError {
  statusCode?: number;
  code?: string;
}

function codeFor(err: SdkError): ErrorCode {
  switch (err.statusCode) {
    case 404:
      return 'not_found';
    case 401:
    case 403:
      return 'permission_denied';
    case 409:
      return err.code === 'BlobAlreadyExists' || err.code === 'ContainerAlreadyExists' ? 'exists' : 'io';
    case 400:
    case 416:
      return 'invalid';
    default:
      return 'io';
  }
}

export function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as SdkError).statusCode : undefined;
}

export function azError(err: unknown, op: string, key: string): AppError {
  if (isAppError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  const detail = [e.statusCode, e.code].filter((x) => x !== undefined).join(' ') || 'request failed';
  return new AppError(codeFor(e), `azblob ${op} "${key}": ${detail}`, { cause: err });
}

export function abortedError(op: string, key: string): AppError {
  return new AppError('io', `azblob ${op} "${key}": aborted`);
}
