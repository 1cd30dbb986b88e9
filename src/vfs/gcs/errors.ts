// Classifies GCS errors into storage error kinds by HTTP status or error code, never by message
// or class: the SDK throws ApiError (`code` = status) for JSON API calls, our uploads (upload.ts)
// an error with `code` = status, and the runtimes their own network errors (`code` = ECONNREFUSED, ...).
import { AppError, type ErrorCode } from '../../errors.ts';

/** The HTTP status behind an SDK error, whichever shape it came in. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } } | undefined;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.status === 'number') return e.status;
  if (typeof e?.response?.status === 'number') return e.response.status;
  return undefined;
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid',
  401: 'permission_denied',
  403: 'permission_denied',
  404: 'not_found',
  409: 'exists',
  412: 'exists',
  416: 'invalid',
};

export function gcsError(err: unknown, op: string, key: string): AppError {
  if (err instanceof AppError) return err;
  const status = statusOf(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  const kind: ErrorCode = (status !== undefined ? BY_STATUS[status] : undefined) ?? 'io';
  const why = status !== undefined ? `HTTP ${status}` : typeof code === 'string' ? code : 'failed';
  return new AppError(kind, `gcs ${op} "${key}": ${why}`, { cause: err });
}
