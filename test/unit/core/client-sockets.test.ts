// The door (core/client-sockets.ts) without a protocol: a ServerContext over a real store, real
// loopback sockets from several source addresses, and every proxy_protocol mode against sources in
// proxy_allowed, in proxy_skipped and in neither (SFTPGo's policy table), plus the caps' counters
// released exactly once however a socket ends.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../../../src/config/load.ts';
import { ServerContext } from '../../../src/core/context.ts';
import { openUsageBook } from '../../../src/core/quota.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import type { Store } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

let ctx: ServerContext;
let store: Store;
let listener: Server;
const accepted: Socket[] = [];
const waiting: ((s: Socket) => void)[] = [];
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const dir = tempDir('door-');
  store = openLmdbStore(join(dir, 'data'));
  await migrateUp(store);
  ctx = new ServerContext({
    config: {},
    dataDir: join(dir, 'data'),
    store,
    usage: await openUsageBook(store),
    log: (level, event, fields) => void lines.push({ level, event, ...fields }),
    reload: async () => ({ ok: true }),
  });
  listener = createServer({ pauseOnConnect: true }, (s) => {
    const w = waiting.shift();
    if (w) w(s);
    else accepted.push(s);
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  listener.close();
  await store.close();
  removeTempDirs();
});

/** A client from `from` that writes `first`; the server side of it, paused as a listener gives it. */
async function pair(from: string, first?: string): Promise<{ client: Socket; server: Socket }> {
  const server = new Promise<Socket>((r) => waiting.push(r));
  const client = connect({ port: (listener.address() as { port: number }).port, host: '127.0.0.1', localAddress: from });
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', r));
  if (first) client.write(first);
  return { client, server: await server };
}

function configure(common: NonNullable<Config['common']>): void {
  ctx.config = { common };
}

const HEADER = 'PROXY TCP4 198.51.100.7 127.0.0.1 5000 22\r\n';

describe('SFTPGo proxy policy', () => {
  // [mode, source, sends a header, expected client address or undefined for refused]
  const cases: [0 | 1 | 2, string, boolean, string | undefined][] = [
    [0, '127.0.0.1', false, '127.0.0.1'],
    [1, '127.0.0.1', true, '198.51.100.7'], // allowed: used
    [1, '127.0.0.1', false, '127.0.0.1'], // allowed: optional
    [1, '127.0.0.4', true, '127.0.0.4'], // not listed: read and ignored
    [1, '127.0.0.5', false, '127.0.0.5'], // skipped: not read
    [2, '127.0.0.1', true, '198.51.100.7'], // allowed: required and used
    [2, '127.0.0.1', false, undefined], // allowed without header: refused
    [2, '127.0.0.4', true, undefined], // not listed: rejected
    [2, '127.0.0.5', false, '127.0.0.5'], // skipped: no header needed
  ];
  for (const [mode, from, header, expected] of cases) {
    test(`proxy_protocol ${mode}, source ${from}, ${header ? 'with' : 'without'} a header: ${expected ?? 'refused'}`, async () => {
      configure({ proxy_protocol: mode, proxy_allowed: ['127.0.0.1'], proxy_skipped: ['127.0.0.5/32'] });
      const { client, server } = await pair(from, header ? `${HEADER}hello` : 'hello');
      const ip = await ctx.sockets.accept(server, { protocol: 'SSH', proxy: true, headerTimeoutMs: 300 });
      expect(ip).toBe(expected);
      if (ip !== undefined) {
        expect(ctx.sockets.addressOf(server)).toBe(ip);
        // The protocol still gets every byte after the header.
        const got = await new Promise<string>((r) => {
          server.once('data', (d: Buffer) => r(d.toString()));
          server.resume();
        });
        expect(got).toBe('hello');
      } else expect(server.destroyed).toBe(true);
      client.destroy();
      server.destroy();
    });
  }

  test('a binding that does not apply the proxy config never reads a header', async () => {
    configure({ proxy_protocol: 2, proxy_allowed: [] });
    const { client, server } = await pair('127.0.0.4', HEADER);
    expect(await ctx.sockets.accept(server, { protocol: 'SSH', proxy: false })).toBe('127.0.0.4');
    const got = await new Promise<string>((r) => {
      server.once('data', (d: Buffer) => r(d.toString()));
      server.resume();
    });
    expect(got).toBe(HEADER);
    client.destroy();
    server.destroy();
  });
});

describe('caps', () => {
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await Bun.sleep(5);
    expect(check()).toBe(true);
  };

  test('counters rise on accept and fall exactly once on close, refused or not, by either side', async () => {
    configure({ max_total_connections: 3, max_per_host_connections: 2 });
    const a = await pair('127.0.0.1');
    const b = await pair('127.0.0.1');
    const c = await pair('127.0.0.1');
    const d = await pair('127.0.0.2');
    expect(await ctx.sockets.accept(a.server, { protocol: 'FTP', proxy: false })).toBe('127.0.0.1');
    expect(await ctx.sockets.accept(b.server, { protocol: 'FTP', proxy: false })).toBe('127.0.0.1');
    expect(await ctx.sockets.accept(c.server, { protocol: 'FTP', proxy: false })).toBeUndefined();
    expect(await ctx.sockets.accept(d.server, { protocol: 'FTP', proxy: false })).toBe('127.0.0.2');
    await until(() => ctx.sockets.counts().total === 3);
    expect(ctx.sockets.counts('127.0.0.1').host).toBe(2);
    // Uncounted (FTP data) sockets change nothing.
    const data = await pair('127.0.0.2');
    expect(await ctx.sockets.accept(data.server, { protocol: 'FTP', proxy: false, counted: false })).toBe('127.0.0.2');
    expect(ctx.sockets.counts('127.0.0.2')).toEqual({ total: 3, host: 1 });
    // The client closes one (its protocol reads, so the server side sees it), the server another;
    // destroying twice releases once.
    a.server.resume();
    a.client.destroy();
    b.server.destroy();
    b.server.destroy();
    await until(() => ctx.sockets.counts('127.0.0.1').host === 0);
    expect(ctx.sockets.counts().total).toBe(1);
    for (const s of [c, d, data]) (s.client.destroy(), s.server.destroy());
    await until(() => ctx.sockets.counts().total === 0);
    expect(lines.filter((l) => l.event === 'connection_refused' && l.reason === 'max_per_host_connections')).toHaveLength(1);
  });
});
