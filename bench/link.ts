// A shaped network link for the benchmarks: a TCP proxy in front of a storage server that gives
// each direction a fixed bandwidth (shared by every connection through it, as one network path
// is) and a one-way delay, so that a storage emulator on loopback behaves like a store across a
// network. Bytes are neither dropped nor reordered; a sender is paused while more of its data
// waits in the link than an auto-tuned TCP window would hold (see `window` in startLink).

import { spawn } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';

export interface LinkShape {
  /** Bandwidth of each direction, in MB/s (10^6 bytes). */
  mbps: number;
  /** Round-trip time in ms; each direction delays by half. */
  rttMs: number;
}

/** One direction of the path: when it is next free to start sending. */
class Direction {
  #nextFree = 0;
  constructor(
    private readonly bytesPerMs: number,
    private readonly delayMs: number,
  ) {}
  /** When `n` bytes handed over now arrive at the far end. */
  arrival(n: number): number {
    const now = performance.now();
    const start = Math.max(now, this.#nextFree);
    this.#nextFree = start + n / this.bytesPerMs;
    return this.#nextFree + this.delayMs;
  }
}

/** Carries one socket's data to another through a Direction, in order, with backpressure. */
function carry(from: Socket, to: Socket, dir: Direction, window: number): void {
  const queue: { at: number; data: Buffer }[] = [];
  let queued = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ended = false;
  const drain = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length && queue[0]!.at <= now) {
      const { data } = queue.shift()!;
      queued -= data.length;
      to.write(data);
    }
    if (queued < window && from.isPaused()) from.resume();
    if (queue.length) timer = setTimeout(drain, Math.max(0, queue[0]!.at - performance.now()));
    else if (ended) to.end();
  };
  from.on('data', (data: Buffer) => {
    queue.push({ at: dir.arrival(data.length), data });
    queued += data.length;
    if (queued >= window) from.pause();
    timer ??= setTimeout(drain, Math.max(0, queue[0]!.at - performance.now()));
  });
  from.on('end', () => {
    ended = true;
    if (!queue.length && !timer) to.end();
  });
  from.on('error', () => to.destroy());
  from.on('close', () => {
    if (!ended) to.destroy();
  });
}

/**
 * Starts a shaped link to `host:port`; returns the local port that leads there. Both directions
 * of every connection through it share the link's two Directions.
 */
export async function startLink(host: string, port: number, shape: LinkShape): Promise<{ port: number; close(): Promise<void> }> {
  const bytesPerMs = (shape.mbps * 1e6) / 1000;
  const up = new Direction(bytesPerMs, shape.rttMs / 2);
  const down = new Direction(bytesPerMs, shape.rttMs / 2);
  // What may wait in the link per connection and direction before its sender is paused: a few
  // bandwidth-delay products, as an auto-tuned TCP window holds, at least 1 MiB.
  const window = Math.max(1 << 20, 4 * bytesPerMs * shape.rttMs);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    client.pause();
    const far = connect(port, host, () => client.resume());
    for (const s of [client, far]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.once('close', () => sockets.delete(s));
    }
    carry(client, far, up, window);
    carry(far, client, down, window);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('link: no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

/** `http://host:port/rest` with the port swapped for a link's. */
export function throughLink(endpoint: string, linkPort: number): string {
  const u = new URL(endpoint);
  u.port = String(linkPort);
  return u.toString().replace(/\/$/, endpoint.endsWith('/') ? '/' : '');
}

/**
 * Starts links in a child process of their own, so that their copying does not share an event
 * loop with whatever runs in the caller (an SDK client, the GCS server). Resolves to the local
 * port in front of each target, in order.
 */
export async function startLinksProcess(targets: number[], shape: LinkShape): Promise<{ ports: number[]; close(): Promise<void> }> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, String(shape.mbps), String(shape.rttMs), ...targets.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) res(JSON.parse(out) as number[]);
    });
    child.once('exit', (code) => rej(new Error(`link process exited ${code}`)));
  });
  return {
    ports,
    close: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.kill();
      }),
  };
}

// As a process: link MBPS RTT_MS PORT... prints the ports in front of each as a JSON array.
if (import.meta.main) {
  const [mbps, rttMs, ...targets] = process.argv.slice(2).map(Number);
  const links = await Promise.all(targets.map((p) => startLink('127.0.0.1', p, { mbps: mbps!, rttMs: rttMs! })));
  process.stdout.write(JSON.stringify(links.map((l) => l.port)) + '\n');
}
