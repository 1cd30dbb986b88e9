// Free loopback ports for servers under test. They are taken below the kernel's ephemeral range
// (32768-60999 on Linux): a port the kernel hands out for listen(0) can be given, a moment later, to
// the local end of some client's outgoing connection before the server under test binds it (seen as
// EADDRINUSE in a full run). Ports below that range are never chosen by the kernel on its own. Each
// is checked by binding it, and never handed out twice by one test process.
import { createServer } from 'node:net';

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
