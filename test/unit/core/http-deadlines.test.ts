// The HTTP door's deadlines (core/http-deadlines.ts) with a real ServerContext, a node:http server
// behind openHttpDoor over plain HTTP and HTTPS, and curl: a response that keeps streaming for
// longer than every deadline is never cut (under TLS the raw socket's counters may stand still, so
// progress is read on the TLS socket too), one that stops is, and a silent client is closed at the
// head deadline.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createServer, type Server as HttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ServerContext } from '../../../src/core/context.ts';
import { openHttpDoor, type HttpDoor } from '../../../src/core/http-door.ts';
import { openUsageBook } from '../../../src/core/quota.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import type { Store } from '../../../src/store/store.ts';
import { run } from '../../support/run.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

let ctx: ServerContext;
let store: Store;
let http: HttpServer;
const doors: Record<'plain' | 'tls', HttpDoor> = {} as Record<'plain' | 'tls', HttpDoor>;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const dir = tempDir('deadlines-');
  store = openLmdbStore(join(dir, 'data'));
  await migrateUp(store);
  ctx = new ServerContext({
    config: { common: { max_per_host_connections: 0 } },
    dataDir: join(dir, 'data'),
    store,
    usage: await openUsageBook(store),
    log: (level, event, fields) => void lines.push({ level, event, ...fields }),
    reload: async () => ({ ok: true }),
  });
  Object.assign(ctx.sockets.httpTimeouts, { headersMs: 600, idleMs: 600, requestIdleMs: 600 });
  // /stream writes 100 bytes every 100 ms for 3 s; /stall writes once and then nothing for 3 s.
  http = createServer((req, res) => {
    const stall = req.url === '/stall';
    let i = 0;
    const t = setInterval(() => {
      if (!stall || i === 0) res.write('x'.repeat(100));
      if (++i === 30) {
        clearInterval(t);
        res.end();
      }
    }, 100);
    res.on('close', () => clearInterval(t));
  });
  const certs = makeSelfSignedCert(dir);
  const tls = createSecureContext({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) });
  for (const kind of ['plain', 'tls'] as const) {
    doors[kind] = await openHttpDoor({ sockets: ctx.sockets, protocol: 'HTTP', proxy: false, http, tls: kind === 'tls' ? tls : undefined, host: '127.0.0.1', port: 0 });
  }
});

afterAll(async () => {
  await Promise.all(Object.values(doors).map((d) => d.close()));
  await store?.close();
  removeTempDirs();
});

const url = (kind: 'plain' | 'tls', path: string) => `${kind === 'tls' ? 'https' : 'http'}://127.0.0.1:${doors[kind].address.port}${path}`;

describe.each(['plain', 'tls'] as const)('%s', (kind) => {
  test('a response that keeps moving outlives every deadline', async () => {
    const r = await run('curl', ['-sk', '-o', '/dev/null', '-w', '%{size_download}', url(kind, '/stream')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('3000');
  });

  test('a response that stops moving is cut after the stall deadline', async () => {
    const before = lines.filter((l) => l.reason === 'request_stalled').length;
    const r = await run('curl', ['-sk', '-o', '/dev/null', '-w', '%{size_download}', url(kind, '/stall')]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('100');
    expect(lines.filter((l) => l.reason === 'request_stalled').length).toBe(before + 1);
  });
});

test('a silent client is closed at the head deadline, plain or TLS', async () => {
  for (const kind of ['plain', 'tls'] as const) {
    const t0 = Date.now();
    const s = connect({ host: '127.0.0.1', port: doors[kind].address.port });
    s.on('error', () => undefined);
    s.resume();
    await new Promise<void>((r) => s.once('close', () => r()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(Date.now() - t0).toBeLessThan(3000);
  }
});
