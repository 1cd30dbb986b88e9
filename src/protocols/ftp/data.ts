// One FTP data connection: passive (the session's listener hands us one connection from the
// client's address) or active (we connect to the address PORT/EPRT gave). With PROT P
// the socket becomes the server side of a TLS session; the handshake is awaited only after the
// 150 reply, because lftp starts it only then (and FileZilla right on connect: both work).
// Also how bytes cross it: received into storage writes in batches, sent from storage reads with
// the next read running while the socket sends.
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Download } from '../../core/transfers.ts';
import { freeBuffer } from '../../lib/free-buffer.ts';
import { canSendFile, sendFile, SocketClosed } from '../../core/send-file.ts';
import { handshake, wrapTls } from './tls.ts';
import type { PassiveListener, PassiveWaiter } from './passive.ts';

export interface PassiveOptions {
  /** The only client address allowed to connect; undefined allows any. */
  clientIp: string | undefined;
  protect?: SecureContext;
  admit?: (sock: Socket) => Promise<string | undefined>;
}

/** A failure of the data connection itself (reply 425/426), as opposed to a storage error. */
export class DataError extends Error {}

export class DataChannel {
  /** Passive, until the client connected: where the channel waits. */
  #passive: { listener: PassiveListener; waiter: PassiveWaiter } | undefined;
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
   * Waits for the client's connection on the session's listener. Only `clientIp` may connect
   * (unless undefined): anyone else reaching the port is dropped, so a data connection cannot be
   * stolen. With `protect` the TLS session is set up as soon as the client connects. `admit` (the
   * PROXY protocol door) resolves a connection's client address, or undefined when it refused it.
   */
  static passive(listener: PassiveListener, o: PassiveOptions): DataChannel {
    const ch = new DataChannel(listener.port);
    const waiter: PassiveWaiter = {
      clientIp: o.clientIp,
      admit: o.admit,
      take: (sock) => {
        ch.#passive = undefined;
        if (ch.#closed) return void sock.destroy();
        ch.#adopt(sock, o.protect);
        ch.#waiter?.(sock);
      },
      cancel: () => ch.close(),
    };
    ch.#passive = { listener, waiter };
    listener.expect(waiter);
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
    this.#passive?.listener.release(this.#passive.waiter);
    this.#passive = undefined;
    this.#tls?.destroy();
    this.#raw?.destroy();
    this.#waiter?.(undefined);
  }
}

/** Writes with backpressure; a closed or failing socket rejects with a DataError. */
export function writeAll(s: Duplex, chunk: Uint8Array | string): Promise<void> {
  if (s.destroyed) return Promise.reject(new DataError('data connection closed'));
  if (s.write(chunk)) return Promise.resolve();
  return drained(s);
}

/**
 * Most bytes gathered from the data connection while the previous storage write is still running;
 * past it the socket is paused until that write lands. The first chunk of a transfer is written at
 * once, so a small file waits for no batch; under load the batches grow to this size, which turns
 * one storage call per socket chunk (64-512 KiB under Bun) into one per MiB.
 */
export const RECEIVE_BATCH = 1024 * 1024;

/**
 * Reads the data connection to its end, handing what arrives to `sink` one call at a time in
 * arrival order (chunks that arrived during a call are joined for the next). Resolves once the
 * client closed its side and the last call landed; rejects with the sink's error, or with a
 * DataError when the connection fails or closes first. Never settles while a sink call runs:
 * the caller may close the storage handle as soon as it does.
 */
export function receiveAll(s: Duplex, sink: (data: Uint8Array) => Promise<void>, batch = RECEIVE_BATCH): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let writing = false;
    let ended = false;
    let failure: unknown;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('close', onClose);
      s.off('error', onError);
      pending = [];
      pendingBytes = 0;
      if (failure !== undefined) reject(failure);
      else resolve();
    };
    const fail = (err: unknown): void => {
      failure ??= err;
      // A write still running owns the storage handle: wait for it.
      if (!writing) settle();
    };
    const flush = (): void => {
      if (writing || settled) return;
      if (failure !== undefined) return settle();
      if (pendingBytes === 0) {
        if (ended) settle();
        return;
      }
      const chunks = pending;
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, pendingBytes);
      // The socket's chunks are ours alone once joined: their memory goes back now, not at the
      // next collection.
      if (chunks.length > 1) for (const c of chunks) freeBuffer(c);
      pending = [];
      pendingBytes = 0;
      writing = true;
      sink(data).then(
        () => {
          writing = false;
          // The sink holds no reference once its call resolved (FileWriter's contract).
          freeBuffer(data);
          if (!ended && failure === undefined) s.resume();
          flush();
        },
        (err: unknown) => {
          writing = false;
          failure ??= err;
          settle();
        },
      );
    };
    const onData = (chunk: Buffer): void => {
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      if (writing && pendingBytes >= batch) s.pause();
      flush();
    };
    const onEnd = (): void => {
      // Bun emits 'end' on a socket we destroyed (ABOR, the data idle timeout): that is no end of
      // file, and committing the upload then would keep a truncated file as complete.
      if (s.destroyed) return fail(new DataError('data connection closed'));
      ended = true;
      flush();
    };
    // 'close' without 'end': the client reset the connection, or ABOR closed it.
    const onClose = (): void => {
      if (!ended) fail(new DataError('data connection closed'));
    };
    const onError = (e: Error): void => fail(new DataError(e.message));
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('close', onClose);
    s.on('error', onError);
    // Accepted sockets start paused (pauseOnConnect).
    s.resume();
  });
}

/**
 * Sends each chunk as soon as the socket accepted the previous one (the source reads the next
 * chunk meanwhile), and frees a chunk's memory once the socket is done with it: each chunk must be
 * the only view of its memory, as Download.chunks() yields them (a short last read included).
 */
export async function sendAll(s: Duplex, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) {
    if (s.destroyed) throw new DataError('data connection closed');
    if (!s.write(chunk, () => freeBuffer(chunk, { wholeBuffer: true }))) await drained(s);
  }
}

/**
 * Sends a download from `start` straight from storage to the plain data socket `s` (sendfile,
 * core/send-file.ts) where the storage and the runtime can. Resolves false, having sent nothing,
 * where they cannot (the caller then uses sendAll).
 */
export async function sendFileAll(s: Duplex, download: Download, start: number): Promise<boolean> {
  if (!canSendFile(s, download)) return false;
  try {
    await sendFile(s, download, start);
  } catch (err) {
    if (err instanceof SocketClosed) throw new DataError(err.message === 'connection closed' ? 'data connection closed' : err.message);
    throw err;
  }
  return true;
}

/** Resolves on 'drain'; a closed or failing socket rejects with a DataError. */
function drained(s: Duplex): Promise<void> {
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
