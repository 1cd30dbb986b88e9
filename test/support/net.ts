// Free loopback ports for servers under test. They are taken below the kernel's ephemeral range
// (32768-60999 on Linux): a port the kernel hands out for listen(0) can be given, a moment later, to
// the local end of some client's outgoing connection before the server under test binds it (seen as
// EADDRINUSE in a full run). Ports below that range are never chosen by the kernel on its own. Each
// is checked by binding it, and never handed out twice by one test process.
import { connect, createServer, type Server, type Socket } from 'node:net';

const FIRST = 20000;
const COUNT = 12000;
// One cursor per test process, started at a point that depends on the pid so that two processes
// running at once walk different stretches of the range.
const handedOut = new Set<number>();
let cursor = (process.pid * 7919) % COUNT;

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < COUNT; tries++) {
    const port = FIRST + (cursor++ % COUNT);
    if (handedOut.has(port)) continue;
    if (await canBind(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${FIRST} and ${FIRST + COUNT - 1} on ${host}`);
}

/**
 * A connected loopback pair for tests of socket code: `server` is the accepted side, paused until
 * read, `client` the connecting one. `listener` is the listening server: close it when done.
 */
export async function socketPair(): Promise<{ server: Socket; client: Socket; listener: Server }> {
  const listener = createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => listener.once('connection', r));
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  return { server: await accepted, client, listener };
}

/** A connection to `port` on 127.0.0.1 from the local address `from`, with all it receives once the peer closes. */
export async function dialFrom(port: number, from = '127.0.0.1'): Promise<{ socket: Socket; received: Promise<Buffer> }> {
  const socket = await new Promise<Socket>((ok, fail) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from }, () => ok(s));
    s.once('error', fail);
  });
  const received = new Promise<Buffer>((ok) => {
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => ok(Buffer.concat(chunks)));
  });
  return { socket, received };
}

/** `size` bytes of a pattern that repeats neither within a page nor across pages, to catch misplaced bytes. */
export function patternBytes(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + (i >> 12)) & 0xff;
  return b;
}
