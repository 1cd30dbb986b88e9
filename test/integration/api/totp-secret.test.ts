// A user's TOTP secret through the API: never shown by a GET (its own record or an override, where
// it is SFTPGo's redacted secret object), and sending that back keeps the stored secret.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
const REDACTED = { status: 'Redacted' };
import { call, startApiWithToken, stopApi, type Api } from './harness.ts';

const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
let api: Api;
let t: string;
beforeAll(async () => ({ api, token: t } = await startApiWithToken()));
afterAll(() => stopApi(api));

test('the TOTP secret is redacted on read and kept when the placeholder comes back', async () => {
  const body = {
    username: 'otp', password: 'otp-Secret-1', home_dir: join(api.dir, 'homes/otp'), permissions: { '/': ['*'] },
    filters: { totp_config: { enabled: true, secret: SECRET, protocols: ['SSH'] } },
  };
  const c = await call(api, 'POST', '/api/v2/users', { token: t, body });
  expect(c.status).toBe(201);
  expect(c.text).not.toContain(SECRET);
  const g = await call(api, 'GET', '/api/v2/users/otp', { token: t });
  expect(g.json.filters.totp_config).toEqual({ enabled: true, secret: REDACTED, protocols: ['SSH'] });
  const list = await call(api, 'GET', '/api/v2/users', { token: t });
  expect(list.text).not.toContain(SECRET);

  // Stored sealed (config/sealed.ts), not in clear.
  const before = (await call(api, 'GET', '/api/v2/dumpdata', { token: t })).json.users.find((x: { username: string }) => x.username === 'otp');
  expect(before.filters.totp_config.secret.sealed).toMatch(/^v1:/);
  expect(JSON.stringify(before)).not.toContain(SECRET);

  // A client sends back what it read, changing something else.
  const u = await call(api, 'PUT', '/api/v2/users/otp', { token: t, body: { ...g.json, quota_files: 3 } });
  expect(u.status).toBe(200);
  const dump = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
  const stored = dump.json.users.find((x: { username: string }) => x.username === 'otp');
  expect(stored.filters.totp_config.secret).toEqual(before.filters.totp_config.secret);
  expect(stored.quota_files).toBe(3);

  // A PUT whose filters leave totp_config out keeps it, as SFTPGo does.
  const { totp_config: _omitted, ...otherFilters } = g.json.filters;
  expect((await call(api, 'PUT', '/api/v2/users/otp', { token: t, body: { ...g.json, filters: otherFilters } })).status).toBe(200);
  const kept = (await call(api, 'GET', '/api/v2/dumpdata', { token: t })).json.users.find((x: { username: string }) => x.username === 'otp');
  expect(kept.filters.totp_config).toEqual(before.filters.totp_config);

  // Redacted placeholder for a user without a stored secret: refused, nothing stored.
  const alice = (await call(api, 'GET', '/api/v2/users/alice', { token: t })).json;
  const n = await call(api, 'PUT', '/api/v2/users/alice', { token: t, body: { ...alice, filters: { totp_config: { enabled: true, secret: REDACTED, protocols: ['SSH'] } } } });
  expect(n.status).toBe(400);
});

test('a config user with a TOTP secret: the GET and its override are redacted', async () => {
  const alice = (await call(api, 'GET', '/api/v2/users/alice', { token: t })).json;
  const u = await call(api, 'PUT', '/api/v2/users/alice', { token: t, body: { ...alice, filters: { totp_config: { enabled: true, secret: SECRET, protocols: ['FTP'] } } } });
  expect(u.status).toBe(200);
  const g = await call(api, 'GET', '/api/v2/users/alice', { token: t });
  expect(g.text).not.toContain(SECRET);
  expect(g.json.filters.totp_config.secret).toEqual(REDACTED);
  expect(g.json.overrides.fields.filters.totp_config.secret).toEqual(REDACTED);
});
