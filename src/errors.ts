// Errors carry a stable code and a human message; each protocol front-end maps codes to its own
// status codes in one table.
export type ErrorCode =
  | 'not_found'
  | 'exists'
  | 'is_dir'
  | 'not_dir'
  | 'not_empty'
  | 'permission_denied'
  | 'invalid'
  | 'unsupported'
  | 'quota_exceeded'
  /** A download refused because the user's data transfer allowance is used up. */
  | 'read_quota_exceeded'
  | 'io'
  | 'config'
  | 'store';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
