// The one table from core error codes to FTP reply codes, and the reply-text encodings the FTP
// front-end uses (quoted paths, multi-line replies).
import type { Log } from '../../log.ts';
import { AppError, type ErrorCode } from '../../errors.ts';

const BY_CODE: Record<ErrorCode, number> = {
  not_found: 550,
  permission_denied: 550,
  exists: 550,
  is_dir: 550,
  not_dir: 550,
  not_empty: 550,
  quota_exceeded: 552,
  read_quota_exceeded: 550,
  unsupported: 504,
  invalid: 501,
  io: 451,
  config: 451,
  store: 451,
};

/** Codes that, for a command creating a name (STOR, MKD, RNTO), mean "that name cannot be used". */
const BAD_NAME: ReadonlySet<ErrorCode> = new Set(['invalid', 'is_dir', 'exists']);

export interface Reply {
  code: number;
  text: string;
}

/** Maps a thrown error to a reply; anything that is not an AppError is a logged local error (451). */
export function replyFor(err: unknown, log: Log, opts: { naming?: boolean } = {}): Reply {
  if (err instanceof AppError) {
    if (opts.naming && BAD_NAME.has(err.code)) return { code: 553, text: err.message };
    return { code: BY_CODE[err.code], text: err.message };
  }
  log('error', 'ftp_internal_error', { error: String((err as Error)?.stack ?? err) });
  return { code: 451, text: 'Local error in processing' };
}

/** A path inside a 257 reply: double quotes are doubled (RFC 959). */
export function quotePath(p: string): string {
  return `"${p.replace(/"/g, '""')}"`;
}

/** Encodes one reply; several lines become `code-first ... code last`, inner lines indented. */
export function formatReply(code: number, text: string | readonly string[]): string {
  const lines = (typeof text === 'string' ? [text] : [...text]).map((l) => l.replace(/[\r\n]+/g, ' '));
  if (lines.length <= 1) return `${code} ${lines[0] ?? ''}\r\n`;
  const last = lines.pop()!;
  const [first, ...inner] = lines;
  return [`${code}-${first}`, ...inner.map((l) => ` ${l}`), `${code} ${last}`].join('\r\n') + '\r\n';
}
