// A streaming multipart/form-data reader (RFC 7578): parts come out one at a time with their body
// as an async iterable read straight from the request, so a file part of any size costs one chunk
// of memory. A part's body must be consumed (or is skipped) before the next part is read.

export interface Part {
  /** The form field name. */
  name: string;
  /** The file name a client sent, when the part is a file. */
  filename?: string;
  headers: Map<string, string>;
  body: AsyncIterable<Buffer>;
}

export class MultipartError extends Error {}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_PREAMBLE_BYTES = 64 * 1024;

/** The boundary of a `multipart/form-data` Content-Type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType.trim())) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  return b && b.length <= 70 ? b : undefined;
}

/** Reads a byte stream into one growing window, on demand. */
class Window {
  buf: Buffer = Buffer.alloc(0);
  ended = false;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Appends the next chunk; false at the end of the stream. */
  async more(): Promise<boolean> {
    if (this.ended) return false;
    const { done, value } = await this.#reader.read();
    if (done) {
      this.ended = true;
      return false;
    }
    this.buf = this.buf.length === 0 ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.concat([this.buf, value]);
    return true;
  }

  /** Reads until `needle` is in the window (its index), within `limit` bytes; -1 at the end. */
  async find(needle: Buffer, limit: number): Promise<number> {
    for (;;) {
      const i = this.buf.indexOf(needle);
      if (i >= 0) return i;
      if (this.buf.length > limit) throw new MultipartError('multipart headers too large');
      if (!(await this.more())) return -1;
    }
  }

  async need(n: number): Promise<boolean> {
    while (this.buf.length < n) if (!(await this.more())) return false;
    return true;
  }

  cancel(): void {
    void this.#reader.cancel().catch(() => undefined);
  }
}

function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError('malformed multipart header');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** A Content-Disposition parameter: `name="x"`, `name=x`, or RFC 5987's `name*=UTF-8''x`. */
function dispositionParam(value: string, param: string): string | undefined {
  const ext = new RegExp(`;\\s*${param}\\*\\s*=\\s*(?:UTF-8|utf-8)''([^;]+)`).exec(value);
  if (ext) {
    try {
      return decodeURIComponent(ext[1]!.trim());
    } catch {
      return undefined;
    }
  }
  const m = new RegExp(`;\\s*${param}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`).exec(value);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** The parts of a multipart body, in order. */
export async function* multipartParts(body: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<Part> {
  const w = new Window(body);
  // The first delimiter has no CRLF before it: pretend it has, so every delimiter looks the same.
  w.buf = Buffer.from('\r\n');
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  try {
    const first = await w.find(delimiter, MAX_PREAMBLE_BYTES);
    if (first < 0) throw new MultipartError('no multipart boundary in the body');
    w.buf = w.buf.subarray(first + delimiter.length);
    for (;;) {
      if (!(await w.need(2))) throw new MultipartError('multipart body ended early');
      if (w.buf[0] === 0x2d && w.buf[1] === 0x2d) return; // "--": the closing delimiter
      const headerEnd = await w.find(Buffer.from('\r\n\r\n'), MAX_HEADER_BYTES);
      if (headerEnd < 0) throw new MultipartError('multipart body ended early');
      // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
      const rawHeaders = w.buf.subarray(0, headerEnd).toString('utf8').replace(/^[ \t]*\r\n/, '');
      w.buf = w.buf.subarray(headerEnd + 4);
      const headers = parseHeaders(rawHeaders);
      const disposition = headers.get('content-disposition') ?? '';
      if (!/^form-data\b/i.test(disposition)) throw new MultipartError('a multipart part without form-data disposition');
      const name = dispositionParam(disposition, 'name') ?? '';
      const filename = dispositionParam(disposition, 'filename');
      let finished = false;
      const partBody = async function* (): AsyncGenerator<Buffer> {
        for (;;) {
          const i = w.buf.indexOf(delimiter);
          if (i >= 0) {
            if (i > 0) yield w.buf.subarray(0, i);
            w.buf = w.buf.subarray(i + delimiter.length);
            finished = true;
            return;
          }
          // Keep what could be the start of a delimiter split across chunks.
          const safe = w.buf.length - (delimiter.length - 1);
          if (safe > 0) {
            const out = w.buf.subarray(0, safe);
            w.buf = w.buf.subarray(safe);
            yield out;
          }
          if (!(await w.more())) throw new MultipartError('multipart body ended early');
        }
      };
      const it = partBody();
      yield { name, ...(filename !== undefined ? { filename } : {}), headers, body: { [Symbol.asyncIterator]: () => it } };
      // Whatever the consumer left of this part is skipped.
      if (!finished) for await (const _ of it);
    }
  } finally {
    w.cancel();
  }
}
