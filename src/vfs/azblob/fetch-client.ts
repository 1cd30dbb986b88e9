// The Azure SDK's HTTP client under Bun: every request the pipeline has signed goes out through
// the runtime's fetch (object/fetch-http.ts says why: node:http's client copies block bodies and
// response chunks that the collector frees late). It answers as the SDK's node:http client does:
// a body the request streams (downloads) as a node Readable, any other as text; an aborted signal
// rejects with an AbortError, which the SDK's retry policy does not retry.
import type { HttpHeaders, HttpOperationResponse, IHttpClient, WebResource } from '@azure/storage-blob';
import { Readable } from 'node:stream';
import { bodyOf, bunInit, readableOf, requestHeaders } from '../object/fetch-http.ts';

/** Header names as the store sent them; look-ups ignore case. */
class ResponseHeaders implements HttpHeaders {
  readonly #map = new Map<string, { name: string; value: string }>();

  constructor(raw?: Record<string, string>) {
    for (const [k, v] of Object.entries(raw ?? {})) this.set(k, v);
  }

  set(name: string, value: string | number): void {
    this.#map.set(name.toLowerCase(), { name, value: String(value) });
  }
  get(name: string): string | undefined {
    return this.#map.get(name.toLowerCase())?.value;
  }
  contains(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }
  remove(name: string): boolean {
    return this.#map.delete(name.toLowerCase());
  }
  rawHeaders(): Record<string, string> {
    return this.toJson();
  }
  headersArray(): { name: string; value: string }[] {
    return [...this.#map.values()];
  }
  headerNames(): string[] {
    return [...this.#map.values()].map((h) => h.name);
  }
  headerValues(): string[] {
    return [...this.#map.values()].map((h) => h.value);
  }
  clone(): HttpHeaders {
    return new ResponseHeaders(this.toJson({ preserveCase: true }));
  }
  toJson(opts: { preserveCase?: boolean } = {}): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, h] of this.#map) out[opts.preserveCase ? h.name : k] = h.value;
    return out;
  }
}

function bodyInit(body: unknown): BodyInit | undefined {
  if (body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array) return body.byteLength > 0 ? bodyOf(body) : undefined;
  if (body instanceof ArrayBuffer) return body.byteLength > 0 ? bodyOf(new Uint8Array(body)) : undefined;
  if (typeof body === 'string') return body;
  // The SDK's stream bodies come as a factory of a node stream.
  const made = typeof body === 'function' ? (body as () => unknown)() : body;
  if (made instanceof Readable) return Readable.toWeb(made) as unknown as ReadableStream<Uint8Array>;
  return made as BodyInit;
}

function abortError(): Error {
  const err = new Error('The operation was aborted.');
  err.name = 'AbortError';
  return err;
}

/** An HTTP client for @azure/storage-blob (`httpClient` in the pipeline options) that sends through fetch. */
export class AzFetchClient implements IHttpClient {
  readonly #init = bunInit(false);

  async sendRequest(req: WebResource): Promise<HttpOperationResponse> {
    const callerSignal = req.abortSignal as AbortSignal | undefined;
    const signal = req.timeout > 0 ? (callerSignal ? AbortSignal.any([callerSignal, AbortSignal.timeout(req.timeout)]) : AbortSignal.timeout(req.timeout)) : callerSignal;
    if (signal?.aborted) throw abortError();
    try {
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : bodyInit(req.body);
      const res = await fetch(req.url, {
        method: req.method,
        headers: requestHeaders(req.headers.toJson({ preserveCase: true })),
        ...(body !== undefined ? { body, duplex: 'half' } : {}),
        ...(signal ? { signal } : {}),
        ...this.#init,
      } as RequestInit);
      const headers = new ResponseHeaders();
      res.headers.forEach((v, k) => headers.set(k, v));
      const streamed = req.streamResponseStatusCodes?.has(res.status) || req.streamResponseStatusCodes?.has(Number.POSITIVE_INFINITY);
      if (streamed) return { request: req, status: res.status, headers, readableStreamBody: readableOf(res.body) };
      const text = await res.text();
      return { request: req, status: res.status, headers, ...(text ? { bodyAsText: text } : {}) };
    } catch (err) {
      if (signal?.aborted) throw abortError();
      throw err;
    }
  }
}
