// An HTTP(S) server behind the door: our own TCP listener admits each socket (connection caps,
// PROXY header: client-sockets.ts) before any TLS handshake or request parsing, then hands it to a
// node:http server that never listens itself, wrapped in TLS first for an HTTPS binding. Used by
// WebDAV and the REST API, so both count and identify their clients as SFTP and FTP do. The
// deadlines of the sockets it hands over (request heads, keep-alive, stalled requests) are kept
// here too: see http-deadlines.ts.
import type { Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { LoginProtocol } from '../auth/login.ts';
import type { ClientSockets } from './client-sockets.ts';
import { isConnectionNoise } from './events.ts';
import { HttpDeadlines } from './http-deadlines.ts';

export interface HttpDoorOptions {
  sockets: ClientSockets;
  protocol: LoginProtocol;
  /** Whether the binding applies common.proxy_protocol. */
  proxy: boolean;
  /** The server admitted sockets are handed to (its 'request' handlers do the work). */
  http: HttpServer;
  /** Set for HTTPS: the handshake runs after admission. */
  tls?: SecureContext;
  host: string;
  port: number;
  /**
   * A request node:http could not parse (headers over its 16 KiB limit, bad syntax): reported once,
   * answered 431 or 400, and the connection closed.
   */
  onClientError?: (ip: string, err: Error) => void;
  /** A failed TLS handshake (not a client simply leaving), with the client address. */
  onTlsError?: (ip: string, err: Error) => void;
  /** The listener failed after it started. */
  onListenerError?: (err: Error) => void;
}

export interface HttpDoor {
  address: AddressInfo;
  /** Stops listening and closes every socket it accepted. */
  close(): Promise<void>;
}

export async function openHttpDoor(o: HttpDoorOptions): Promise<HttpDoor> {
  const accepted = new Set<Socket>();
  // Bun may report one bad request more than once (once per chunk of an oversized head).
  const reported = new WeakSet<object>();
  o.http.on('clientError', (err: Error & { code?: string }, sock: Socket) => {
    if (isConnectionNoise(err)) return void sock.destroy();
    if (reported.has(sock)) return void sock.destroy();
    reported.add(sock);
    o.onClientError?.(o.sockets.addressOf(sock), err);
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (sock.writable) sock.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else sock.destroy();
  });
  const deadlines = new HttpDeadlines({
    http: o.http,
    timeouts: () => o.sockets.httpTimeouts,
    onTimeout: (ip, reason) => o.sockets.timedOut(ip, o.protocol, reason),
  });
  const listener: NetServer = createServer({ pauseOnConnect: true }, (sock) => {
    accepted.add(sock);
    sock.once('close', () => accepted.delete(sock));
    void o.sockets.accept(sock, { protocol: o.protocol, proxy: o.proxy }).then((ip) => {
      if (ip === undefined) return;
      if (!o.tls) {
        deadlines.track(sock, sock, ip);
        o.http.emit('connection', sock);
        sock.resume();
        return;
      }
      // The TLS layer reads the raw socket itself: resuming it here would steal the handshake.
      const secure = new TLSSocket(sock, { isServer: true, secureContext: o.tls });
      o.sockets.alias(secure, sock);
      secure.on('error', (err: Error) => {
        if (!isConnectionNoise(err)) o.onTlsError?.(ip, err);
        sock.destroy();
      });
      deadlines.track(secure, sock, ip);
      o.http.emit('connection', secure);
    });
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(o.port, o.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (err: Error) => o.onListenerError?.(err));
  return {
    address: listener.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        deadlines.stop();
        listener.close(() => resolve());
        (o.http as HttpServer & { closeAllConnections?: () => void }).closeAllConnections?.();
        for (const sock of accepted) sock.destroy();
      }),
  };
}
