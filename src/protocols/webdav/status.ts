// The one table from core error codes to HTTP status codes for the WebDAV front-end, and the
// error answers every handler shares.
import type { ServerResponse } from 'node:http';
import type { Log } from '../../log.ts';
import { AppError, type ErrorCode } from '../../errors.ts';
import { IfHeaderError } from './if-header.ts';
import { XmlError } from './xml.ts';

const BY_CODE: Record<ErrorCode, number> = {
  not_found: 404,
  permission_denied: 403,
  invalid: 400,
  unsupported: 501,
  exists: 405,
  is_dir: 409,
  not_dir: 409,
  not_empty: 409,
  quota_exceeded: 507,
  read_quota_exceeded: 403,
  io: 500,
  config: 500,
  store: 500,
};

/** An HTTP answer decided by a handler (precondition failures, bad headers, ...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A DAV:error precondition element name (RFC 4918 §16), e.g. "propfind-finite-depth". */
    readonly precondition?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function statusOf(err: unknown, log: Log): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof AppError) return { status: BY_CODE[err.code], message: err.message };
  if (err instanceof XmlError) return { status: 400, message: `bad XML body: ${err.message}` };
  if (err instanceof IfHeaderError) return { status: 400, message: err.message };
  log('error', 'webdav_internal_error', { error: String((err as Error)?.stack ?? err) });
  return { status: 500, message: 'internal error' };
}

/** Sends an error answer, unless the response already started (then the connection is cut). */
export function sendError(res: ServerResponse, err: unknown, log: Log): void {
  const { status, message } = statusOf(err, log);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const pre = err instanceof HttpError ? err.precondition : undefined;
  const body = pre
    ? `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:${pre}/></D:error>\n`
    : `${message}\n`;
  res.writeHead(status, {
    ...(err instanceof HttpError ? err.headers : {}),
    'Content-Type': pre ? 'application/xml; charset=utf-8' : 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
