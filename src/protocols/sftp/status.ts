// The one table from core error codes to SFTP v3 status codes, plus the attribute encoding the
// SFTP front-end sends.
import type { Log } from '../../log.ts';
import { AppError, type ErrorCode } from '../../errors.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import type { SftpAttrs } from '../../lib/ssh2.ts';

export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  OP_UNSUPPORTED: 8,
} as const;

const BY_CODE: Record<ErrorCode, number> = {
  not_found: FX.NO_SUCH_FILE,
  permission_denied: FX.PERMISSION_DENIED,
  unsupported: FX.OP_UNSUPPORTED,
  invalid: FX.BAD_MESSAGE,
  exists: FX.FAILURE,
  is_dir: FX.FAILURE,
  not_dir: FX.FAILURE,
  not_empty: FX.FAILURE,
  quota_exceeded: FX.FAILURE,
  read_quota_exceeded: FX.FAILURE,
  io: FX.FAILURE,
  config: FX.FAILURE,
  store: FX.FAILURE,
};

/** Maps a thrown error to a status; anything that is not an AppError is logged as internal. */
export function statusOf(err: unknown, log: Log): { code: number; message: string } {
  if (err instanceof AppError) return { code: BY_CODE[err.code], message: err.message };
  log('error', 'sftp_internal_error', { error: String((err as Error)?.stack ?? err) });
  return { code: FX.FAILURE, message: 'internal error' };
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000, other: 0 } as const;

export type { SftpAttrs };

export function attrsOf(info: FileInfo): SftpAttrs {
  return {
    mode: TYPE_BITS[info.type] | info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}
