// The time limits of S3 requests that are not part transfers (those have their own settings).
/**
 * How long any other request may take, retries included, as SFTPGo's 30 s deadline on S3 calls:
 * a peer that accepts a request and never answers fails it instead of holding the session.
 */
export const S3_REQUEST_MS = 30_000;

/** The caller's signal, bounded by `ms`. */
export function withDeadline(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}
