// A fault-injecting TCP proxy for tests: put it in front of a storage peer (s3rver, azurite, the
// GCS test server, sshd) and switch what it does at any time. The fault applies at once to every
// connection, open or new:
//  - pass: forwards both ways;
//  - hang: keeps the connections open and forwards nothing, either way;
//  - garbage: answers the next bytes a client sends with random bytes, then closes;
//  - http500: answers each request with an HTTP 500 (no body worth reading), then closes;
//  - reset: forwards until `afterBytes` more bytes went through the connection (both ways), then
//    resets it (RST);
//  - throttle: forwards at most `bytesPerSecond` each way per connection.
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type Fault =
  | { kind: 'pass' }
  | { kind: 'hang' }
  | { kind: 'garbage' }
  | { kind: 'http500' }
  | { kind: 'reset'; afterBytes: number }
  | { kind: 'throttle'; bytesPerSecond: number };

export interface FaultProxy {
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  /** Switches the fault for every connection from now on. */
  set(fault: Fault): void;
  /** Connections accepted so far, and resets sent. */
  readonly stats: { accepted: number; resets: number; open: number };
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Bytes through since the current fault began. */
  bytes: number;
}

const HTTP_500 =
  'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: 96\r\n\r\n' +
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>x</Message></Error>'.padEnd(96, ' ');

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let fault: Fault = { kind: 'pass' };
  const pairs = new Set<Pair>();
  const stats = { accepted: 0, resets: 0, open: 0 };

  const kill = (p: Pair): void => {
    stats.resets++;
    if (typeof p.client.resetAndDestroy === 'function') p.client.resetAndDestroy();
    else p.client.destroy();
    p.upstream.destroy();
  };

  /** Sends `chunk` from `from` to `to` under the current fault. */
  const forward = (p: Pair, chunk: Buffer, to: Socket, fromClient: boolean): void => {
    const f = fault;
    switch (f.kind) {
      case 'pass':
        to.write(chunk);
        return;
      case 'hang':
        return;
      case 'garbage':
        if (fromClient) {
          p.client.end(randomBytes(512));
          p.upstream.destroy();
        }
        return;
      case 'http500':
        if (fromClient) {
          p.client.end(HTTP_500);
          p.upstream.destroy();
        }
        return;
      case 'reset': {
        const room = f.afterBytes - p.bytes;
        if (room > 0) to.write(chunk.subarray(0, room));
        p.bytes += chunk.length;
        if (p.bytes >= f.afterBytes) kill(p);
        return;
      }
      case 'throttle': {
        const from = fromClient ? p.client : p.upstream;
        from.pause();
        to.write(chunk);
        setTimeout(() => from.resume(), Math.ceil((chunk.length / f.bytesPerSecond) * 1000)).unref?.();
        return;
      }
    }
  };

  const server: Server = createServer((client) => {
    stats.accepted++;
    stats.open++;
    const upstream = createConnection(target);
    const p: Pair = { client, upstream, bytes: 0 };
    pairs.add(p);
    client.on('data', (c: Buffer) => forward(p, c, upstream, true));
    upstream.on('data', (c: Buffer) => forward(p, c, client, false));
    const end = (): void => {
      if (!pairs.delete(p)) return;
      stats.open--;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    stats,
    set(next) {
      fault = next;
      for (const p of pairs) p.bytes = 0;
      if (next.kind !== 'throttle') for (const p of pairs) (p.client.resume(), p.upstream.resume());
    },
    async close() {
      for (const p of pairs) (p.client.destroy(), p.upstream.destroy());
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
