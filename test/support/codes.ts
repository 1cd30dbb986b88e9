// The error code an operation was refused with: a test reads which refusal it got in one line.
import { isAppError } from '../../src/errors.ts';

/** The AppError code `op` rejects with (any other error as text); undefined when it succeeds. */
export function codeOf(op: Promise<unknown>): Promise<string | undefined> {
  return op.then(
    () => undefined,
    (err: unknown) => (isAppError(err) ? err.code : String(err)),
  );
}
