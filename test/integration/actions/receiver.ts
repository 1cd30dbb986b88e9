// A real HTTP endpoint for action hooks: records every JSON body it is POSTed, can hold each answer
// back for a while (a slow receiver) and answer with a chosen status, and lets a test await the
// body it expects instead of sleeping.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Body = Record<string, unknown>;

export interface Received {
  body: Body;
  /** When the request arrived (ms). */
  at: number;
}

export class Receiver {
  readonly received: Received[] = [];
  /** Requests that arrived, answered or not. */
  started = 0;
  delayMs = 0;
  status = 200;
  #server: Server;
  #waiters: { pred: (b: Body) => boolean; resolve: (b: Body) => void }[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<Receiver> {
    const server = createServer();
    const r = new Receiver(server);
    server.on('request', (req, res) => {
      r.started++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = (): void => {
          let body: Body;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
          } catch {
            body = { unparsable: Buffer.concat(chunks).toString('utf8') };
          }
          r.received.push({ body, at: Date.now() });
          for (const w of [...r.#waiters]) if (w.pred(body)) (r.#waiters.splice(r.#waiters.indexOf(w), 1), w.resolve(body));
          res.writeHead(r.status).end('ok');
        };
        if (r.delayMs <= 0) return answer();
        const t = setTimeout(() => (r.#timers.delete(t), answer()), r.delayMs);
        r.#timers.add(t);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  bodies(pred: (b: Body) => boolean = () => true): Body[] {
    return this.received.map((r) => r.body).filter(pred);
  }

  /** The first body matching `pred`, already received or future. */
  waitFor(pred: (b: Body) => boolean, timeoutMs = 15_000): Promise<Body> {
    const seen = this.received.find((r) => pred(r.body));
    if (seen) return Promise.resolve(seen.body);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching hook body; got:\n${JSON.stringify(this.bodies(), null, 1)}`)), timeoutMs);
      this.#waiters.push({ pred, resolve: (b) => (clearTimeout(t), resolve(b)) });
    });
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Matches a body by action and virtual path. */
export const is = (action: string, vpath: string) => (b: Body) => b.action === action && b.virtual_path === vpath;
