// The login gate without a listener: a ServerContext over a real LMDB store and local homes, the
// users reconciled from YAML. One login is one session with a connection per channel, max_sessions
// counts logins, and the login lines carry the same fields whatever the protocol.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../../src/config/load.ts';
import { ServerContext } from '../../../src/core/context.ts';
import { reconcile } from '../../../src/reconcile/reconcile.ts';
import { effectiveUser } from '../../../src/store/records.ts';
import { openUsageBook } from '../../../src/core/quota.ts';
import { openLmdbStore } from '../../../src/store/lmdb.ts';
import { migrateUp } from '../../../src/store/migrations.ts';
import type { Store } from '../../../src/store/store.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

let ctx: ServerContext;
let store: Store;
const lines: Record<string, unknown>[] = [];
const events = (event: string) => lines.filter((l) => l.event === event);

beforeAll(async () => {
  const dir = tempDir('gate-');
  mkdirSync(join(dir, 'home'), { recursive: true });
  const loaded = parseConfigText(
    `data_provider:
  password_hashing:
    bcrypt_options:
      cost: 4
users:
  - username: solo
    password: "solo-Secret-1"
    home_dir: ${join(dir, 'home')}
    max_sessions: 1
    permissions: { "/": ["*"] }
`,
    'gate.yaml',
    dir,
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  store = openLmdbStore(join(dir, 'data'));
  await migrateUp(store);
  ctx = new ServerContext({
    config: loaded.value.config,
    dataDir: join(dir, 'data'),
    store,
    usage: await openUsageBook(store),
    log: (level, event, fields) => void lines.push({ level, event, ...fields }),
    reload: async () => ({ ok: true }),
  });
  await reconcile(loaded.value, join(dir, 'data'), ctx.records);
});

afterAll(async () => {
  await store.close();
  removeTempDirs();
});

describe('LoginGate', () => {
  test('one SSH login is one session; each channel is a connection with its own protocol', async () => {
    const user = (await effectiveUser(store, 'solo'))!;
    const opened = await ctx.gate.open(user, { protocol: 'SSH', ip: '::ffff:127.0.0.1', method: 'publickey', single: false, tls: true });
    if (!opened.ok) throw new Error(opened.reason);
    const session = opened.session;
    expect(events('login').at(-1)).toMatchObject({ connection: session.id, ip: '127.0.0.1', protocol: 'SSH', username: 'solo', method: 'publickey', tls: true });

    const sftp = session.connect({ protocol: 'SFTP', disconnect: () => undefined });
    const scp = session.connect({ protocol: 'SCP', disconnect: () => undefined });
    expect(ctx.connections.list().map((c) => c.protocol).sort()).toEqual(['SCP', 'SFTP']);
    expect(sftp.sessionId).toBe(session.id);
    expect(scp.fs).not.toBe(sftp.fs);
    // Two channels, one login: max_sessions 1 is reached by the login, not by its channels.
    expect(ctx.connections.countFor('solo')).toBe(1);
    const second = await ctx.gate.open(user, { protocol: 'FTP', ip: '127.0.0.1', method: 'password', single: true, tls: false });
    expect(second).toEqual({ ok: false, reason: 'max_sessions' });
    expect(events('login_failed').at(-1)).toMatchObject({ ip: '127.0.0.1', protocol: 'FTP', username: 'solo', method: 'password', reason: 'max_sessions' });
    expect(ctx.metrics.value('sftpgo_login_failed_total', { protocol: 'FTP', reason: 'max_sessions' })).toBe(1);

    // A channel that ends leaves the login and its other channels open.
    await scp.end();
    expect(session.closed).toBe(false);
    expect(ctx.connections.list().map((c) => c.protocol)).toEqual(['SFTP']);

    await session.close();
    expect(ctx.connections.list()).toEqual([]);
    expect(ctx.connections.countFor('solo')).toBe(0);
    expect(events('logout').at(-1)).toMatchObject({
      connection: session.id, ip: '127.0.0.1', protocol: 'SSH', username: 'solo', method: 'publickey',
      open_transfers: 0, open_handles: 0, live_connections: 0,
    });
  });

  test('an FTP or WebDAV session ends with its one connection', async () => {
    const user = (await effectiveUser(store, 'solo'))!;
    const opened = await ctx.gate.open(user, { protocol: 'DAV', ip: '127.0.0.1', method: 'password', single: true, tls: false });
    if (!opened.ok) throw new Error(opened.reason);
    const conn = opened.session.connect({ protocol: 'DAV', disconnect: () => undefined });
    const logouts = events('logout').length;
    await conn.close();
    await opened.session.close();
    expect(opened.session.closed).toBe(true);
    expect(events('logout')).toHaveLength(logouts + 1);
    expect(events('logout').at(-1)).toMatchObject({ protocol: 'DAV', username: 'solo', live_connections: 0 });
  });

  test('refusals carry the same fields on every protocol, with a plain address', () => {
    for (const protocol of ['SSH', 'FTP', 'DAV', 'HTTP'] as const)
      ctx.gate.refuse({ protocol, ip: '::ffff:192.0.2.7', username: 'nobody', method: 'password' }, 'user_not_found', { hooks: false });
    const refused = events('login_failed').slice(-4);
    expect(refused.map((l) => l.protocol)).toEqual(['SSH', 'FTP', 'DAV', 'HTTP']);
    for (const l of refused) {
      expect(Object.keys(l).sort()).toEqual(['event', 'ip', 'level', 'method', 'protocol', 'reason', 'username']);
      expect(l.ip).toBe('192.0.2.7');
    }
  });
});
