// Maps node:fs errno codes to the storage error kinds the core and front-ends understand.
import { AppError, type ErrorCode } from '../../errors.ts';

const BY_ERRNO: Record<string, ErrorCode> = {
  ENOENT: 'not_found',
  EEXIST: 'exists',
  EISDIR: 'is_dir',
  ENOTDIR: 'not_dir',
  ENOTEMPTY: 'not_empty',
  EACCES: 'permission_denied',
  EPERM: 'permission_denied',
  EROFS: 'permission_denied',
  EXDEV: 'unsupported',
  ENOTSUP: 'unsupported',
  EOPNOTSUPP: 'unsupported',
  ENOSYS: 'unsupported',
  EINVAL: 'invalid',
  ELOOP: 'invalid',
  ENAMETOOLONG: 'invalid',
  EDQUOT: 'quota_exceeded',
  ENOSPC: 'quota_exceeded',
};

/** Turns a thrown node:fs error into an AppError; the OS path is kept out of the message. */
export function fsError(err: unknown, op: string, path: string): AppError {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const kind: ErrorCode = (code ? BY_ERRNO[code] : undefined) ?? 'io';
  return new AppError(kind, `${op} ${path || '/'}: ${code ?? 'failed'}`, { cause: err });
}
