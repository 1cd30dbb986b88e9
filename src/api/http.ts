// A small node:http(s) adapter for a fetch-style handler (Hono's app.fetch): the request becomes a
// web-standard Request, the Response is streamed back, and a client that leaves cancels it. Bodies
// are buffered with a size cap (admin API bodies are JSON documents), except under the paths that
// take files (`STREAMED_PREFIXES`), whose bodies stream as they arrive with backpressure. The
// client address travels as the `remoteAddress` binding.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody } from './respond.ts';
import { requestBody } from '../lib/request-body.ts';
import { waitDrain } from '../lib/http-range.ts';

export type FetchHandler = (req: Request, env: { remoteAddress: string }) => Response | Promise<Response>;

/** Largest accepted body: a loaddata dump of many thousand users fits. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** Paths whose request bodies are files: streamed, never buffered, no size cap here. */
export const STREAMED_PREFIXES = ['/api/v2/user/', '/api/v2/shares/', '/web/client/files/upload'];

function streamedPath(url: string | undefined): boolean {
  const path = (url ?? '/').split('?')[0]!;
  return STREAMED_PREFIXES.some((p) => path.startsWith(p));
}

/** What a handler that stops reading a body early (a refused upload) leaves to be drained. */
const MAX_DRAIN_BYTES = 4 * 1024 * 1024;

/** `clientOf` names a request's client (the door's address for its socket); the peer by default. */
export function nodeHandler(fetch: FetchHandler, scheme: 'http' | 'https', clientOf: (req: IncomingMessage) => string = (req) => req.socket.remoteAddress ?? '') {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void serveOne(fetch, { scheme, clientOf }, req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(errorBody(500, 'internal error', [{ path: '', message: String((err as Error).message) }])));
    });
  };
}

async function serveOne(fetch: FetchHandler, o: { scheme: string; clientOf: (req: IncomingMessage) => string }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  let body: Buffer | ReadableStream<Uint8Array> | undefined;
  let abandoned = false;
  // A refused upload leaves the rest of its body to be drained and dropped (up to MAX_DRAIN_BYTES),
  // so its answer reaches a client still sending rather than being lost to a reset.
  if (method !== 'GET' && method !== 'HEAD' && streamedPath(req.url)) body = requestBody(req, { onCancel: () => (abandoned = true), maxDrainBytes: MAX_DRAIN_BYTES });
  else if (method !== 'GET' && method !== 'HEAD') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify(errorBody(413, 'body too large')));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    }
    body = Buffer.concat(chunks);
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const url = new URL(req.url ?? '/', `${o.scheme}://${req.headers.host ?? 'localhost'}`);
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (body instanceof ReadableStream) {
    init.body = body;
    init.duplex = 'half';
  } else if (body) init.body = body as Uint8Array<ArrayBuffer>;
  const request = new Request(url, init);
  const response = await fetch(request, { remoteAddress: o.clientOf(req) });
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') out[key] = value;
  });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) out['set-cookie'] = cookies;
  // The rest of an unread body is still arriving: this connection cannot carry another request.
  if (abandoned && !req.complete) out.connection = 'close';
  res.writeHead(response.status, out);
  if (!response.body || method === 'HEAD') {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // A client that leaves mid-response cancels the body, which releases what produces it.
  let gone = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    gone = true;
    void reader.cancel(new Error('client gone')).catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    while (!gone) {
      const { done, value } = await reader.read();
      if (done) break;
      // Respect backpressure: wait for drain (or the client leaving) when the socket buffer is full.
      if (!res.write(value)) await waitDrain(res);
    }
  } catch (err) {
    // The body failed after the status line went out: cut the connection so the client sees it.
    if (!gone) res.destroy(err as Error);
    return;
  } finally {
    res.off('close', onClose);
  }
  if (!gone) res.end();
}

