// Maps SFTP status codes (and a dropped connection) to the storage error kinds. SFTP v3 folds most
// errno values into FAILURE (4), so callers that can tell more (rmdir of a non-empty directory,
// mkdir of an existing path) look closer on the error path only.
import { AppError, type ErrorCode } from '../../errors.ts';

/** SSH_FX_* status codes from draft-ietf-secsh-filexfer-02 (what ssh2 puts in `err.code`). */
export const FX = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

const BY_STATUS: Record<number, ErrorCode> = {
  [FX.NO_SUCH_FILE]: 'not_found',
  [FX.PERMISSION_DENIED]: 'permission_denied',
  [FX.FAILURE]: 'io',
  [FX.BAD_MESSAGE]: 'invalid',
  [FX.NO_CONNECTION]: 'io',
  [FX.CONNECTION_LOST]: 'io',
  [FX.OP_UNSUPPORTED]: 'unsupported',
};

/**
 * The SSH connection or SFTP channel went away. Idempotent operations retry once on a new one; the
 * others only when the request was never sent (`sent` false), since the server may have done it.
 */
export class ConnectionLost extends AppError {
  constructor(
    message = 'sftp connection lost',
    options?: { cause?: unknown },
    readonly sent = true,
  ) {
    super('io', message, options);
  }
}

/** The numeric SFTP status of an ssh2 error, if it is one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Turns an ssh2 error into an AppError. A request error without a status means the channel died
 * under it ("No response from server"), which is a lost connection rather than a storage error.
 */
export function sftpError(err: unknown, op: string, path: string): AppError {
  if (err instanceof AppError) return err;
  const status = statusOf(err);
  const where = `${op} ${path || '/'}`;
  if (status === undefined)
    return new ConnectionLost(`${where}: sftp connection lost (${(err as Error)?.message ?? 'no reply'}); the server may or may not have done it`, {
      cause: err,
    });
  const kind = BY_STATUS[status] ?? 'io';
  const detail = (err as Error).message || `status ${status}`;
  return new AppError(kind, `${where}: ${detail}`, { cause: err });
}
