// The S3 client's HTTP handler under Bun: every request the SDK has signed goes out through the
// runtime's fetch (object/fetch-http.ts says why: node:http's client copies part bodies and
// response chunks that the collector frees late). The SDK sees what its node:http handler gives
// it: a status, lower-case headers, and the body as a node Readable, so GetObject's Body stays a
// node stream. Aborting the call's signal rejects the request as node:http's handler does (an
// AbortError, which the SDK does not retry) and ends a body being read.
import { bodyOf, bunInit, headersOf, readableOf, requestHeaders, Slots } from '../object/fetch-http.ts';
import { Readable } from 'node:stream';

/** The parts of the SDK's HttpRequest this handler reads. */
interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
  fragment?: string;
  username?: string;
  password?: string;
}

interface SdkResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Readable;
}

/** RFC 3986 escaping, as the SDK's own query builder does (what was signed must be what is sent). */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function queryString(query: SdkRequest['query']): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    const key = escapeUri(k);
    if (Array.isArray(v)) for (const one of v) parts.push(`${key}=${escapeUri(one)}`);
    else parts.push(v || typeof v === 'string' ? `${key}=${escapeUri(v)}` : key);
  }
  return parts.join('&');
}

export function urlOf(r: SdkRequest): string {
  const auth = r.username != null || r.password != null ? `${r.username ?? ''}:${r.password ?? ''}@` : '';
  const qs = queryString(r.query);
  return `${r.protocol}//${auth}${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}${qs ? `?${qs}` : ''}${r.fragment ? `#${r.fragment}` : ''}`;
}

function bodyInit(body: unknown): BodyInit | undefined {
  if (body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array) return body.byteLength > 0 ? bodyOf(body) : undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Readable) return Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>;
  return body as BodyInit;
}

function abortError(): Error {
  const err = new Error('Request aborted');
  err.name = 'AbortError';
  return err;
}

export interface FetchHandlerOptions {
  /** Requests open at once (node:http's maxSockets): the others wait. */
  maxSockets: number;
  skipTlsVerify: boolean;
}

/** An HttpHandler for @aws-sdk/client-s3 (`requestHandler`) that sends through fetch. */
export class S3FetchHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  readonly #slots: Slots;
  readonly #init: Record<string, unknown>;

  constructor(opts: FetchHandlerOptions) {
    this.#slots = new Slots(opts.maxSockets);
    this.#init = bunInit(opts.skipTlsVerify);
  }

  // The SDK types its signal loosely (a subset of AbortSignal); what it passes is the caller's.
  async handle(request: SdkRequest, { abortSignal }: { abortSignal?: unknown } = {}): Promise<{ response: SdkResponse }> {
    const signal = abortSignal as AbortSignal | undefined;
    if (signal?.aborted) throw abortError();
    let release: (() => void) | undefined;
    try {
      release = await this.#slots.take(signal);
      const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : bodyInit(request.body);
      const res = await fetch(urlOf(request), {
        method: request.method,
        headers: requestHeaders(request.headers),
        ...(body !== undefined ? { body, duplex: 'half' } : {}),
        ...(signal ? { signal } : {}),
        ...this.#init,
      } as RequestInit);
      const done = release;
      release = undefined;
      return { response: { statusCode: res.status, reason: res.statusText, headers: headersOf(res.headers), body: readableOf(res.body, done) } };
    } catch (err) {
      release?.();
      if (signal?.aborted) throw abortError();
      throw err;
    }
  }

  updateHttpClientConfig(): void {
    // Nothing to configure: the options are fixed at construction.
  }

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    // fetch keeps no sockets of this client's own.
  }
}
