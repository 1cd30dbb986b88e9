// One `Range: bytes=...` header against a file's size, for every HTTP front-end (WebDAV, the user
// API, shares), and the wait for a response's buffer to drain that their streamed bodies share.
import type { ServerResponse } from 'node:http';

export type ByteRange = { start: number; end: number };

/**
 * A single `bytes=` range resolved against `size`: null = serve everything, 'unsatisfiable' = 416.
 * `strict` (SFTPGo's user API and shares) answers 416 to a list of ranges or a malformed one;
 * otherwise (WebDAV) they are ignored and the whole file is sent, as RFC 9110 §14.2 allows.
 */
export function parseByteRange(header: string | undefined, size: number, opts: { strict?: boolean } = {}): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const bad = opts.strict ? 'unsatisfiable' : null;
  if (opts.strict && !header.startsWith('bytes=')) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return bad;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return bad;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Resolves once `res` can take more (or has closed). */
export function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
