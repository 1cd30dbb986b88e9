// The deadlines of the sockets node:http serves (WebDAV, the REST API and web pages through the
// HTTP door, and the telemetry listener). Bun's node:http enforces neither headersTimeout,
// requestTimeout nor keepAliveTimeout, whether it accepted the socket itself or was handed it
// (measured: a silent client, and one sending a header byte every half second, were both still
// connected after 150 s), so these are kept here, one sweep per server:
//   - a request head must be complete within `headersMs` of the connection (SFTPGo's
//     ReadHeaderTimeout) or, on a keep-alive connection, within `idleMs` of the previous response
//     (SFTPGo's IdleTimeout), however slowly its bytes trickle in;
//   - while a request is served, some byte must move one way or the other every `requestIdleMs`:
//     a body that stops arriving, or a reader that stops reading, is dropped.
// A connection dropped mid-head or mid-request is logged once as `connection_timeout` and counted;
// a keep-alive connection that simply goes quiet is closed without a line.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpTimeouts {
  headersMs: number;
  idleMs: number;
  requestIdleMs: number;
}

/** SFTPGo's ReadHeaderTimeout (30 s) and IdleTimeout (60 s); two minutes without a byte mid-request. */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 30_000, idleMs: 60_000, requestIdleMs: 120_000 };

interface Tracked {
  raw: Socket;
  /** What node:http reads and writes: the TLS socket for HTTPS (its counters move, the raw one's may not). */
  handed: Socket;
  ip: string;
  /** Requests received and not yet answered (pipelining may queue several). */
  inflight: number;
  /** Whether a request was served on this socket already (its deadline is then idleMs). */
  served: boolean;
  /** When the current wait (for a head, or for progress) started. */
  since: number;
  /** Bytes read when the wait for a head started: more means a head is trickling in. */
  readAtWait: number;
  /** bytesRead + bytesWritten at the last sweep that saw progress. */
  moved: number;
  /** Whether the head may be refused in plain HTTP (not under TLS). */
  plain: boolean;
  /** Dropped already: never reported twice. */
  dropped: boolean;
}

export interface HttpDeadlinesOptions {
  http: HttpServer;
  /** Read at every sweep, so a test (or a future setting) may change them on a running server. */
  timeouts: () => HttpTimeouts;
  /** A connection dropped mid-head or mid-request. */
  onTimeout: (ip: string, reason: 'request_head_timeout' | 'request_stalled') => void;
}

export class HttpDeadlines {
  readonly #o: HttpDeadlinesOptions;
  /** Keyed by the socket node:http sees (the TLS wrapper for HTTPS). */
  readonly #sockets = new Map<object, Tracked>();
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(o: HttpDeadlinesOptions) {
    this.#o = o;
    o.http.on('request', (req: IncomingMessage, res: ServerResponse) => this.#request(req, res));
  }

  /** Starts the deadlines of a socket handed to node:http; `raw` is the TCP socket under it. */
  track(handed: Socket, raw: Socket, ip: string): void {
    const t: Tracked = { raw, handed, ip, inflight: 0, served: false, since: Date.now(), readAtWait: 0, moved: 0, plain: handed === raw, dropped: false };
    this.#sockets.set(handed, t);
    raw.once('close', () => {
      this.#sockets.delete(handed);
      if (this.#sockets.size === 0) this.#stopSweep();
    });
    this.#sweep ??= this.#startSweep();
  }

  stop(): void {
    this.#stopSweep();
    this.#sockets.clear();
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    const t = this.#sockets.get(req.socket);
    if (!t) return;
    t.inflight++;
    t.moved = moved(t);
    t.since = Date.now();
    res.once('close', () => {
      t.inflight--;
      t.served = true;
      if (t.inflight > 0) return;
      t.since = Date.now();
      t.readAtWait = bytesRead(t);
    });
  }

  #startSweep(): ReturnType<typeof setInterval> {
    const t = this.#o.timeouts();
    // A quarter of the shortest deadline: a connection outlives its deadline by at most that.
    const every = Math.min(1000, Math.max(25, Math.floor(Math.min(t.headersMs, t.idleMs, t.requestIdleMs) / 4)));
    const timer = setInterval(() => this.#check(), every);
    timer.unref?.();
    return timer;
  }

  #stopSweep(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  #check(): void {
    const limits = this.#o.timeouts();
    const now = Date.now();
    for (const t of this.#sockets.values()) {
      if (t.dropped || t.raw.destroyed) continue;
      if (t.inflight > 0) {
        const bytes = moved(t);
        if (bytes !== t.moved) {
          t.moved = bytes;
          t.since = now;
        } else if (now - t.since > limits.requestIdleMs) {
          t.dropped = true;
          this.#o.onTimeout(t.ip, 'request_stalled');
          t.raw.destroy();
        }
        continue;
      }
      if (now - t.since <= (t.served ? limits.idleMs : limits.headersMs)) continue;
      t.dropped = true;
      // Bytes since the last response: a head was on its way and did not complete in time.
      const partial = !t.served || bytesRead(t) > t.readAtWait;
      if (partial) this.#o.onTimeout(t.ip, 'request_head_timeout');
      // In plain HTTP the client is told why; under TLS the raw socket is simply closed.
      if (partial && t.plain && t.raw.writable) {
        t.raw.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        setTimeout(() => t.raw.destroy(), 1000).unref?.();
      } else {
        t.raw.destroy();
      }
    }
  }
}

/** Bytes moved either way, on the socket node:http uses and the TCP socket under it. */
function moved(t: Tracked): number {
  const own = t.raw.bytesRead + t.raw.bytesWritten;
  return t.plain ? own : own + t.handed.bytesRead + t.handed.bytesWritten;
}

function bytesRead(t: Tracked): number {
  return t.plain ? t.raw.bytesRead : t.raw.bytesRead + t.handed.bytesRead;
}
