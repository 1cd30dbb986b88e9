// data_provider's TLS keys against a real PostgreSQL that accepts TLS connections only: sslmode 0
// is refused, 1 encrypts without checking, 2 checks the chain against root_cert, 3 also the host
// name, and client_cert/client_key log a role in by certificate alone.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openStore } from '../../../src/store/open.ts';
import type { DataProvider } from '../../../src/config/schema-types.ts';
import { startPostgres, type Postgres, type PostgresTls } from '../../support/postgres.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

let pg: Postgres;
let tls: PostgresTls;
/** One data dir for every open: it holds the secrets key the store was first sealed with. */
let dataDir: string;

beforeAll(async () => {
  pg = await startPostgres({ tls: true });
  tls = pg.tls!;
  dataDir = tempDir('pgtls-');
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  removeTempDirs();
});

function provider(extra: Partial<DataProvider>): DataProvider {
  return { driver: 'postgresql', host: '127.0.0.1', port: pg.port, name: pg.database, username: pg.username, password: pg.password, ...extra };
}

/** Opens and closes the store; the error's message when it cannot. */
async function tryOpen(p: DataProvider): Promise<string> {
  try {
    const s = await openStore(dataDir, { provider: p });
    await s.write((tx) => tx.put('meta', 'probe', 1));
    await s.close();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('sslmode', () => {
  test('0 (no TLS) is refused by a server that only takes TLS', async () => {
    expect(await tryOpen(provider({ sslmode: 0 }))).toMatch(/no pg_hba.conf entry .*no encryption/);
  });

  test('1 encrypts without checking the certificate', async () => {
    expect(await tryOpen(provider({ sslmode: 1, root_cert: tls.otherCa }))).toBe('ok');
  });

  test('2 and 3 accept a certificate signed by root_cert and refuse one that is not', async () => {
    expect(await tryOpen(provider({ sslmode: 2, root_cert: tls.ca }))).toBe('ok');
    expect(await tryOpen(provider({ sslmode: 3, root_cert: tls.ca }))).toBe('ok');
    expect(await tryOpen(provider({ sslmode: 2, root_cert: tls.otherCa }))).toMatch(/certificate/i);
    expect(await tryOpen(provider({ sslmode: 3, root_cert: tls.otherCa }))).toMatch(/certificate/i);
  });

  test('3 also checks the host name; 2 does not', async () => {
    tls.reissue(['DNS:db.elsewhere.test']);
    try {
      expect(await tryOpen(provider({ sslmode: 2, root_cert: tls.ca }))).toBe('ok');
      expect(await tryOpen(provider({ sslmode: 3, root_cert: tls.ca }))).toMatch(/Hostname\/IP does not match|altnames/i);
    } finally {
      tls.reissue(['DNS:localhost', 'IP:127.0.0.1']);
    }
  });
});

test('client_cert and client_key log in a role that has no password', async () => {
  const byCert = { username: tls.certUser, password: '', sslmode: 3 as const, root_cert: tls.ca };
  expect(await tryOpen(provider({ ...byCert, client_cert: tls.clientCert, client_key: tls.clientKey }))).toBe('ok');
  expect(await tryOpen(provider(byCert))).toMatch(/certificate/i);
});
