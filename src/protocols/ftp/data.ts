// One FTP data connection: passive (we listen on a port of the range and accept one connection
// from the client's address) or active (we connect to the address PORT/EPRT gave). With PROT P
// the socket becomes the server side of a TLS session; the handshake is awaited only after the
// 150 reply, because lftp starts it only then (and FileZilla right on connect: both work).
import { connect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import { handshake, wrapTls } from './tls.ts';
import { listenPassive, plainIp, type PortRange } from './passive.ts';

export interface PassiveOptions {
  /** The local address to listen on (the control connection's). */
  host: string;
  range: PortRange | undefined;
  /** The only client address allowed to connect; undefined allows any. */
  clientIp: string | undefined;
  protect?: SecureContext;
  admit?: (sock: Socket) => Promise<string | undefined>;
}

/** A failure of the data connection itself (reply 425/426), as opposed to a storage error. */
export class DataError extends Error {}

export class DataChannel {
  #server: Server | undefined;
  #raw: Socket | undefined;
  #tls: TLSSocket | undefined;
  #secured = false;
  #closed = false;
  #waiter: ((s: Socket | undefined) => void) | undefined;

  private constructor(
    /** Passive: the port we listen on; active: the client's port. */
    readonly port: number,
    private readonly target?: { host: string; localAddress?: string; localPort?: number },
  ) {}

  /**
   * Listens for the client's connection. Only `clientIp` may connect (unless undefined): anyone
   * else reaching the port is dropped, so a data connection cannot be stolen. With `protect`
   * the TLS session is set up as soon as the client connects. `admit` (the PROXY protocol door)
   * resolves a connection's client address, or undefined when it refused it.
   */
  static async passive(o: PassiveOptions): Promise<DataChannel> {
    const server = await listenPassive(o.host, o.range);
    const ch = new DataChannel((server.address() as { port: number }).port);
    ch.#server = server;
    server.on('error', () => ch.close());
    server.on('connection', (sock: Socket) => {
      sock.on('error', () => undefined);
      const take = (ip: string | undefined): void => {
        if (ip === undefined) return;
        if (ch.#closed || ch.#raw || (o.clientIp !== undefined && ip !== o.clientIp)) {
          sock.destroy();
          return;
        }
        ch.#adopt(sock, o.protect);
        server.close();
        ch.#server = undefined;
        ch.#waiter?.(sock);
      };
      if (o.admit) void o.admit(sock).then(take);
      else take(plainIp(sock.remoteAddress));
    });
    return ch;
  }

  /** Connects to the client at host:port, from `from` (the control connection's address; a fixed port when set). */
  static active(host: string, port: number, from: { address?: string; port?: number } = {}): DataChannel {
    return new DataChannel(port, { host, localAddress: from.address, localPort: from.port });
  }

  #adopt(sock: Socket, protect?: SecureContext): void {
    this.#raw = sock;
    if (protect) this.#startTls(protect);
  }

  #startTls(context: SecureContext): void {
    const t = wrapTls(this.#raw!, context);
    t.on('error', () => undefined);
    t.once('secure', () => (this.#secured = true));
    this.#tls = t;
  }

  /** The connected socket: waits for the client (passive) or connects to it (active). */
  async open(timeoutMs: number): Promise<void> {
    if (this.#closed) throw new DataError('data connection closed');
    if (this.#raw) return;
    if (this.target) {
      const { host, localAddress, localPort } = this.target;
      const sock = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host, port: this.port, localAddress, ...(localPort ? { localPort } : {}) });
        const timer = setTimeout(() => (s.destroy(), reject(new DataError('active data connection timed out'))), timeoutMs);
        s.once('connect', () => (clearTimeout(timer), s.removeAllListeners('error'), resolve(s)));
        s.once('error', (e) => (clearTimeout(timer), reject(new DataError(e.message))));
      });
      sock.on('error', () => undefined);
      this.#adopt(sock);
      return;
    }
    const sock = await new Promise<Socket | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#waiter = (s) => (clearTimeout(timer), resolve(s));
    });
    this.#waiter = undefined;
    if (!sock) {
      this.close();
      throw new DataError('the client did not open the data connection');
    }
  }

  /** The stream to transfer on, after the TLS handshake when `context` is given. */
  async stream(context: SecureContext | undefined, timeoutMs: number, idleMs: number): Promise<Duplex> {
    const raw = this.#raw;
    if (!raw || this.#closed) throw new DataError('data connection closed');
    if (context && !this.#tls) this.#startTls(context);
    const s: Duplex = this.#tls ?? raw;
    if (this.#tls && !this.#secured) await handshake(this.#tls, timeoutMs).catch((e: Error) => Promise.reject(new DataError(e.message)));
    raw.setTimeout(idleMs, () => this.close());
    return s;
  }

  /**
   * Ends the data connection cleanly (TLS close_notify, then FIN) and resolves once our side is
   * flushed: clients such as curl keep their end open until the 226 reply, so waiting for the
   * full close here would deadlock. The socket is destroyed later if the client never closes it.
   */
  async end(timeoutMs = 10_000): Promise<void> {
    const s = this.#tls ?? this.#raw;
    if (!s || s.destroyed) return this.close();
    const linger = setTimeout(() => this.close(), timeoutMs);
    linger.unref?.();
    s.once('close', () => (clearTimeout(linger), this.close()));
    await new Promise<void>((resolve) => {
      if (s.writableFinished) return resolve();
      s.once('finish', resolve);
      s.once('close', resolve);
      s.end();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server?.close();
    this.#server = undefined;
    this.#tls?.destroy();
    this.#raw?.destroy();
    this.#waiter?.(undefined);
  }
}

/** Writes with backpressure; a closed or failing socket rejects with a DataError. */
export function writeAll(s: Duplex, chunk: Uint8Array | string): Promise<void> {
  if (s.destroyed) return Promise.reject(new DataError('data connection closed'));
  if (s.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      s.off('drain', onDrain);
      s.off('close', onClose);
      s.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new DataError('data connection closed'));
    const onError = (e: Error): void => done(new DataError(e.message));
    s.on('drain', onDrain);
    s.on('close', onClose);
    s.on('error', onError);
  });
}
