// A small node:http(s) adapter for a fetch-style handler (Hono's app.fetch): the request becomes a
// web-standard Request (body buffered, with a size cap: API bodies are JSON documents), the Response
// is streamed back. The client address travels as the `remoteAddress` binding.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody } from './respond.ts';

export type FetchHandler = (req: Request, env: { remoteAddress: string }) => Response | Promise<Response>;

/** Largest accepted body: a loaddata dump of many thousand users fits. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

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
  let body: Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
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
  const request = new Request(url, { method, headers, body: body as unknown as BodyInit | undefined });
  const response = await fetch(request, { remoteAddress: o.clientOf(req) });
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') out[key] = value;
  });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) out['set-cookie'] = cookies;
  res.writeHead(response.status, out);
  if (!response.body || method === 'HEAD') {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Respect backpressure: wait for drain when the socket buffer is full.
      if (!res.write(value)) await new Promise<void>((r) => res.once('drain', () => r()));
    }
  } finally {
    res.end();
  }
}
