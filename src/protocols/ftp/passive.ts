// Passive mode: which address a PASV reply announces (per-client-network overrides, then the
// forced external IP, then the control connection's own address), and each session's listener on
// a free port of the configured range.
import { BlockList, createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { TlsBinding } from '../../config/schema-types.ts';
import { AppError } from '../../errors.ts';

import { plainIp } from '../../core/ip.ts';

export { plainIp };

function inNetworks(networks: readonly string[], ip: string): boolean {
  const list = new BlockList();
  for (const n of networks) {
    const [addr = '', bits] = n.split('/');
    const family = isIPv6(addr) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
}

/** The address a PASV reply announces to `clientIp`. */
export function passiveAddress(binding: TlsBinding, clientIp: string, localIp: string): string {
  for (const o of binding.passive_ip_overrides ?? []) {
    try {
      if (o.ip && o.networks?.length && inNetworks(o.networks, clientIp)) return o.ip;
    } catch {
      // A malformed network entry never matches.
    }
  }
  return binding.force_passive_ip || localIp;
}

export interface PortRange {
  start?: number;
  end?: number;
}

function listenOn(server: Server, host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** A listener on `host` at a free port of `range` (any free port when no range is configured); undefined when the range is full. */
async function listenPassive(host: string, range: PortRange | undefined): Promise<Server | undefined> {
  const span = portSpan(range);
  if (!span) {
    const server = createServer({ pauseOnConnect: true });
    await listenOn(server, host, 0);
    return server;
  }
  const n = span.end - span.start + 1;
  const first = Math.floor(Math.random() * n);
  for (let i = 0; i < n; i++) {
    const server = createServer({ pauseOnConnect: true });
    if (await listenOn(server, host, span.start + ((first + i) % n))) return server;
  }
  return undefined;
}

/** The configured range's bounds; undefined when either is unset (0): any free port. */
function portSpan(range: PortRange | undefined): { start: number; end: number } | undefined {
  const start = range?.start ?? 0;
  const end = range?.end ?? 0;
  return start <= 0 || end <= 0 ? undefined : { start, end };
}

function inRange(port: number, range: PortRange | undefined): boolean {
  const span = portSpan(range);
  return !span || (port >= span.start && port <= span.end);
}

/** What a pending passive data channel expects from the listener: one connection from one address. */
export interface PassiveWaiter {
  /** The only client address allowed to connect; undefined allows any. */
  clientIp: string | undefined;
  /** The PROXY protocol door: the connection's client address, or undefined when it refused it. */
  admit?: (sock: Socket) => Promise<string | undefined>;
  /** Gets the connection; called at most once. */
  take(sock: Socket): void;
  /** The listener closed while this waiter was pending. */
  cancel(): void;
}

/**
 * One session's passive listener, kept from its first PASV/EPSV until the session ends, so a
 * transfer costs no socket to create, bind and close. It hands at most one connection to the
 * channel that waits (the last PASV/EPSV), and only from the address that channel expects; any
 * other connection (from elsewhere, a second one, or one while nothing waits) is closed at once.
 */
export class PassiveListener {
  #waiter: PassiveWaiter | undefined;
  #closed = false;

  constructor(
    readonly server: Server,
    readonly host: string,
    readonly port: number,
    private readonly ports: PassivePorts,
  ) {
    server.on('connection', (sock: Socket) => this.#onConnection(sock));
    server.on('error', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A channel waits for its connection. */
  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  /** Still open, on `host` and inside the current `range` (a reload may have moved it). */
  usableFor(host: string, range: PortRange | undefined): boolean {
    return !this.#closed && this.host === host && inRange(this.port, range);
  }

  /** The next admissible connection goes to `w` (replacing any earlier waiter, which is cancelled). */
  expect(w: PassiveWaiter): void {
    if (this.#closed) return w.cancel();
    const before = this.#waiter;
    this.#waiter = w;
    this.ports.used(this);
    if (before && before !== w) before.cancel();
  }

  /** `w` no longer waits (its channel closed). */
  release(w: PassiveWaiter): void {
    if (this.#waiter === w) this.#waiter = undefined;
  }

  #onConnection(sock: Socket): void {
    sock.on('error', () => undefined);
    const w = this.#waiter;
    if (!w) return void sock.destroy();
    const take = (ip: string | undefined): void => {
      if (ip === undefined) return;
      // The waiter may have taken another connection, or gone, while this one was admitted.
      if (this.#waiter !== w || (w.clientIp !== undefined && ip !== w.clientIp)) return void sock.destroy();
      this.#waiter = undefined;
      w.take(sock);
    };
    if (w.admit) w.admit(sock).then(take, () => sock.destroy());
    else take(plainIp(sock.remoteAddress));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.server.close();
    this.ports.closed(this);
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.cancel();
  }
}

/**
 * The passive listeners of one FTP server's sessions. A session holds its port of
 * passive_port_range for its whole life, so when the range has no free port left, the listener of
 * another session unused longest, and not waiting for a connection, gives its port up (that
 * session opens a new one at its next PASV): the range still serves as many transfers at once as
 * it has ports, as with one listener per transfer.
 */
export class PassivePorts {
  /** Open listeners, least recently used first. */
  readonly #open = new Set<PassiveListener>();

  get size(): number {
    return this.#open.size;
  }

  async listen(host: string, range: PortRange | undefined): Promise<PassiveListener> {
    const server = (await listenPassive(host, range)) ?? (await this.#reclaim(host, range));
    if (!server) throw new AppError('io', `no free passive port in ${range?.start}-${range?.end}`);
    const l = new PassiveListener(server, host, (server.address() as { port: number }).port, this);
    this.#open.add(l);
    return l;
  }

  /** A port of the range held by an idle listener, taken over. */
  async #reclaim(host: string, range: PortRange | undefined): Promise<Server | undefined> {
    for (const l of [...this.#open]) {
      if (l.waiting || l.closed || !inRange(l.port, range)) continue;
      l.close();
      const server = createServer({ pauseOnConnect: true });
      if (await listenOn(server, host, l.port)) return server;
    }
    return undefined;
  }

  used(l: PassiveListener): void {
    if (!this.#open.delete(l)) return;
    this.#open.add(l);
  }

  closed(l: PassiveListener): void {
    this.#open.delete(l);
  }
}
