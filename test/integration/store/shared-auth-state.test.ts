// The authentication state servers keep in a shared store, two PostgreSQL store connections in one
// process standing for two replicas: revoked tokens, TOTP steps and web sessions written through
// one are honoured through the other, expire, and are swept; with an unshared store they stay in
// memory and the store is never written.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { RevokedTokens } from '../../../src/auth/revoked-tokens.ts';
import { base32Decode, hotp, totpStep, TotpCodes } from '../../../src/auth/totp.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import type { UserRecord } from '../../../src/model.ts';
import { openPgStore } from '../../../src/store/postgres.ts';
import type { Store } from '../../../src/store/store.ts';
import { WebSessions } from '../../../src/web/sessions.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { removeTempDirs } from '../../support/tmp.ts';

let pg: Postgres;
let dbCount = 0;
const opened: Store[] = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

afterAll(async () => {
  await pg?.stop();
  removeTempDirs();
});

/** Two stores on a fresh database: replicas A and B. */
async function replicas(): Promise<[Store, Store]> {
  const name = `auth${++dbCount}`;
  pg.createDatabase(name);
  const open = async (node: string) => {
    const s = await openPgStore({ settings: { host: pg.host, port: pg.port, name, username: pg.username, password: pg.password, sslmode: 0, poolSize: 2 }, node });
    opened.push(s);
    return s;
  };
  return [await open('a'), await open('b')];
}

async function metaKeys(s: Store, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const [k] of s.entries('meta')) if (k.startsWith(prefix)) keys.push(k);
  return keys;
}

describe('revoked tokens', () => {
  test('a token revoked through A is revoked on B; once expired, the next revocation past the sweep interval removes it', async () => {
    const [a, b] = await replicas();
    let now = 1_000_000_000_000;
    const onA = new RevokedTokens(a, { now: () => now });
    const onB = new RevokedTokens(b, { now: () => now });
    await onA.revoke('jti-1', now / 1000 + 60);
    expect(await onB.has('jti-1')).toBe(true);
    expect(await onB.has('jti-2')).toBe(false);
    now += 11 * 60_000;
    await onA.revoke('jti-2', now / 1000 + 60);
    expect(await metaKeys(b, 'revoked_token:')).toEqual(['revoked_token:jti-2']);
    expect(await onB.has('jti-2')).toBe(true);
  });
});

describe('TOTP steps', () => {
  const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const user = { username: 'tina', filters: { totp_config: { enabled: true, secret: SECRET, protocols: ['SSH'] } } } as unknown as UserRecord;

  test("a code accepted through A is a replay on B; the next step's code is good on B once", async () => {
    const [a, b] = await replicas();
    const ms = Date.now();
    const code = hotp(base32Decode(SECRET)!, totpStep(ms / 1000));
    expect(await new TotpCodes(a).use(user, code, NO_SECRETS, ms)).toBeUndefined();
    const onB = new TotpCodes(b);
    expect(await onB.use(user, code, NO_SECRETS, ms)).toBe('totp_replayed');
    const next = hotp(base32Decode(SECRET)!, totpStep(ms / 1000) + 1);
    expect(await onB.use(user, next, NO_SECRETS, ms + 30_000)).toBeUndefined();
    expect(await new TotpCodes(a).use(user, next, NO_SECRETS, ms + 30_000)).toBe('totp_replayed');
    // An admin of the same name has steps of its own.
    expect(await new TotpCodes(a).useSecret({ kind: 'admin', account: 'tina', secret: SECRET, code: next, secrets: NO_SECRETS, nowMs: ms + 30_000 })).toBeUndefined();
  });
});

describe('web sessions', () => {
  test('a session opened through A is found through B, carries its message, and a close through B ends it on A', async () => {
    const [a, b] = await replicas();
    const onA = new WebSessions({ idleMs: 600_000, store: a, kind: 'admin' });
    const onB = new WebSessions({ idleMs: 600_000, store: b, kind: 'admin' });
    const s = await onA.open('root');
    const seen = await onB.find(s.id);
    expect(seen).toMatchObject({ id: s.id, username: 'root', csrf: s.csrf });
    seen!.flash = { kind: 'info', text: 'saved' };
    await onB.save(seen!);
    expect((await onA.find(s.id))?.flash).toEqual({ kind: 'info', text: 'saved' });
    // Another kind of session with the same id is another session.
    expect(await new WebSessions({ idleMs: 600_000, store: b, kind: 'client' }).find(s.id)).toBeUndefined();
    await onB.close(s.id);
    expect(await onA.find(s.id)).toBeUndefined();
  });

  test('an idle session ends on every replica; expired ones are swept at an open past the sweep interval', async () => {
    const [a, b] = await replicas();
    let now = 1_000_000_000_000;
    const onA = new WebSessions({ idleMs: 60_000, store: a, kind: 'client', now: () => now });
    const onB = new WebSessions({ idleMs: 60_000, store: b, kind: 'client', now: () => now });
    const used = await onA.open('yara');
    const idle = await onA.open('zeno');
    // Use pushes the deadline forward, written back once it moved a quarter of the validity here.
    for (let i = 0; i < 3; i++) {
      now += 40_000;
      expect(await onB.find(used.id)).toBeDefined();
    }
    expect(await onA.find(idle.id)).toBeUndefined();
    now += 11 * 60_000;
    await onB.open('late');
    expect((await metaKeys(a, 'web_session:client:')).length).toBe(1);
  });

  test('with an unshared store sessions stay in memory: nothing is written', async () => {
    const [a] = await replicas();
    const local = { ...a, shared: false } as Store;
    const sessions = new WebSessions({ idleMs: 60_000, store: local, kind: 'admin' });
    const s = await sessions.open('root');
    expect((await sessions.find(s.id))?.username).toBe('root');
    expect(await metaKeys(a, 'web_session:')).toEqual([]);
    const revoked = new RevokedTokens(local);
    await revoked.revoke('jti', Math.floor(Date.now() / 1000) + 60);
    expect(await revoked.has('jti')).toBe(true);
    expect(await metaKeys(a, 'revoked_token:')).toEqual([]);
  });
});
