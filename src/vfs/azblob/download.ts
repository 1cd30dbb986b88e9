// Reads a blob (or a byte range of it) as one ordered stream. The first part is streamed straight
// from its response; when the range is longer than one part, the following parts are fetched in
// parallel (at most `concurrency` parts buffered or in flight) and emitted in order, pulled by the
// consumer, so memory stays within concurrency × part size. Every part after the first is
// conditional on the first response's ETag: a blob replaced mid-read fails the read instead of
// splicing two versions together.
import { Readable } from 'node:stream';
import type { BlobClient } from '@azure/storage-blob';
import { AppError } from '../../errors.ts';
import { onAbort, partDeadlineMs, withDeadline } from '../abort.ts';
import type { GetRange } from '../object/client.ts';
import { abortedError, azError, statusOf } from './errors.ts';

export interface DownloadSettings {
  partBytes: number;
  concurrency: number;
  /** Open streams of the owning client, which destroys them on close. */
  live: Set<Readable>;
}

/** "bytes 0-99/1000" -> 1000 */
function totalFromContentRange(contentRange: string | undefined): number | undefined {
  const m = contentRange && /\/(\d+)\s*$/.exec(contentRange);
  return m ? Number(m[1]) : undefined;
}

function emptyStream(): Readable {
  return Readable.from([], { objectMode: false });
}

export async function openDownload(
  blob: BlobClient,
  key: string,
  range: GetRange | undefined,
  settings: DownloadSettings,
): Promise<Readable> {
  const start = range?.start ?? 0;
  const end = range?.end;
  if (start < 0 || (end !== undefined && end < start)) throw new AppError('invalid', `azblob read "${key}": bad range ${start}-${end}`);
  const controller = new AbortController();
  const signal = controller.signal;
  // The caller's signal cancels the first request, the parts and the stream alike.
  const unlink = onAbort(range?.signal, () => controller.abort());
  const wanted = end === undefined ? undefined : end - start + 1;
  const parallel = settings.concurrency > 1;
  const firstCount = parallel ? Math.min(wanted ?? settings.partBytes, settings.partBytes) : wanted;

  let first;
  try {
    // SFTPGo's deadline for a block (a minute per MB of part); a single whole-blob read has none.
    first = await blob.download(start, firstCount, { abortSignal: parallel ? withDeadline(signal, partDeadlineMs(settings.partBytes)) : signal });
  } catch (err) {
    unlink();
    if (signal.aborted) throw abortedError('read', key);
    // 416: the range starts at or past the end (an empty blob has no satisfiable range at all).
    // Like a file read past EOF that is no bytes, once we know the blob exists.
    if (statusOf(err) !== 416) throw azError(err, 'read', key);
    try {
      await blob.getProperties({ abortSignal: signal });
    } catch (e) {
      throw azError(e, 'read', key);
    }
    return emptyStream();
  }
  const body = first.readableStreamBody as Readable | undefined;
  if (!body) {
    unlink();
    return emptyStream();
  }
  const got = first.contentLength ?? 0;
  const total = totalFromContentRange(first.contentRange) ?? start + got;
  const last = Math.min(end ?? total - 1, total - 1);
  const etag = first.etag;

  /** One part, as the chunks its response arrived in (handed on as they are, not copied). */
  async function fetchPart(offset: number, count: number): Promise<Buffer[]> {
    const res = await blob.download(offset, count, { abortSignal: withDeadline(signal, partDeadlineMs(count)), conditions: etag ? { ifMatch: etag } : {} });
    const chunks: Buffer[] = [];
    let pos = 0;
    for await (const chunk of res.readableStreamBody as Readable) {
      const c = chunk as Buffer;
      if (pos + c.length > count) throw new AppError('io', `azblob read "${key}": part at ${offset} longer than requested`);
      chunks.push(c);
      pos += c.length;
    }
    if (pos !== count) throw new AppError('io', `azblob read "${key}": part at ${offset} ended after ${pos} of ${count} bytes`);
    return chunks;
  }

  let finished = false;
  async function* bytes(): AsyncGenerator<Buffer> {
    const queue: Promise<Buffer[]>[] = [];
    let next = start + got;
    const fill = (): void => {
      while (queue.length < settings.concurrency - 1 && next <= last) {
        const count = Math.min(settings.partBytes, last - next + 1);
        const part = fetchPart(next, count);
        part.catch(() => undefined); // awaited in order below; a part never reached must not go unhandled
        queue.push(part);
        next += count;
      }
    };
    try {
      fill();
      for await (const chunk of body!) yield chunk as Buffer;
      while (queue.length > 0) {
        const part = await queue.shift()!;
        fill();
        yield* part;
      }
      finished = true;
    } catch (err) {
      throw signal.aborted ? abortedError('read', key) : azError(err, 'read', key);
    } finally {
      if (!finished) controller.abort();
      body!.destroy();
    }
  }

  const stream = Readable.from(bytes(), { objectMode: false });
  settings.live.add(stream);
  if (signal.aborted) stream.destroy(abortedError('read', key));
  else signal.addEventListener('abort', () => void stream.destroy(abortedError('read', key)), { once: true });
  stream.once('close', () => {
    unlink();
    settings.live.delete(stream);
    // A consumer that stops early destroys the stream: cancel the parts still in flight.
    if (!finished) controller.abort();
  });
  return stream;
}
