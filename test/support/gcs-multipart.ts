// Streaming reader for `uploadType=multipart` bodies (multipart/related: a JSON object resource,
// then the media) for the GCS test server. The media part goes straight to a file with
// backpressure; only the small metadata part is ever held in memory.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GcsError } from './gcs-store.ts';

/** Largest metadata part accepted (GCS's own limit on object metadata is far lower). */
const MAX_HEAD = 1 << 20;

const bad = (msg: string): GcsError => new GcsError(400, 'badRequest', msg);

export function boundaryOf(contentType: string | undefined): string {
  const m = /^multipart\/related\s*;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!m) throw bad('Expected multipart/related with a boundary');
  return (m[1] ?? m[2])!;
}

function partHeaders(block: string): Record<string, string> {
  const h: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return h;
}

/**
 * Reads the two parts of `body`: returns the parsed resource and the media part's content type,
 * having written the media bytes to `dest`.
 */
export async function readMultipartUpload(
  body: Readable,
  boundary: string,
  dest: string,
): Promise<{ resource: Record<string, unknown>; mediaType?: string }> {
  const open = Buffer.from(`--${boundary}\r\n`);
  const delim = Buffer.from(`\r\n--${boundary}`);
  let head = Buffer.alloc(0);
  let resource: Record<string, unknown> | undefined;
  let mediaType: string | undefined;
  let carry = Buffer.alloc(0);
  let done = false;
  const out = createWriteStream(dest);
  // A body cut mid-write destroys the file stream with writes pending, which then fail on it:
  // the request has failed already, and the process must not.
  out.on('error', () => undefined);
  const write = async (b: Buffer): Promise<void> => {
    if (b.length && !out.write(b)) await once(out, 'drain');
  };
  try {
    for await (const chunk of body) {
      if (done) continue; // drain the epilogue
      let data = chunk as Buffer;
      if (!resource) {
        head = Buffer.concat([head, data]);
        if (head.length > MAX_HEAD) throw bad('Metadata part too large');
        // preamble, part 1 headers, part 1 body, part 2 headers
        const s = head.indexOf(open);
        if (s < 0) continue;
        const h1 = head.indexOf('\r\n\r\n', s + open.length);
        if (h1 < 0) continue;
        const e1 = head.indexOf(delim, h1 + 4);
        if (e1 < 0) continue;
        const h2s = e1 + delim.length + 2; // skip the CRLF after the boundary
        const h2 = head.indexOf('\r\n\r\n', h2s);
        if (h2 < 0) continue;
        try {
          resource = JSON.parse(head.subarray(h1 + 4, e1).toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          throw bad('The metadata part is not valid JSON');
        }
        mediaType = partHeaders(head.subarray(h2s, h2).toString('latin1'))['content-type'];
        data = head.subarray(h2 + 4);
        head = Buffer.alloc(0);
      }
      // Hold back a possible partial delimiter at the end of each chunk.
      const all = carry.length ? Buffer.concat([carry, data]) : data;
      const end = all.indexOf(delim);
      if (end >= 0) {
        await write(all.subarray(0, end));
        carry = Buffer.alloc(0);
        done = true;
        continue;
      }
      const keep = Math.min(delim.length - 1, all.length);
      await write(all.subarray(0, all.length - keep));
      carry = Buffer.from(all.subarray(all.length - keep));
    }
    if (!done) throw bad('Truncated multipart body');
    out.end();
    await finished(out);
    return { resource: resource!, mediaType };
  } catch (err) {
    out.destroy();
    throw err;
  }
}
