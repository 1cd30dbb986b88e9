// The streaming multipart/form-data reader: parts with names and file names, bodies split across
// chunks at every position, skipped parts, and malformed bodies refused.
import { describe, expect, test } from 'bun:test';
import { boundaryOf, multipartParts, MultipartError } from '../../../src/lib/multipart.ts';

function streamOf(data: Buffer, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.subarray(at, at + chunk));
      at += chunk;
    },
  });
}

async function read(body: Buffer, boundary: string, chunk: number, skip = new Set<string>()): Promise<{ name: string; filename?: string; data: string }[]> {
  const out: { name: string; filename?: string; data: string }[] = [];
  for await (const p of multipartParts(streamOf(body, chunk), boundary)) {
    if (skip.has(p.name)) continue;
    const parts: Buffer[] = [];
    for await (const c of p.body) parts.push(c);
    out.push({ name: p.name, ...(p.filename !== undefined ? { filename: p.filename } : {}), data: Buffer.concat(parts).toString('latin1') });
  }
  return out;
}

const B = 'XyZ123';
const BODY = Buffer.from(
  `preamble\r\n--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\nplain value\r\n` +
    `--${B}\r\nContent-Disposition: form-data; name="filenames"; filename="a \\"q\\".txt"\r\nContent-Type: text/plain\r\n\r\nline1\r\n--XyZ12-not-the-boundary\r\n\r\n` +
    `--${B}\r\nContent-Disposition: form-data; name="filenames"; filename*=UTF-8''%C3%A9t%C3%A9.bin\r\n\r\n\u00ff\u0000\r\n` +
    `--${B}--\r\nepilogue`,
  'latin1',
);

describe('multipartParts', () => {
  test('boundaryOf reads quoted and bare boundaries of form-data only', () => {
    expect(boundaryOf('multipart/form-data; boundary=abc')).toBe('abc');
    expect(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b"')).toBe('a b');
    expect(boundaryOf('application/json')).toBeUndefined();
    expect(boundaryOf(undefined)).toBeUndefined();
  });

  test('the same parts whatever the chunk size', async () => {
    const want = [
      { name: 'note', data: 'plain value' },
      { name: 'filenames', filename: 'a "q".txt', data: `line1\r\n--XyZ12-not-the-boundary\r\n` },
      { name: 'filenames', filename: 'été.bin', data: '\u00ff\u0000' },
    ];
    for (const chunk of [1, 2, 3, 7, 13, 64, BODY.length]) expect(await read(BODY, B, chunk)).toEqual(want);
  });

  test('a part the reader does not read is skipped', async () => {
    const got = await read(BODY, B, 5, new Set(['note']));
    expect(got.map((p) => p.filename)).toEqual(['a "q".txt', 'été.bin']);
  });

  test('a body cut short, or without a boundary, is an error', async () => {
    const cut = BODY.subarray(0, BODY.indexOf('line1') + 3);
    await expect(read(cut, B, 4)).rejects.toBeInstanceOf(MultipartError);
    await expect(read(Buffer.from('no boundary here'), B, 4)).rejects.toBeInstanceOf(MultipartError);
  });
});
