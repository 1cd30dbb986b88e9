// The door of every listener (SFTP/SCP, FTP control and passive data, WebDAV, the REST API): what
// happens to a TCP socket between accept and the first protocol byte. It owns
//   - the connection caps (common.max_total_connections, max_per_host_connections): counters of
//     the open client sockets, in total and per client IP, each released exactly once (on close,
//     or at once when the socket is refused);
//   - the PROXY protocol (common.proxy_protocol, proxy_allowed, proxy_skipped): which sources may
//     or must send a header, reading it under a deadline and a size limit, and putting back the
//     bytes that follow it;
//   - the allow list (common.allowlist_status 1: IP list entries of type 1 for the protocol);
//   - the client address of each accepted socket (the header's or the peer's), which every later
//     step (logs, hooks, IP filters, the defender, the connections API) reads through `addressOf`.
// A refused socket is closed before any SSH banner, TLS handshake or FTP greeting, and logged once
// as `connection_refused` (per-host refusals scored by the defender, as in SFTPGo). It also holds
// the deadlines of admitted HTTP sockets (http-deadlines.ts) and reports the ones that run out.
import type { Socket } from 'node:net';
import type { LoginProtocol } from '../auth/login.ts';
import { cidrMatcher } from '../lib/cidr.ts';
import { readProxyHeader, type ProxyHeader } from '../lib/proxy-header.ts';
import type { ServerContext } from './context.ts';
import { connectionRefused, connectionTimedOut } from './events.ts';
import { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from './http-deadlines.ts';
import { plainIp } from './ip.ts';

/** How long a proxied connection has to deliver its header (go-proxyproto's default, as SFTPGo). */
export const PROXY_HEADER_TIMEOUT_MS = 10_000;

/** common.max_per_host_connections when unset: SFTPGo's default. */
export const DEFAULT_MAX_PER_HOST = 20;

/** SFTPGo's idle limit for an FTP connection that has not logged in. */
export const FTP_LOGIN_IDLE_MS = 120_000;

/** What the door does with a source's PROXY header. */
export type ProxyPolicy = 'off' | 'use' | 'require' | 'ignore' | 'reject';

export interface AcceptOptions {
  protocol: LoginProtocol;
  /** Whether the listener's binding applies common.proxy_protocol. */
  proxy: boolean;
  /** Whether the socket counts against the caps (FTP data connections do not, as in SFTPGo). */
  counted?: boolean;
  /** How a refused socket is closed (FTP answers 421 first); destroyed by default. */
  refuse?: (socket: Socket) => void;
  /** The header deadline; tests shorten it. */
  headerTimeoutMs?: number;
}

interface ProxySettings {
  mode: 0 | 1 | 2;
  allowed: (ip: string) => boolean;
  skipped: (ip: string) => boolean;
}

export class ClientSockets {
  readonly #ctx: ServerContext;
  #total = 0;
  readonly #perHost = new Map<string, number>();
  /** Each admitted socket's client address (and TLS wrappers' too, see `alias`). */
  readonly #addresses = new WeakMap<object, string>();
  /** Parsed lists for the config they came from: rebuilt only after a reload. */
  #proxy: { from: unknown; settings: ProxySettings } | undefined;
  /** The HTTP doors' deadlines (SFTPGo hard-codes them too); tests shorten them. */
  readonly httpTimeouts: HttpTimeouts = { ...DEFAULT_HTTP_TIMEOUTS };
  /**
   * How long an FTP control connection may stay quiet before it logs in (SFTPGo's two minutes),
   * whatever common.idle_timeout says; tests shorten it.
   */
  ftpLoginIdleMs = FTP_LOGIN_IDLE_MS;

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
  }

  /** A client that stopped sending on an admitted connection: one `connection_timeout` line and its metric. */
  timedOut(ip: string, protocol: LoginProtocol, reason: string): void {
    connectionTimedOut(this.#ctx, { ip, protocol, reason });
  }

  /** Open client sockets counted against the caps, in total and for `ip`. */
  counts(ip?: string): { total: number; host: number } {
    return { total: this.#total, host: ip === undefined ? 0 : (this.#perHost.get(plainIp(ip)) ?? 0) };
  }

  /** The client address of an accepted socket (or of its TLS wrapper): the header's when one was used. */
  addressOf(socket: object): string {
    return this.#addresses.get(socket) ?? plainIp((socket as { remoteAddress?: string }).remoteAddress);
  }

  /** A socket layered on an admitted one (a TLS wrapper) reports the same client address. */
  alias(wrapper: object, socket: object): void {
    const ip = this.#addresses.get(socket);
    if (ip !== undefined) this.#addresses.set(wrapper, ip);
  }

  /**
   * Admits a freshly accepted (paused) socket: caps, then the PROXY header when the policy reads
   * one. Resolves to the client address, or undefined once the socket was refused and closed. An
   * admitted socket is left paused, its first protocol bytes still unread.
   */
  async accept(socket: Socket, opts: AcceptOptions): Promise<string | undefined> {
    const peer = plainIp(socket.remoteAddress);
    socket.on('error', () => undefined);
    const counted = opts.counted !== false;
    // What this socket holds in the counters, given back once: on refusal (a refused socket must
    // not crowd out the next client while its close is still pending) or on close.
    const holds: (() => void)[] = [];
    const release = (): void => {
      for (const give of holds.splice(0)) give();
    };
    socket.once('close', release);
    const refuse = (ip: string, reason: string): undefined => {
      release();
      if (socket.destroyed) return undefined;
      connectionRefused(this.#ctx, { ip, protocol: opts.protocol, reason });
      (opts.refuse ?? ((s: Socket) => s.destroy()))(socket);
      return undefined;
    };
    if (counted) {
      this.#total++;
      holds.push(() => this.#total--);
    }
    const policy = this.#policyFor(peer, opts.proxy);
    if (policy === 'reject') return refuse(peer, 'proxy_source_not_allowed');
    let ip = peer;
    if (policy !== 'off') {
      // A full server does not wait for a header to say so.
      const overTotal = counted ? this.#overTotal() : undefined;
      if (overTotal) return refuse(peer, overTotal);
      const read = await readHeaderFrom(socket, opts.headerTimeoutMs ?? PROXY_HEADER_TIMEOUT_MS);
      if (read.kind === 'closed') return void release();
      if (read.kind === 'invalid') {
        this.#ctx.log('warn', 'proxy_header_invalid', { ip: peer, protocol: opts.protocol, error: read.reason });
        release();
        socket.destroy();
        return undefined;
      }
      if (read.kind === 'none' && policy === 'require') return refuse(peer, 'proxy_header_missing');
      if (read.kind === 'header' && policy !== 'ignore') ip = clientOf(read.header) ?? peer;
    }
    // Gone while its header was read: nothing to count or hand over.
    if (socket.destroyed) return void release();
    // common.allowlist_status 1: only the allow list's addresses get past the door (SFTPGo checks it
    // before the caps, so a refused host takes no per-host place).
    if (this.#ctx.config.common?.allowlist_status === 1 && this.#ctx.ipLists.match(1, ip, opts.protocol) === undefined) return refuse(ip, 'not_allowed');
    if (counted) {
      this.#perHost.set(ip, (this.#perHost.get(ip) ?? 0) + 1);
      holds.push(() => {
        const left = (this.#perHost.get(ip) ?? 1) - 1;
        if (left > 0) this.#perHost.set(ip, left);
        else this.#perHost.delete(ip);
      });
      // The per-host cap first, as SFTPGo: a host over its own cap is told so (and scored) even
      // when the server is full too. A safelisted host may exceed it (the defender's answer in SFTPGo).
      const max = this.#ctx.config.common?.max_per_host_connections ?? DEFAULT_MAX_PER_HOST;
      if (max > 0 && this.#perHost.get(ip)! > max && !this.#ctx.defender.isSafe(ip, opts.protocol)) return refuse(ip, 'max_per_host_connections');
      const overTotal = this.#overTotal();
      if (overTotal) return refuse(ip, overTotal);
    }
    if (socket.destroyed) return void release();
    this.#addresses.set(socket, ip);
    return ip;
  }

  #overTotal(): string | undefined {
    const max = this.#ctx.config.common?.max_total_connections ?? 0;
    if (max <= 0) return undefined;
    if (this.#total > max) return 'max_total_connections';
    // One SSH connection may carry many transfers over its channels: they count too, as in SFTPGo.
    if (this.#ctx.connections.openTransfers() >= max) return 'max_total_connections';
    return undefined;
  }

  /** SFTPGo's connection policy for a source, from the current config. */
  #policyFor(peer: string, applies: boolean): ProxyPolicy {
    if (!applies) return 'off';
    const s = this.#settings();
    if (s.mode === 0 || s.skipped(peer)) return 'off';
    if (s.allowed(peer)) return s.mode === 2 ? 'require' : 'use';
    return s.mode === 2 ? 'reject' : 'ignore';
  }

  #settings(): ProxySettings {
    const common = this.#ctx.config.common;
    const cached = this.#proxy;
    if (cached && cached.from === common) return cached.settings;
    const settings: ProxySettings = {
      mode: common?.proxy_protocol ?? 0,
      allowed: cidrMatcher(common?.proxy_allowed ?? []),
      skipped: cidrMatcher(common?.proxy_skipped ?? []),
    };
    this.#proxy = { from: common, settings };
    return settings;
  }
}

/** The client a header names, when it names one (LOCAL, UNKNOWN and unix sockets keep the peer). */
function clientOf(h: ProxyHeader): string | undefined {
  return h.command === 'proxy' && h.source ? plainIp(h.source.address) : undefined;
}

type SocketHeaderRead = { kind: 'header'; header: ProxyHeader } | { kind: 'none' } | { kind: 'invalid'; reason: string } | { kind: 'closed' };

/**
 * Reads a PROXY header from the start of a paused socket. Bytes past the header (or every byte
 * read, when there is none) are put back, and the socket is paused again for its protocol. No
 * byte within the deadline counts as no header (a client that waits for a greeting, such as FTP);
 * a header still incomplete at the deadline is invalid.
 */
export function readHeaderFrom(socket: Socket, timeoutMs: number): Promise<SocketHeaderRead> {
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (result: SocketHeaderRead, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (rest?.length) socket.unshift(rest);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const r = readProxyHeader(buf);
      if (r.kind === 'more') return;
      if (r.kind === 'none') return finish({ kind: 'none' }, buf);
      if (r.kind === 'invalid') return finish({ kind: 'invalid', reason: r.reason });
      finish({ kind: 'header', header: r.header }, buf.subarray(r.length));
    };
    const onClose = (): void => finish({ kind: 'closed' });
    const timer = setTimeout(() => finish(buf.length ? { kind: 'invalid', reason: 'header not complete in time' } : { kind: 'none' }), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}
